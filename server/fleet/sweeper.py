"""The periodic part of the fleet: states by heartbeat age, alerts, command
expiry, history retention. Every step is idempotent, so several server
processes may sweep the same store.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import and_, delete, func, select, update

from server.fleet.state import alert_conditions, derive_state
from server.fleet.transactions import apply_states, dialect_insert, read_facts, write_transaction
from server.fleet_settings import FleetSettings
from server.store import Store
from server.store.schema import (
    alerts,
    commands,
    heartbeats,
    kiosk_events,
    kiosks,
    presence,
    screenshots,
)

log = logging.getLogger(__name__)
DAY = 86400.0
#: screenshots kept per kiosk (older files are deleted)
KEEP_SCREENSHOTS = 20
#: presence changes are kept at least this long, whatever event_retention_days says:
#: an annual report (Article 26) needs a year of them plus the state before the year
PRESENCE_MIN_DAYS = 400


@dataclass
class SweepResult:
    changes: dict[str, tuple[str, str]]
    opened: list[tuple[str, str]]
    closed: list[tuple[str, str]]
    expired_commands: int
    #: every kiosk's state after the sweep
    states: dict[str, str]


class Sweeper:
    def __init__(self, store: Store, cfg: FleetSettings, data_dir: Path) -> None:
        self.store = store
        self.cfg = cfg
        self.data_dir = data_dir
        self._open_alert = dialect_insert(store, alerts).on_conflict_do_nothing(
            index_elements=["kiosk_id", "kind"], index_where=alerts.c.closed_at.is_(None)
        )

    def sweep(self, now: float) -> SweepResult:
        """Read everything without a lock, then write only what changed in one short
        transaction (the ingest waits for the write lock on SQLite)."""
        with self.store.engine.connect() as conn:
            facts = read_facts(conn, None)
            revoked_rows = conn.execute(select(kiosks.c.id).where(kiosks.c.revoked_at.is_not(None)))
            revoked = {r[0] for r in revoked_rows}
            open_rows = conn.execute(
                select(alerts.c.kiosk_id, alerts.c.kind).where(alerts.c.closed_at.is_(None))
            )
            is_open = {(r[0], r[1]) for r in open_rows}
        # in kiosk order, as the ingest locks rows (no deadlock between them)
        moving = sorted(f.kiosk_id for f in facts if derive_state(f, now, self.cfg)[0] != f.state)
        with write_transaction(self.store) as conn:
            # read again under the lock: a heartbeat may have arrived since
            fresh = sorted(read_facts(conn, moving), key=lambda f: f.kiosk_id) if moving else []
            changes, moved = apply_states(conn, self.store, fresh, now, self.cfg)
            current = {f.kiosk_id: f for f in facts}
            current.update({f.kiosk_id: f for f in moved})
            want: dict[tuple[str, str], str] = {}
            for f in current.values():
                if f.kiosk_id in revoked:
                    continue
                for kind, detail in alert_conditions(
                    f, f.state, f.state_since, now, self.cfg
                ).items():
                    want[(f.kiosk_id, kind)] = detail
            opened = sorted(set(want) - is_open)
            closed = sorted(is_open - set(want))
            if opened:
                rows = [
                    {"kiosk_id": k, "kind": kind, "opened_at": now, "detail": want[(k, kind)][:300]}
                    for k, kind in opened
                ]
                conn.execute(self._open_alert, rows)
            for kiosk, kind in closed:
                conn.execute(
                    update(alerts)
                    .where(
                        alerts.c.kiosk_id == kiosk,
                        alerts.c.kind == kind,
                        alerts.c.closed_at.is_(None),
                    )
                    .values(closed_at=now)
                )
            expired = conn.execute(
                update(commands)
                .where(commands.c.state.in_(("queued", "sent")), commands.c.exp < now)
                .values(state="expired", reason="expired before the kiosk acknowledged it")
            ).rowcount
        for kiosk, kind in opened:
            log.warning("alert %s opened for kiosk %s: %s", kind, kiosk, want[(kiosk, kind)])
        for kiosk, kind in closed:
            log.info("alert %s closed for kiosk %s", kind, kiosk)
        states = {k: f.state for k, f in current.items()}
        return SweepResult(changes, opened, closed, expired, states)

    def retention(self, now: float) -> dict[str, int]:
        """Delete history past its retention; keep the last screenshots per kiosk."""
        hb_cut = now - self.cfg.hb_retention_days * DAY
        ev_cut = now - self.cfg.event_retention_days * DAY
        out: dict[str, int] = {}
        with self.store.engine.begin() as conn:
            out["heartbeats"] = conn.execute(
                delete(heartbeats).where(heartbeats.c.received_at < hb_cut)
            ).rowcount
            out["events"] = conn.execute(
                delete(kiosk_events).where(kiosk_events.c.received_at < ev_cut)
            ).rowcount
            out["presence"] = self._old_presence(conn, now)
            out["alerts"] = conn.execute(
                delete(alerts).where(
                    and_(alerts.c.closed_at.is_not(None), alerts.c.closed_at < ev_cut)
                )
            ).rowcount
            out["commands"] = conn.execute(
                delete(commands).where(commands.c.created_at < ev_cut)
            ).rowcount
            out["screenshots"] = self._old_screenshots(conn)
        return out

    def _old_presence(self, conn: Any, now: float) -> int:
        """Delete presence changes past their retention, except each kiosk's latest one
        before the cut: it gives the state at the start of any later report period
        (a kiosk online for two years without a change is still online)."""
        days = max(self.cfg.event_retention_days, PRESENCE_MIN_DAYS)
        cut = now - days * DAY
        latest = (
            select(func.max(presence.c.id)).where(presence.c.at < cut).group_by(presence.c.kiosk_id)
        )
        old = delete(presence).where(presence.c.at < cut, presence.c.id.not_in(latest))
        return int(conn.execute(old).rowcount)

    def _old_screenshots(self, conn: Any) -> int:
        crowded = conn.execute(
            select(screenshots.c.kiosk_id)
            .group_by(screenshots.c.kiosk_id)
            .having(func.count() > KEEP_SCREENSHOTS)
        ).scalars()
        removed = 0
        for kiosk in list(crowded):
            rows = conn.execute(
                select(screenshots.c.id, screenshots.c.path)
                .where(screenshots.c.kiosk_id == kiosk)
                .order_by(screenshots.c.received_at.desc())
                .offset(KEEP_SCREENSHOTS)
            ).all()
            for row in rows:
                (self.data_dir / row.path).unlink(missing_ok=True)
            conn.execute(delete(screenshots).where(screenshots.c.id.in_([r.id for r in rows])))
            removed += len(rows)
        return removed
