"""The Markdown subset of page sources (content_packs/README.md), parsed strictly.

Pure: text in, blocks and findings out. Anything outside the subset is a
finding with its line, never silently shown as odd text on a kiosk.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from server.packs.findings import Findings

LINK_TARGET = re.compile(r"^page:([a-z0-9][a-z0-9-]{0,62})$")
HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
ORDERED = re.compile(r"^(\d{1,3})\.\s+(.*)$")
IMAGE = re.compile(r"^!\[(.*)\]\(([^()\s]*)\)$")
HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*[^>]*>")
ESCAPABLE = set("*[]!\\()#-_`{}")


@dataclass(frozen=True)
class Span:
    """A run of inline text with one style."""

    text: str
    bold: bool = False
    link: str | None = None


@dataclass(frozen=True)
class HeadingNode:
    level: int
    spans: tuple[Span, ...]
    line: int


@dataclass(frozen=True)
class ParagraphNode:
    spans: tuple[Span, ...]
    line: int


@dataclass(frozen=True)
class ListNode:
    ordered: bool
    items: tuple[tuple[Span, ...], ...]
    line: int


@dataclass(frozen=True)
class ImageNode:
    src: str
    caption: tuple[Span, ...]
    line: int


Node = HeadingNode | ParagraphNode | ListNode | ImageNode


@dataclass
class ParsedPage:
    title: tuple[Span, ...] = ()
    blocks: list[Node] = field(default_factory=list)
    #: (page id, line) of every link, for the broken-link check
    links: list[tuple[str, int]] = field(default_factory=list)
    #: (path, line) of every image
    images: list[tuple[str, int]] = field(default_factory=list)


def parse_page(
    text: str, file: str, findings: Findings, *, join: str = " ", skip: frozenset[int] = frozenset()
) -> ParsedPage:
    """Parse one page file. `join` glues the lines of a paragraph (Chinese: "");
    lines numbered in `skip` are left out (placeholders without a value)."""
    page = ParsedPage()
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    para: list[tuple[str, int]] = []
    items: list[tuple[str, int]] = []
    ordered = False

    def flush() -> None:
        nonlocal para, items
        if para:
            joined, line_at = _join_lines(para, join)
            spans = _inline(joined, file, line_at, findings, page)
            page.blocks.append(ParagraphNode(spans, para[0][1]))
            para = []
        if items:
            parsed = tuple(_inline(t, file, _at(n), findings, page) for t, n in items)
            page.blocks.append(ListNode(ordered, parsed, items[0][1]))
            items = []

    for number, raw in enumerate(lines, start=1):
        if number in skip:
            continue
        line = raw.rstrip()
        if "\t" in line:
            findings.warning(file, number, "markup", "tab character: use spaces", "tab")
            line = line.replace("\t", " ")
        stripped = line.strip()
        if number == 1:
            match = HEADING.match(stripped)
            if not match or len(match.group(1)) != 1 or not match.group(2).strip():
                findings.error(
                    file, 1, "markup", "the first line must be the title: '# Title'", "title"
                )
            else:
                page.title = _inline(match.group(2).strip(), file, _at(1), findings, page)
                continue
        if not stripped:
            flush()
            continue
        heading = HEADING.match(stripped)
        if heading:
            flush()
            level = len(heading.group(1))
            if level == 1:
                findings.error(
                    file,
                    number,
                    "markup",
                    "only the first line is a '# ' title; use '## '",
                    "one-title",
                )
                level = 2
            elif level > 3:
                findings.error(
                    file, number, "markup", "headings go down to '### ' only", "deep-heading"
                )
                level = 3
            spans = _inline(heading.group(2).strip(), file, _at(number), findings, page)
            page.blocks.append(HeadingNode(level, spans, number))
            continue
        image = IMAGE.match(stripped)
        if stripped.startswith("!["):
            flush()
            if not image:
                findings.error(
                    file,
                    number,
                    "markup",
                    "a picture is written ![caption](media/file.png)",
                    "picture-form",
                )
                continue
            caption = _inline(image.group(1).strip(), file, _at(number), findings, page)
            page.blocks.append(ImageNode(image.group(2), caption, number))
            page.images.append((image.group(2), number))
            continue
        if stripped.startswith(("- ", "* ", "+ ")) or ORDERED.match(stripped):
            is_ordered = ORDERED.match(stripped) is not None
            if stripped.startswith(("* ", "+ ")):
                findings.error(file, number, "markup", "list items start with '- '", "list-item")
            if para:
                flush()
            if items and is_ordered != ordered:
                flush()
            ordered = is_ordered
            body = ORDERED.match(stripped).group(2) if is_ordered else stripped[2:]  # type: ignore[union-attr]
            items.append((body.strip(), number))
            continue
        if stripped.startswith(("|", "```", ">", "<")) or line.startswith("    "):
            findings.error(
                file,
                number,
                "markup",
                "tables, code, quotes, HTML and indented blocks are not supported",
                "block-kind",
            )
            continue
        if items:
            flush()
        para.append((stripped, number))
    flush()
    return page


LineAt = Callable[[int], int]


def _at(line: int) -> LineAt:
    return lambda _offset: line


def _shifted(line_at: LineAt, start: int) -> LineAt:
    return lambda pos: line_at(start + pos)


def _join_lines(lines: list[tuple[str, int]], join: str) -> tuple[str, LineAt]:
    """Join a paragraph's lines; the function maps an offset back to its line."""
    starts: list[int] = []
    parts: list[str] = []
    offset = 0
    for text, _ in lines:
        starts.append(offset)
        parts.append(text.strip())
        offset += len(parts[-1]) + len(join)
    numbers = [n for _, n in lines]

    def line_at(pos: int) -> int:
        return numbers[bisect.bisect_right(starts, pos) - 1]

    return join.join(parts), line_at


def _inline(
    text: str,
    file: str,
    line_at: LineAt,
    findings: Findings,
    page: ParsedPage,
    *,
    in_link: bool = False,
) -> tuple[Span, ...]:
    """Parse **bold**, [text](page:id) and backslash escapes into spans."""
    match = HTML_TAG.search(text)
    if match:
        findings.error(
            file, line_at(match.start()), "markup", "HTML is not allowed in page text", "html"
        )
    spans: list[Span] = []
    buf: list[str] = []
    bold_from: int | None = None  # where the open '**' is, when bold
    i = 0
    pairs = _bracket_pairs(text)

    def emit() -> None:
        if buf:
            spans.append(Span("".join(buf), bold_from is not None, None))
            buf.clear()

    def error(message: str, key: str = "", **args: object) -> None:
        findings.error(file, line_at(i), "markup", message, key, **args)

    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in ESCAPABLE:
            buf.append(text[i + 1])
            i += 2
        elif text.startswith("**", i):
            emit()
            bold_from = i if bold_from is None else None
            i += 2
        elif ch == "*":
            error("single '*' (italics) is not supported; write \\* for a star", "italics")
            i += 1
        elif ch == "`":
            error("code (`) is not supported", "code")
            i += 1
        elif text.startswith("![", i):
            error("pictures go on a line of their own", "picture-inline")
            i += 1
        elif ch == "[" and in_link:
            error("a link cannot contain another link", "nested-link")
            i += 1
        elif ch == "[":
            close = _find_link_end(text, i, pairs)
            if close is None:
                error(
                    "'[' without a matching '](page:id)': write \\[ for a bracket", "open-bracket"
                )
                i += 1
                continue
            label_end, target, after = close
            target_match = LINK_TARGET.match(target)
            target_id = target_match.group(1) if target_match else None
            if target_id is None:
                error(
                    f"link target {target!r} is not a page of the pack: write (page:<id>); "
                    "web addresses go as plain text",
                    "link-target",
                    target=target,
                )
            else:
                page.links.append((target_id, line_at(i)))
            emit()
            start = i + 1
            label = _inline(
                text[start:label_end],
                file,
                _shifted(line_at, start),
                findings,
                page,
                in_link=True,
            )
            bold = bold_from is not None
            spans.extend(Span(span.text, span.bold or bold, target_id) for span in label)
            i = after
        elif ch == "]":
            error("']' without '[': write \\] for a bracket", "close-bracket")
            i += 1
        else:
            buf.append(ch)
            i += 1
    emit()
    if bold_from is not None:
        findings.error(file, line_at(bold_from), "markup", "'**' is not closed", "bold-open")
    return tuple(_merge(spans))


def _bracket_pairs(text: str) -> dict[int, int]:
    """Index of the ']' matching each '[' (escapes skipped), in one pass: looking for
    it from every '[' anew took quadratic time (20,000 '[' took half a minute)."""
    pairs: dict[int, int] = {}
    opened: list[int] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":
            opened.append(i)
        elif ch == "]" and opened:
            pairs[opened.pop()] = i
        i += 1
    return pairs


def _find_link_end(text: str, start: int, pairs: dict[int, int]) -> tuple[int, str, int] | None:
    """For '[label](target)' at `start`: (index of ']', target, index after ')')."""
    i = pairs.get(start)
    if i is None or not text.startswith("(", i + 1):
        return None
    end = text.find(")", i + 2)
    if end < 0:
        return None
    return i, text[i + 2 : end], end + 1


def _merge(spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    for span in spans:
        if not span.text:
            continue
        if out and out[-1].bold == span.bold and out[-1].link == span.link:
            out[-1] = Span(out[-1].text + span.text, span.bold, span.link)
        else:
            out.append(span)
    return out
