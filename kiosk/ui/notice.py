"""The urgent-notice overlay: the agent's notice over whatever is on screen, until it expires.

Who reads it decides how it is shown:

* On the attract loop nobody has chosen a language yet, and the traveller
  walking up may read any of the five. The notice's languages are shown
  **stacked**, all at once, when they fit on the card at a readable size
  (STACK_MIN_TEXT design px or more): every traveller finds their own script
  at a glance and reads at their own pace, without waiting for their turn
  or losing the text half-way when it changes. Long notices that do not fit
  are shown one language at a time, **in step with the attract loop's
  language** (the controller moves the loop to the pace of the notice:
  `reading_seconds`).
* Once a traveller chose a language: that language; else Vietnamese, else
  English, else any, with a line in the traveller's language saying the
  notice is not available in it and naming the language shown.

Each language is drawn with the pack's fonts when the pack has the language's
script, else with the machine's (kiosk.ui.fonts; both have the symbol
fallback chain). `missing_glyphs` says, per language of the notice, how many
characters no font could draw (the agent reports it to the server).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.floatlayout import FloatLayout

from kiosk.local import Notice
from kiosk.protocol.languages import ENDONYMS, LANG_SCRIPT
from kiosk.protocol.pack import Tokens
from kiosk.protocol.ui_strings import ui_text
from kiosk.ui.content import LoadedPack
from kiosk.ui.fonts import FontBook
from kiosk.ui.plaintext import text_tokens
from kiosk.ui.textview import TokenText
from kiosk.ui.theme import Theme

#: after the traveller's own language, the notice is shown in these, in order
FALLBACK_LANGUAGES = ("vi", "en")
#: stacked languages are drawn at least this large (design px), else they take turns
STACK_MIN_TEXT = 30
#: the body's size when one language is shown (design px)
BODY_TEXT = 40
#: reading pace for the turns: seconds per character, and the shortest turn
SECONDS_PER_CHAR = 0.08
MIN_TURN_S = 6.0
MAX_TURN_S = 30.0


def notice_language(notice: Notice, wanted: list[str]) -> str | None:
    """The first language of `wanted` the notice is written in, else any it has."""
    for lang in wanted:
        if notice.text.get(lang, "").strip():
            return lang
    for lang, text in sorted(notice.text.items()):
        if text.strip():
            return lang
    return None


def notice_languages(notice: Notice, order: list[str]) -> list[str]:
    """The languages the notice is written in: those of `order` first, in its order."""
    have = [lang for lang, text in notice.text.items() if text.strip()]
    return [lang for lang in order if lang in have] + sorted(set(have) - set(order))


def reading_seconds(notice: Notice) -> float:
    """How long one language of the notice stays when they take turns."""
    longest = max((len(text) for text in notice.text.values()), default=0)
    return min(MAX_TURN_S, max(MIN_TURN_S, longest * SECONDS_PER_CHAR))


class NoticeOverlay(FloatLayout):  # type: ignore[misc]
    """Modal while shown: touches do not reach the screen underneath."""

    fontbook: Any = ObjectProperty(None, allownone=True)
    theme: Any = ObjectProperty(None)
    heading: Any = ObjectProperty(())
    close_label: Any = ObjectProperty(())
    #: "this notice is not in your language", in the traveller's language (or empty)
    note: Any = ObjectProperty(())
    notice_id: Any = StringProperty("")
    #: the language shown ("" when stacked)
    lang: Any = StringProperty("")
    #: True: every language at once; False: one (a traveller's, or its turn on the loop)
    stacked: Any = BooleanProperty(False)

    __events__ = ("on_close",)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: (language, text widget) of the bodies shown
        self.bodies: list[tuple[str, TokenText]] = []
        self._books: Callable[[str], FontBook] | None = None
        self._notice: Notice | None = None
        self._pack: LoadedPack | None = None
        #: the traveller's language is not one the notice is written in
        self.fallback = False

    def on_close(self) -> None:
        pass

    # --- filling ----------------------------------------------------------------
    def show(
        self,
        notice: Notice,
        wanted: list[str],
        pack: LoadedPack | None,
        fontbook: FontBook | None,
        system_fontbook: Callable[[], FontBook],
        theme: Theme,
        *,
        chosen: str | None = None,
    ) -> bool:
        """The notice in the first language of `wanted` it has (else any); when that is
        not `chosen` (the traveller's language), a note in `chosen` says so.
        False when the notice has no text at all."""
        lang = notice_language(notice, wanted)
        if lang is None:
            return False
        self._prepare(notice, pack, fontbook, system_fontbook, theme, lang)
        self.fallback = chosen is not None and lang != chosen
        if self.fallback and chosen:
            self._header(chosen)  # the traveller reads the heading and the note in theirs
            self.lang = lang
        self.note = (
            text_tokens(f"{ui_text('notice_fallback', chosen)} {ENDONYMS[lang]}", chosen)
            if self.fallback and chosen
            else ()
        )
        self._bodies([lang], theme.text(BODY_TEXT))
        return True

    def show_all(
        self,
        notice: Notice,
        order: list[str],
        current: str | None,
        pack: LoadedPack | None,
        fontbook: FontBook | None,
        system_fontbook: Callable[[], FontBook],
        theme: Theme,
    ) -> bool:
        """Nobody chose a language: every language of the notice stacked when they fit,
        else the one of `current` (the attract loop's language; False when the notice
        is not written in it and shows nothing new)."""
        langs = notice_languages(notice, order)
        if not langs:
            return False
        first = current if current in langs else langs[0]
        self._prepare(notice, pack, fontbook, system_fontbook, theme, first)
        self.fallback, self.note = False, ()
        size = self._stack_size(langs, theme)
        if size is not None:
            self.stacked, self.lang = True, ""
            self._header_all(langs)
            self._bodies(langs, size)
        else:
            self._bodies([first], theme.text(BODY_TEXT))
        return True

    def follow(self, lang: str, theme: Theme) -> None:
        """Turns on the attract loop: show `lang` now, if the notice is written in it."""
        notice = self._notice
        if self.stacked or notice is None or not notice.text.get(lang, "").strip():
            return
        if lang != self.lang:
            self._header(lang)
            self._bodies([lang], theme.text(BODY_TEXT))

    def _prepare(
        self,
        notice: Notice,
        pack: LoadedPack | None,
        fontbook: FontBook | None,
        system_fontbook: Callable[[], FontBook],
        theme: Theme,
        lang: str,
    ) -> None:
        def book_for(lang: str) -> FontBook:
            if fontbook is None or LANG_SCRIPT.get(lang, "Latn") not in fontbook.scripts:
                return system_fontbook()
            return fontbook

        self._books, self._notice = book_for, notice
        self._pack = pack
        self.theme, self.notice_id, self.stacked = theme, notice.id, False
        self._header(lang)

    def _header(self, lang: str) -> None:
        """The heading and the close button in `lang`, and the book drawing them."""
        assert self._books is not None
        pack: LoadedPack | None = self._pack
        self.lang = lang
        self.fontbook = self._books(lang)
        if pack is not None and lang in pack.manifest.languages:
            self.heading, self.close_label = pack.ui("notice", lang), pack.ui("close", lang)
        else:
            self.heading = text_tokens(ui_text("notice", lang), lang, bold=True)
            self.close_label = text_tokens(ui_text("close", lang), lang, bold=True)

    def _header_all(self, langs: list[str]) -> None:
        """Stacked: "Urgent notice" and "Close" in every language the card's book draws."""
        book: FontBook = self.fontbook
        shown = [lang for lang in langs if LANG_SCRIPT.get(lang, "Latn") in book.scripts]

        heading = " · ".join(ui_text("notice", lang) for lang in shown)
        self.heading = text_tokens(heading, shown[0] if shown else "vi", bold=True)
        # the ✕ on the button speaks to everyone; its word in Vietnamese and English
        close = " · ".join(ui_text("close", lang) for lang in ("vi", "en"))
        self.close_label = text_tokens(close, "vi", bold=True)

    def tokens(self, lang: str) -> Tokens:
        assert self._notice is not None
        return text_tokens(self._notice.text[lang], lang)

    def _bodies(self, langs: list[str], size: float) -> None:
        box = self.ids.bodies
        box.clear_widgets()
        self.bodies = []
        for lang in langs:
            assert self._books is not None
            text = TokenText(
                tokens=self.tokens(lang),
                fontbook=self._books(lang),
                font_size=size,
                size_hint_y=None,
            )
            box.add_widget(text)
            self.bodies.append((lang, text))

    def _stack_size(self, langs: list[str], theme: Theme) -> float | None:
        """The largest text size (BODY_TEXT down to STACK_MIN_TEXT) at which every
        language fits on the card stacked; None when they do not fit even then."""
        assert self._books is not None
        width = min(theme.width * 0.9, theme.px(1300)) - 2 * theme.px(48)
        # the card's other parts: heading band, paddings, gaps, the close button
        room = theme.height * 0.9 - theme.px(56 + 46 * 1.4 + 2 * 40 + 112 + 36)
        size = theme.text(BODY_TEXT)
        floor = theme.text(STACK_MIN_TEXT)
        probe = TokenText(size_hint_y=None, wrap_width=width)
        while size >= floor:
            total = theme.px(24) * (len(langs) - 1)
            for lang in langs:
                probe.fontbook, probe.tokens, probe.font_size = (
                    self._books(lang),
                    self.tokens(lang),
                    size,
                )
                probe.relayout_now()
                total += probe.height
            if total <= room:
                return size
            size = round(size * 0.9)
        return None

    # --- what was drawn ---------------------------------------------------------
    def missing_glyphs(self) -> dict[str, int]:
        """Per language of the notice: characters no font of its book can draw."""
        notice = self._notice
        if notice is None or self._books is None:
            return {}
        out = {}
        for lang, text in notice.text.items():
            if text.strip():
                book = self._books(lang)
                out[lang] = sum(len(book.missing(t.t, t.s, t.b)) for t in self.tokens(lang))
        return out

    # --- modal ------------------------------------------------------------------
    def on_touch_down(self, touch: Any) -> bool:
        super().on_touch_down(touch)
        return True

    def on_touch_move(self, touch: Any) -> bool:
        super().on_touch_move(touch)
        return True

    def on_touch_up(self, touch: Any) -> bool:
        super().on_touch_up(touch)
        return True
