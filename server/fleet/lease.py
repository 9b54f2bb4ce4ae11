"""Leases in the fleet store: what only one server process may do at a time.

    lease = Lease(store, "fleet-leader", ttl_s=15)
    lease.renew()        # True while this process holds it (takes it when free)
    lease.release()      # on a clean stop: the next process need not wait

A lease is one row of `leases`: its holder, a term that grows each time it
changes hands, and when it lapses unless renewed. Every renewal is a write
transaction on the row (PostgreSQL: row lock; SQLite: the writer lock), and
times come from the database's clock, so processes on several hosts agree.

A holder names itself "host pid start-time nonce". A lease held by a process
of this host that no longer runs (killed -9, then restarted) is taken over at
once instead of after the TTL: a restarted server does not wait for its own
ghost. Holders on other hosts are trusted until their lease lapses.

What uses leases:
    fleet-leader      the main fleet service that sweeps (states, alerts, expiry,
                      retention), sends queued commands, announces packs and
                      publishes the server's retained status
    mqtt-_server-N    a broker account in use: two processes logging in with the
                      same account would throw each other off the broker forever
Everything a leader does is also idempotent (conditional updates, unique open
alerts, kiosks running a command id once), so a leader that stalls past its
lease and acts once more does no harm; the lease keeps the work in one place.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from kiosk.protocol.errors import UsageError
from server.fleet.transactions import dialect_insert, write_transaction
from server.store import Store
from server.store.schema import leases

log = logging.getLogger(__name__)


def _start_time(pid: int) -> str | None:
    """The kernel's start time of process `pid` (None when it does not run)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def process_holder() -> str:
    """A name for this process that no other process, here or elsewhere, has."""
    pid = os.getpid()
    return f"{socket.gethostname()} {pid} {_start_time(pid) or 0} {secrets.token_hex(4)}"


def holder_gone(holder: str) -> bool:
    """Whether `holder` is a process of this host that no longer runs."""
    parts = holder.split()
    if len(parts) != 4 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    return _start_time(int(parts[1])) != parts[2]


def db_now(conn: Connection) -> float:
    """The database's clock, epoch seconds."""
    if conn.dialect.name == "postgresql":
        sql = "SELECT extract(epoch FROM clock_timestamp())::float8"
    else:
        sql = "SELECT (julianday('now') - 2440587.5) * 86400.0"
    return float(conn.execute(text(sql)).scalar_one())


@dataclass(frozen=True)
class LeaseInfo:
    name: str
    holder: str
    term: int
    since: float
    expires_at: float


class Lease:
    def __init__(self, store: Store, name: str, *, ttl_s: float, holder: str | None = None) -> None:
        self.store = store
        self.name = name
        self.ttl_s = ttl_s
        self.holder = holder or process_holder()
        #: the term of our holding (None while we do not hold it)
        self.term: int | None = None
        #: who holds it, as of the last renew() (ourselves included)
        self.last: LeaseInfo | None = None

    @property
    def held(self) -> bool:
        return self.term is not None

    def renew(self) -> bool:
        """Take the lease if it is free, lapsed or held by a process that is gone;
        extend it if we hold it. True while we hold it."""
        with write_transaction(self.store) as conn:
            now = db_now(conn)
            insert = dialect_insert(self.store, leases).on_conflict_do_nothing()
            conn.execute(
                insert,
                [
                    {
                        "name": self.name,
                        "holder": self.holder,
                        "term": 1,
                        "since": now,
                        "expires_at": now + self.ttl_s,
                    }
                ],
            )
            row = conn.execute(
                select(leases).where(leases.c.name == self.name).with_for_update()
            ).one()
            mine = row.holder == self.holder
            if mine or row.expires_at < now or holder_gone(row.holder):
                term = row.term if mine else row.term + 1
                since = row.since if mine else now
                conn.execute(
                    update(leases)
                    .where(leases.c.name == self.name)
                    .values(holder=self.holder, term=term, since=since, expires_at=now + self.ttl_s)
                )
                info = LeaseInfo(self.name, self.holder, term, since, now + self.ttl_s)
            else:
                info = LeaseInfo(self.name, row.holder, row.term, row.since, row.expires_at)
        was = self.term
        self.last = info
        self.term = info.term if info.holder == self.holder else None
        if self.term is not None and was is None:
            log.info("took lease %s (term %d)", self.name, self.term)
        elif self.term is None and was is not None:
            log.warning("lost lease %s to %s", self.name, info.holder)
        return self.term is not None

    def release(self) -> None:
        """Give the lease up now (it lapses at once; the term stays)."""
        if self.term is None:
            return
        self.term = None
        with write_transaction(self.store) as conn:
            conn.execute(
                update(leases)
                .where(leases.c.name == self.name, leases.c.holder == self.holder)
                .values(expires_at=0.0)
            )


def lease_info(store: Store, name: str) -> LeaseInfo | None:
    """Who holds lease `name` (it may have lapsed: compare expires_at with db_now)."""
    with store.engine.connect() as conn:
        row = conn.execute(select(leases).where(leases.c.name == name)).first()
    if row is None:
        return None
    return LeaseInfo(row.name, row.holder, row.term, row.since, row.expires_at)


class FleetLeases:
    """The leases of one fleet service (server.fleet.service): its broker accounts,
    the sweeper's, and for a main process the control link's."""

    def __init__(
        self, store: Store, accounts: list[str], *, control: bool, ttl_s: float, server_clients: int
    ) -> None:
        self.accounts = [Lease(store, f"mqtt-{name}", ttl_s=ttl_s) for name in accounts]
        self.sweeper = Lease(store, "fleet-sweeper", ttl_s=ttl_s)
        self.control = Lease(store, "fleet-control", ttl_s=ttl_s) if control else None
        self.server_clients = server_clients
        #: set while this process holds the control lease (the ingest thread reads it)
        self._controlling = threading.Event()
        #: the first renewal was made (before it, nobody knows who leads)
        self.decided = False

    @property
    def controlling(self) -> bool:
        return self._controlling.is_set()

    @property
    def sweeping(self) -> bool:
        return self.sweeper.held

    def claim(self) -> None:
        """Claim the broker accounts (refuse to start on one in use), then the rest."""
        if self.decided:
            return
        try:
            for lease in self.accounts:
                if not lease.renew():
                    holder = lease.last.holder if lease.last else "?"
                    raise UsageError(
                        f"the broker account {lease.name.removeprefix('mqtt-')} is used by another "
                        f"server process ({holder}): start this one with another --client number "
                        f"([mqtt] server_clients = {self.server_clients} accounts)"
                    )
            self.renew()
        except SQLAlchemyError as exc:
            log.error("cannot claim leases (the store fails: %s)", str(exc).splitlines()[0])
        self.decided = True

    def renew(self) -> None:
        for lease in self.accounts:
            if not lease.renew():
                log.error("broker account lease %s was taken by %s", lease.name, lease.last)
        self.sweeper.renew()
        if self.control is not None:
            if self.control.renew():
                self._controlling.set()
            else:
                self._controlling.clear()

    def release(self) -> None:
        self._controlling.clear()
        for lease in [self.sweeper, self.control, *self.accounts]:
            if lease is None:
                continue
            try:
                lease.release()
            except SQLAlchemyError as exc:
                log.warning("cannot release lease %s: %s", lease.name, exc)
