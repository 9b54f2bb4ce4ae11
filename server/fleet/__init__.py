"""The fleet: kiosk registry, MQTT ingest, state, alerts, reports."""
