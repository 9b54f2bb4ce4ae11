"""Transactions of the fleet store shared by the ingest, the sweeper and leases:
the write transaction (an flock before SQLite's write lock), reading kiosks'
facts, and applying the states they derive (conditional, so that several
processes record a change once).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from server.fleet.state import FACT_COLUMNS, Facts, derive_state
from server.fleet_settings import FleetSettings
from server.store import Store
from server.store.schema import kiosk_state, presence


def dialect_insert(store: Store, table: Any) -> Any:
    return (sqlite.insert if store.is_sqlite else postgresql.insert)(table)


@contextlib.contextmanager
def write_transaction(store: Store) -> Iterator[Connection]:
    """A write transaction. On SQLite it first takes an exclusive flock on
    `<db>.writer` and then SQLite's write lock (BEGIN IMMEDIATE): several ingest
    processes then hand the database over through a kernel wait queue instead
    of SQLite's sleep-and-retry busy handler (which wasted most of a second
    writer's time), and a read-then-write transaction cannot fail on WAL's busy
    snapshot. On PostgreSQL, an ordinary transaction."""
    if not store.is_sqlite:
        with store.engine.begin() as conn:
            yield conn
        return
    database = store.engine.url.database
    lock = open(f"{database}.writer", "a+b") if database and database != ":memory:" else None  # noqa: SIM115
    try:
        if lock is not None:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        with store.engine.begin() as conn:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            yield conn
    finally:
        if lock is not None:
            lock.close()  # releases the flock


def read_facts(conn: Connection, kiosks: list[str] | None) -> list[Facts]:
    """The facts of `kiosks` (None: every kiosk that ever spoke)."""
    query = select(*(kiosk_state.c[c] for c in FACT_COLUMNS))
    if kiosks is None:
        return [Facts(*row) for row in conn.execute(query).all()]
    out: list[Facts] = []
    for i in range(0, len(kiosks), 5000):  # within SQLite's limit of bound variables
        chunk = query.where(kiosk_state.c.kiosk_id.in_(kiosks[i : i + 5000]))
        out += [Facts(*row) for row in conn.execute(chunk).all()]
    return out


def apply_states(
    conn: Connection, store: Store, facts: list[Facts], now: float, cfg: FleetSettings
) -> tuple[dict[str, tuple[str, str]], list[Facts]]:
    """Write the state each of `facts` derives to at `now` where it changed, with a
    presence row. Each update is conditional on the old state, so two processes
    deriving the same change record it once. Returns the changes and the facts
    with their new state."""
    mark = "?" if store.is_sqlite else "%s"
    update_sql = (
        f"UPDATE kiosk_state SET state = {mark}, state_since = {mark}, reason = {mark} "
        f"WHERE kiosk_id = {mark} AND state = {mark}"
    )
    changes: dict[str, tuple[str, str]] = {}
    out: list[Facts] = []
    log_rows: list[dict[str, Any]] = []
    for f in facts:
        state, reason = derive_state(f, now, cfg)
        if state != f.state:
            done = conn.exec_driver_sql(update_sql, (state, now, reason, f.kiosk_id, f.state))
            if done.rowcount == 1:
                changes[f.kiosk_id] = (f.state, state)
                log_rows.append(
                    {"kiosk_id": f.kiosk_id, "at": now, "state": state, "reason": reason}
                )
                f = dataclasses.replace(f, state=state, state_since=now)
        out.append(f)
    if log_rows:
        conn.execute(presence.insert(), log_rows)
    return changes, out


def rederive(
    conn: Connection, store: Store, kiosks: list[str] | None, now: float, cfg: FleetSettings
) -> tuple[dict[str, tuple[str, str]], list[Facts]]:
    """read_facts + apply_states in one (write) transaction."""
    return apply_states(conn, store, read_facts(conn, kiosks), now, cfg)
