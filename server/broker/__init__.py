"""The broker side of the fleet: enrolment, bundles, the kiosk registry, broker
credentials, the fleet PKI, and Mosquitto's generated files and control."""
