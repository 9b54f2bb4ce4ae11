"""Line layout of pack tokens: which tokens go on which line, in which runs.

Pure (no Kivy): the caller passes a `measure(text, script, bold)` function
that returns the drawn width of a text in the font of its script, so the
same code lays out pages on the kiosk, in `bgk pack preview` and in tests.

The rules are the pack's contract (kiosk.protocol.pack.Token):

* a line may break only before a token whose `j` (join) flag is false, so
  Thai and Lao wrap between the words the pack builder segmented;
* a whitespace-only token at the start of a line is dropped, and trailing
  whitespace does not count against the line width;
* a group of joined tokens wider than the whole line is, as a last resort,
  broken between grapheme clusters (never before a combining mark, never
  after a Thai/Lao leading vowel), so nothing is ever cut off.

Consecutive tokens on a line with the same script, weight and link become
one run: the UI draws each run with one font and one HarfBuzz script tag.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kiosk.protocol.pack import Token

Measure = Callable[[str, str, bool], float]

#: Thai and Lao vowels written before the consonant they follow in speech
LEADING_VOWELS = frozenset("เแโใไເແໂໃໄ")
#: characters that never start a grapheme cluster (besides combining marks)
_CLUSTER_TAIL = frozenset("\u0e33\u0eb3\u200c\u200d")


@dataclass(frozen=True)
class Run:
    """Text drawn with one font on one line."""

    text: str
    script: str
    bold: bool
    link: str | None
    #: left edge, from the start of the line
    x: float
    width: float


@dataclass(frozen=True)
class Line:
    runs: tuple[Run, ...]
    width: float
    #: index in the input of the first and one past the last token on this line
    start: int
    end: int
    #: True when the line ends inside a token (last-resort break by characters)
    split: bool = False

    @property
    def text(self) -> str:
        return "".join(run.text for run in self.runs)


@dataclass(frozen=True)
class _Piece:
    """A token, or part of one when a too-long token is broken by characters."""

    token: int
    text: str
    script: str
    bold: bool
    link: str | None
    #: a line may break before this piece
    breakable: bool
    #: the piece ends its token (False for all but the last part of a broken one)
    ends_token: bool = True


def clusters(text: str) -> list[str]:
    """Grapheme clusters, enough for line breaking: base + marks (+ Thai/Lao AM)."""
    out: list[str] = []
    for ch in text:
        if out and (unicodedata.category(ch) in ("Mn", "Mc", "Me") or ch in _CLUSTER_TAIL):
            out[-1] += ch
        else:
            out.append(ch)
    return out


def break_lines(
    tokens: Sequence[Token], width: float, measure: Measure, *, bold: bool = False
) -> list[Line]:
    """Lay `tokens` out into lines at most `width` wide (bold=True draws all bold)."""
    pieces = [
        _Piece(i, tok.t, tok.s, tok.b or bold, tok.l, breakable=not tok.j)
        for i, tok in enumerate(tokens)
    ]
    lines: list[list[_Piece]] = []
    current: list[_Piece] = []
    for group in _groups(pieces):
        # Fit is judged on the line as it will be drawn: runs shaped as a whole
        # (kerning across words), trailing whitespace left out.
        if current:
            if _line(current + group, measure).width <= width:
                current.extend(group)
                continue
            lines.append(current)
            current = []
        group = _strip_leading(group)
        if not group:
            continue
        if _line(group, measure).width > width:
            # Last resort: the group alone is wider than a line.
            parts = _split_by_clusters(group, width, measure)
            lines.extend(parts[:-1])
            current = parts[-1]
            continue
        current = list(group)
    if current:
        lines.append(current)
    return [_line(pieces_of_line, measure) for pieces_of_line in lines]


def widest_group(tokens: Sequence[Token], measure: Measure) -> float:
    """The width of the widest group of tokens no line may break inside, as it would
    be drawn at the start of a line (a line this wide breaks none of them)."""
    pieces = [
        _Piece(i, tok.t, tok.s, tok.b, tok.l, breakable=not tok.j) for i, tok in enumerate(tokens)
    ]
    widths = [_line(group, measure).width for group in map(_strip_leading, _groups(pieces))]
    return max(widths, default=0.0)


def _groups(pieces: list[_Piece]) -> list[list[_Piece]]:
    """Pieces between two break opportunities."""
    groups: list[list[_Piece]] = []
    for piece in pieces:
        if piece.breakable or not groups:
            groups.append([piece])
        else:
            groups[-1].append(piece)
    return groups


def _strip_leading(group: list[_Piece]) -> list[_Piece]:
    """Drop whitespace-only pieces at the start of a line."""
    i = 0
    while i < len(group) and not group[i].text.strip():
        i += 1
    return group[i:]


def _split_by_clusters(group: list[_Piece], width: float, measure: Measure) -> list[list[_Piece]]:
    small: list[_Piece] = []
    for piece in group:
        parts = clusters(piece.text)
        for k, cl in enumerate(parts):
            small.append(
                _Piece(
                    piece.token,
                    cl,
                    piece.script,
                    piece.bold,
                    piece.link,
                    breakable=k > 0,
                    ends_token=k == len(parts) - 1,
                )
            )
    lines: list[list[_Piece]] = [[]]
    used = 0.0
    for i, piece in enumerate(small):
        w = measure(piece.text, piece.script, piece.bold)
        prev = small[i - 1].text if i else ""
        may_break = bool(lines[-1]) and not (prev and prev[-1] in LEADING_VOWELS)
        if may_break and used + w > width and piece.text.strip():
            lines.append([])
            used = 0.0
        lines[-1].append(piece)
        used += w
    return lines


def _line(pieces: list[_Piece], measure: Measure) -> Line:
    merged: list[tuple[str, str, bool, str | None]] = []
    for p in pieces:
        key = (p.script, p.bold, p.link)
        if merged and merged[-1][1:] == key:
            merged[-1] = (merged[-1][0] + p.text, *key)
        else:
            merged.append((p.text, *key))
    # Trailing whitespace is not drawn (it would shift centred lines).
    while merged and not merged[-1][0].rstrip():
        merged.pop()
    if merged:
        text, script, bold, link = merged[-1]
        merged[-1] = (text.rstrip(), script, bold, link)
    runs: list[Run] = []
    x = 0.0
    for text, script, bold, link in merged:
        w = measure(text, script, bold)
        runs.append(Run(text, script, bold, link, x, w))
        x += w
    start = pieces[0].token if pieces else 0
    end = pieces[-1].token + 1 if pieces else 0
    split = bool(pieces) and not pieces[-1].ends_token
    return Line(tuple(runs), x, start, end, split)
