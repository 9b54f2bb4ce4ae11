"""What the dashboard and the JSON API read, in one place: the fleet, a
kiosk's details, alerts, published packs; and widening a published pack's
audience. What they send to kiosks (commands, notices) is in sendops.py.

Functions take the store, the server config and the time; they raise
`UsageError` (the request is wrong: say how to fix it) or
`NotFound` (no such kiosk, pack, screenshot).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import SQLAlchemyError

from kiosk.protocol.errors import BgkError, UsageError
from server.config import ServerConfig
from server.errors import NotFound
from server.fleet.view import KioskView, fleet_view, local_time
from server.reports.queries import kiosk_uptime_between
from server.reports.uptime import Uptime
from server.store import Store
from server.store.schema import alerts, commands, kiosk_events, screenshots

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Screenshot:
    kiosk_id: str
    taken_at: float
    width: int
    height: int
    screen: str | None
    path: Path

    def as_json(self) -> dict[str, Any]:
        return {
            "taken_at": self.taken_at,
            "taken_at_local": local_time(self.taken_at),
            "width": self.width,
            "height": self.height,
            "screen": self.screen,
            "url": f"/api/v1/kiosks/{self.kiosk_id}/screenshot",
        }


def kiosks_view(store: Store, config: ServerConfig, now: float) -> list[KioskView]:
    return fleet_view(store, now, config.fleet)


def kiosk_view(store: Store, config: ServerConfig, kiosk_id: str, now: float) -> KioskView:
    for view in fleet_view(store, now, config.fleet, only=kiosk_id):
        return view
    raise NotFound(f"no enrolled kiosk {kiosk_id!r}")


def latest_screenshot(store: Store, config: ServerConfig, kiosk_id: str) -> Screenshot | None:
    with store.engine.connect() as conn:
        row = conn.execute(
            select(screenshots)
            .where(screenshots.c.kiosk_id == kiosk_id)
            .order_by(screenshots.c.received_at.desc())
            .limit(1)
        ).first()
    if row is None:
        return None
    path = (config.data / row.path).resolve()
    if not path.is_relative_to(config.data.resolve()) or not path.is_file():
        return None
    return Screenshot(kiosk_id, row.taken_at, row.width, row.height, row.screen, path)


def recent_commands(store: Store, kiosk_id: str, limit: int = 10) -> list[dict[str, Any]]:
    cols = [c for c in commands.c if c.name != "payload"]
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(*cols)
            .where(commands.c.kiosk_id == kiosk_id)
            .order_by(commands.c.created_at.desc())
            .limit(limit)
        ).all()
    out = []
    for row in rows:
        item = dict(row._mapping)
        item["created_at_local"] = local_time(row.created_at)
        out.append(item)
    return out


#: events a technician reads on a kiosk's page (interaction sums go to the reports)
EVENT_KINDS = ("install", "commit", "rollback", "rejected", "error")


def recent_events(store: Store, kiosk_id: str, limit: int = 15) -> list[dict[str, Any]]:
    """What happened to the kiosk lately: installs, commits, rollbacks, refusals,
    errors (newest first), as its agent reported them."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(kiosk_events.c.ts, kiosk_events.c.kind, kiosk_events.c.data)
            .where(kiosk_events.c.kiosk_id == kiosk_id, kiosk_events.c.kind.in_(EVENT_KINDS))
            .order_by(kiosk_events.c.ts.desc())
            .limit(limit)
        ).all()
    return [
        {
            "ts": r.ts,
            "ts_local": local_time(r.ts),
            "kind": r.kind,
            "pack": (r.data or {}).get("pack"),
            "version": (r.data or {}).get("version"),
            "message": str((r.data or {}).get("message", "")),
        }
        for r in rows
    ]


def kiosk_week(store: Store, kiosk_id: str, now: float) -> Uptime:
    """The kiosk's last 7 days, counted as the reports count."""
    return kiosk_uptime_between(store, kiosk_id, now - 7 * 86400, now)


def kiosk_detail(store: Store, config: ServerConfig, kiosk_id: str, now: float) -> dict[str, Any]:
    view = kiosk_view(store, config, kiosk_id, now)
    shot = latest_screenshot(store, config, kiosk_id)
    week = kiosk_week(store, kiosk_id, now)
    return {
        **view.as_json(),
        "screenshot": shot.as_json() if shot else None,
        "commands": recent_commands(store, kiosk_id),
        "events": recent_events(store, kiosk_id),
        "last_7_days": {
            "up_pct": week.up_pct,
            "online_pct": week.online_pct,
            "outages": week.outages,
            "longest_outage_s": week.longest_outage_s,
        },
    }


def list_alerts(store: Store, now: float, *, closed_days: float = 0) -> list[dict[str, Any]]:
    """Open alerts, and those closed in the last `closed_days` days; newest first."""
    query = select(alerts).order_by(alerts.c.opened_at.desc()).limit(1000)
    if closed_days > 0:
        query = query.where(
            or_(alerts.c.closed_at.is_(None), alerts.c.closed_at > now - closed_days * 86400)
        )
    else:
        query = query.where(alerts.c.closed_at.is_(None))
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        {
            "kiosk_id": r.kiosk_id,
            "kind": r.kind,
            "detail": r.detail,
            "opened_at": r.opened_at,
            "opened_at_local": local_time(r.opened_at),
            "closed_at": r.closed_at,
            "closed_at_local": local_time(r.closed_at),
            "open": r.closed_at is None,
        }
        for r in rows
    ]


def list_packs(config: ServerConfig) -> list[dict[str, Any]]:
    from server.packs.delegation import published_offers
    from server.packs.signing import open_repository

    repo = open_repository(config)
    return [
        {
            "pack": p.pack,
            "version": p.version,
            "to": list(p.to),
            "published": p.published,
            "sha256": p.sha256,
        }
        for p in reversed(published_offers(repo))
    ]


def widen_pack(
    config: ServerConfig, store: Store, pack_id: str, version: int, to: list[str], *, by: str
) -> dict[str, Any]:
    """Publish an already published pack version to more gates or groups (and log
    the publication for the reports, as `bgk server publish` does).

    Needs the targets key: on a server whose targets key is offline (as it
    should be in production) this says to publish with the CLI where the key is.
    """
    from server.packs.publications import record_publication
    from server.packs.publish import check_audience, publish_pack, target_file_path
    from server.packs.signing import open_repository, utcnow

    audience = check_audience(to)
    try:
        repo = open_repository(config, ("targets",), now=utcnow)
    except BgkError as exc:
        raise UsageError(
            f"the targets key is not on this server ({exc}); publish with "
            "`bgk server publish PACK --data DIR --keys KEYS --to ...` where the key is"
        ) from None
    from server.packs.delegation import published_offers

    offer = next(
        (p for p in published_offers(repo) if p.pack == pack_id and p.version == version),
        None,
    )
    if offer is None:
        raise NotFound(f"{pack_id} version {version} is not published")
    manifest = target_file_path(repo.dir, offer.path, offer.sha256)
    staging = Path(tempfile.mkdtemp(prefix="bgk-widen-"))
    try:
        shutil.copyfile(manifest, staging / "manifest.json")
        result = publish_pack(repo, config.blob_dir, staging, audience, utcnow)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    body = result.as_dict()
    try:
        record_publication(store, result, by)
    except SQLAlchemyError as exc:  # published and signed: say so, and what is missing
        log.warning("published %s v%s, but the publication log failed: %s", pack_id, version, exc)
        body["warning"] = f"published, but the publication log (reports) was not written: {exc}"
    return body
