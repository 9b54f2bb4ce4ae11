"""What a kiosk's latest facts mean: its state and its alerts (pure: facts + now in).

State (one word, what a border guard sees first):

    offline   the broker published its LWT or it said goodbye; or no heartbeat
              for 3 periods + 10 s while the broker still holds its connection;
              or it never spoke
    stale     connected but heartbeats are late (1.5 periods + 5 s), or the kiosk
              says its pack metadata expired (it keeps playing old content)
    online    otherwise

Alerts (open while the condition holds, closed when it ends):

    offline        offline for longer than [fleet] offline_alert_s
    ui_down        the last heartbeat says the UI is not alive
    pack_rejected  the kiosk rejected or rolled back a pack and has installed none since
    disk_low       less free disk than [fleet] disk_low_mb
    temp_high      CPU at [fleet] temp_high_c or hotter
    clock          the kiosk's clock (in its last heartbeat) is more than [fleet]
                   clock_skew_s from the server's: it will refuse good metadata (ahead)
                   or cannot be trusted in reports; detail: the time the kiosk said
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from kiosk.common.vietnam import VIETNAM
from server.fleet_settings import FleetSettings

State = Literal["online", "stale", "offline"]
ALERT_KINDS = ("offline", "ui_down", "pack_rejected", "disk_low", "temp_high", "clock")
MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Facts:
    """The columns of kiosk_state that state and alerts depend on."""

    kiosk_id: str
    state: str
    state_since: float
    online: bool | None
    status_at: float | None
    hb_at: float | None
    #: the kiosk's clock when it sent its last heartbeat
    hb_ts: float | None
    period: float | None
    stale: bool | None
    ui_alive: bool | None
    disk_free: int | None
    temp: float | None
    rejected_pack: str | None
    rejected_version: int | None
    rejected_reason: str | None


FACT_COLUMNS = tuple(Facts.__dataclass_fields__)


def derive_state(f: Facts, now: float, cfg: FleetSettings) -> tuple[State, str]:
    """(state, reason) of a kiosk at `now`."""
    if f.online is False:
        return "offline", "disconnected"
    seen = max(f.hb_at or 0.0, f.status_at or 0.0) if f.online else (f.hb_at or 0.0)
    if not seen:
        return "offline", "never seen"
    period = f.period or cfg.heartbeat_s
    age = now - seen
    if age > 3 * period + 10:
        return "offline", "no heartbeat"
    if age > 1.5 * period + 5:
        return "stale", "late heartbeat"
    if f.stale:
        return "stale", "content expired"
    return "online", "heartbeat" if f.hb_at else "connected"


def alert_conditions(
    f: Facts, state: str, since: float, now: float, cfg: FleetSettings
) -> dict[str, str]:
    """{alert kind: detail} of every condition that holds now."""
    out: dict[str, str] = {}
    if state == "offline" and now - since >= cfg.offline_alert_s:
        out["offline"] = f"offline since {since:.0f}"
    if f.ui_alive is False:
        out["ui_down"] = "the kiosk UI is not running"
    if f.rejected_pack is not None:
        reason = (f.rejected_reason or "")[:200]
        out["pack_rejected"] = f"{f.rejected_pack} v{f.rejected_version}: {reason}".rstrip(": ")
    if f.disk_free is not None and f.disk_free < cfg.disk_low_mb * MB:
        out["disk_low"] = f"{f.disk_free // MB} MB free"
    if f.temp is not None and f.temp >= cfg.temp_high_c:
        out["temp_high"] = f"{f.temp:.1f} °C"
    if f.hb_at is not None and f.hb_ts is not None and abs(f.hb_ts - f.hb_at) > cfg.clock_skew_s:
        said = dt.datetime.fromtimestamp(max(f.hb_ts, 0.0), VIETNAM)
        out["clock"] = said.strftime("%d/%m/%Y %H:%M")
    return out
