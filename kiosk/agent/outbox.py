"""The kiosk's disk outbox and command ledger: state_dir/agent/outbox.db (SQLite).

paho keeps QoS 1 messages queued while disconnected only in memory, and a
kiosk's power may be cut at any instant. Events and command acks are
therefore written here first (synchronous=FULL: on disk when add() returns),
published in order (at most MAX_IN_FLIGHT unacknowledged), and deleted when
the broker's PUBACK arrives. After a power cut whatever was not acknowledged
is sent again; the server drops the duplicates by (kiosk, outbox_id, seq).

The ledger remembers every command id seen (until well after it expires),
so a command redelivered by QoS 1 or replayed is never run twice.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("bgk.agent.outbox")

#: most unacknowledged QoS 1 messages handed to paho at once
MAX_IN_FLIGHT = 100
#: the outbox keeps at most this many messages; the oldest go first beyond it
MAX_ROWS = 20_000
#: ledger entries are kept this long after their command expired
LEDGER_KEEP_S = 7 * 86400.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    body BLOB NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger (
    cmd_id TEXT PRIMARY KEY,
    exp REAL NOT NULL,
    state TEXT NOT NULL,
    at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Row:
    seq: int
    #: topic kind: "events" or "cmd/ack"
    kind: str
    body: bytes
    created: float


class Outbox:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a row is on the card when add() returns, even if the power goes now
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        row = self._db.execute("SELECT value FROM meta WHERE key='outbox_id'").fetchone()
        if row is None:
            self.outbox_id = secrets.token_hex(8)
            self._db.execute("INSERT INTO meta VALUES ('outbox_id', ?)", (self.outbox_id,))
        else:
            self.outbox_id = str(row[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- outgoing messages -------------------------------------------------------
    def add(self, kind: str, body: bytes, now: float) -> int:
        """Store a message durably; returns its sequence number."""
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO outbox (kind, body, created) VALUES (?, ?, ?)", (kind, body, now)
            )
            self._trim()
            return int(cur.lastrowid or 0)

    def _trim(self) -> None:
        (count,) = self._db.execute("SELECT count(*) FROM outbox").fetchone()
        if count > MAX_ROWS:
            drop = count - MAX_ROWS
            self._db.execute(
                "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox ORDER BY seq LIMIT ?)",
                (drop,),
            )
            log.error("outbox full: dropped the %d oldest messages", drop)

    def pending(self, after: int, limit: int) -> list[Row]:
        """Messages with seq > `after`, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, kind, body, created FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
                (after, limit),
            ).fetchall()
        return [Row(int(s), str(k), bytes(b), float(c)) for s, k, b, c in rows]

    def done(self, seq: int) -> None:
        """The broker acknowledged `seq` (or refused it for good)."""
        with self._lock:
            self._db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))

    def count(self) -> int:
        with self._lock:
            (n,) = self._db.execute("SELECT count(*) FROM outbox").fetchone()
        return int(n)

    # --- command ledger ------------------------------------------------------------
    def accept(self, cmd_id: str, exp: float, state: str, ack: bytes, now: float) -> bool:
        """Record a command as seen and queue its first ack, in one transaction.
        False (and nothing queued) when the command was seen before."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cur = self._db.execute(
                    "INSERT OR IGNORE INTO ledger VALUES (?, ?, ?, ?)", (cmd_id, exp, state, now)
                )
                if cur.rowcount == 0:
                    self._db.execute("ROLLBACK")
                    return False
                self._db.execute(
                    "INSERT INTO outbox (kind, body, created) VALUES ('cmd/ack', ?, ?)", (ack, now)
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return True

    def finish(self, cmd_id: str, state: str, ack: bytes, now: float) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(
                "UPDATE ledger SET state = ?, at = ? WHERE cmd_id = ?", (state, now, cmd_id)
            )
            self._db.execute(
                "INSERT INTO outbox (kind, body, created) VALUES ('cmd/ack', ?, ?)", (ack, now)
            )
            self._db.execute("COMMIT")

    def seen(self, cmd_id: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT state FROM ledger WHERE cmd_id = ?", (cmd_id,)
            ).fetchone()
        return None if row is None else str(row[0])

    def prune_ledger(self, now: float) -> int:
        with self._lock:
            cur = self._db.execute("DELETE FROM ledger WHERE exp < ?", (now - LEDGER_KEEP_S,))
        return int(cur.rowcount)
