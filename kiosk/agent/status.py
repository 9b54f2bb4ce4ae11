"""`bgk kiosk status`: what a technician needs to know, read-only.

Installed and previous pack, a pack waiting for its health check, the last
sync and its result, the last error in words (and its code, with a
Vietnamese summary), and whether the kiosk is `stale`: its newest verified
metadata has expired (offline too long, or a server that stopped re-signing).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kiosk.agent.errors import SUMMARY_VI
from kiosk.agent.install import reconcile
from kiosk.agent.layout import Layout
from kiosk.agent.state import PackRef, StateFile
from kiosk.agent.structure import describe_pack
from kiosk.agent.tufclient import cached_state
from kiosk.common.vietnam import local_datetime
from kiosk.config import KioskConfig
from kiosk.local import HEALTH_STALE_S, Channel


def local_time(ts: float | None) -> str | None:
    """dd/mm/yyyy HH:MM in Vietnam."""
    if ts is None:
        return None
    return local_datetime(ts)


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ref(ref: PackRef | None) -> dict[str, Any] | None:
    if ref is None:
        return None
    return {"id": ref.id, "version": ref.version, "dir": f"packs/{ref.name}", "sha256": ref.sha256}


def kiosk_status(config: KioskConfig, clock_now: float) -> dict[str, Any]:
    layout = Layout(config.kiosk.state_dir)
    saved, problem = StateFile(layout.state_file).load()
    current = layout.current_name()
    # what is true on disk, as the agent will see it when it next loads (an install
    # killed before its switch is no longer pending; `current` says what plays)
    seen = reconcile(saved, current, lambda name: describe_pack(layout, name), problem)
    state = seen.state
    # what the disk says now that the saved state does not (yet)
    now_notes = [n for n in (problem if saved is not None else None, seen.note) if n]
    cached = cached_state(layout.tuf)
    issued = cached.issued if cached is not None and cached.issued is not None else 0.0
    floor = max(state.time_floor, config.server.enrolled, issued)
    now = max(clock_now, floor)
    if cached is None:
        stale, stale_reason = True, "no verified metadata yet (never synced)"
    elif now > cached.expires:
        stale = True
        stale_reason = (
            f"the newest verified metadata expired on {local_time(cached.expires)}: "
            "the kiosk keeps playing its pack but cannot confirm it is the newest"
        )
    else:
        stale, stale_reason = False, None
    err = state.last_error
    channel = Channel(config.kiosk.state_dir)
    health = channel.read_health()
    ui = None
    if health is not None:
        ui = {
            "alive": now - health.ts <= HEALTH_STALE_S,
            "pack": None if health.pack_id is None else f"{health.pack_id} v{health.pack_version}",
            "screen": health.screen,
            "ok": health.ok,
            "error": health.error,
        }
    p = state.pending
    return {
        "kiosk": config.kiosk.id,
        "gate": config.kiosk.gate,
        "groups": list(config.kiosk.groups),
        "installed": _ref(state.installed),
        "previous": _ref(state.previous),
        "pending": None
        if p is None
        else {
            **(_ref(p.pack) or {}),
            "tries": p.tries,
            "reverting": p.reverting,
            "reason": p.reason,
        },
        "current": None if current is None else f"packs/{current}",
        "last_sync": {
            "at": iso(state.last_check),
            "local": local_time(state.last_check),
            "result": state.last_result,
        },
        "last_attempt": iso(state.last_attempt),
        "last_error": None
        if err is None
        else {
            "code": err.code,
            "message": err.message,
            "summary_vi": SUMMARY_VI.get(err.code, SUMMARY_VI["agent-error"]),
            "at": iso(err.at),
            "local": local_time(err.at),
        },
        "stale": stale,
        "stale_reason": stale_reason,
        "metadata_expires": iso(cached.expires) if cached else None,
        "time_floor": iso(floor) if floor else None,
        "blacklist": [
            {"id": b.id, "version": b.version, "reason": b.reason, "at": iso(b.at)}
            for b in state.blacklist
        ],
        "ui": ui,
        "share": _share(config, layout),
        "found": now_notes,
        "notes": list(state.notes) + now_notes,
    }


def _share(config: KioskConfig, layout: Layout) -> dict[str, Any] | None:
    """Gate sharing: where this kiosk serves, its peers, what it served and fetched."""
    if not config.share.enabled:
        return None
    from kiosk.agent.share import read_report

    report = read_report(layout) or {}
    return {"listen": config.share.listen, "peers": list(config.share.peers), **report}


def _share_line(share: dict[str, Any]) -> str:
    line = (
        f"gate sharing: on {share['listen']} with {len(share['peers'])} kiosks; served "
        f"{share.get('served_bytes', 0) / 1e6:.1f} MB ({share.get('served_blobs', 0)} files)"
    )
    last = share.get("last_download")
    if isinstance(last, dict):
        line += (
            f"; last download {last.get('server_bytes', 0) / 1e6:.1f} MB from the server, "
            f"{last.get('peer_bytes', 0) / 1e6:.1f} MB from the gate's kiosks"
        )
    return line


def status_text(s: dict[str, Any]) -> str:
    def pack(d: dict[str, Any] | None) -> str:
        return "none" if d is None else f"{d['id']} version {d['version']}"

    lines = [
        f"kiosk {s['kiosk']} at gate {s['gate']}"
        + (f" (groups {', '.join(s['groups'])})" if s["groups"] else ""),
        f"installed: {pack(s['installed'])}",
        f"previous:  {pack(s['previous'])}",
    ]
    p = s["pending"]
    if p and p["reverting"]:
        lines.append(f"pending:   {pack(p)} failed to start: going back to the previous pack")
    elif p:
        lines.append(
            f"pending:   {pack(p)}, waiting for its health check ({p['tries']} failed starts)"
        )
    last = s["last_sync"]
    lines.append(
        f"last sync: {last['local'] or 'never'}"
        + (f" - {last['result']}" if last["result"] else "")
    )
    if s["last_error"]:
        e = s["last_error"]
        lines.append(f"last error ({e['local']}): {e['message']}")
        lines.append(f"  {e['summary_vi']}")
    lines.append("stale: " + (f"YES - {s['stale_reason']}" if s["stale"] else "no"))
    for note in s["found"]:
        lines.append(f"note: {note}")
    for b in s["blacklist"]:
        lines.append(f"blacklisted: {b['id']} version {b['version']} ({b['reason']})")
    if s["ui"]:
        ui = s["ui"]
        lines.append(
            f"screen: {'alive' if ui['alive'] else 'not running'}, showing {ui['pack'] or 'nothing'}"
        )
    if s.get("share"):
        lines.append(_share_line(s["share"]))
    return "\n".join(lines)
