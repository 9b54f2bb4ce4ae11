"""The fleet as a technician reads it: `bgk server fleet` (and the data the
dashboard shows). Vietnamese by default, English with --lang en; times as
dd/mm/yyyy HH:MM in Asia/Ho_Chi_Minh.

The state is derived at the time of reading from the stored facts, so the
view is right even while no server process is sweeping.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select

from kiosk.common.vietnam import local_datetime
from server.fleet.state import FACT_COLUMNS, Facts, derive_state
from server.fleet_settings import FleetSettings
from server.store import Store
from server.store.schema import alerts, kiosk_state, kiosks
from server.words import en, vi

TEXT: dict[str, dict[str, str]] = {"vi": vi.FLEET, "en": en.FLEET}


@dataclass(frozen=True)
class AlertView:
    kind: str
    since: float
    detail: str | None


@dataclass(frozen=True)
class KioskView:
    id: str
    gate: str
    groups: list[str]
    state: str
    reason: str
    since: float | None
    pack_id: str | None
    pack_version: int | None
    ui_alive: bool | None
    ui_screen: str | None
    last_seen: float | None
    temp: float | None
    disk_free: int | None
    alerts: list[AlertView]
    #: gate sharing, from the last heartbeat that carried it (None: sharing off or an
    #: older agent): bytes served to the gate since the agent started; the last
    #: download's bytes from the gate's kiosks and from the server
    share_served: int | None = None
    share_peer: int | None = None
    share_server: int | None = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["last_seen_local"] = local_time(self.last_seen)
        return data


#: kiosk_state's gate-sharing columns, as KioskView names them
SHARE_COLUMNS = ("share_served", "share_peer", "share_server")


def local_time(ts: float | None) -> str | None:
    if ts is None:
        return None
    return local_datetime(ts)


def fleet_view(
    store: Store, now: float, cfg: FleetSettings, *, only: str | None = None
) -> list[KioskView]:
    """Every active kiosk of the registry (or the one named `only`) with its
    derived state and open alerts."""
    cols = [kiosk_state.c[c] for c in FACT_COLUMNS if c != "kiosk_id"]
    extra = [kiosk_state.c[c] for c in ("pack_id", "pack_version", "ui_screen", *SHARE_COLUMNS)]
    query = (
        select(kiosks.c.id, kiosks.c.gate, kiosks.c.groups, *cols, *extra)
        .select_from(kiosks.outerjoin(kiosk_state, kiosk_state.c.kiosk_id == kiosks.c.id))
        .where(kiosks.c.revoked_at.is_(None))
        .order_by(kiosks.c.gate, kiosks.c.id)
    )
    alert_query = (
        select(alerts.c.kiosk_id, alerts.c.kind, alerts.c.opened_at, alerts.c.detail)
        .where(alerts.c.closed_at.is_(None))
        .order_by(alerts.c.opened_at)
    )
    if only is not None:
        query = query.where(kiosks.c.id == only)
        alert_query = alert_query.where(alerts.c.kiosk_id == only)
    open_alerts: dict[str, list[AlertView]] = {}
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
        for a in conn.execute(alert_query):
            open_alerts.setdefault(a.kiosk_id, []).append(AlertView(a.kind, a.opened_at, a.detail))
    out = []
    n = len(FACT_COLUMNS) - 1
    for row in rows:
        kiosk_id, gate, groups = row[0], row[1], row[2]
        facts = Facts(kiosk_id, *row[3 : 3 + n])
        pack_id, pack_version, screen, served, from_peers, from_server = row[3 + n :]
        if facts.state is None:  # never spoke
            state, reason, since = "offline", "never seen", None
        else:
            state, reason = derive_state(facts, now, cfg)
            since = facts.state_since if state == facts.state else None
        seen = max(facts.hb_at or 0.0, facts.status_at or 0.0) or None
        out.append(
            KioskView(
                id=kiosk_id,
                gate=gate,
                groups=list(groups or []),
                state=state,
                reason=reason,
                since=since,
                pack_id=pack_id,
                pack_version=pack_version,
                ui_alive=facts.ui_alive,
                ui_screen=screen,
                last_seen=seen,
                temp=facts.temp,
                disk_free=facts.disk_free,
                alerts=open_alerts.get(kiosk_id, []),
                share_served=served,
                share_peer=from_peers,
                share_server=from_server,
            )
        )
    return out


def render_table(views: list[KioskView], lang: str) -> str:
    t = TEXT[lang]
    if not views:
        return t["empty"] + "\n"
    header = [t["kiosk"], t["gate"], t["state"], t["pack"], t["ui"], t["seen"], t["alerts"]]
    rows = [header]
    for v in views:
        state = t[v.state]
        if v.reason and f"r.{v.reason}" in t and v.state != "online":
            state += f" ({t['r.' + v.reason]})"
        pack = f"{v.pack_id} v{v.pack_version}" if v.pack_id else t["none"]
        if v.ui_alive is None:
            ui = t["none"]
        elif v.ui_alive:
            ui = t["ui_ok"] + (f" · {v.ui_screen}" if v.ui_screen else "")
        else:
            ui = t["ui_dead"]
        seen = local_time(v.last_seen) or t["never"]
        alert_text = ", ".join(t.get(f"a.{a.kind}", a.kind) for a in v.alerts) or t["none"]
        rows.append([v.id, v.gate, state, pack, ui, seen, alert_text])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    counts = {s: sum(1 for v in views if v.state == s) for s in ("online", "stale", "offline")}
    lines.append("")
    lines.append(
        t["summary"].format(n=len(views), alerts=sum(len(v.alerts) for v in views), **counts)
    )
    return "\n".join(lines) + "\n"
