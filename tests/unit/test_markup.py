"""The page text format of content_packs/README.md, parsed strictly."""

from __future__ import annotations

import pytest

from server.packs.findings import Findings
from server.packs.markup import (
    HeadingNode,
    ImageNode,
    ListNode,
    ParagraphNode,
    Span,
    parse_page,
)


def parse(text: str, join: str = " ") -> tuple[object, Findings]:
    findings = Findings()
    return parse_page(text, "pages/x/en.md", findings, join=join), findings


def test_every_construct_of_the_subset() -> None:
    page, findings = parse(
        "# Welcome\n"
        "\n"
        "## Before you cross\n"
        "First line of a paragraph\n"
        "continues here with **bold words** and a [link to customs](page:customs).\n"
        "\n"
        "- one\n"
        "- **two**\n"
        "\n"
        "1. first\n"
        "2. second\n"
        "\n"
        "![The gate on Road 9](media/gate.png)\n"
        "\n"
        "A literal \\*star\\* and \\[brackets\\].\n"
    )
    assert not findings.items, findings.items
    assert page.title == (Span("Welcome"),)  # type: ignore[attr-defined]
    blocks = page.blocks  # type: ignore[attr-defined]
    assert blocks[0] == HeadingNode(2, (Span("Before you cross"),), 3)
    assert blocks[1] == ParagraphNode(
        (
            Span("First line of a paragraph continues here with "),
            Span("bold words", bold=True),
            Span(" and a "),
            Span("link to customs", link="customs"),
            Span("."),
        ),
        4,
    )
    assert blocks[2] == ListNode(False, ((Span("one"),), (Span("two", bold=True),)), 7)
    assert blocks[3] == ListNode(True, ((Span("first"),), (Span("second"),)), 10)
    assert blocks[4] == ImageNode("media/gate.png", (Span("The gate on Road 9"),), 13)
    assert blocks[5] == ParagraphNode((Span("A literal *star* and [brackets]."),), 15)
    assert page.links == [("customs", 5)]  # type: ignore[attr-defined]
    assert page.images == [("media/gate.png", 13)]  # type: ignore[attr-defined]


def test_chinese_paragraph_lines_join_without_space() -> None:
    page, findings = parse("# 欢迎\n\n欢迎来到\n老保口岸。\n", join="")
    assert not findings.items
    assert page.blocks[0].spans == (Span("欢迎来到老保口岸。"),)  # type: ignore[attr-defined]


def test_bold_link_keeps_both() -> None:
    page, findings = parse("# T\n\n**See [help](page:help) now**\n")
    assert not findings.items
    assert page.blocks[0].spans == (  # type: ignore[attr-defined]
        Span("See ", bold=True),
        Span("help", bold=True, link="help"),
        Span(" now", bold=True),
    )


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("Title without hash\n", 1, "first line must be the title"),
        ("# T\n\n# Second title\n", 3, "only the first line"),
        ("# T\n\n#### deep\n", 3, "down to '### '"),
        ("# T\n\nsome **bold\n", 3, "not closed"),
        ("# T\n\n*italic*\n", 3, "italics"),
        ("# T\n\nsee [site](https://example.org)\n", 3, "web addresses go as plain text"),
        ("# T\n\nsee [oops\n", 3, "without a matching"),
        ("# T\n\n<b>html</b>\n", 3, "not supported"),
        ("# T\n\ntext <b>html</b>\n", 3, "HTML is not allowed"),
        ("# T\n\n| a | b |\n", 3, "tables"),
        ("# T\n\n* star item\n", 3, "start with '- '"),
        ("# T\n\ntext ![inline](media/x.png)\n", 3, "own"),
        ("# T\n\n![broken](media/x.png\n", 3, "picture is written"),
        ("# T\n\n`code`\n", 3, "code"),
    ],
)
def test_anything_outside_the_subset_is_reported_with_its_line(
    text: str, line: int, words: str
) -> None:
    _, findings = parse(text)
    assert findings.errors, "expected an error"
    assert any(f.line == line and words in f.message for f in findings.errors), findings.errors


def test_findings_point_at_the_line_inside_a_paragraph() -> None:
    _, findings = parse("# T\n\nfirst line\nsecond *line\nthird [x](http://a)\n")
    assert {(f.line, f.message.split()[0]) for f in findings.errors} == {(4, "single"), (5, "link")}


def test_nested_links_are_refused() -> None:
    _, findings = parse("# T\n\n[outer [inner](page:b)](page:a)\n")
    assert any("cannot contain another link" in f.message for f in findings.errors)
