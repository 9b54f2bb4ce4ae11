"""Captions of pack videos: the WebVTT subset packs carry, parsed strictly.

Pure: text in, cues out. The build reads the editor's `.vtt` files with it
(lint reports the first bad line) and writes them back in one normal form;
the kiosk reads that normal form to draw the captions in the chosen language.

Kept: cue timings and text lines. Dropped: cue identifiers, cue settings
(position, alignment: the kiosk places captions itself), NOTE/STYLE/REGION
blocks and inline tags (`<b>`, `<i>`, `<c.x>`, `<v Name>`, timestamps).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

#: at most this many cues in one caption file (a 10-minute video at one cue per
#: second is 600)
MAX_CUES = 5_000
#: at most this many characters in one cue's text
MAX_CUE_CHARS = 500

TIMESTAMP = re.compile(r"^(?:(\d{1,3}):)?([0-5]\d):([0-5]\d)\.(\d{3})$")
TAG = re.compile(r"<[^>]*>")
ENTITIES = {
    "&amp;": "&",
    "&lt;": "<",
    "&gt;": ">",
    "&nbsp;": "\u00a0",
    "&lrm;": "\u200e",
    "&rlm;": "\u200f",
}


class CaptionError(ValueError):
    """A caption file outside the subset; `line` is 1-based (0: the whole file)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Cue:
    start_ms: int
    end_ms: int
    #: plain text; lines joined with "\n"
    text: str


def _timestamp(text: str, line: int) -> int:
    match = TIMESTAMP.match(text)
    if not match:
        raise CaptionError(line, f"{text!r} is not a time: write mm:ss.mmm or hh:mm:ss.mmm")
    hours, minutes, seconds, millis = match.groups()
    return ((int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(millis)


def _clean(text: str) -> str:
    text = TAG.sub("", text)
    for entity, char in ENTITIES.items():
        text = text.replace(entity, char)
    return text


def parse_vtt(text: str) -> tuple[Cue, ...]:
    """Cues of a WebVTT file, sorted by start; CaptionError at the first bad line."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    first = lines[0] if lines else ""
    if first != "WEBVTT" and not first.startswith(("WEBVTT ", "WEBVTT\t")):
        raise CaptionError(1, "a caption file starts with the line WEBVTT")
    cues: list[Cue] = []
    i = 1
    # the header runs to the first blank line
    while i < len(lines) and lines[i].strip():
        i += 1
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        start = i
        block: list[str] = []
        while i < len(lines) and lines[i].strip():
            block.append(lines[i])
            i += 1
        head = block[0].strip()
        if head.startswith(("NOTE", "STYLE", "REGION")) and "-->" not in head:
            continue
        timing_at = 0 if "-->" in block[0] else 1
        if timing_at >= len(block) or "-->" not in block[timing_at]:
            raise CaptionError(start + 1, "a cue needs a timing line: 00:01.000 --> 00:04.000")
        line_no = start + 1 + timing_at
        left, _, right = block[timing_at].partition("-->")
        begin = _timestamp(left.strip(), line_no)
        end = _timestamp((right.split() or [""])[0], line_no)
        if end <= begin:
            raise CaptionError(line_no, "the cue ends before it starts")
        body = block[timing_at + 1 :]
        if any("-->" in b for b in body):
            raise CaptionError(
                line_no + 1, "two timing lines in one cue: separate cues by an empty line"
            )
        cue_text = "\n".join(_clean(b).strip() for b in body).strip()
        if not cue_text:
            raise CaptionError(line_no, "the cue has no text")
        if len(cue_text) > MAX_CUE_CHARS:
            raise CaptionError(line_no, f"the cue is longer than {MAX_CUE_CHARS} characters")
        cues.append(Cue(begin, end, cue_text))
        if len(cues) > MAX_CUES:
            raise CaptionError(line_no, f"more than {MAX_CUES} cues")
    if not cues:
        raise CaptionError(0, "the caption file has no cues")
    return tuple(sorted(cues, key=lambda c: (c.start_ms, c.end_ms)))


def _format(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def format_vtt(cues: tuple[Cue, ...]) -> str:
    """The normal form the build writes: header, then one timing and its text per cue."""
    parts = ["WEBVTT\n"]
    for cue in cues:
        text = cue.text.replace("-->", "->")
        parts.append(f"\n{_format(cue.start_ms)} --> {_format(cue.end_ms)}\n{text}\n")
    return "".join(parts)


class CaptionTrack:
    """The cues of one language, looked up by playback position."""

    def __init__(self, cues: tuple[Cue, ...]) -> None:
        self.cues = cues
        self._starts = [c.start_ms for c in cues]
        self._longest = max((c.end_ms - c.start_ms for c in cues), default=0)

    def at(self, position_ms: int) -> str:
        """The text shown at `position_ms` (overlapping cues: all of them, in order)."""
        last = bisect.bisect_right(self._starts, position_ms)
        first = bisect.bisect_left(self._starts, position_ms - self._longest)
        shown = [c.text for c in self.cues[first:last] if c.end_ms > position_ms]
        return "\n".join(shown)
