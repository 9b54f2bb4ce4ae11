"""Thai/Lao word segmentation and script runs: the tokens the kiosk wraps lines with."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from kiosk.protocol.pack import Token
from server.packs.fonts import coverage
from server.packs.markup import Span
from server.packs.segment import Segmenter, lao_splitter, thai_splitter

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "segmentation"


def glossary(lang: str) -> list[str]:
    return (FIXTURES / f"glossary-{lang}.txt").read_text(encoding="utf-8").split()


@cache
def segmenter() -> Segmenter:
    return Segmenter(
        {s: coverage(s) for s in ("Latn", "Laoo", "Thai", "Hans")},
        {"Thai": thai_splitter(glossary("th")), "Laoo": lao_splitter(glossary("lo"))},
    )


def render(tokens: tuple[Token, ...]) -> str:
    out = ""
    for tok in tokens:
        out += ("" if not out else "+" if tok.j else "|") + tok.t
    return out


def golden() -> list[tuple[str, str]]:
    rows = []
    for line in (FIXTURES / "golden.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            lang, expected = line.split("\t")
            rows.append((lang, expected))
    return rows


@pytest.mark.parametrize(("lang", "expected"), golden())
def test_golden_sentences(lang: str, expected: str) -> None:
    text = expected.replace("|", "").replace("+", "")
    assert render(segmenter().tokens([Span(text)], lang)) == expected


@pytest.mark.parametrize("lang", ["th", "lo"])
def test_glossary_names_are_never_split(lang: str) -> None:
    for name in glossary(lang):
        sentence = f"{name}{name} {name}"
        tokens = segmenter().tokens([Span(sentence)], lang)
        assert [t.t.strip() for t in tokens] == [name, name, name]


def test_without_glossary_the_dictionary_splits_place_names() -> None:
    # Why the glossary exists: the plain dictionary breaks "Lao Bảo" inside the name.
    plain = Segmenter({"Thai": coverage("Thai")}, {"Thai": thai_splitter([])})
    assert [t.t for t in plain.tokens([Span("ลาวบาว")], "th")] != ["ลาวบาว"]


def test_mixed_script_line_draws_each_run_with_its_script() -> None:
    tokens = segmenter().tokens([Span("ໂທ 113 ຫຼື (+856) 41")], "lo")
    assert [(t.t, t.s) for t in tokens] == [
        ("ໂທ ", "Laoo"),
        ("113 ", "Latn"),
        ("ຫຼື ", "Laoo"),
        ("(+856) ", "Latn"),
        ("41", "Latn"),
    ]


def test_styles_and_links_carry_into_tokens() -> None:
    tokens = segmenter().tokens(
        [Span("Xem "), Span("thủ tục", bold=True, link="procedures"), Span(".")], "vi"
    )
    assert [(t.t, t.b, t.l, t.j) for t in tokens] == [
        ("Xem ", False, None, False),
        ("thủ ", True, "procedures", False),
        ("tục", True, "procedures", False),
        (".", False, None, True),
    ]


def test_every_token_is_one_script_and_text_is_kept_exactly() -> None:
    text = "ยินดีต้อนรับ Welcome ຍິນດີ 欢迎 Chào mừng 2026!"
    for lang in ("th", "lo", "zh", "vi", "en"):
        tokens = segmenter().tokens([Span(text)], lang)
        assert "".join(t.t for t in tokens) == text
        assert all(
            len({segmenter().script_for(c, t.s) for c in t.t if not c.isspace()}) <= 1
            for t in tokens
        )
