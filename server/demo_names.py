"""The names `bgk demo` gives what it makes, shared by the demo (server/demo.py)
and the summary it prints (server/demo_summary.py)."""

from __future__ import annotations

#: the demo's real kiosk (agent + UI); the simulated fleet is sim-00001...
KIOSK_ID = "lb-01"
#: the demo keyset's passphrase (printed: a demo protects nothing real)
DEMO_KEYS_PASSPHRASE = "demo-doic-offline-keys"
