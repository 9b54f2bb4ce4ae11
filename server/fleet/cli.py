"""`bgk` subcommands of the fleet link (server side).

bgk server fleet --data DIR [--json] [--lang vi|en]     the technician's view
bgk server mosquitto-config --data DIR -o DIR [--reload]  broker files from the registry
bgk server ingest --data DIR [--client N] [--share]      one more ingest process
bgk server command --data DIR --kiosk ID OP [...]        queue a signed command (a notice
                                                        is checked against the kiosk's fonts)
bgk kiosk revoke --data DIR --id ID [--broker-dir DIR]   end a kiosk's access
bgk sim --kiosks N --mqtt URL [--data DIR] ...           simulated kiosks
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

from kiosk.common.cli import Registry
from kiosk.protocol.errors import UsageError
from server.open import open_server


def register(registry: Registry) -> None:
    p = registry.add(
        "server fleet", "every kiosk: gate, state, pack, UI health, last seen, alerts", _fleet
    )
    p.add_argument("--data", type=Path, required=True, help="server data folder")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--lang", choices=("vi", "en"), default="vi", help="language (default: vi)")

    p = registry.add(
        "server mosquitto-config",
        "write Mosquitto's config, passwords, ACL and TLS files",
        _mosquitto,
    )
    p.add_argument("--data", type=Path, required=True, help="server data folder")
    p.add_argument(
        "-o",
        "--out",
        type=Path,
        required=True,
        help="folder for the broker files, e.g. /etc/mosquitto/bgk",
    )
    # Unset options keep what the folder's bgk-layout.json recorded (a rewrite keeps
    # the broker's settings), else the production defaults of BrokerLayout.
    p.add_argument("--tls-port", type=int, help="kiosks' TLS listener (default 8883); 0 = none")
    p.add_argument(
        "--port", type=int, help="server processes' loopback listener (default 1883); 0 = none"
    )
    p.add_argument(
        "--persistence", type=Path, help="broker persistence folder (default /var/lib/mosquitto)"
    )
    p.add_argument(
        "--log-dest",
        help="Mosquitto log_dest value (default file /var/log/mosquitto/mosquitto.log)",
    )
    p.add_argument(
        "--run-as", help="user Mosquitto drops to when started as root (default mosquitto)"
    )
    p.add_argument("--pid-file", type=Path, help="default /run/mosquitto/mosquitto.pid")
    p.add_argument(
        "--reload", action="store_true", help="send SIGHUP to the running broker afterwards"
    )
    p.add_argument(
        "--dry-run", action="store_true", help="say which files would change, write nothing"
    )
    p.add_argument("--json", action="store_true")

    p = registry.add("server ingest", "run one more MQTT ingest process (scale-out)", _ingest)
    p.add_argument("--data", type=Path, required=True, help="server data folder")
    p.add_argument(
        "--client", type=int, default=2, help="server broker account number (_server-N), default 2"
    )
    p.add_argument(
        "--share",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="use the shared subscription $share/ingest/... (default: [mqtt] share)",
    )
    p.add_argument("--role", choices=("ingest", "main"), default="ingest", help=argparse.SUPPRESS)
    p.add_argument(
        "--stats", type=Path, help="write ingest figures (JSON) to this file every second"
    )

    p = registry.add(
        "server command",
        "send a signed command to a kiosk (the running server delivers it)",
        _command,
    )
    p.add_argument("--data", type=Path, required=True, help="server data folder")
    p.add_argument("--kiosk", required=True, help="kiosk id")
    p.add_argument("op", choices=("reboot", "resync", "screenshot", "notice"))
    p.add_argument(
        "--text",
        action="append",
        default=[],
        metavar="LANG=TEXT",
        help="notice text (repeat per language); without it, the notice shown is withdrawn",
    )
    p.add_argument(
        "--notice-minutes", type=float, default=60.0, help="how long the notice stays on screen"
    )
    p.add_argument(
        "--send-anyway",
        action="store_true",
        help="send a notice although the kiosk's fonts lack some of its characters "
        "(they show as boxes; the command records what was accepted)",
    )
    p.add_argument(
        "--ttl",
        type=float,
        help="seconds before the command expires (default [fleet] command_ttl_s)",
    )
    p.add_argument(
        "--wait",
        type=float,
        default=0.0,
        help="wait up to this many seconds for the kiosk's answer",
    )
    p.add_argument("--json", action="store_true")

    p = registry.add(
        "kiosk revoke", "revoke a kiosk: its broker access ends at the next reload", _revoke
    )
    p.add_argument("--data", type=Path, required=True, help="server data folder")
    p.add_argument("--id", required=True, help="kiosk id")
    p.add_argument(
        "--broker-dir",
        type=Path,
        help="regenerate the broker files in this folder and reload the broker",
    )


def _fleet(args: argparse.Namespace) -> int:
    from server.fleet.view import fleet_view, render_table

    cfg, store = open_server(args.data)
    views = fleet_view(store, time.time(), cfg.fleet)
    if args.json:
        print(json.dumps([v.as_json() for v in views], ensure_ascii=False, indent=1))
    else:
        sys.stdout.write(render_table(views, args.lang))
    store.dispose()
    return 0


def _mosquitto(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from server.broker.conf import BrokerLayout, read_layout
    from server.broker.files import write_broker_files
    from server.broker.pki import ensure_fleet_keys
    from server.fleet_settings import broker_hostnames

    cfg, store = open_server(args.data)
    keys = ensure_fleet_keys(cfg.data, broker_hostnames(cfg.mqtt))
    out = args.out.resolve()
    try:
        base = replace(read_layout(out), out=out)
    except UsageError:
        base = BrokerLayout(out=out)
    given = {
        "tls_port": None if args.tls_port is None else (args.tls_port or None),
        "plain_port": None if args.port is None else (args.port or None),
        "persistence_dir": args.persistence,
        "log_dest": args.log_dest,
        "run_as": None if args.run_as is None else (args.run_as or ""),
        "pid_file": args.pid_file,
    }
    layout = replace(base, **{k: v for k, v in given.items() if v is not None})
    if layout.run_as == "":
        layout = replace(layout, run_as=None)
    if args.tls_port == 0:
        layout = replace(layout, tls_port=None)
    if args.port == 0:
        layout = replace(layout, plain_port=None)
    try:
        written = write_broker_files(
            store, keys, layout, cfg.mqtt.server_clients, dry_run=args.dry_run
        )
    finally:
        store.dispose()
    reloaded = False
    if args.reload and not args.dry_run:
        from server.broker.files import sighup

        reloaded = layout.pid_file is not None and sighup(layout.pid_file)
    if args.json:
        print(
            json.dumps(
                {
                    "files": [str(p) for p in written.files],
                    "changed": [str(p) for p in written.changed],
                    "reloaded": reloaded,
                }
            )
        )
    else:
        verb = "would change" if args.dry_run else "changed"
        print(
            f"{len(written.changed)} of {len(written.files)} broker files {verb} in "
            f"{layout.out}; Mosquitto runs with -c {layout.out / 'mosquitto.conf'}"
        )
        if args.reload:
            print(
                "broker reloaded" if reloaded else f"no running broker found from {layout.pid_file}"
            )
    return 0


def _ingest(args: argparse.Namespace) -> int:
    from server.broker.pki import FleetKeys
    from server.fleet.service import FleetService

    cfg, store = open_server(args.data)
    keys = FleetKeys(cfg.data / "mqtt")
    if not keys.server_secret.exists():
        raise UsageError(
            f"{cfg.data} has no MQTT keys: run `bgk server mosquitto-config --data {args.data} -o ...` first"
        )
    service = FleetService(
        cfg,
        store,
        keys,
        role=args.role,
        client_index=args.client,
        share=args.share,
        stats_path=args.stats,
    )
    signal.signal(signal.SIGTERM, lambda *_: service.request_stop())
    try:
        service.run()
    except KeyboardInterrupt:
        pass
    finally:
        service.stop()
        store.dispose()
    return 0


def _command(args: argparse.Namespace) -> int:
    from server.broker.pki import FleetKeys
    from server.fleet.remote import command_status, new_notice_id, queue_command
    from server.packs.publications import cli_user

    cfg, store = open_server(args.data)
    now = time.time()
    cmd_args: dict[str, Any] = {}
    if args.op == "notice":
        text = {}
        for item in args.text:
            lang, sep, value = item.partition("=")
            if not sep:
                raise UsageError(
                    f"--text {item!r}: write it as LANG=TEXT, e.g. vi=Cửa khẩu đóng lúc 17:00"
                )
            text[lang] = value
        # no --text: withdraw whatever notice the kiosk shows (id "all")
        notice_id = new_notice_id(now) if text else "all"
        cmd_args = {"id": notice_id, "text": text, "expires": now + args.notice_minutes * 60}
        sent_anyway = _check_notice(cfg, store, args, text) if text else None
    keys = FleetKeys(cfg.data / "mqtt")
    if not keys.command_key.exists():
        raise UsageError(
            f"{cfg.data} has no command key: run `bgk server mosquitto-config --data {args.data} -o ...` first"
        )
    queued = queue_command(
        store,
        keys,
        args.kiosk,
        args.op,
        cmd_args,
        now=now,
        ttl_s=args.ttl or cfg.fleet.command_ttl_s,
        created_by=cli_user(),
        sent_anyway=sent_anyway if args.op == "notice" else None,
    )
    if args.op == "notice":
        from server.audit import log as audit

        action = "notice.sent" if text else "notice.withdrawn"
        details = {"to": [args.kiosk], "kiosks": 1, "text": text}
        audit.append(store, cli_user(), action, f"notice:{notice_id}", details, now=now)
    status = command_status(store, queued.cmd_id)
    deadline = time.monotonic() + args.wait
    while (
        status
        and status["state"] not in ("done", "failed", "expired")
        and time.monotonic() < deadline
    ):
        time.sleep(0.2)
        status = command_status(store, queued.cmd_id)
    store.dispose()
    if args.json:
        print(json.dumps(status, ensure_ascii=False))
    else:
        assert status is not None
        line = f"command {queued.cmd_id} ({args.op} -> {args.kiosk}): {status['state']}"
        print(line + (f" — {status['reason']}" if status.get("reason") else ""))
    return 0


def _check_notice(
    cfg: Any, store: Any, args: argparse.Namespace, text: dict[str, str]
) -> dict[str, str] | None:
    """Refuse a notice the kiosk cannot draw (unless --send-anyway); say which
    languages are missing and what those travellers read instead."""
    from server.fleet.notice_check import NoticeGlyphsMissing, check_notice

    check = check_notice(store, cfg, text, [args.kiosk])
    if not check.ok and not args.send_anyway:
        store.dispose()
        raise NoticeGlyphsMissing(check, "--send-anyway")
    for lang, instead in check.absent.items():
        seen = f"they read it in {instead}" if instead else "they read nothing"
        print(f"note: no {lang} text: {seen}", file=sys.stderr)
    if check.unchecked:
        print(f"note: {args.kiosk} has no known pack: its fonts were not checked", file=sys.stderr)
    return check.missing_for(args.kiosk)


def _revoke(args: argparse.Namespace) -> int:
    from server.broker.revoke import revoke_kiosk
    from server.packs.publications import cli_user

    cfg, store = open_server(args.data)
    try:
        revoked = revoke_kiosk(
            cfg, store, args.id, time.time(), broker_dir=args.broker_dir, by=cli_user()
        )
    finally:
        store.dispose()
    print(f"kiosk {args.id} revoked")
    if revoked.broker is not None and revoked.broker.reload == "signalled":
        print("broker reloaded: the kiosk is disconnected and cannot log in again")
    elif revoked.broker is not None:
        print(
            f"kiosk list rewritten in {revoked.broker.fleet_dir}; Mosquitto reloads it "
            "(bgk-mosquitto-reload.path), then drops the kiosk and refuses its login"
        )
    else:
        print(
            "regenerate the broker files (bgk server mosquitto-config ... --reload) to end its access"
        )
    return 0
