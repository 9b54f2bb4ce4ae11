"""`bgk server init`, `bgk server run` and `bgk kiosk enroll` (server side)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from kiosk.protocol.commands import Registry
from kiosk.protocol.errors import UsageError


def register(registry: Registry) -> None:
    p = registry.add(
        "server init", "create a server data folder: TUF repository, blob store, database", _init
    )
    p.add_argument("--data", type=Path, required=True, help="new server data folder")
    p.add_argument("--keys", type=Path, required=True, help="keys folder (bgk keys init)")
    p.add_argument(
        "--url", required=True, help="base URL kiosks use, e.g. https://kiosk.example.vn"
    )
    p.add_argument(
        "--http", metavar="HOST:PORT", help="where `bgk server run` listens (default from --url)"
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = registry.add(
        "server run",
        "serve HTTP (TUF metadata, blobs, dashboard, API) and background services",
        _run,
    )
    p.add_argument("--data", type=Path, required=True, help="the server data folder")
    p.add_argument(
        "--http", metavar="HOST:PORT", help="listen here (default: [http] listen of server.toml)"
    )
    p.add_argument(
        "--mqtt",
        metavar="URL",
        help="MQTT broker of the fleet (default: [mqtt] url of server.toml)",
    )
    p.add_argument(
        "--client",
        type=int,
        default=1,
        metavar="N",
        help="broker accounts _server-N and _server-(N+1) (default 1); a second server "
        "process on the same store needs its own, e.g. --client 3",
    )

    p = registry.add(
        "kiosk enroll", "register a kiosk and write its bundle (kiosk.toml, TUF root, ...)", _enroll
    )
    p.add_argument("--data", type=Path, required=True, help="the server data folder")
    p.add_argument("--id", required=True, help="kiosk id: lowercase letters, digits, -")
    p.add_argument("--gate", required=True, help="the gate it stands at, e.g. lao-bao")
    p.add_argument(
        "--group", action="append", default=[], help="a group packs may target (repeatable)"
    )
    p.add_argument("-o", "--out", type=Path, required=True, help="bundle folder to write")
    p.add_argument(
        "--state-dir",
        default="/var/lib/bgk",
        help="the kiosk's state folder (relative: to the bundle; default /var/lib/bgk)",
    )
    p.add_argument("--replace", action="store_true", help="issue a new bundle to an enrolled kiosk")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _init(args: argparse.Namespace) -> int:
    from server.datadir import init_data_dir
    from server.packs.signing import utcnow

    config = init_data_dir(args.data, args.keys, args.url, utcnow, listen=args.http)
    if args.json:
        print(
            json.dumps(
                {
                    "ok": True,
                    "data": str(config.data),
                    "url": config.url,
                    "listen": config.http.listen,
                }
            )
        )
    else:
        print(
            f"server data folder {config.data} ready; kiosks will use {config.url}; "
            f"start it with `bgk server run --data {args.data}`"
        )
    return 0


def _run(args: argparse.Namespace) -> int:
    from server.config import load_server_config
    from server.run import default_services, run_server

    config = load_server_config(args.data)
    if args.mqtt:
        from dataclasses import replace

        from server.fleet.settings import check_mqtt_url

        mqtt = replace(config.mqtt, url=check_mqtt_url(args.mqtt, "--mqtt"))
        config = replace(config, mqtt=mqtt)
    if not 1 <= args.client < config.mqtt.server_clients:
        raise UsageError(
            f"--client {args.client}: use 1..{config.mqtt.server_clients - 1} "
            f"(the broker has accounts _server-1.._server-{config.mqtt.server_clients}: "
            "[mqtt] server_clients)"
        )
    run_server(config, args.http or config.http.listen, default_services(config, args.client))
    return 0


def _enroll(args: argparse.Namespace) -> int:
    import time

    from server.config import load_server_config
    from server.fleet.enroll import describe, enroll_kiosk

    result = enroll_kiosk(
        load_server_config(args.data),
        args.id,
        args.gate,
        tuple(args.group),
        args.out,
        time.time(),
        state_dir=args.state_dir,
        replace=args.replace,
    )
    if args.json:
        print(json.dumps(describe(result), ensure_ascii=False))
    else:
        print(
            f"enrolled {result.kiosk.id} at {result.kiosk.gate}; bundle in {result.bundle} "
            f"({', '.join(result.files)}): copy it to the kiosk's /etc/bgk/"
        )
    return 0
