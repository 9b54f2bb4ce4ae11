"""Line layout, run-time text tokens and session records: pure code, no window."""

from __future__ import annotations

import pytest

from kiosk.protocol.pack import Token
from kiosk.ui.layout import break_lines, clusters
from kiosk.ui.plaintext import text_tokens
from kiosk.ui.session import History, SessionTracker


def width_of(text: str, script: str, bold: bool) -> float:
    """A fake font: 10 px a character, bold 12."""
    return len(text) * (12 if bold else 10)


def tok(
    t: str, s: str = "Latn", j: bool = False, b: bool = False, link: str | None = None
) -> Token:
    return Token(t=t, s=s, j=j, b=b, l=link)


def test_lines_break_only_before_tokens_that_are_not_joined() -> None:
    tokens = [tok("aaaa "), tok("bbb", j=True), tok("ccc "), tok("dd")]
    lines = break_lines(tokens, 90, width_of)
    # "aaaa bbb" (80) fits; "ccc" would make it 110: new line
    assert [line.text for line in lines] == ["aaaa bbb", "ccc dd"]
    assert [(line.start, line.end) for line in lines] == [(0, 2), (2, 4)]
    assert not any(line.split for line in lines)


def test_joined_tokens_move_to_the_next_line_together() -> None:
    tokens = [tok("ໂທ ", "Laoo"), tok("113", "Latn"), tok(".", "Latn", j=True)]
    lines = break_lines(tokens, 60, width_of)
    assert [line.text for line in lines] == ["ໂທ", "113."]


def test_trailing_space_hangs_and_leading_space_is_dropped() -> None:
    tokens = [tok("abcde "), tok(" ", "Latn"), tok("fghij")]
    lines = break_lines(tokens, 50, width_of)
    assert [line.text for line in lines] == ["abcde", "fghij"]
    assert lines[0].width == 50  # the space after "abcde" does not count


def test_runs_merge_by_script_weight_and_link() -> None:
    tokens = [
        tok("ຍິນດີ", "Laoo"),
        tok("ຕ້ອນຮັບ ", "Laoo"),
        tok("113 ", "Latn"),
        tok("ດ່ານ", "Laoo", b=True),
        tok("ລາວ", "Laoo", link="help"),
    ]
    (line,) = break_lines(tokens, 1000, width_of)
    assert [(r.text, r.script, r.bold, r.link) for r in line.runs] == [
        ("ຍິນດີຕ້ອນຮັບ ", "Laoo", False, None),
        ("113 ", "Latn", False, None),
        ("ດ່ານ", "Laoo", True, None),
        ("ລາວ", "Laoo", False, "help"),
    ]
    xs = [r.x for r in line.runs]
    assert xs == sorted(xs) and xs[0] == 0


def test_a_word_wider_than_the_line_is_cut_between_clusters_as_a_last_resort() -> None:
    word = "เจ้าหน้าที่ตำรวจ"
    lines = break_lines([tok(word, "Thai")], 40, width_of)
    assert "".join(line.text for line in lines) == word
    assert any(line.split for line in lines)
    for line in lines:
        assert (
            line.text[0]
            not in "\u0e31\u0e34\u0e35\u0e36\u0e37\u0e38\u0e39\u0e47\u0e48\u0e49\u0e4a\u0e4b\u0e33"
        )
        assert line.text[-1] not in "เแโใไ"


def test_clusters_keep_marks_and_sara_am_with_their_base() -> None:
    assert clusters("น้ำ") == ["น้ำ"]
    assert clusters("ນ້ຳໃຈ") == ["ນ້ຳ", "ໃ", "ຈ"]
    assert clusters("Việt") == ["V", "i", "ệ", "t"]
    assert clusters("Vie\u0323\u0302t") == ["V", "i", "e\u0323\u0302", "t"]


def test_the_layout_of_an_empty_text_is_no_lines() -> None:
    assert break_lines([], 100, width_of) == []
    assert break_lines([tok("   ")], 100, width_of) == []


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("Gate closes 17:00", "en", [("Gate ", "Latn"), ("closes ", "Latn"), ("17:00", "Latn")]),
        (
            "ด่านปิด 17:00 น.",
            "th",
            [("ด่านปิด ", "Thai"), ("17:00", "Latn"), (" ", "Thai"), ("น", "Thai"), (".", "Latn")],
        ),
        (
            "请于17:00前离开。",
            "zh",
            [
                ("请", "Hans"),
                ("于", "Hans"),
                ("17:00", "Hans"),
                ("前", "Hans"),
                ("离", "Hans"),
                ("开。", "Hans"),
            ],
        ),
    ],
)
def test_notice_text_becomes_tokens_by_script(
    text: str, lang: str, expected: list[tuple[str, str]]
) -> None:
    tokens = text_tokens(text, lang)
    assert [(t.t, t.s) for t in tokens] == expected
    assert "".join(t.t for t in tokens) == text


def test_notice_tokens_break_only_where_the_script_allows() -> None:
    thai = text_tokens("ด่านปิด 17:00 น.", "th")
    # the Thai font has no full stop: it is a Latin token, joined to the word before
    assert [t.j for t in thai] == [False, False, True, False, True]
    chinese = text_tokens("请于17:00前离开。", "zh")
    assert chinese[-1].t == "开。"  # a full stop never starts a line


def test_a_session_records_languages_pages_and_duration_only() -> None:
    s = SessionTracker()
    assert s.finish() is None
    s.touch(wall=1000.0, mono=50.0)
    s.language("lo")
    s.language("lo")
    s.page("welcome")
    s.language("en")
    s.touch(wall=1030.0, mono=80.0)
    record = s.finish()
    assert record is not None
    assert (record.started, record.seconds, record.languages, record.pages) == (
        1000.0,
        30.0,
        ["lo", "en"],
        ["welcome"],
    )
    assert not s.active and s.finish() is None


def test_history_forgets_pages_a_new_pack_no_longer_has() -> None:
    h = History()
    for page in ("a", "b", "a", "c"):
        h.open(page)
    h.keep({"a", "c"})
    assert h.stack == ["a", "c"]
    assert h.back() == "a" and h.back() is None
