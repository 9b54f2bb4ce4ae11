"""`bgk server backup` and `bgk server restore` (server/ops/backup.py, restore.py)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from kiosk.common.cli import Registry


def register(registry: Registry) -> None:
    p = registry.add(
        "server config",
        "change settings of server.toml in place (comments kept, values checked)",
        _config,
    )
    p.add_argument("--data", type=Path, required=True, help="the server data folder")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help='e.g. --set mqtt.url=mqtt://127.0.0.1:1883 --set mqtt.hostnames=["kiosk.example.vn"]',
    )
    p.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = registry.add(
        "server backup",
        "one file with the store, TUF metadata, blobs, keys and the MQTT CA (0600: keep it offline)",
        _backup,
    )
    p.add_argument("--data", type=Path, required=True, help="the server data folder")
    p.add_argument(
        "-o",
        "--out",
        type=Path,
        required=True,
        help="backup file, or a folder (ending in /) for a dated bgk-backup-<UTC time>.tar",
    )
    p.add_argument(
        "--no-blobs",
        action="store_true",
        help="list the blobs instead of copying them (when they are backed up elsewhere)",
    )
    p.add_argument(
        "--keep", type=int, help="with a folder: keep only the N newest dated backups there"
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = registry.add(
        "server restore",
        "a backup into an empty data folder; TUF versions jump past what kiosks trust",
        _restore,
    )
    p.add_argument(
        "backup", help="backup file, a folder of them (the newest is taken), or - for stdin"
    )
    p.add_argument("--data", type=Path, required=True, help="the (empty) server data folder")
    p.add_argument(
        "--keys",
        type=Path,
        help="offline keys folder: targets is signed again (default: [tuf] offline_keys)",
    )
    p.add_argument(
        "--keep-targets",
        action="store_true",
        help="no pack was published after the backup: keep its targets (no offline key needed)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _backup(args: argparse.Namespace) -> int:
    from server.config import load_server_config
    from server.ops.backup import backup_server, prune

    result = backup_server(load_server_config(args.data), args.out, blobs=not args.no_blobs)
    removed = prune(result.path.parent, args.keep) if args.keep else []
    m = result.manifest
    if args.json:
        print(
            json.dumps(
                {
                    "ok": True,
                    "file": str(result.path),
                    "bytes": result.bytes,
                    "created": m.created,
                    "store": m.store,
                    "tuf_versions": m.tuf_versions,
                    "blobs": m.blobs,
                    "files": len(m.files),
                    "removed": [str(p) for p in removed],
                }
            )
        )
        return 0
    versions = ", ".join(f"{role} v{v}" for role, v in sorted(m.tuf_versions.items()))
    blobs = f"{result.blob_count} blobs" if m.blobs == "included" else "the list of blobs"
    print(
        f"backup written: {result.path} ({result.bytes / 1e6:.1f} MB: {m.store} store, "
        f"TUF metadata ({versions}), {blobs}, keys, MQTT CA)"
    )
    print(
        "it holds the server's private keys: keep a copy off this machine, not readable by others"
    )
    for path in removed:
        print(f"removed the older backup {path}")
    return 0


def _restore(args: argparse.Namespace) -> int:
    from server.ops.restore import restore_server

    result = restore_server(args.backup, args.data, keys=args.keys, keep_targets=args.keep_targets)
    if args.json:
        print(
            json.dumps(
                {
                    "ok": True,
                    "data": str(result.data),
                    "backup": result.source,
                    "created": result.manifest.created,
                    "versions": {r: list(v) for r, v in result.versions.items()},
                    "broker": result.broker,
                    "publishers": list(result.publishers) if result.publishers else None,
                    "stale_events": list(result.stale_events),
                }
            )
        )
        return 0
    source = "the backup" if result.source == "stdin" else result.source
    print(f"restored {source} (taken {result.manifest.created}) into {result.data}")
    for role, (was, now) in result.versions.items():
        if was != now:
            print(f"  {role}: version {was} -> {now} (past anything kiosks may trust)")
    if result.broker:
        print(f"  MQTT: {result.broker}")
    if result.publishers:
        was, floor = result.publishers
        print(
            f"  publishers: version {was}, signed by the publishers: kiosks that saw a later "
            f"one keep their pack and refuse new metadata until the publishers sign the next "
            f"version (numbered {floor}): create a signing event now"
        )
    for event_id in result.stale_events:
        print(f"  signing event {event_id} was open: now stale, create a new one")
    print(
        "packs published after the backup are not in it: publish them again; kiosks "
        "enrolled after it must be enrolled again (--replace)"
    )
    return 0


def _config(args: argparse.Namespace) -> int:
    from server.ops.tomledit import parse_assignment, set_settings

    settings = [parse_assignment(item) for item in args.set]
    changed = set_settings(args.data, settings, dry_run=args.dry_run)
    if args.json:
        print(json.dumps({"ok": True, "changed": changed, "dry_run": args.dry_run}))
    elif changed:
        verb = "would change" if args.dry_run else "changed"
        print(f"{verb} in {args.data / 'server.toml'}: {', '.join(changed)}")
    else:
        print("server.toml already says so: nothing to change")
    return 0
