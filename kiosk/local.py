"""The local channel between the kiosk's two services: agent and UI.

They never talk through the server, only through files in the kiosk's
state directory, each written atomically (kiosk.common.files) by one side only:

    state_dir/
      current -> packs/<dir>         symlink, switched atomically by the agent;
                                     the UI plays what it points to
      ui/health.json                 UI -> agent, rewritten every HEALTH_PERIOD_S:
                                     alive, what pack and screen it shows, last touch
      ui/notice.json                 agent -> UI: urgent notice (text per language,
                                     expiry); absent = no notice
      ui/notice-shown.json           UI -> agent: the notice the UI put on screen, and
                                     per language how many characters no font drew
      ui/requests/<id>.json          agent -> UI: requests (screenshot); the UI
                                     answers and deletes the request
      ui/screenshots/<id>.png        UI -> agent: the answer to a screenshot request
      ui/sessions/<stamp>.json       UI -> agent: one finished traveller session
                                     (anonymous counts); the agent reports and deletes

The agent judges a new pack by ui/health.json: healthy when the UI says it
shows that pack (id, version) with ok=true after the switch.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kiosk.common.files import atomic_write, atomic_write_json

HEALTH_PERIOD_S = 5.0
#: a health file older than this means the UI is not alive
HEALTH_STALE_S = 20.0


@dataclass(frozen=True)
class UiHealth:
    #: wall-clock time of writing (epoch seconds)
    ts: float
    pid: int
    #: the pack the UI is showing, or None when it has none
    pack_id: str | None
    pack_version: int | None
    #: "attract" | "language" | "home" | "page:<id>" | "preparing"
    screen: str
    #: language chosen by the traveller, or None on the attract loop
    lang: str | None
    #: wall-clock time of the last touch, or None
    last_touch: float | None
    #: False when the UI could not load or draw the pack
    ok: bool = True
    error: str | None = None


@dataclass(frozen=True)
class Notice:
    id: str
    #: text per language; the UI shows the traveller's language, else the pack default
    text: dict[str, str]
    #: epoch seconds after which the notice disappears
    expires: float
    level: str = "urgent"


@dataclass(frozen=True)
class NoticeShown:
    """The UI's word that a notice is on screen (the agent acknowledges with it)."""

    id: str
    #: per language of the notice: characters no font of the kiosk could draw
    missing_glyphs: dict[str, int]
    ts: float


@dataclass(frozen=True)
class Session:
    """One traveller session: from the first touch to the return to the attract loop."""

    started: float
    seconds: float
    #: languages chosen, in order
    languages: list[str] = field(default_factory=list)
    #: page ids viewed, in order
    pages: list[str] = field(default_factory=list)


class Channel:
    """Paths and atomic reads/writes of the local channel under one state dir."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.current = state_dir / "current"
        self.ui_dir = state_dir / "ui"
        self.health_path = self.ui_dir / "health.json"
        self.notice_path = self.ui_dir / "notice.json"
        self.notice_shown_path = self.ui_dir / "notice-shown.json"
        self.requests_dir = self.ui_dir / "requests"
        self.screenshots_dir = self.ui_dir / "screenshots"
        self.sessions_dir = self.ui_dir / "sessions"

    # --- UI side -------------------------------------------------------------
    def write_health(self, health: UiHealth) -> None:
        # Not fsynced: rewritten every few seconds, a lost one is harmless.
        atomic_write_json(self.health_path, asdict(health), durable=False)

    def read_notice(self) -> Notice | None:
        raw = _read(self.notice_path)
        if not isinstance(raw, dict):
            return None
        try:
            return Notice(
                id=str(raw["id"]),
                text={str(k): str(v) for k, v in dict(raw["text"]).items()},
                expires=float(raw["expires"]),
                level=str(raw.get("level", "urgent")),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def write_notice_shown(self, shown: NoticeShown) -> None:
        atomic_write_json(self.notice_shown_path, asdict(shown), durable=False)

    def pending_requests(self) -> list[tuple[str, dict[str, Any]]]:
        out = []
        if self.requests_dir.is_dir():
            for path in sorted(self.requests_dir.glob("*.json")):
                raw = _read(path)
                if isinstance(raw, dict):
                    out.append((path.stem, raw))
        return out

    def finish_request(self, request_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.requests_dir / f"{request_id}.json").unlink()

    def write_session(self, session: Session) -> None:
        name = f"{session.started:.3f}-{os.getpid()}.json"
        atomic_write_json(self.sessions_dir / name, asdict(session))

    # --- agent side ----------------------------------------------------------
    def read_health(self) -> UiHealth | None:
        raw = _read(self.health_path)
        if not isinstance(raw, dict):
            return None
        try:
            return UiHealth(**raw)
        except TypeError:
            return None

    def write_notice(self, notice: Notice | None) -> None:
        if notice is None:
            with contextlib.suppress(FileNotFoundError):
                self.notice_path.unlink()
            return
        atomic_write_json(self.notice_path, asdict(notice))

    def read_notice_shown(self) -> NoticeShown | None:
        raw = _read(self.notice_shown_path)
        if not isinstance(raw, dict):
            return None
        try:
            missing = {str(k): int(v) for k, v in dict(raw["missing_glyphs"]).items()}
            return NoticeShown(id=str(raw["id"]), missing_glyphs=missing, ts=float(raw["ts"]))
        except (KeyError, TypeError, ValueError):
            return None

    def request(self, request_id: str, body: dict[str, Any]) -> None:
        atomic_write(self.requests_dir / f"{request_id}.json", json.dumps(body).encode())

    def take_sessions(self) -> list[tuple[Path, Session]]:
        """Finished sessions (the caller deletes each path once it is reported)."""
        out = []
        if self.sessions_dir.is_dir():
            for path in sorted(self.sessions_dir.glob("*.json")):
                raw = _read(path)
                try:
                    out.append((path, Session(**raw)))
                except TypeError:
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()  # unreadable leftovers of a power cut
        return out


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
