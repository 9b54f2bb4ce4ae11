"""`bgk sim`: simulated kiosks, and enrolling them in a server's registry.

bgk sim --kiosks 50 --data DIR --broker-dir DIR --duration 600
    enrols sim-00001..sim-00050 (passwords kept in DATA/sim/credentials.json,
    0600), rewrites the broker files and reloads the broker, then runs them
bgk sim --kiosks N --mqtt URL --credentials FILE   (no server data at hand)
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.common.cli import Registry
from kiosk.protocol.errors import UsageError

if TYPE_CHECKING:
    from kiosk.protocol.delivery import PackOffer
    from server.broker.credentials import Identity
    from server.config import ServerConfig
    from server.store import Store

#: gates of Quảng Trị the simulated kiosks are spread over
SIM_GATES = ("lao-bao", "la-lay", "cua-viet", "cha-lo")


def register(registry: Registry) -> None:
    p = registry.add("sim", "a fleet of simulated kiosks with real MQTT connections", _sim)
    p.add_argument("--kiosks", type=int, required=True, help="how many kiosks")
    p.add_argument("--mqtt", help="broker URL (default: [mqtt] url of --data)")
    p.add_argument("--data", type=Path, help="server data folder: enrol the simulated kiosks there")
    p.add_argument(
        "--broker-dir",
        type=Path,
        help="with --data: broker files to rewrite and reload (default: [mqtt] broker_dir)",
    )
    p.add_argument(
        "--credentials",
        type=Path,
        help='{"kiosk id": "password"} file (default: DATA/sim/credentials.json)',
    )
    p.add_argument("--prefix", default="sim", help="kiosk ids are PREFIX-00001... (default sim)")
    p.add_argument("--period", type=float, default=30.0, help="heartbeat period in s (default 30)")
    p.add_argument("--duration", type=float, default=0.0, help="seconds to run; 0 = until Ctrl-C")
    p.add_argument(
        "--offline-frac", type=float, default=0.05, help="fraction losing power once (default 0.05)"
    )
    p.add_argument(
        "--stale-frac", type=float, default=0.1, help="fraction playing an old pack (default 0.1)"
    )
    p.add_argument("--will-delay", type=int, default=10, help="LWT delay in s (default 10)")
    p.add_argument(
        "--ca", type=Path, help="CA of the broker for mqtts:// (default: DATA/mqtt/ca.crt)"
    )
    p.add_argument("--json", action="store_true", help="print the figures as JSON at the end")


def enrol_sim_kiosks(
    data: Path, store: Store, count: int, prefix: str, now: float
) -> list[Identity]:
    """Enrol PREFIX-00001..count (those missing) and return every identity."""
    from kiosk.common.files import atomic_write
    from server.broker.credentials import Identity, issue_kiosk_password
    from server.broker.registry import KioskRegistry

    path = data / "sim" / "credentials.json"
    known: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    registry = KioskRegistry(store)
    active = {k.id for k in registry.list()}
    out = []
    for i in range(1, count + 1):
        kiosk_id = f"{prefix}-{i:05d}"
        if kiosk_id not in active:
            registry.add(kiosk_id, SIM_GATES[i % len(SIM_GATES)], ("simulated",), now, replace=True)
            known.pop(kiosk_id, None)
        if kiosk_id not in known:
            known[kiosk_id] = issue_kiosk_password(store, kiosk_id, now).password
        out.append(Identity(kiosk_id, known[kiosk_id]))
    atomic_write(path, json.dumps(known, indent=0, sort_keys=True).encode(), mode=0o600)
    return out


def _sim(args: argparse.Namespace) -> int:
    from server.sim.simulator import SimOptions, Simulator, load_credentials

    if args.kiosks < 1:
        raise UsageError("--kiosks must be at least 1")
    url, ca = args.mqtt, args.ca
    if args.data is not None:
        from server.broker.files import refresh_broker
        from server.broker.pki import FleetKeys
        from server.open import open_server

        cfg, store = open_server(args.data)
        current = _newest_pack(cfg)
        identities = enrol_sim_kiosks(cfg.data, store, args.kiosks, args.prefix, time.time())
        url = url or cfg.mqtt.url
        ca = ca or (cfg.data / "mqtt" / "ca.crt")
        broker_dir = args.broker_dir or cfg.mqtt.broker_dir
        update = refresh_broker(
            store, FleetKeys(cfg.data / "mqtt"), broker_dir, cfg.mqtt.server_clients
        )
        if update is not None and update.changed:
            time.sleep(0.5)  # let Mosquitto re-read its password file
        store.dispose()
    elif args.credentials is not None:
        current = None
        identities = load_credentials(args.credentials)[: args.kiosks]
    else:
        raise UsageError("give --data DIR (enrols the simulated kiosks) or --credentials FILE")
    if not url:
        raise UsageError("give --mqtt URL")
    opts = SimOptions(
        period_s=args.period,
        offline_frac=args.offline_frac,
        stale_frac=args.stale_frac,
        will_delay_s=args.will_delay,
    )
    if current is not None:  # play what the server really published
        opts = replace(
            opts, pack_id=current.pack, pack_version=current.version, pack_hash=current.sha256
        )
    sim = Simulator(url, identities, opts, ca=ca)
    stopping = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stopping.__setitem__("now", True))
    try:
        sim.ramp()
        print(
            f"{sum(k.connected for k in sim.kiosks)}/{len(sim.kiosks)} simulated kiosks connected to {url}",
            file=sys.stderr,
        )
        report = sim.run(args.duration or float("inf"), lambda: stopping["now"])
    except KeyboardInterrupt:
        report = sim.report(0.0)
    finally:
        sim.close()
    if args.json:
        print(json.dumps(report.as_dict()))
    else:
        print(
            f"{report.sent} heartbeats from {report.kiosks} kiosks in {report.elapsed_s:.0f} s "
            f"({report.rate_hb_s}/s); lateness p99 {report.lateness_p99_ms} ms; "
            f"{report.power_cuts} power cuts; RSS {report.rss_mib} MiB"
        )

    return 0


def _newest_pack(cfg: ServerConfig) -> PackOffer | None:
    """The most recently published pack of the server, if any."""
    from server.packs.delegation import published_offers
    from server.packs.signing import open_repository

    offers = published_offers(open_repository(cfg))
    return offers[-1] if offers else None
