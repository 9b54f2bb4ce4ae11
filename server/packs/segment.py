"""Turn styled text into the tokens of kiosk.protocol.pack: words in one script each.

Which segmenter, and why: Thai with pythainlp's `newmm` and Lao with laonlp
(both dictionary maximal-matching, pure Python, offline). ICU's break
iterator (PyICU) must be compiled on the build machine and its dictionary
cannot be extended, and on our border-gate sentences it broke inside place
names (ลาวบาว, ສະຫວັນນະເຂດ); the two pure-Python segmenters take the pack's
glossary (`glossary/th.txt`, `glossary/lo.txt`) and, with it, made no bad
breaks on the sample pack (see tests/unit/test_segment.py's golden sentences).

Rules (a token never contains a line break opportunity):
* a character's script is its own (Lao, Thai, Han, Latin letters); neutral
  characters (digits, punctuation) take the language's script when that
  script's font draws them, else Latin (the Lao and Thai fonts have no digits
  or ASCII punctuation); a space stays with the word before it;
* Latin text breaks after spaces; Thai and Lao between dictionary words;
  Chinese between characters, except before closing and after opening
  punctuation;
* `j` (join) marks a token that must stay on the line of the one before.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from kiosk.protocol.languages import LANG_SCRIPT, script_of_char
from kiosk.protocol.pack import Token
from server.packs.markup import Span

CLOSING = set("，。、；：？！）》」』”’〉】〕…,.;:?!)]}%‰·ๆໆฯ")
OPENING = set("（《「『“‘〈【〔([{")
DICTIONARY_SCRIPTS = ("Thai", "Laoo")
_LATIN_WORDS = re.compile(r"\S+\s*|\s+")


class WordSplitter(Protocol):
    def __call__(self, text: str) -> list[str]: ...


def thai_splitter(glossary: Iterable[str]) -> WordSplitter:
    from pythainlp.corpus.common import thai_words
    from pythainlp.tokenize import word_tokenize
    from pythainlp.util import dict_trie

    trie = dict_trie(set(thai_words()) | {w for w in glossary if w})

    def split(text: str) -> list[str]:
        return list(word_tokenize(text, custom_dict=trie, engine="newmm", keep_whitespace=True))

    return split


def lao_splitter(glossary: Iterable[str]) -> WordSplitter:
    from laonlp.corpus import lao_words
    from laonlp.tokenize.multi_cut import segment
    from pythainlp.util import Trie

    trie = Trie(list(lao_words()) + [w for w in glossary if w])

    def split(text: str) -> list[str]:
        return list(segment(text, custom_dict=trie))

    return split


class Segmenter:
    """Tokens for the text of one pack.

    `coverage` maps a script to the code points its font draws; `splitters`
    maps "Thai"/"Laoo" to a dictionary word splitter.
    """

    def __init__(
        self, coverage: Mapping[str, frozenset[int]], splitters: Mapping[str, WordSplitter]
    ) -> None:
        self.coverage = coverage
        self.splitters = splitters

    def script_for(self, ch: str, main: str) -> str:
        own = script_of_char(ch)
        if own is not None:
            return own
        return main if ord(ch) in self.coverage.get(main, frozenset()) else "Latn"

    def tokens(self, spans: Sequence[Span], lang: str) -> tuple[Token, ...]:
        main = LANG_SCRIPT[lang]
        out: list[Token] = []
        for span in spans:
            for script, run in self._runs(span.text, main):
                for word, breakable in self._words(script, run):
                    join = bool(out) and not self._may_break(out[-1], word, script, breakable)
                    out.append(Token(t=word, s=script, b=span.bold, l=span.link, j=join))
        return tuple(out)

    def _runs(self, text: str, main: str) -> list[tuple[str, str]]:
        runs: list[tuple[str, str]] = []
        for ch in text:
            script = self.script_for(ch, main)
            if ch.isspace() and runs and ord(ch) in self.coverage.get(runs[-1][0], frozenset()):
                script = runs[-1][0]  # a space ends the word before it, in its font
            if runs and runs[-1][0] == script:
                runs[-1] = (script, runs[-1][1] + ch)
            else:
                runs.append((script, ch))
        return runs

    def _words(self, script: str, run: str) -> list[tuple[str, bool]]:
        """Words of a one-script run; the flag says a break may come before the word
        because of the script's own rules (dictionary or Han boundary)."""
        if script in DICTIONARY_SCRIPTS:
            pieces = self.splitters[script](run)
            words = _attach_spaces(pieces)
            return [(w, i > 0) for i, w in enumerate(words)]
        if script == "Hans":
            return _han_words(run)
        return [(w, False) for w in _LATIN_WORDS.findall(run)]

    @staticmethod
    def _may_break(prev: Token, word: str, script: str, breakable: bool) -> bool:
        if word[0] in CLOSING or prev.t[-1] in OPENING:
            return False
        if prev.t[-1].isspace():
            return True
        if breakable:
            return True
        # Between runs of two scripts that segment by themselves (e.g. Thai then Lao).
        segmenting = (*DICTIONARY_SCRIPTS, "Hans")
        return prev.s in segmenting and script in segmenting and prev.s != "Latn"


def _attach_spaces(pieces: list[str]) -> list[str]:
    words: list[str] = []
    for piece in pieces:
        if not piece:
            continue
        if (piece.isspace() and words) or (
            words and words[-1][-1] not in " " and piece[0] in CLOSING
        ):
            words[-1] += piece
        else:
            words.append(piece)
    return words


def _han_words(run: str) -> list[tuple[str, bool]]:
    """Chinese: one token per character; Latin letters and digits stay in words."""
    words: list[tuple[str, bool]] = []
    buf = ""
    for ch in run:
        if ch.isascii() and (ch.isalnum() or ch in ".-/:+%"):
            buf += ch
            continue
        if buf:
            words.append((buf, True))
            buf = ""
        if (ch.isspace() and words) or (ch in CLOSING and words):
            words[-1] = (words[-1][0] + ch, words[-1][1])
        else:
            words.append((ch, True))
    if buf:
        words.append((buf, True))
    return [(w, i > 0 and b) for i, (w, b) in enumerate(words)]
