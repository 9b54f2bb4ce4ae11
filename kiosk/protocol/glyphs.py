"""Which characters of a run-time text (an urgent notice) a kiosk can draw.

Shared by the kiosk's text renderer (kiosk.ui.fonts), the agent's report of a
notice and the server's check before sending, so that all three count the
same characters the same way:

* Characters that are never drawn as a glyph of their own (variation
  selectors such as the U+FE0F a phone puts after ⚠, zero-width joiners and
  spaces, bidi and tag characters) and emoji skin-tone modifiers (a
  monochrome font cannot show a skin tone; alone they would be a swatch)
  are dropped before drawing: `drawable` gives the text as drawn.
* A character is drawn by the first font of its chain that has it: the
  font of its script (regular), the Latin font, then the pack's symbol
  fallback fonts (`fonts/fallback/` in the manifest, in path order).
  `chain_scripts` is that order for the pack's own fonts.
* A character no font of the chain has would be a box (.notdef): the
  sender must hear of it before sending, with `suggestion` for each.

Packs carry their fallback fonts as files under FALLBACK_FONT_DIR: the
manifest's `fonts` table (script -> regular, bold) is unchanged, so a kiosk
that predates the fallback chain plays a new pack as before.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

from kiosk.protocol.languages import LANG_SCRIPT, script_of_char

#: folder of a pack's symbol fallback fonts, tried in path order
FALLBACK_FONT_DIR = "fonts/fallback/"

_IGNORED_RANGES = (
    (0x00AD, 0x00AD),  # soft hyphen
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x061C, 0x061C),
    (0x180B, 0x180F),
    (0x200B, 0x200F),  # zero-width space, (non-)joiner, direction marks
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0xFE00, 0xFE0F),  # variation selectors (emoji / text presentation)
    (0xFEFF, 0xFEFF),
    (0xE0000, 0xE0FFF),  # tags, variation selectors supplement
    (0x1F3FB, 0x1F3FF),  # emoji skin-tone modifiers
)


def _ignored_class() -> re.Pattern[str]:
    ranges = [(0x00, 0x08), (0x0B, 0x0C), (0x0E, 0x1F), (0x7F, 0x9F), *_IGNORED_RANGES]
    return re.compile("[" + "".join(f"{chr(a)}-{chr(b)}" for a, b in ranges) + "]")


#: control characters (but whitespace) and the ranges above
_IGNORED = _ignored_class()


def ignored(ch: str) -> bool:
    """True for a character that is never drawn (see the module's doc)."""
    return _IGNORED.match(ch) is not None


def drawable(text: str) -> str:
    """`text` as the kiosk draws it: the characters that are never drawn left out."""
    return _IGNORED.sub("", text)


def chain_scripts(ch: str, lang: str) -> tuple[str, ...]:
    """The pack scripts whose fonts are tried for `ch` in a text in `lang`, in order."""
    own = script_of_char(ch) or LANG_SCRIPT.get(lang, "Latn")
    return (own,) if own == "Latn" else (own, "Latn")


def missing_chars(text: str, draws: Callable[[str], bool]) -> list[str]:
    """Characters of `text` (as drawn) that `draws` says no font can draw, each
    once, in order of appearance. Whitespace never counts."""
    out: list[str] = []
    for ch in drawable(text):
        if not ch.isspace() and ch not in out and not draws(ch):
            out.append(ch)
    return out


def count_missing(text: str, draws: Callable[[str], bool]) -> int:
    """How many glyphs of `text` (as drawn) would be boxes: every occurrence counts."""
    return sum(1 for ch in drawable(text) if not ch.isspace() and not draws(ch))


#: what to type instead, where a plain replacement reads the same
_SUGGESTIONS = {
    "→": "->",
    "←": "<-",
    "↔": "<->",
    "⇒": "=>",
    "⇐": "<=",
    "⇔": "<=>",
    "➔": "->",
    "➜": "->",
    "➡": "->",
    "⬅": "<-",
    "↑": "^",
    "⚠": "(!)",
    "❗": "!",
    "❕": "!",
    "❓": "?",
    "‼": "!!",
    "✓": "v",
    "✔": "v",
    "✅": "v",
    "✗": "x",
    "✘": "x",
    "❌": "x",
    "№": "No.",
    "℃": "°C",
    "™": "TM",
    "•": "-",
    "…": "...",
    "—": "-",
    "–": "-",
    "“": '"',
    "”": '"',
    "‘": "'",
    "’": "'",
}


def suggestion(ch: str) -> str | None:
    """What to type instead of `ch` (None: leave it out or say it in words)."""
    if ch in _SUGGESTIONS:
        return _SUGGESTIONS[ch]
    folded = unicodedata.normalize("NFKC", ch)
    if folded != ch and folded.isascii() and folded.strip():
        # ① -> (1), ⒈ -> 1., ｆ -> f
        return f"({folded})" if folded.isdigit() else folded
    return None


def describe(chars: Iterable[str]) -> str:
    """`⚠ (U+26A0 WARNING SIGN, try "(!)")`, ... for messages to the sender."""
    parts = []
    for ch in chars:
        name = unicodedata.name(ch, "unnamed")
        hint = suggestion(ch)
        tail = f', try "{hint}"' if hint else ", leave it out or say it in words"
        parts.append(f"{ch} (U+{ord(ch):04X} {name}{tail})")
    return "; ".join(parts)
