"""The audit log: append-only, hash-chained entries in the store's `audit_log` table.

Each entry has a sequence number (1, 2, 3, ... without gaps), a time from the
caller's clock, who did it, the action, the object and details, the hash of
the entry before it (`prev_hash`; "0"*64 for the first) and its own hash:

    hash = SHA-256 of the canonical JSON of
           {"seq", "at" (6 decimals), "actor", "action", "object", "details", "prev"}

Changing, removing or reordering any entry breaks the chain at that entry
(`verify` names it). Someone who can write the database can rewrite the
whole tail consistently: that is what the chain head printed in each
Article 26 report pins (`verify --head SEQ:HASH` checks a printed head).

Appends from several server processes: `seq` is the primary key, so two
writers can never both extend the same entry; PostgreSQL appends take a
transaction-level advisory lock, SQLite's single writer lock and a retry
on a lost race cover the rest.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, func, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from server.store import Store
from server.store.schema import audit_log

GENESIS: Final = "0" * 64
#: PostgreSQL advisory lock key serialising appends of several server processes
_APPEND_LOCK: Final = 0x6267_6B41
_TRIES: Final = 20


@dataclass(frozen=True)
class Entry:
    seq: int
    at: float
    actor: str
    action: str
    object: str
    details: str
    prev_hash: str
    hash: str

    @property
    def details_dict(self) -> dict[str, Any]:
        try:
            value = json.loads(self.details)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "object": self.object,
            "details": self.details_dict,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True)
class Head:
    """The newest entry's number and hash: what a printed report pins."""

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


@dataclass(frozen=True)
class Verdict:
    ok: bool
    entries: int
    head: Head
    #: the first entry that is not what the chain says, and why
    bad_seq: int | None = None
    problem: str = ""


def canonical(details: Mapping[str, Any]) -> str:
    return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(
    seq: int, at: float, actor: str, action: str, obj: str, details: str, prev: str
) -> str:
    body = {
        "seq": seq,
        "at": f"{at:.6f}",
        "actor": actor,
        "action": action,
        "object": obj,
        "details": details,
        "prev": prev,
    }
    return hashlib.sha256(canonical(body).encode("utf-8")).hexdigest()


def _clip(value: str, size: int) -> str:
    return value if len(value) <= size else value[: size - 1] + "…"


def append(
    store: Store,
    actor: str,
    action: str,
    obj: str,
    details: Mapping[str, Any] | None = None,
    *,
    now: float,
    conn: Connection | None = None,
) -> Entry:
    """Append one entry. With `conn`, inside the caller's transaction (the entry and
    the change it records commit together); else in a transaction of its own."""
    if conn is not None:
        return _append(conn, store, actor, action, obj, details or {}, now)
    for attempt in range(_TRIES):
        try:
            with store.engine.begin() as own:
                return _append(own, store, actor, action, obj, details or {}, now)
        except (IntegrityError, OperationalError):
            # another process took this seq first (or SQLite was busy): read the new head
            if attempt == _TRIES - 1:
                raise
            time.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")


def _append(
    conn: Connection,
    store: Store,
    actor: str,
    action: str,
    obj: str,
    details: Mapping[str, Any],
    now: float,
) -> Entry:
    if not store.is_sqlite:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _APPEND_LOCK})
    last = conn.execute(
        select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
    ).first()
    seq = (last.seq + 1) if last else 1
    prev = last.hash if last else GENESIS
    actor, action, obj = _clip(actor or "?", 100), _clip(action, 40), _clip(obj, 200)
    body = canonical(details)
    digest = entry_hash(seq, now, actor, action, obj, body, prev)
    conn.execute(
        audit_log.insert().values(
            seq=seq,
            at=now,
            actor=actor,
            action=action,
            object=obj,
            details=body,
            prev_hash=prev,
            hash=digest,
        )
    )
    return Entry(seq, now, actor, action, obj, body, prev, digest)


def _rows(conn: Connection, batch: int = 2000) -> Iterator[Entry]:
    after = 0
    while True:
        rows = conn.execute(
            select(audit_log).where(audit_log.c.seq > after).order_by(audit_log.c.seq).limit(batch)
        ).all()
        if not rows:
            return
        for r in rows:
            yield Entry(r.seq, r.at, r.actor, r.action, r.object, r.details, r.prev_hash, r.hash)
        after = rows[-1].seq


def verify(store: Store, head: Head | None = None) -> Verdict:
    """Walk the chain from the first entry; the first entry that was edited, removed,
    inserted or moved is named. `head`: a printed chain head that must still be there."""
    prev, expected, count = GENESIS, 1, 0
    seen_head = head is None
    with store.engine.connect() as conn:
        for e in _rows(conn):
            if e.seq != expected:
                return _bad(count, prev, expected, f"entry #{expected} is missing (removed)")
            computed = entry_hash(e.seq, e.at, e.actor, e.action, e.object, e.details, e.prev_hash)
            if computed != e.hash:
                return _bad(
                    count, prev, e.seq,
                    f"entry #{e.seq} was changed: its fields no longer give its hash "
                    "(edited, or moved here from another place)",
                )  # fmt: skip
            if e.prev_hash != prev:
                return _bad(
                    count, prev, e.seq,
                    f"entry #{e.seq} does not follow entry #{e.seq - 1}: the entry before it "
                    "was changed, removed or moved",
                )  # fmt: skip
            if head is not None and e.seq == head.seq:
                if e.hash != head.hash:
                    return _bad(
                        count, prev, e.seq,
                        f"entry #{e.seq} is not the one the printed head {head} pins: "
                        "the log was rewritten from there on",
                    )  # fmt: skip
                seen_head = True
            prev, expected, count = e.hash, expected + 1, count + 1
    if not seen_head and head is not None:
        return _bad(
            count, prev, count + 1,
            f"the log ends at entry #{count}, before the printed head #{head.seq}: "
            f"entries from #{count + 1} on were removed",
        )  # fmt: skip
    return Verdict(True, count, Head(count, prev))


def _bad(count: int, prev: str, seq: int, problem: str) -> Verdict:
    return Verdict(False, count, Head(count, prev), seq, problem)


def current_head(store: Store, until: float | None = None) -> Head:
    """The newest entry (at or before `until`), as stored: seq and hash."""
    query = select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
    if until is not None:
        query = query.where(audit_log.c.at <= until)
    with store.engine.connect() as conn:
        row = conn.execute(query).first()
    return Head(row.seq, row.hash) if row else Head(0, GENESIS)


def entries(
    store: Store,
    *,
    since: float | None = None,
    actor: str | None = None,
    action: str | None = None,
    limit: int = 1000,
) -> list[Entry]:
    """Newest first."""
    query = select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)
    if since is not None:
        query = query.where(audit_log.c.at >= since)
    if actor:
        query = query.where(audit_log.c.actor == actor)
    if action:
        query = query.where(audit_log.c.action.startswith(action))
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        Entry(r.seq, r.at, r.actor, r.action, r.object, r.details, r.prev_hash, r.hash)
        for r in rows
    ]


def count(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())


def parse_head(value: str) -> Head:
    seq, sep, digest = value.partition(":")
    if not sep or not seq.isdigit() or len(digest) != 64:
        raise ValueError(
            f"{value!r} is not a chain head: write it as SEQ:HASH, as reports print it"
        )
    return Head(int(seq), digest.lower())
