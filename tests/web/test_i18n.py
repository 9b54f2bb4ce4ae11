"""Every sentence of the dashboard exists in Vietnamese and English."""

from __future__ import annotations

import re
from pathlib import Path

from server.web.i18n import LANGS, WORDS, Words
from server.words import en, vi

TEMPLATES = Path(__file__).resolve().parents[2] / "server" / "web" / "templates"
PY = Path(__file__).resolve().parents[2] / "server" / "web"


def test_both_languages_have_the_same_keys() -> None:
    assert set(WORDS["vi"]) == set(WORDS["en"])


def test_the_fleet_view_and_the_report_have_the_same_keys_in_both_languages() -> None:
    # a translator edits server/words/vi.py and en.py: the same tables, the same keys
    assert set(vi.FLEET) == set(en.FLEET) and len(vi.FLEET) > 20
    assert set(vi.REPORT) == set(en.REPORT) and len(vi.REPORT) > 40
    assert {n for n in dir(vi) if n.isupper()} - {"VI"} == {n for n in dir(en) if n.isupper()} - {
        "EN"
    }


def test_every_key_the_templates_and_pages_use_exists_in_both_languages() -> None:
    used: set[str] = set()
    for path in [*TEMPLATES.glob("*.html"), *PY.glob("dashboard/*.py")]:
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_.]+)["']\s*[,)]""", text))
        used |= set(re.findall(r"""PageError\(\s*\d+,\s*"([a-z0-9_.]+)\"""", text))
    assert len(used) > 60
    for lang in LANGS:
        missing = sorted(k for k in used if not Words(lang).has(k))
        assert not missing, f"{lang}: {missing}"


def test_vietnamese_is_the_default_and_numbers_use_a_decimal_comma() -> None:
    assert Words("xx").lang == "vi"
    assert Words("vi").number(12.5) == "12,5"
    assert Words("en").number(0.2) == "0.2"
    assert Words("vi")("notices.queued", n=3) == "Đã xếp hàng thông báo cho 3 kiosk."
