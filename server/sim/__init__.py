"""The fleet simulator (`bgk sim`): simulated kiosks and their many-client MQTT hub."""
