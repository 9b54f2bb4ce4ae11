"""Border-gate kiosk server: packs, fleet, web. Imports only kiosk.protocol from kiosk."""
