"""What the dashboard and the JSON API do, in one place: read the fleet,
a kiosk's details, alerts, published packs; send commands and notices;
widen a published pack's audience.

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
from kiosk.protocol.languages import LANGUAGES
from server.audit import log as audit
from server.config import ServerConfig
from server.fleet.notice_check import NoticeCheck, NoticeGlyphsMissing, check_notice
from server.fleet.pki import FleetKeys
from server.fleet.remote import QueuedCommand, new_notice_id, queue_command, queue_commands
from server.fleet.reports import kiosk_uptime_between
from server.fleet.reports_uptime import Uptime
from server.fleet.view import KioskView, fleet_view, local_time
from server.store import Store
from server.store.schema import alerts, commands, kiosk_events, kiosks, screenshots

log = logging.getLogger(__name__)

#: commands a person may send from the dashboard or the API
OPS = ("reboot", "resync", "screenshot", "notice")
NOTICE_MAX_MINUTES = 7 * 24 * 60
#: one person may send a notice to every gate for at most this long; longer needs two
#: people, i.e. a pack (deploy/tuf-keys.md "One person or two"; issue 14)
ONE_PERSON_ALL_GATES_MINUTES = 6 * 60


class NotFound(BgkError):
    """No such kiosk, pack version or screenshot."""


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


def _fleet_keys(config: ServerConfig) -> FleetKeys:
    keys = FleetKeys(config.data / "mqtt")
    if not keys.command_key.exists():
        raise UsageError(
            "this server has no command key yet: run `bgk server mosquitto-config` once"
        )
    return keys


def send_command(
    store: Store,
    config: ServerConfig,
    kiosk_id: str,
    op: str,
    args: dict[str, Any],
    *,
    by: str,
    now: float,
    ttl_s: float | None = None,
) -> QueuedCommand:
    if op not in OPS:
        raise UsageError(f"unknown command {op!r}: use one of {', '.join(OPS)}")
    with store.engine.connect() as conn:
        known = conn.execute(
            select(kiosks.c.id).where(kiosks.c.id == kiosk_id, kiosks.c.revoked_at.is_(None))
        ).first()
    if known is None:
        raise NotFound(f"no enrolled kiosk {kiosk_id!r}")
    return queue_command(
        store,
        _fleet_keys(config),
        kiosk_id,
        op,
        args,
        now=now,
        ttl_s=ttl_s or config.fleet.command_ttl_s,
        created_by=by,
    )


def notice_args(text: dict[str, str], minutes: float, now: float, level: str) -> dict[str, Any]:
    cleaned = {lang: value.strip() for lang, value in text.items() if value and value.strip()}
    unknown = sorted(set(cleaned) - set(LANGUAGES))
    if unknown:
        raise UsageError(f"unknown language {unknown[0]!r}: use {', '.join(LANGUAGES)}")
    if not cleaned:
        raise UsageError("write the notice in at least one language (Vietnamese first)")
    if not 1 <= minutes <= NOTICE_MAX_MINUTES:
        raise UsageError(f"a notice lasts between 1 and {NOTICE_MAX_MINUTES} minutes")
    if level not in ("urgent", "info"):
        raise UsageError("level: urgent or info")
    return {
        "id": new_notice_id(now),
        "text": cleaned,
        "expires": now + minutes * 60,
        "level": level,
    }


def notice_audience(store: Store, to: list[str]) -> list[str]:
    """Active kiosks at the gates or in the groups named (or all)."""
    if not to:
        raise UsageError("say where the notice goes: a gate, a group, or all")
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(kiosks.c.id, kiosks.c.gate, kiosks.c.groups)
            .where(kiosks.c.revoked_at.is_(None))
            .order_by(kiosks.c.id)
        ).all()
    wanted = set(to)
    return [
        r.id for r in rows if "all" in wanted or r.gate in wanted or wanted & set(r.groups or [])
    ]


def send_notice(
    store: Store,
    config: ServerConfig,
    text: dict[str, str],
    to: list[str],
    *,
    minutes: float,
    by: str,
    now: float,
    level: str = "urgent",
    send_anyway: bool = False,
) -> list[QueuedCommand]:
    """One signed `notice` command per kiosk of the audience, once every kiosk can
    draw every character (server.fleet.notice_check); NoticeGlyphsMissing names the
    characters otherwise, unless `send_anyway` (then each command records them)."""
    args = notice_args(text, minutes, now, level)
    if "all" in to and minutes > ONE_PERSON_ALL_GATES_MINUTES:
        raise UsageError(
            f"a notice to every gate may last at most {ONE_PERSON_ALL_GATES_MINUTES // 60} hours "
            "when one person sends it; longer needs two people: publish it in a pack (signing "
            "event), or send it to the gates concerned"
        )
    targets = notice_audience(store, to)
    if not targets:
        raise UsageError(f"no enrolled kiosk is at gate or in group {', '.join(to)}")
    check = check_notice(store, config, args["text"], targets)
    if not check.ok and not send_anyway:
        raise NoticeGlyphsMissing(check)
    keys = _fleet_keys(config)
    # the command outlives its delivery attempts only as long as the notice itself
    ttl = min(max(minutes * 60, 10.0), 7 * 86400)
    queued = queue_commands(
        store, keys, targets, "notice", args, now=now, ttl_s=ttl, created_by=by,
        sent_anyway={kiosk_id: check.missing_for(kiosk_id) for kiosk_id in targets},
    )  # fmt: skip
    details = {
        "to": sorted(to), "kiosks": len(targets), "minutes": minutes, "level": level,
        "text": args["text"], "sent_anyway": bool(send_anyway and not check.ok),
    }  # fmt: skip
    audit.append(store, by, "notice.sent", f"notice:{args['id']}", details, now=now)
    return queued


def check_notice_text(
    store: Store, config: ServerConfig, text: dict[str, str], to: list[str]
) -> NoticeCheck:
    """What the form and the API say before sending: characters the audience's
    kiosks cannot draw, and the languages the notice is not written in."""
    cleaned = {lang: v for lang, v in text.items() if lang in LANGUAGES and v and v.strip()}
    return check_notice(store, config, cleaned, notice_audience(store, to))


@dataclass(frozen=True)
class SentNotice:
    """A notice as sent: one signed command per kiosk, and how they answered."""

    id: str
    text: dict[str, str]
    level: str
    created_at: float
    by: str | None
    expires: float
    kiosks: list[str]
    #: kiosks that answered "done" (shown), still waiting, failed or expired unsent
    shown: int
    waiting: int
    failed: int
    withdrawn_at: float | None = None
    withdrawn_by: str | None = None
    #: per language: characters the kiosks that answered could not draw (added up)
    missing_glyphs: dict[str, int] | None = None
    #: kiosks whose answer said, per language, how many characters were not drawn
    glyph_reports: int = 0
    #: per language: characters the sender knew some kiosks lack and sent anyway
    sent_anyway: dict[str, str] | None = None

    def active(self, now: float) -> bool:
        return self.withdrawn_at is None and self.expires > now

    def as_json(self, now: float) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "level": self.level,
            "created_at": self.created_at,
            "created_at_local": local_time(self.created_at),
            "by": self.by,
            "expires": self.expires,
            "expires_local": local_time(self.expires),
            "kiosks": len(self.kiosks),
            "shown": self.shown,
            "waiting": self.waiting,
            "failed": self.failed,
            "active": self.active(now),
            "withdrawn_at": self.withdrawn_at,
            "withdrawn_by": self.withdrawn_by,
            "missing_glyphs": self.missing_glyphs,
            "glyph_reports": self.glyph_reports,
            "sent_anyway": self.sent_anyway,
        }


def recent_notices(store: Store, now: float, *, days: float = 7) -> list[SentNotice]:
    """Notices sent in the last `days`, newest first, with their withdrawals."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(
                commands.c.kiosk_id,
                commands.c.args,
                commands.c.created_at,
                commands.c.created_by,
                commands.c.state,
                commands.c.missing_glyphs,
                commands.c.sent_anyway,
            )
            .where(commands.c.op == "notice", commands.c.created_at > now - days * 86400)
            .order_by(commands.c.created_at)
        ).all()
    sent: dict[str, list[Any]] = {}
    withdrawn: dict[str, tuple[float, str | None]] = {}
    for row in rows:
        args = row.args or {}
        notice_id = str(args.get("id", ""))
        if args.get("text"):
            sent.setdefault(notice_id, []).append(row)
        else:
            withdrawn.setdefault(notice_id, (row.created_at, row.created_by))
    out = []
    for notice_id, group in sent.items():
        first = group[0].args
        states = [r.state for r in group]
        when, who = withdrawn.get(notice_id, (None, None))
        out.append(
            SentNotice(
                id=notice_id,
                text=dict(first["text"]),
                level=str(first.get("level", "urgent")),
                created_at=group[0].created_at,
                by=group[0].created_by,
                expires=float(first["expires"]),
                kiosks=sorted({r.kiosk_id for r in group}),
                shown=states.count("done"),
                waiting=sum(states.count(s) for s in ("queued", "sent", "accepted")),
                failed=sum(states.count(s) for s in ("failed", "expired")),
                withdrawn_at=when,
                withdrawn_by=who,
                **_glyphs(group),
            )
        )
    return sorted(out, key=lambda n: -n.created_at)


def _glyphs(rows: list[Any]) -> dict[str, Any]:
    """What the kiosks of one notice said about the characters they could not draw."""
    reports = [r.missing_glyphs for r in rows if isinstance(r.missing_glyphs, dict)]
    missing: dict[str, int] = {}
    for report in reports:
        for lang, count in report.items():
            missing[str(lang)] = missing.get(str(lang), 0) + int(count)
    anyway: dict[str, str] = {}
    for row in rows:
        for lang, chars in (row.sent_anyway or {}).items():
            known = anyway.get(lang, "")
            anyway[lang] = known + "".join(c for c in str(chars) if c not in known)
    return {
        "missing_glyphs": missing if reports else None,
        "glyph_reports": len(reports),
        "sent_anyway": anyway or None,
    }


def withdraw_notice(
    store: Store, config: ServerConfig, notice_id: str, *, by: str, now: float
) -> list[QueuedCommand]:
    """Take a notice off the screens it was sent to (a newer notice stays)."""
    notice = next((n for n in recent_notices(store, now) if n.id == notice_id), None)
    if notice is None:
        raise NotFound(f"no notice {notice_id!r} was sent in the last 7 days")
    if notice.withdrawn_at is not None:
        raise UsageError(f"notice {notice_id} was already withdrawn")
    if notice.expires <= now:
        raise UsageError(f"notice {notice_id} has already ended on its own")
    keys = _fleet_keys(config)
    args = {"id": notice_id, "text": {}, "expires": notice.expires}
    ttl = min(max(notice.expires - now, 10.0), 7 * 86400)
    with store.engine.connect() as conn:
        active = set(
            conn.execute(
                select(kiosks.c.id).where(
                    kiosks.c.id.in_(notice.kiosks), kiosks.c.revoked_at.is_(None)
                )
            ).scalars()
        )
    targets = [k for k in notice.kiosks if k in active]
    if not targets:
        raise UsageError(f"none of the kiosks notice {notice_id} went to is enrolled any more")
    queued = queue_commands(store, keys, targets, "notice", args, now=now, ttl_s=ttl, created_by=by)
    audit.append(
        store, by, "notice.withdrawn", f"notice:{notice_id}", {"kiosks": len(targets)}, now=now
    )
    return queued


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
