"""The UI's side of the local channel with the agent (kiosk.local).

Every second it looks whether the agent switched `current` to another pack
(then loads it in a background thread and puts it on screen when it is
ready), reads the urgent notice (and says once per notice that it is on
screen, with the characters no font drew) and answers screenshot requests; every
HEALTH_PERIOD_S, and at once after a pack switch, it writes ui/health.json:
the pack shown, the screen, the last touch, and ok=false with the reason
when the newest pack could not be loaded or drawn. Finished traveller
sessions go to ui/sessions/.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from pathlib import Path
from typing import Any

from kivy.clock import Clock, mainthread

from kiosk.local import HEALTH_PERIOD_S, Channel, NoticeShown, Session, UiHealth
from kiosk.ui.content import LoadedPack, forget_links, load_pack, pack_identity
from kiosk.ui.controller import KioskUi

log = logging.getLogger(__name__)

POLL_S = 1.0
#: a screenshot is at most this wide unless the request asks otherwise
SCREENSHOT_MAX_WIDTH = 1920


class AgentLink:
    def __init__(self, ui: KioskUi, channel: Channel) -> None:
        self.ui = ui
        self.channel = channel
        self._loading: str | None = None
        self._events: list[Any] = []
        ui.on_session = self._session
        ui.on_pack_shown = self.write_health
        ui.on_notice_shown = self._notice_shown

    def start(self) -> None:
        self.write_health()
        self._events = [
            Clock.schedule_interval(self.poll, POLL_S),
            Clock.schedule_interval(lambda _dt: self.write_health(), HEALTH_PERIOD_S),
        ]

    def stop(self) -> None:
        for event in self._events:
            event.cancel()
        self._events = []
        session = self.ui.session.finish()
        if session is not None:
            self._session(session)
        self.write_health()

    # --- health --------------------------------------------------------------
    def health(self) -> UiHealth:
        ui = self.ui
        shown = (ui.pack.id, ui.pack.version) if ui.pack else (None, None)
        # A pack that failed is named with ok=false (the agent counts a failed start);
        # the screen keeps the previous pack meanwhile.
        pack_id, version = ui.failed_pack if ui.error and ui.failed_pack else shown
        return UiHealth(
            ts=ui.time.wall(),
            pid=os.getpid(),
            pack_id=pack_id,
            pack_version=version,
            screen=ui.screen_name,
            lang=ui.lang,
            last_touch=ui.last_touch,
            ok=ui.error is None,
            error=ui.error,
        )

    def write_health(self) -> None:
        try:
            self.channel.write_health(self.health())
        except OSError as exc:
            log.error("cannot write %s: %s", self.channel.health_path, exc)

    def _notice_shown(self, notice_id: str, missing: dict[str, int]) -> None:
        if any(missing.values()):
            log.warning("notice %s: characters no font draws: %s", notice_id, missing)
        try:
            self.channel.write_notice_shown(NoticeShown(notice_id, missing, self.ui.time.wall()))
        except OSError as exc:
            log.error("cannot write %s: %s", self.channel.notice_shown_path, exc)

    def _session(self, session: Session) -> None:
        try:
            self.channel.write_session(session)
        except OSError as exc:
            log.error("cannot write a session record: %s", exc)

    # --- polling -------------------------------------------------------------
    def poll(self, *_args: Any) -> None:
        self.check_pack()
        self.ui.set_notice(self.channel.read_notice())
        self.answer_requests()

    def check_pack(self) -> None:
        identity = pack_identity(self.channel.current)
        shown = self.ui.pack.identity if self.ui.pack else None
        if identity is not None and identity == shown and self.ui.error is not None:
            # the agent went back to the pack on screen: all is well again
            self.ui.clear_error()
            self.write_health()
        if identity is None or identity in (shown, self._loading, self.ui.failed_identity):
            return
        self._loading = identity
        thread = threading.Thread(
            target=self._load, args=(identity,), name="pack-loader", daemon=True
        )
        thread.start()

    def _load(self, identity: str) -> None:
        try:
            pack = load_pack(self.channel.current, self.ui.work_dir / "links")
        except Exception as exc:  # reported through health; the old pack stays
            self._loaded(identity, None, exc)
            return
        self._loaded(identity, pack, None)

    @mainthread  # type: ignore[untyped-decorator]
    def _loaded(self, identity: str, pack: LoadedPack | None, error: Exception | None) -> None:
        self._loading = None
        if pack is None:
            self.ui.load_failed(identity, error or RuntimeError("unknown error"))
            self.write_health()
            return
        previous = self.ui.pack
        if not self.ui.apply_pack(pack):  # it said why, and wrote the health report
            self.write_health()
            return
        # the previous pack's links stay one more switch: nothing may still need them,
        # but a picture or font opened late must never find a dangling name
        forget_links(self.ui.work_dir / "links", [pack] + ([previous] if previous else []))

    def answer_requests(self) -> None:
        for request_id, body in self.channel.pending_requests():
            op = str(body.get("op", "screenshot"))
            if op != "screenshot":
                log.warning("unknown UI request %s: %r, dropped", request_id, op)
                self.channel.finish_request(request_id)
                continue
            max_width = body.get("max_width", SCREENSHOT_MAX_WIDTH)
            try:
                self.screenshot(self.channel.screenshots_dir / f"{request_id}.png", int(max_width))
            except (OSError, ValueError, TypeError) as exc:
                log.error("screenshot %s failed: %s", request_id, exc)
            self.channel.finish_request(request_id)

    def screenshot(self, path: Path, max_width: int = SCREENSHOT_MAX_WIDTH) -> None:
        """What is on screen now (notice included) as a PNG, written atomically."""
        root = self.ui.root
        scale = min(1.0, max(64, max_width) / max(1.0, float(root.width)))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.png")
        try:
            self.ui.capture(tmp, scale)
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
