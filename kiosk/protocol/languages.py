"""The five languages of the border-gate kiosks (provincial regulation, Art. 15.5).

Each language has one main script. A script names the font the pack carries
and the HarfBuzz script tag the UI must set (Kivy's `font_script_name`),
without which Thai and Lao marks are misplaced.
"""

from __future__ import annotations

from typing import Final

LANGUAGES: Final = ("vi", "en", "lo", "th", "zh")

#: language -> ISO 15924 script of its text
LANG_SCRIPT: Final[dict[str, str]] = {
    "vi": "Latn",
    "en": "Latn",
    "lo": "Laoo",
    "th": "Thai",
    "zh": "Hans",
}

#: pack script -> OpenType/HarfBuzz script tag (what Kivy's font_script_name takes)
SCRIPT_SHAPING_TAG: Final[dict[str, str]] = {
    "Latn": "Latn",
    "Laoo": "Laoo",
    "Thai": "Thai",
    "Hans": "Hani",
}

SCRIPTS: Final = ("Latn", "Laoo", "Thai", "Hans")

#: each language's name written in its own script (the language chooser)
ENDONYMS: Final[dict[str, str]] = {
    "vi": "Tiếng Việt",
    "en": "English",
    "lo": "ພາສາລາວ",
    "th": "ภาษาไทย",
    "zh": "中文",
}


def script_of_char(ch: str) -> str | None:
    """The pack script that must draw `ch`, or None for neutral characters.

    Neutral characters (spaces, digits, ASCII punctuation) take the script of
    the text around them; every font the pack carries can draw them.
    """
    cp = ord(ch)
    if 0x0E80 <= cp <= 0x0EFF:
        return "Laoo"
    if 0x0E00 <= cp <= 0x0E7F:
        return "Thai"
    if (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x3000 <= cp <= 0x303F
        or 0xFF00 <= cp <= 0xFFEF
        or 0x20000 <= cp <= 0x2FFFF
    ):
        return "Hans"
    if ch.isspace() or (ch.isdigit() and cp < 0x80):
        return None
    if cp < 0x80 and not ch.isalpha():
        return None
    return "Latn"
