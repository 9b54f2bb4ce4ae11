"""The editor's sentences in the signed-in person's language (server/words/sentences.py
with the dashboard's `Words`): the API keeps the codes, the pages say them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from server.packs.findings import Finding
from server.web.i18n import WORDS, Words
from server.words import sentences

#: the words the editor's script needs
PREFIXES = ("lint.", "ws.err.", "ws.finding_at", "ws.detail")


def finding_text(t: Words, finding: Finding | Mapping[str, Any]) -> str:
    return sentences.finding_text(WORDS[t.lang], finding)


def error_text(t: Words, code: str | None, args: Mapping[str, object], english: str) -> str:
    return sentences.error_text(WORDS[t.lang], code, args, english)


def editor_words(t: Words) -> dict[str, str]:
    return {key: text for key, text in WORDS[t.lang].items() if key.startswith(PREFIXES)}
