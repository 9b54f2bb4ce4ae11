"""Which urgent notice is over the screens, and when: the controller's notice part.

The agent hands over a notice (or None); the traveller may dismiss it; it goes
when it expires. `refresh` is called with what is on screen after every change
of screen, language, pack or notice: it shows the notice as its reader needs
it (kiosk.ui.notice draws it: stacked or taking turns on the attract loop,
the traveller's language once one is chosen) or hides it, and redraws nothing
while nothing changed. The first time a notice is shown, `on_shown` hears of
it with the characters no font could draw (the agent reports them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.uix.widget import Widget

from kiosk.local import Notice
from kiosk.ui.content import LoadedPack
from kiosk.ui.fonts import FontBook
from kiosk.ui.notice import FALLBACK_LANGUAGES, NoticeOverlay, reading_seconds
from kiosk.ui.root import TimeSource
from kiosk.ui.screens.attract import LINE_SECONDS, AttractScreen
from kiosk.ui.theme import Theme


class NoticeControl:
    def __init__(
        self,
        root: Widget,
        attract: AttractScreen,
        time: TimeSource,
        system_fontbook: Callable[[], FontBook],
    ) -> None:
        #: the window's root (the overlay goes above the screens) and the attract loop
        #: (a notice taking turns sets its pace and follows its language)
        self.root, self.attract, self.time = root, attract, time
        self.system_fontbook = system_fontbook
        self.overlay = NoticeOverlay()
        #: the agent's notice (None: none), and those the travellers of this session closed
        self.notice: Notice | None = None
        self.dismissed: set[str] = set()
        #: called with a notice's id and its missing glyphs the first time it is shown
        self.on_shown: Callable[[str, dict[str, int]], None] | None = None
        #: what the notice was last drawn for, and the last notice reported shown
        self._shape: Any = None
        self._reported: str | None = None

    def dismiss(self) -> None:
        """The traveller closed the notice: it stays hidden until the session ends."""
        if self.notice is not None:
            self.dismissed.add(self.notice.id)

    def refresh(
        self,
        pack: LoadedPack | None,
        fontbook: FontBook | None,
        lang: str | None,
        screen: str,
        theme: Theme,
    ) -> None:
        """Show the notice for what is on screen (`lang`: the traveller's language,
        None before one is chosen), or hide it (none, expired, dismissed)."""
        notice = self.notice
        if notice is not None and (
            notice.expires <= self.time.wall() or notice.id in self.dismissed
        ):
            notice = None
        on_loop = lang is None and screen == "attract" and pack is not None
        shape = (notice, lang, on_loop, pack and pack.identity, theme)
        if shape == self._shape:
            return
        self._shape = shape
        shown = False
        if notice is not None and on_loop:
            assert pack is not None
            shown = self.overlay.show_all(
                notice,
                list(pack.manifest.languages),
                self.attract.lang or None,
                pack,
                fontbook,
                self.system_fontbook,
                theme,
            )
        elif notice is not None:
            wanted = [x for x in (lang, *FALLBACK_LANGUAGES) if x]
            shown = self.overlay.show(
                notice, wanted, pack, fontbook, self.system_fontbook, theme, chosen=lang
            )
        # while the notice's languages take turns, the loop keeps the notice's pace
        turns = shown and on_loop and not self.overlay.stacked
        self.attract.line_seconds = reading_seconds(notice) if turns and notice else LINE_SECONDS
        if shown and self.overlay.parent is None:
            self.root.add_widget(self.overlay)
        elif not shown and self.overlay.parent is not None:
            self.root.remove_widget(self.overlay)
        if shown and notice is not None and notice.id != self._reported:
            self._reported = notice.id
            if self.on_shown is not None:
                self.on_shown(notice.id, self.overlay.missing_glyphs())

    def follow_loop(self, lang: str, theme: Theme) -> None:
        """The attract loop moved to `lang` (nobody has chosen a language): a notice
        taking turns moves with it."""
        if self.overlay.parent is not None:
            self.overlay.follow(lang, theme)
