"""Tokens for text that arrives as plain strings at run time.

Pack text comes segmented by the builder; an urgent notice (typed on the
server's console), the language names of the chooser and the "preparing"
screen of a kiosk without a pack do not. This splits such text the same
way as far as it can without a dictionary (the kiosk carries none):

* runs by script (kiosk.protocol.languages.script_of_char); spaces stay with
  the language's script, digits and ASCII punctuation go to the Latin font
  unless the language's own font draws them (Chinese, Latin);
* Latin breaks after spaces, Chinese between characters (not before closing
  or after opening punctuation), Thai and Lao at spaces only: a Thai or Lao
  phrase longer than a line is then broken between grapheme clusters by the
  layout (kiosk.ui.layout), which is acceptable for a short notice.
"""

from __future__ import annotations

import re

from kiosk.protocol.languages import LANG_SCRIPT, script_of_char
from kiosk.protocol.pack import Token

#: scripts whose pack font also draws digits and ASCII punctuation
_DRAWS_ASCII = frozenset({"Latn", "Hans"})
_CLOSING = frozenset("，。、；：？！）》」』”’〉】〕…,.;:?!)]}%")
_OPENING = frozenset("（《「『“‘〈【〔([{")
_WORDS = re.compile(r"\S+\s*|\s+")


def text_tokens(text: str, lang: str, *, bold: bool = False) -> tuple[Token, ...]:
    """`text` in `lang` as tokens the layout can wrap."""
    main = LANG_SCRIPT.get(lang, "Latn")
    tokens: list[Token] = []
    for script, run in _runs(" ".join(text.split()), main):
        for word, breakable in _words(script, run):
            join = bool(tokens) and not (breakable or _may_break(tokens[-1].t, word))
            tokens.append(Token(t=word, s=script, b=bold, j=join))
    return tuple(tokens)


def _script_for(ch: str, main: str) -> str:
    own = script_of_char(ch)
    if own is not None:
        return own
    if ch.isspace() or main in _DRAWS_ASCII:
        return main
    return "Latn"


def _runs(text: str, main: str) -> list[tuple[str, str]]:
    runs: list[tuple[str, str]] = []
    for ch in text:
        script = _script_for(ch, main)
        if runs and runs[-1][0] == script:
            runs[-1] = (script, runs[-1][1] + ch)
        else:
            runs.append((script, ch))
    return runs


def _words(script: str, run: str) -> list[tuple[str, bool]]:
    """Words of a one-script run; the flag says a break may come before the word."""
    if script == "Hans":
        words: list[tuple[str, bool]] = []
        for ch in run:
            if words and _stays_with(words[-1][0][-1], ch):
                words[-1] = (words[-1][0] + ch, words[-1][1])
            else:
                words.append((ch, bool(words)))
        return words
    return [(w, False) for w in _WORDS.findall(run)]


def _stays_with(prev: str, ch: str) -> bool:
    """In Chinese text: `ch` may not start a new token after `prev`."""
    if ch in _CLOSING or ch.isspace() or prev in _OPENING:
        return True
    return ch.isascii() and ch.isalnum() and prev.isascii()


def _may_break(prev: str, word: str) -> bool:
    if word[0] in _CLOSING or prev[-1] in _OPENING:
        return False
    return prev[-1].isspace()
