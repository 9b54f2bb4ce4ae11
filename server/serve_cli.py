"""`bgk server init`, `bgk server run` and `bgk kiosk enroll` (server side)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from kiosk.common.cli import Registry
from kiosk.protocol.errors import UsageError


def register(registry: Registry) -> None:
    p = registry.add(
        "server init", "create a server data folder: TUF repository, blob store, database", _init
    )
    p.add_argument(
        "--data",
        type=Path,
        required=True,
        help="new server data folder (an existing one: only --publisher-… and --site-url "
        "are changed)",
    )
    p.add_argument("--keys", type=Path, help="keys folder (bgk keys init); new folders only")
    p.add_argument(
        "--url", help="base URL kiosks use, e.g. https://kiosk.example.vn; new folders only"
    )
    p.add_argument(
        "--http", metavar="HOST:PORT", help="where `bgk server run` listens (default from --url)"
    )
    _publisher_options(p)
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


#: `bgk server init` option -> [publisher] key (server/publisher.py)
PUBLISHER_OPTIONS = {
    "name-vi": "official name in Vietnamese (reports, dashboard, pack pages)",
    "name-en": "name in English",
    "name-lo": "name in Lao (pack pages; default: the English name)",
    "name-th": "name in Thai (pack pages; default: the English name)",
    "name-zh": "name in Chinese (pack pages; default: the English name)",
    "address": "postal address travellers may write to",
    "phone": "telephone number for travellers",
    "email": "e-mail address for travellers",
    "portal": "public information portal, e.g. thongtindoingoai.quangtri.gov.vn",
    "basis-vi": "legal-basis line of the reports, in Vietnamese",
    "basis-en": "legal-basis line of the reports, in English",
}


def _publisher_options(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group(
        "publisher (default: the sample's wording, server/publisher_sample.toml)"
    )
    for option, text in PUBLISHER_OPTIONS.items():
        group.add_argument(f"--publisher-{option}", metavar="TEXT", help=text)
    group.add_argument(
        "--site-url",
        metavar="URL",
        help="base URL of the packs' web copies, e.g. https://kiosk.example.vn/p "
        "(QR codes on kiosk pages; default: none)",
    )


def _init(args: argparse.Namespace) -> int:
    from kiosk.protocol.errors import UsageError
    from server.config import SERVER_TOML, load_server_config
    from server.datadir import init_data_dir, update_publisher
    from server.ops.datamodes import secure_data_dir
    from server.packs.signing import utcnow
    from server.publisher import sample_publisher, with_options

    options = {
        key.replace("-", "_"): getattr(args, "publisher_" + key.replace("-", "_"))
        for key in PUBLISHER_OPTIONS
    }
    changing = any(v is not None for v in options.values()) or args.site_url is not None
    if (args.data / SERVER_TOML).exists() and changing:
        if args.keys or args.url or args.http:
            raise UsageError(
                f"{args.data} already exists: give only --publisher-… and --site-url to change them"
            )
        base = load_server_config(args.data).publisher
        config = update_publisher(args.data, with_options(base, options), args.site_url)
        what = f"publisher of {config.data} is now {config.publisher.name('vi')}"
    else:
        if args.keys is None or args.url is None:
            raise UsageError("a new server data folder needs --keys DIR and --url URL")
        config = init_data_dir(
            args.data,
            args.keys,
            args.url,
            utcnow,
            listen=args.http,
            publisher=with_options(sample_publisher(), options),
            site_url=args.site_url or "",
        )
        secure_data_dir(config.data)
        what = (
            f"server data folder {config.data} ready; kiosks will use {config.url}; "
            f"start it with `bgk server run --data {args.data}`"
        )
    if args.json:
        print(
            json.dumps(
                {
                    "ok": True,
                    "data": str(config.data),
                    "url": config.url,
                    "listen": config.http.listen,
                    "publisher": config.publisher.as_json(),
                    "site_url": config.site_url,
                },
                ensure_ascii=False,
            )
        )
    else:
        print(what)
    return 0


def _run(args: argparse.Namespace) -> int:
    from server.config import load_server_config
    from server.ops.datamodes import secure_data_dir
    from server.run import default_services, run_server

    config = load_server_config(args.data)
    secure_data_dir(config.data)  # nginx reads tuf/ and blobs/ only
    if args.mqtt:
        from dataclasses import replace

        from server.fleet_settings import check_mqtt_url

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
    import sys
    import time

    from server.config import load_server_config
    from server.fleet.enroll import broker_line, describe, enroll_kiosk

    to_stdout = args.out == "-"
    if to_stdout and sys.stdout.isatty():
        raise UsageError("-o - writes a tar to stdout: send it on (| ssh ...) or into a file")
    from server.packs.publications import cli_user

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
        by=cli_user(),
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
