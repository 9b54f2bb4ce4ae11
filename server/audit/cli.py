"""`bgk server audit verify|list`: check the chain, read the log."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path

from kiosk.common.cli import Registry
from kiosk.protocol.errors import UsageError


def register(registry: Registry) -> None:
    registry.group("server audit", "the tamper-evident audit log: verify the chain, list entries")
    p = registry.add(
        "server audit verify",
        "walk the hash chain; name the first entry that was edited, removed or reordered",
        _verify,
    )
    p.add_argument("--data", type=Path, required=True, help="the server data folder")
    p.add_argument(
        "--head",
        metavar="SEQ:HASH",
        help="a chain head printed in a report: check the log still holds it",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = registry.add("server audit list", "the audit log, newest first", _list)
    p.add_argument("--data", type=Path, required=True, help="the server data folder")
    p.add_argument("--since", metavar="DD/MM/YYYY[ HH:MM]", help="from this time on (Vietnam time)")
    p.add_argument("--actor", help="only what this account did")
    p.add_argument("--action", help="only these actions, e.g. notice or pack.published")
    p.add_argument("--limit", type=int, default=200, help="at most this many entries (200)")
    p.add_argument("--json", action="store_true", help="print as JSON (one list)")


def parse_since(value: str) -> float:
    from kiosk.common.vietnam import VIETNAM

    for fmt in ("%d/%m/%Y %H:%M", "%d/%m/%Y"):
        try:
            return datetime.strptime(value.strip(), fmt).replace(tzinfo=VIETNAM).timestamp()
        except ValueError:
            continue
    raise UsageError(f"--since {value!r}: write a date as DD/MM/YYYY or DD/MM/YYYY HH:MM")


def local_time(at: float) -> str:
    from kiosk.common.vietnam import VIETNAM

    return datetime.fromtimestamp(at, VIETNAM).strftime("%d/%m/%Y %H:%M:%S")


def _store(data: Path) -> object:
    from server.config import load_server_config
    from server.store import open_store

    return open_store(load_server_config(data).store_url)


def _verify(args: argparse.Namespace) -> int:
    from server.audit.log import parse_head, verify
    from server.store import Store

    try:
        head = parse_head(args.head) if args.head else None
    except ValueError as exc:
        raise UsageError(f"--head: {exc}") from None
    store = _store(args.data)
    assert isinstance(store, Store)
    try:
        verdict = verify(store, head)
    finally:
        store.dispose()
    if args.json:
        print(
            json.dumps(
                {
                    "ok": verdict.ok,
                    "entries": verdict.entries,
                    "head": str(verdict.head),
                    "bad_seq": verdict.bad_seq,
                    "problem": verdict.problem or None,
                }
            )
        )
    elif verdict.ok:
        print(f"audit log intact: {verdict.entries} entries; head {verdict.head}")
    else:
        print(f"audit log BROKEN at entry #{verdict.bad_seq}: {verdict.problem}")
        print(f"(entries #1..#{verdict.entries} are intact; head of that part {verdict.head})")
    return 0 if verdict.ok else 3


def _list(args: argparse.Namespace) -> int:
    from server.audit.log import entries
    from server.store import Store

    since = parse_since(args.since) if args.since else None
    if not 1 <= args.limit <= 100_000:
        raise UsageError("--limit: between 1 and 100000")
    store = _store(args.data)
    assert isinstance(store, Store)
    try:
        found = entries(store, since=since, actor=args.actor, action=args.action, limit=args.limit)
    finally:
        store.dispose()
    if args.json:
        print(json.dumps([e.as_dict() for e in found], ensure_ascii=False))
        return 0
    for e in found:
        details = " ".join(f"{k}={v}" for k, v in sorted(e.details_dict.items()))
        print(f"#{e.seq} {local_time(e.at)} {e.actor} {e.action} {e.object} {details}".rstrip())
    if not found:
        print("no audit entry matches")
    return 0
