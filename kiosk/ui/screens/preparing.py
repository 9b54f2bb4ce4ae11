"""A kiosk without a pack yet: a calm message in every language, in the machine's fonts."""

from __future__ import annotations

from typing import Any

from kivy.properties import ObjectProperty
from kivy.uix.screenmanager import Screen

from kiosk.protocol.languages import LANG_SCRIPT, LANGUAGES
from kiosk.protocol.ui_strings import UI_STRINGS
from kiosk.ui import theme as colours
from kiosk.ui.plaintext import text_tokens
from kiosk.ui.textview import TokenText


class PreparingScreen(Screen):  # type: ignore[misc]
    #: the window's clear colour while this screen shows (no full-screen fill of its own)
    background = colours.NAVY
    fontbook: Any = ObjectProperty(None, allownone=True)
    theme: Any = ObjectProperty(None)

    def show(self, fontbook: Any, theme: Any) -> None:
        """One line per language whose script the machine has a font for."""
        self.fontbook = fontbook
        self.theme = theme
        box = self.ids.lines
        box.clear_widgets()
        for lang in LANGUAGES:
            if LANG_SCRIPT[lang] not in fontbook.scripts:
                continue
            box.add_widget(
                TokenText(
                    tokens=text_tokens(UI_STRINGS["preparing"][lang], lang),
                    fontbook=fontbook,
                    font_size=theme.px(46),
                    halign="center",
                    color=colours.WHITE if lang != "vi" else colours.YELLOW,
                    size_hint_y=None,
                )
            )

    def on_leave(self, *_args: Any) -> None:
        """A pack arrived: the lines go with their textures."""
        self.ids.lines.clear_widgets()
