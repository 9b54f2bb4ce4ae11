"""What the dashboard and the JSON API send to kiosks, in one place: commands
(reboot, resync, screenshot) and notices (checked against the kiosks' fonts,
listed, withdrawn). What they read is in fleetops.py.

Functions take the store, the server config and the time; they raise
`UsageError` (the request is wrong: say how to fix it) or
`NotFound` (no such kiosk).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from kiosk.protocol.errors import UsageError
from kiosk.protocol.languages import LANGUAGES
from server.audit import log as audit
from server.broker.pki import FleetKeys
from server.config import ServerConfig
from server.errors import NotFound
from server.fleet.notice_check import NoticeCheck, NoticeGlyphsMissing, check_notice
from server.fleet.remote import QueuedCommand, new_notice_id, queue_command, queue_commands
from server.fleet.view import local_time
from server.store import Store
from server.store.schema import commands, kiosks

#: commands a person may send from the dashboard or the API
OPS = ("reboot", "resync", "screenshot", "notice")
NOTICE_MAX_MINUTES = 7 * 24 * 60
#: one person may send a notice to every gate for at most this long; longer needs two
#: people, i.e. a pack (deploy/tuf-keys.md "One person or two"; issue 14)
ONE_PERSON_ALL_GATES_MINUTES = 6 * 60


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


def _active_kiosks(store: Store) -> list[Any]:
    with store.engine.connect() as conn:
        return list(
            conn.execute(
                select(kiosks.c.id, kiosks.c.gate, kiosks.c.groups)
                .where(kiosks.c.revoked_at.is_(None))
                .order_by(kiosks.c.id)
            ).all()
        )


def notice_audience(store: Store, to: list[str]) -> list[str]:
    """Active kiosks at the gates or in the groups named (or all)."""
    if not to:
        raise UsageError("say where the notice goes: a gate, a group, or all")
    wanted = set(to)
    return [
        r.id
        for r in _active_kiosks(store)
        if "all" in wanted or r.gate in wanted or wanted & set(r.groups or [])
    ]


def reaches_every_gate(store: Store, to: list[str]) -> bool:
    """`all`, or gates and groups that together reach every gate of a fleet of several
    gates (naming each gate is still a notice to every gate)."""
    if "all" in to:
        return True
    rows = _active_kiosks(store)
    gates = {r.gate for r in rows}
    wanted = set(to)
    reached = {r.gate for r in rows if r.gate in wanted or wanted & set(r.groups or [])}
    return len(gates) > 1 and reached == gates


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
    if minutes > ONE_PERSON_ALL_GATES_MINUTES and reaches_every_gate(store, to):
        raise UsageError(
            f"a notice to every gate (all, or gates and groups reaching all of them) may last "
            f"at most {ONE_PERSON_ALL_GATES_MINUTES // 60} hours "
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
