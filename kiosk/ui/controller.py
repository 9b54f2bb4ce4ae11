"""KioskUi: the screens, the traveller's way through them, and the pack they play.

The same object runs the kiosk (`bgk kiosk ui`, inside a Kivy App), renders
`bgk pack preview` and is driven by the tests: everything that changes what
is on screen goes through its methods, on Kivy's main thread. Time comes
from a TimeSource so the idle timeout and notice expiry can be tested.

A new pack is applied only once it is fully loaded (kiosk.ui.content); the
screen on display is rebuilt from it in one frame, so there is never an
empty frame, and if drawing it fails the previous pack stays on screen and
`error` says why (the agent reads that as ok=false and reverts).

Two parts are its own helpers, which it owns: kiosk.ui.screenset (the screens
and the change from one to the next) and kiosk.ui.notice_control (which urgent
notice is over them, and when).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kivy.clock import Clock
from kivy.core.window import Window
from kivy.graphics import Color, InstructionGroup, Rectangle

from kiosk.common.vietnam import vietnam_day
from kiosk.config import UiConfig
from kiosk.local import Notice, Session
from kiosk.protocol.languages import SCRIPTS
from kiosk.ui.content import LoadedPack, load_pack, pack_identity
from kiosk.ui.errors import PackLoadError
from kiosk.ui.fonts import FontBook, pack_fontbook, system_fontbook
from kiosk.ui.notice import NoticeOverlay
from kiosk.ui.notice_control import NoticeControl
from kiosk.ui.pictures import PictureBook
from kiosk.ui.root import RootView, TimeSource
from kiosk.ui.screenset import ScreenSet
from kiosk.ui.session import History, SessionTracker
from kiosk.ui.theme import Theme

log = logging.getLogger(__name__)


class KioskUi:
    def __init__(
        self,
        pack_root: Path | None,
        config: UiConfig,
        work_dir: Path,
        time_source: TimeSource | None = None,
    ) -> None:
        self.pack_root = pack_root
        self.config = config
        self.work_dir = work_dir
        self.time = time_source or TimeSource()
        self.pack: LoadedPack | None = None
        self.fontbook: FontBook | None = None
        #: the pictures of the pack on screen, as textures (kiosk.ui.pictures)
        self.pictures = PictureBook()
        self._system_book: FontBook | None = None
        self.lang: str | None = None
        self.large_text = False
        self.history = History()
        self.session = SessionTracker()
        #: why the last pack could not be loaded or drawn (None = all is well)
        self.error: str | None = None
        #: what `current` held when that happened (not retried until it changes)
        self.failed_identity: str | None = None
        #: (id, version) of the pack that failed, when known: the health report names it
        #: with ok=false so the agent can count the failed start at once
        self.failed_pack: tuple[str, int] | None = None
        self.last_touch: float | None = None
        self._last_touch_mono = self.time.mono()
        #: called with each finished session (the agent link writes it to disk)
        self.on_session: Callable[[Session], None] | None = None
        #: called after the pack on screen changed (the agent link reports health)
        self.on_pack_shown: Callable[[], None] | None = None
        self.screens = ScreenSet()
        s = self.screens
        self.manager, self.attract, self.language = s.manager, s.attract, s.language
        self.home, self.page, self.preparing = s.home, s.page, s.preparing
        self.language.bind(on_language=lambda _s, lang: self.choose_language(lang))
        self.home.bind(on_page=lambda _s, p: self.open_page(p), on_nav=self._nav)
        self.page.bind(on_page=lambda _s, p: self.open_page(p), on_nav=self._nav)
        self.root = RootView(self)
        self.root.add_widget(self.manager)
        self.notices = NoticeControl(self.root, self.attract, self.time, self.system_fontbook)
        self.overlay.bind(on_close=lambda *_a: self.dismiss_notice())
        self.attract.bind(lang=lambda _s, lang: self._follow_loop(lang))
        self.screen = "preparing"
        self.page_id: str | None = None
        self._idle_event: Any = None

    def start(self) -> None:
        """Load the pack and start the idle timer (the kiosk; previews only load)."""
        self.load_now()
        self._idle_event = Clock.schedule_interval(self.check_idle, 1.0)

    def stop(self) -> None:
        if self._idle_event is not None:
            self._idle_event.cancel()
            self._idle_event = None

    # --- what is on screen -------------------------------------------------------
    @property
    def overlay(self) -> NoticeOverlay:
        """The urgent notice's overlay (kiosk.ui.notice), above the screens when shown."""
        return self.notices.overlay

    @property
    def notice(self) -> Notice | None:
        """The agent's notice (shown unless expired or dismissed)."""
        return self.notices.notice

    @property
    def on_notice_shown(self) -> Callable[[str, dict[str, int]], None] | None:
        """Called with a notice's id and its missing glyphs when first shown (agent link)."""
        return self.notices.on_shown

    @on_notice_shown.setter
    def on_notice_shown(self, hear: Callable[[str, dict[str, int]], None] | None) -> None:
        self.notices.on_shown = hear

    @property
    def theme(self) -> Theme:
        width, height = Window.size
        return Theme.for_size(width, height, self.large_text)

    @property
    def screen_name(self) -> str:
        """The health report's name of the screen: attract, language, home, page:<id>, preparing."""
        return f"page:{self.page_id}" if self.screen == "page" else self.screen

    def system_fontbook(self) -> FontBook:
        if self._system_book is None:
            self._system_book = system_fontbook(self.work_dir / "fonts")
        return self._system_book

    def load_now(self) -> None:
        """Load the pack synchronously (start-up and previews); keep the error if it fails."""
        if self.pack_root is None or pack_identity(self.pack_root) is None:
            self.show_attract()  # no pack yet: the preparing screen, nothing wrong
            return
        try:
            pack = load_pack(self.pack_root, self.work_dir / "links")
        except Exception as exc:  # any failure to read the pack is reported, never fatal
            self.load_failed(pack_identity(self.pack_root), exc)
            self.show_attract()
            return
        self.apply_pack(pack)

    def load_failed(self, identity: str | None, exc: Exception) -> None:
        """A pack could not be read: keep what is on screen, remember why."""
        self.error = str(exc)
        self.failed_identity = identity
        self.failed_pack = exc.pack if isinstance(exc, PackLoadError) else None
        log.error("pack not loaded, keeping what is on screen: %s", exc)

    def clear_error(self) -> None:
        self.error = None
        self.failed_identity = None
        self.failed_pack = None

    def apply_pack(self, pack: LoadedPack) -> bool:
        """Put `pack` on screen; on failure keep the old one, set `error`, return False."""
        old_pack, old_book, old_pictures = self.pack, self.fontbook, self.pictures
        try:
            fonts = {(s, bold): pack.font(s, bold) for s in SCRIPTS for bold in (False, True)}
            # a broken font fails here
            book = pack_fontbook(fonts, self.theme.body, pack.fallback_fonts())
            self.pack, self.fontbook, self.pictures = pack, book, PictureBook()
            self.lang = pack.language(self.lang) if self.lang else None
            self._redraw()
        except Exception as exc:  # a pack that cannot be drawn must not take the screen
            log.exception("cannot draw pack %s v%s", pack.id, pack.version)
            self.pack, self.fontbook, self.pictures = old_pack, old_book, old_pictures
            self.error = f"pack {pack.id} v{pack.version} cannot be drawn: {exc}"
            self.failed_identity = pack.identity
            self.failed_pack = (pack.id, pack.version)
            try:
                self._redraw()
            except Exception:
                log.exception("cannot redraw the previous pack")
            return False
        self.clear_error()
        self.screens.forget_hidden()
        self.refresh_notice()
        if self.on_pack_shown is not None:
            self.on_pack_shown()
        return True

    def _visible(self) -> list[Any]:
        assert self.pack is not None
        return self.pack.visible(vietnam_day(self.time.wall()))

    def _redraw(self) -> None:
        """Rebuild the screen on display from the current pack and settings."""
        if self.pack is None:
            self.show_attract()
        elif self.screen == "page" and self.page_id is not None:
            visible = {p.id for p in self._visible()}
            if self.page_id in visible:
                self.history.keep(visible)
                self._show_page(self.page_id)
            else:  # the new pack no longer has this page
                self.show_home()
        elif self.screen == "home":
            self.show_home()
        elif self.screen == "language":
            self.show_language()
        else:
            self.show_attract()

    def _switch(self, name: str) -> None:
        self.screen = name
        if name != "page":
            self.page_id = None
        self.screens.switch(name)

    def capture(self, path: Path, scale: float = 1.0) -> None:
        """What is on screen (notice included) as a PNG at `path`."""
        background = InstructionGroup()
        background.add(Color(*Window.clearcolor))
        background.add(Rectangle(pos=self.root.pos, size=self.root.size))
        self.root.canvas.before.insert(0, background)
        try:
            self.root.export_to_png(str(path), scale=scale)
        finally:
            self.root.canvas.before.remove(background)

    # --- the traveller's way -------------------------------------------------
    def touched(self) -> bool:
        """Every touch: note it; on the attract loop it starts a session. True = consumed."""
        self.last_touch = self.time.wall()
        self._last_touch_mono = self.time.mono()
        self.session.touch(self.last_touch, self._last_touch_mono)
        if self.screen == "attract" and self.pack is not None and not self.overlay.parent:
            self.show_language()
            return True
        return False

    def show_attract(self) -> None:
        """Back to the start: the session ends, language and text size reset."""
        finished = self.session.finish()
        if finished is not None:
            if self.on_session is not None:
                self.on_session(finished)
            # what the traveller read goes: the next one may well read something else
            if self.fontbook is not None:
                self.fontbook.forget_textures()
            self.pictures.clear()
        self.lang = None
        self.large_text = False
        self.history.clear()
        self.notices.dismissed.clear()
        if self.pack is None or self.fontbook is None:
            self.preparing.show(self.system_fontbook(), self.theme)
            self._switch("preparing")
        else:
            self.attract.show(self.pack, self.fontbook, self.theme)
            self._switch("attract")
        self.refresh_notice()

    def show_language(self) -> None:
        if self.pack is None or self.fontbook is None:
            return
        self.language.show(self.pack, self.fontbook, self.theme)
        self._switch("language")

    def choose_language(self, lang: str) -> None:
        if self.pack is None:
            return
        self.lang = self.pack.language(lang)
        self.session.language(self.lang)
        self.show_home()
        self.refresh_notice()

    def show_home(self) -> None:
        if self.pack is None or self.fontbook is None:
            return
        lang = self.pack.language(self.lang)
        tops = [p for p in self._visible() if p.parent is None]
        self.history.clear()
        self.home.show(self.pack, lang, self.fontbook, self.pictures, self.theme, tops)
        self._switch("home")

    def open_page(self, page_id: str) -> None:
        if self.pack is None or page_id not in {p.id for p in self._visible()}:
            return
        self.history.open(page_id)
        self.session.page(page_id)
        self._show_page(page_id)

    def _show_page(self, page_id: str) -> None:
        assert self.pack is not None
        visible = {p.id for p in self._visible()}
        lang = self.pack.language(self.lang)
        self.page.show(self.pack, page_id, lang, self.fontbook, self.pictures, self.theme, visible)
        self.page_id = page_id
        self._switch("page")

    def preview_page(self, page_id: str, lang: str, *, large_text: bool = False) -> None:
        """Show a page as a traveller would after choosing `lang` (even outside its dates)."""
        assert self.pack is not None
        self.lang = self.pack.language(lang)
        self.large_text = large_text
        self.history.clear()
        self.history.open(page_id)
        self._show_page(page_id)

    def preview_home(self, lang: str, *, large_text: bool = False) -> None:
        """Show the home screen (its tiles) as a traveller would after choosing `lang`."""
        assert self.pack is not None
        self.lang = self.pack.language(lang)
        self.large_text = large_text
        self.show_home()

    def back(self) -> None:
        if self.screen == "page":
            previous = self.history.back()
            if previous is None:
                self.show_home()
            else:
                self._show_page(previous)
        elif self.screen == "home":
            self.show_language()
        elif self.screen == "language":
            self.show_attract()

    def toggle_large_text(self) -> None:
        self.large_text = not self.large_text
        self._redraw()

    def _nav(self, _screen: Any, what: str) -> None:
        {
            "back": self.back,
            "home": self.show_home,
            "language": self.show_language,
            "large_text": self.toggle_large_text,
        }[what]()

    def check_idle(self, *_args: Any) -> None:
        """Back to the attract loop after `idle_timeout_s` without a touch; a traveller
        watching a page's video is not idle (the time counts from its end or pause)."""
        if self.screen in ("attract", "preparing"):
            return
        if self.screen == "page" and any(v.playback == "playing" for v in self.page.videos()):
            self._last_touch_mono = self.time.mono()
            return
        if self.time.mono() - self._last_touch_mono >= self.config.idle_timeout_s:
            self.show_attract()

    # --- urgent notices (kiosk.ui.notice_control) ---------------------------------
    def set_notice(self, notice: Notice | None) -> None:
        self.notices.notice = notice
        self.refresh_notice()

    def dismiss_notice(self) -> None:
        self.notices.dismiss()
        self.refresh_notice()

    def refresh_notice(self) -> None:
        """Show the notice for what is on screen now, or hide it; nothing is redrawn
        while nothing changed."""
        self.notices.refresh(self.pack, self.fontbook, self.lang, self.screen, self.theme)

    def _follow_loop(self, lang: str) -> None:
        """The attract loop moved to `lang`: a notice taking turns moves with it."""
        if self.lang is None and self.screen == "attract":
            self.notices.follow_loop(lang, self.theme)
