"""The urgent-notice overlay: the agent's notice over whatever is on screen, until it expires."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.properties import ObjectProperty, StringProperty
from kivy.uix.floatlayout import FloatLayout

from kiosk.local import Notice
from kiosk.protocol.languages import LANG_SCRIPT
from kiosk.protocol.ui_strings import ui_text
from kiosk.ui.content import LoadedPack
from kiosk.ui.fonts import FontBook
from kiosk.ui.plaintext import text_tokens
from kiosk.ui.theme import Theme


def notice_language(notice: Notice, wanted: list[str]) -> str | None:
    """The first language of `wanted` the notice is written in, else any it has."""
    for lang in wanted:
        if notice.text.get(lang, "").strip():
            return lang
    for lang, text in sorted(notice.text.items()):
        if text.strip():
            return lang
    return None


class NoticeOverlay(FloatLayout):  # type: ignore[misc]
    """Modal while shown: touches do not reach the screen underneath."""

    fontbook: Any = ObjectProperty(None, allownone=True)
    theme: Any = ObjectProperty(None)
    heading: Any = ObjectProperty(())
    text: Any = ObjectProperty(())
    close_label: Any = ObjectProperty(())
    notice_id: Any = StringProperty("")
    lang: Any = StringProperty("")

    __events__ = ("on_close",)

    def on_close(self) -> None:
        pass

    def show(
        self,
        notice: Notice,
        wanted: list[str],
        pack: LoadedPack | None,
        fontbook: FontBook | None,
        system_fontbook: Callable[[], FontBook],
        theme: Theme,
    ) -> bool:
        """Fill the overlay with `notice` in the first language of `wanted` it has
        (else any); the machine's fonts when the pack has none for that script.
        False when the notice has no text at all."""
        lang = notice_language(notice, wanted)
        if lang is None:
            return False
        if fontbook is None or LANG_SCRIPT.get(lang, "Latn") not in fontbook.scripts:
            fontbook = system_fontbook()
        if pack is not None and lang in pack.manifest.languages:
            heading, close = pack.ui("notice", lang), pack.ui("close", lang)
        else:
            heading = text_tokens(ui_text("notice", lang), lang, bold=True)
            close = text_tokens(ui_text("close", lang), lang, bold=True)
        self.fontbook, self.theme, self.lang, self.notice_id = fontbook, theme, lang, notice.id
        self.heading, self.close_label = heading, close
        self.text = text_tokens(notice.text[lang], lang)
        return True

    def on_touch_down(self, touch: Any) -> bool:
        super().on_touch_down(touch)
        return True

    def on_touch_move(self, touch: Any) -> bool:
        super().on_touch_move(touch)
        return True

    def on_touch_up(self, touch: Any) -> bool:
        super().on_touch_up(touch)
        return True
