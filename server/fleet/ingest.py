"""Ingest: kiosk messages into the fleet store, a batch per transaction.

`IngestWriter.write(batch, now)` validates every message against
kiosk.protocol (a bad topic, malformed JSON, wrong types, an oversized
payload: counted, logged at a bounded rate and dropped; the rest of the
batch goes on), then in ONE transaction appends heartbeat and event history
(idempotent on (kiosk, boot/outbox, seq): QoS 1 redelivers), upserts each
kiosk's latest state (never overwriting newer facts with older ones, since
two processes may share the load), applies presence changes, command acks
and screenshots. The caller acknowledges the batch's QoS 1 messages only
after `write` returns, so a crash loses nothing the broker was told is safe.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, and_, or_, select, update

from kiosk.common.files import atomic_write
from kiosk.protocol.errors import ProtocolError
from kiosk.protocol.payloads import (
    CommandAck,
    Event,
    Heartbeat,
    Status,
    parse_kiosk_payload,
    parse_screenshot,
)
from kiosk.protocol.topics import Kind, parse_kiosk_topic
from server.fleet.bulk import BulkInsert
from server.fleet.transactions import dialect_insert, rederive, write_transaction
from server.fleet_settings import FleetSettings
from server.store import Store
from server.store.schema import (
    commands,
    heartbeats,
    kiosk_events,
    kiosk_state,
    screenshots,
)

log = logging.getLogger(__name__)

HB_STATE_COLUMNS = (
    "hb_at", "hb_ts", "hb_seq", "hb_boot", "period", "uptime", "pack_id", "pack_version",
    "pack_hash", "ui_alive", "ui_screen", "ui_last_touch", "temp", "disk_free", "time_floor",
    "stale", "agent", "share_served", "share_peer", "share_server",
)  # fmt: skip
#: row layouts of the bulk statements (tuples in this order)
HB_ROW = (
    "kiosk_id", "boot_id", "seq", "ts", "received_at", "pack_id", "pack_version",
    "ui_alive", "temp", "disk_free", "stale",
)  # fmt: skip
STATE_ROW = ("kiosk_id", "state", "state_since", *HB_STATE_COLUMNS)
#: parsed topics kept (a fleet has far fewer kiosks x kinds than this)
TOPIC_CACHE = 200_000
#: at most this many drop messages per kind per minute reach the log
DROP_LOG_PER_MINUTE = 20


@dataclass(slots=True)
class Raw:
    """One received message, as the MQTT layer hands it over."""

    topic: str
    payload: bytes
    qos: int
    mid: int
    #: monotonic time of receipt (receipt-to-commit latency)
    mono: float
    #: the connection it arrived on (acks go only to that one)
    conn: int = 0


@dataclass
class BatchResult:
    accepted: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    #: kiosks whose state this batch changed: {kiosk: (old, new)}
    changes: dict[str, tuple[str, str]] = field(default_factory=dict)


class DropLog:
    """Logs dropped messages without letting a flood fill the disk."""

    def __init__(self) -> None:
        self._window = 0.0
        self._seen: Counter[str] = Counter()

    def drop(self, kind: str, topic: str, reason: str, now: float) -> None:
        if now - self._window >= 60:
            self._window, self._seen = now, Counter()
        self._seen[kind] += 1
        if self._seen[kind] <= DROP_LOG_PER_MINUTE:
            log.warning("dropped a message on %s: %s", topic[:120], reason)


class IngestWriter:
    def __init__(self, store: Store, cfg: FleetSettings, data_dir: Path) -> None:
        self.store = store
        self.cfg = cfg
        self.shots_dir = data_dir / "screenshots"
        self.data_dir = data_dir
        #: last known state per kiosk (a hint: hb for a non-online kiosk -> derive now)
        self.known: dict[str, str] = {}
        self._loaded = False
        self.drops = DropLog()
        engine = store.engine
        self._hb_insert = BulkInsert(
            engine, dialect_insert(store, heartbeats).on_conflict_do_nothing(), HB_ROW
        )
        self._ev_insert = dialect_insert(store, kiosk_events).on_conflict_do_nothing()
        ins = dialect_insert(store, kiosk_state)
        # newer facts only: within a boot by seq; across boots by arrival (an old
        # boot's heartbeat cannot arrive long after the new boot's, it expires)
        same_boot = ins.excluded.hb_boot == kiosk_state.c.hb_boot
        upsert = ins.on_conflict_do_update(
            index_elements=["kiosk_id"],
            set_={c: ins.excluded[c] for c in HB_STATE_COLUMNS},
            where=or_(
                kiosk_state.c.hb_seq.is_(None),
                and_(same_boot, ins.excluded.hb_seq >= kiosk_state.c.hb_seq),
                and_(~same_boot, ins.excluded.hb_at >= kiosk_state.c.hb_at),
            ),
        )
        self._state_upsert = BulkInsert(engine, upsert, STATE_ROW)
        self._topics: dict[str, tuple[str, Kind]] = {}
        self._new_state = dialect_insert(store, kiosk_state).on_conflict_do_nothing()

    # --- parsing ----------------------------------------------------------------
    def write(self, batch: list[Raw], now: float) -> BatchResult:
        result = BatchResult()
        hb_rows: list[tuple[Any, ...]] = []
        latest: dict[str, tuple[Any, ...]] = {}
        statuses: list[tuple[str, Status]] = []
        events: list[tuple[str, Event]] = []
        acks: list[tuple[str, CommandAck]] = []
        shots: list[dict[str, Any]] = []
        for raw in batch:
            try:
                parsed = self._topics.get(raw.topic)
                if parsed is None:
                    parsed = parse_kiosk_topic(raw.topic)
                    if len(self._topics) < TOPIC_CACHE:
                        self._topics[raw.topic] = parsed
                kiosk, kind = parsed
                if kind is Kind.CMD:
                    continue  # our own commands, if a filter ever matches them
                if kind is Kind.SCREENSHOT:
                    shots.append(self._screenshot(kiosk, raw.payload, now))
                    result.accepted[kind.value] += 1
                    continue
                msg = parse_kiosk_payload(kind, raw.payload)
            except ProtocolError as exc:
                result.dropped[raw.topic.rsplit("/", 1)[-1]] += 1
                self.drops.drop("any", raw.topic, str(exc), now)
                continue
            result.accepted[kind.value] += 1
            if isinstance(msg, Heartbeat):
                pack, ui, share = msg.pack, msg.ui, msg.share
                shared = (
                    (share.served_bytes, share.peer_bytes, share.server_bytes)
                    if share is not None
                    else (None, None, None)
                )
                pid, pver = (pack.id, pack.version) if pack else (None, None)
                hb_rows.append(
                    (
                        kiosk,
                        msg.boot_id,
                        msg.seq,
                        msg.ts,
                        now,
                        pid,
                        pver,
                        ui.alive,
                        msg.temp,
                        msg.disk_free,
                        msg.stale,
                    )
                )
                prev = latest.get(kiosk)
                # STATE_ROW: hb_seq at 5, hb_boot at 6
                if prev is None or prev[6] != msg.boot_id or msg.seq >= prev[5]:
                    # a kiosk's first row starts offline; rederive records it coming online
                    latest[kiosk] = (
                        kiosk, "offline", now, now, msg.ts, msg.seq, msg.boot_id, msg.period,
                        msg.uptime, pid, pver, pack.hash if pack else None, ui.alive, ui.screen,
                        ui.last_touch, msg.temp, msg.disk_free, msg.time_floor, msg.stale, msg.agent,
                        *shared,
                    )  # fmt: skip
            elif isinstance(msg, Status):
                statuses.append((kiosk, msg))
            elif isinstance(msg, Event):
                events.append((kiosk, msg))
            elif isinstance(msg, CommandAck):
                acks.append((kiosk, msg))
        if not (hb_rows or statuses or events or acks or shots):
            return result
        if not self._loaded:
            self.load_known()
        with write_transaction(self.store) as conn:
            if not self.store.is_sqlite:
                self._lock_rows(conn, latest, statuses, events, now)
            if hb_rows:
                self._hb_insert.run(conn, hb_rows)
                # in kiosk order: two processes upserting never deadlock (PostgreSQL)
                self._state_upsert.run(conn, [latest[k] for k in sorted(latest)])
            for kiosk, status in sorted(statuses, key=lambda item: item[0]):
                self._status(conn, kiosk, status, now)
            if events:
                events.sort(key=lambda item: (item[0], item[1].outbox_id, item[1].seq))
                self._events(conn, events, now)
            for kiosk, ack in sorted(acks, key=lambda item: item[1].cmd_id):
                self._ack(conn, kiosk, ack, now)
            if shots:
                conn.execute(screenshots.insert(), shots)
            # a heartbeat brings an offline (or new) kiosk back at once; other
            # changes (late, stale) are the sweeper's
            touched = {k for k, _ in statuses} | {
                k for k in latest if self.known.get(k, "offline") == "offline"
            }
            if touched:
                result.changes, _ = rederive(conn, self.store, sorted(touched), now, self.cfg)
        for kiosk, (_old, new) in result.changes.items():
            self.known[kiosk] = new
        return result

    def _lock_rows(
        self,
        conn: Connection,
        latest: dict[str, tuple[Any, ...]],
        statuses: list[tuple[str, Status]],
        events: list[tuple[str, Event]],
        now: float,
    ) -> None:
        """PostgreSQL: create and lock every kiosk_state row this batch touches, in
        kiosk order, before touching any. Processes sharing the load (and the
        sweeper) then take row locks in one order and cannot deadlock: a status
        of kiosk B then A in one batch and A then B in another did (found by
        bench/soak.py)."""
        touched = sorted(set(latest) | {k for k, _ in statuses} | {k for k, _ in events})
        if not touched:
            return
        conn.execute(
            self._new_state,
            [{"kiosk_id": k, "state": "offline", "state_since": now} for k in touched],
        )
        for i in range(0, len(touched), 5000):
            conn.execute(
                select(kiosk_state.c.kiosk_id)
                .where(kiosk_state.c.kiosk_id.in_(touched[i : i + 5000]))
                .order_by(kiosk_state.c.kiosk_id)
                .with_for_update()
            ).all()

    def load_known(self) -> None:
        """Read every kiosk's state (the sweeper of another process moves them)."""
        with self.store.engine.connect() as conn:
            self.known.update(
                (r[0], r[1])
                for r in conn.execute(select(kiosk_state.c.kiosk_id, kiosk_state.c.state))
            )
        self._loaded = True

    def _status(self, conn: Connection, kiosk: str, status: Status, now: float) -> None:
        values = {"online": status.online, "boot_id": status.boot_id, "status_at": now}
        if status.hb_s:
            values["period"] = status.hb_s
        conn.execute(
            self._new_state, [{"kiosk_id": kiosk, "state": "offline", "state_since": now, **values}]
        )
        conn.execute(
            update(kiosk_state)
            .where(kiosk_state.c.kiosk_id == kiosk)
            .where(or_(kiosk_state.c.status_at.is_(None), kiosk_state.c.status_at <= now))
            .values(**values)
        )

    def _events(self, conn: Connection, events: list[tuple[str, Event]], now: float) -> None:
        conn.execute(
            self._ev_insert,
            [
                {
                    "kiosk_id": k,
                    "outbox_id": e.outbox_id,
                    "seq": e.seq,
                    "ts": e.ts,
                    "received_at": now,
                    "kind": e.kind,
                    "data": e.data,
                }
                for k, e in events
            ],
        )
        for kiosk, ev in events:
            if ev.kind not in ("rejected", "rollback", "commit"):
                continue
            conn.execute(
                self._new_state, [{"kiosk_id": kiosk, "state": "offline", "state_since": now}]
            )
            if ev.kind == "commit":  # a pack passed its health check: the problem is over
                values: dict[str, Any] = {
                    "rejected_pack": None,
                    "rejected_version": None,
                    "rejected_at": None,
                    "rejected_reason": None,
                }
            else:
                version = ev.data.get("version")
                values = {
                    "rejected_pack": str(ev.data.get("pack", "?"))[:63],
                    "rejected_version": version if isinstance(version, int) else None,
                    "rejected_at": ev.ts,
                    "rejected_reason": str(
                        ev.data.get("message") or ev.data.get("reason") or ev.kind
                    )[:300],
                }
            conn.execute(
                update(kiosk_state)
                .where(kiosk_state.c.kiosk_id == kiosk)
                .where(or_(kiosk_state.c.event_at.is_(None), kiosk_state.c.event_at <= ev.ts))
                .values(event_at=ev.ts, **values)
            )

    def _ack(self, conn: Connection, kiosk: str, ack: CommandAck, now: float) -> None:
        where = and_(commands.c.cmd_id == ack.cmd_id, commands.c.kiosk_id == kiosk)
        if ack.state == "accepted":
            where = and_(where, commands.c.state.in_(("queued", "sent")))
        else:
            where = and_(where, commands.c.state.notin_(("done", "failed")))
        values: dict[str, Any] = {"state": ack.state, "acked_at": now, "reason": ack.reason}
        if ack.missing_glyphs is not None:  # a notice shown: what the kiosk could not draw
            values["missing_glyphs"] = dict(ack.missing_glyphs)
        conn.execute(update(commands).where(where).values(**values))

    def _screenshot(self, kiosk: str, payload: bytes, now: float) -> dict[str, Any]:
        header, jpeg = parse_screenshot(payload)
        rel = Path("screenshots") / kiosk / f"{int(now * 1000)}-{header.cmd_id}.jpg"
        atomic_write(self.data_dir / rel, jpeg)
        return {
            "kiosk_id": kiosk,
            "cmd_id": header.cmd_id,
            "taken_at": header.ts,
            "received_at": now,
            "width": header.width,
            "height": header.height,
            "screen": header.screen,
            "path": str(rel),
            "size": len(jpeg),
        }
