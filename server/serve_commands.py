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

    p = registry.add(
        "kiosk enroll", "register a kiosk and write its bundle (kiosk.toml, TUF root, ...)", _enroll
    )
    p.add_argument("--data", type=Path, required=True, help="the server data folder")
    p.add_argument("--id", required=True, help="kiosk id: lowercase letters, digits, -")
    p.add_argument("--gate", required=True, help="the gate it stands at, e.g. lao-bao")
    p.add_argument(
        "--group", action="append", default=[], help="a group packs may target (repeatable)"
    )
    p.add_argument(
        "-o",
        "--out",
        required=True,
        help="bundle folder to write; - writes it as a tar to stdout (e.g. | ssh admin@kiosk ...)",
    )
    p.add_argument(
        "--state-dir",
        default="/var/lib/bgk",
        help="the kiosk's state folder (relative: to the bundle; default /var/lib/bgk)",
    )
    p.add_argument("--replace", action="store_true", help="issue a new bundle to an enrolled kiosk")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _init(args: argparse.Namespace) -> int:
    from server.datadir import init_data_dir
    from server.ops.datamodes import secure_data_dir
    from server.packs.signing import utcnow

    config = init_data_dir(args.data, args.keys, args.url, utcnow, listen=args.http)
    secure_data_dir(config.data)
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
    from server.ops.datamodes import secure_data_dir
    from server.run import default_services, run_server

    config = load_server_config(args.data)
    secure_data_dir(config.data)  # nginx reads tuf/ and blobs/ only
    if args.mqtt:
        from dataclasses import replace

        from server.fleet.settings import check_mqtt_url

        mqtt = replace(config.mqtt, url=check_mqtt_url(args.mqtt, "--mqtt"))
        config = replace(config, mqtt=mqtt)
    run_server(config, args.http or config.http.listen, default_services(config))
    return 0


def _enroll(args: argparse.Namespace) -> int:
    import sys
    import time

    from server.config import load_server_config
    from server.fleet.enroll import broker_line, describe, enroll_kiosk

    to_stdout = args.out == "-"
    if to_stdout and sys.stdout.isatty():
        raise UsageError("-o - writes a tar to stdout: send it on (| ssh ...) or into a file")
    result = enroll_kiosk(
        load_server_config(args.data),
        args.id,
        args.gate,
        tuple(args.group),
        None if to_stdout else Path(args.out),
        time.time(),
        state_dir=args.state_dir,
        replace=args.replace,
        stream=sys.stdout.buffer if to_stdout else None,
    )
    say = sys.stderr if to_stdout else sys.stdout  # stdout carries the tar
    if args.json:
        print(json.dumps(describe(result), ensure_ascii=False), file=say)
        return 0
    where = (
        "bundle sent to stdout as a tar"
        if result.bundle is None
        else f"bundle in {result.bundle} ({', '.join(result.files)})"
    )
    print(f"enrolled {result.kiosk.id} at {result.kiosk.gate}; {where}", file=say)
    print(broker_line(result), file=say)
    return 0
