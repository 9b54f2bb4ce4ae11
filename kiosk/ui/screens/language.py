"""The language chooser: each language's own name, in its own script."""

from __future__ import annotations

from typing import Any

from kivy.properties import ObjectProperty
from kivy.uix.screenmanager import Screen

from kiosk.protocol.languages import ENDONYMS
from kiosk.protocol.pack import Token, Tokens
from kiosk.ui import theme as colours
from kiosk.ui.content import LoadedPack
from kiosk.ui.plaintext import text_tokens
from kiosk.ui.widgets import LanguageButton


class LanguageScreen(Screen):  # type: ignore[misc]
    #: the window's clear colour while this screen shows (no full-screen fill of its own)
    background = colours.PAPER
    fontbook: Any = ObjectProperty(None, allownone=True)
    theme: Any = ObjectProperty(None)
    prompt: Any = ObjectProperty(())

    __events__ = ("on_language",)

    def on_language(self, lang: str) -> None:
        pass

    def show(self, pack: LoadedPack, fontbook: Any, theme: Any) -> None:
        self.fontbook = fontbook
        self.theme = theme
        self.prompt = _joined(
            [pack.ui("choose_language", lang) for lang in pack.manifest.languages]
        )
        box = self.ids.choices
        box.clear_widgets()
        for lang in pack.manifest.languages:
            button = LanguageButton(
                name=f"lang:{lang}",
                label=text_tokens(ENDONYMS[lang], lang, bold=True),
                fontbook=fontbook,
                text_size=theme.px(60),
                height=theme.px(190 if theme.portrait else 150),
            )
            button.bind(on_release=lambda _b, lang=lang: self.dispatch("on_language", lang))
            box.add_widget(button)

    def on_leave(self, *_args: Any) -> None:
        """The buttons go with their textures (drawn afresh when shown again)."""
        self.ids.choices.clear_widgets()
        self.prompt = ()


def _joined(parts: list[Tokens]) -> Tokens:
    """Several languages' texts on one line, spaced apart; a line breaks only between them."""
    out: list[Token] = []
    for tokens in parts:
        if not tokens:
            continue
        if out:
            out.append(Token(t="     ", s="Latn"))
        # one language's words stay together: lines break only between languages
        out.extend(tok.model_copy(update={"j": i > 0}) for i, tok in enumerate(tokens))
    return tuple(out)
