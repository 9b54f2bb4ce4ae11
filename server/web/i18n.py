"""Every word the dashboard shows, in Vietnamese (first, the default) and English.

`words(lang)` gives a `Words`: `t("key", n=3)` formats the sentence of `key`.
Every word of the server is in server/words/vi.py and server/words/en.py, one
file per language for translators: the dashboard's own sentences (VI, EN), the
fleet view's states, alerts and reasons (FLEET, the same words `bgk server
fleet` prints) and the report's (REPORT, the same words `bgk server report` prints).
A key missing in a language falls back to the key itself, and a test checks
that every key the templates use exists in both languages.
"""

from __future__ import annotations

from typing import Final

from server.fleet.view import TEXT as FLEET_TEXT
from server.reports.render import WORDS as REPORT_TEXT
from server.words.en import EN
from server.words.vi import VI

LANGS: Final = ("vi", "en")
DEFAULT_LANG: Final = "vi"
LANG_NAMES: Final = {"vi": "Tiếng Việt", "en": "English"}

WORDS: Final[dict[str, dict[str, str]]] = {"vi": VI, "en": EN}


class Words:
    """The sentences of one language; `t(key, **values)` formats one."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGS else DEFAULT_LANG
        self._own = WORDS[self.lang]
        self._fleet = FLEET_TEXT[self.lang]
        self._report = REPORT_TEXT[self.lang]

    def _lookup(self, key: str) -> str | None:
        """Our own words, else the fleet view's (states, alerts), else for
        `reports.[col.]KEY` the printed report's (one wording for page, text
        and CSV)."""
        text = self._own.get(key) or self._fleet.get(key)
        if text is None and key.startswith("reports."):
            text = self._report.get(key.removeprefix("reports.").removeprefix("col."))
        return text

    def __call__(self, key: str, **values: object) -> str:
        text = self._lookup(key)
        if text is None:
            return key
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return self._lookup(key) is not None

    def number(self, value: float, digits: int = 1) -> str:
        """12.5 as "12,5" in Vietnamese, "12.5" in English."""
        text = f"{value:.{digits}f}"
        return text.replace(".", ",") if self.lang == "vi" else text


def words(lang: str) -> Words:
    return Words(lang)
