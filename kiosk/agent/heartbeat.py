"""The heartbeat: a pure builder, and the few readings it needs from the machine.

`build_heartbeat` takes everything as arguments (time included) and returns
the payload model of kiosk/protocol/payloads.py; `read_facts` gathers the pack, stale flag
and time floor from the agent's own status; the `read_*` functions read
/proc and /sys and return None where a machine has no such sensor.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.local import HEALTH_STALE_S, UiHealth
from kiosk.protocol.payloads import Heartbeat, PackRef, ShareReport, UiState


@dataclass(frozen=True)
class AgentFacts:
    """What the sync side knows: the installed pack, staleness, the time floor."""

    pack: PackRef | None
    stale: bool
    time_floor: float
    #: gate sharing's counters, None when sharing is off
    share: ShareReport | None = None


def ui_state(health: UiHealth | None, now: float) -> UiState:
    """Alive = the UI wrote its health recently and says it draws its pack."""
    if health is None:
        return UiState(alive=False)
    alive = now - health.ts <= HEALTH_STALE_S and health.ok
    return UiState(
        alive=alive,
        screen=health.screen[:80] if alive else None,
        last_touch=health.last_touch,
    )


def build_heartbeat(
    *,
    boot_id: str,
    seq: int,
    now: float,
    period: float,
    uptime: float,
    facts: AgentFacts,
    health: UiHealth | None,
    temp: float | None,
    disk_free: int | None,
    agent: str | None = None,
) -> Heartbeat:
    return Heartbeat(
        boot_id=boot_id,
        seq=seq,
        ts=round(now, 3),
        period=period,
        uptime=round(max(0.0, uptime), 1),
        pack=facts.pack,
        ui=ui_state(health, now),
        temp=None if temp is None else round(temp, 1),
        disk_free=disk_free,
        time_floor=facts.time_floor,
        stale=facts.stale,
        agent=agent,
        share=facts.share,
    )


def facts_from_status(status: dict[str, Any]) -> AgentFacts:
    """AgentFacts from `kiosk_status()` (kiosk.agent.status), the one source of truth."""
    installed = status.get("installed")
    pack = None
    if installed:
        pack = PackRef(id=installed["id"], version=installed["version"], hash=installed["sha256"])
    floor = 0.0
    if status.get("time_floor"):
        floor = dt.datetime.fromisoformat(
            str(status["time_floor"]).replace("Z", "+00:00")
        ).timestamp()
    return AgentFacts(
        pack=pack,
        stale=bool(status.get("stale")),
        time_floor=floor,
        share=share_report(status.get("share")),
    )


def share_report(share: Any) -> ShareReport | None:
    """The heartbeat's share counters from kiosk_status()'s "share" (None: off or unknown)."""
    if not isinstance(share, dict):
        return None
    last = share.get("last_download")
    last = last if isinstance(last, dict) else {}

    def count(value: Any) -> int:
        return int(value) if isinstance(value, int | float) and value >= 0 else 0

    return ShareReport(
        served_bytes=count(share.get("served_bytes")),
        served_blobs=count(share.get("served_blobs")),
        server_bytes=count(last.get("server_bytes")) if last else None,
        peer_bytes=count(last.get("peer_bytes")) if last else None,
    )


def read_cpu_temp(sys_root: Path = Path("/sys")) -> float | None:
    """°C of the CPU thermal zone (the first zone when none is named for the CPU)."""
    zones = sorted((sys_root / "class" / "thermal").glob("thermal_zone*"))
    readings: list[tuple[bool, float]] = []
    for zone in zones:
        try:
            milli = int((zone / "temp").read_text().strip())
            kind = (zone / "type").read_text().strip().lower() if (zone / "type").exists() else ""
        except (OSError, ValueError):
            continue
        readings.append(("cpu" in kind or "soc" in kind or "x86_pkg" in kind, milli / 1000))
    for is_cpu, celsius in readings:
        if is_cpu:
            return celsius
    return readings[0][1] if readings else None


def read_uptime(proc_root: Path = Path("/proc")) -> float:
    try:
        return float((proc_root / "uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0


def read_disk_free(path: Path) -> int | None:
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None
