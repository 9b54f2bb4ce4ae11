"""The notice form in real Chromium: as the duty officer types, the "Before you
send" box says which languages are missing and what those travellers will see,
and names the characters the kiosks cannot draw; sending needs "Send anyway"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from noticekit import notice_site
from test_browser import Watched, browser, sign_in
from webkit import serve

from server.web.app import create_app

pytestmark = pytest.mark.slow
__all__ = ["browser"]  # the fixture of test_browser.py, shared


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, font_cache: Path) -> Iterator[str]:
    site = notice_site(tmp_path_factory.mktemp("notice-form"), font_cache)
    site.user("duty", "publisher")
    app = create_app(site.cfg, store=site.store)
    try:
        with serve(app) as url:
            yield url
    finally:
        site.close()


def test_the_form_warns_about_a_missing_lao_text_and_a_box(base: str, browser: Any) -> None:
    w = Watched(browser, viewport={"width": 1280, "height": 1400})
    page = w.page
    sign_in(w, base, "duty", "/notices")
    box = page.locator("#notice-check")
    page.get_by_label("Tiếng Việt").fill("Đường 9 → đi Đường 12 ⚠ Tạm dừng ① 24h — №5")
    page.get_by_label("English").fill("Route 9 → Route 12 ⚠ Closed ① 24 h")
    page.select_option("#to", "lao-bao")
    lao = box.locator('li[data-lang="lo"]')
    lao.wait_for()
    # before sending: Lao (and Thai, Chinese) travellers will read the Vietnamese text
    assert "chưa viết" in lao.inner_text() and "tiếng Lào" in lao.inner_text()
    assert "bản tiếng Việt" in lao.inner_text()
    assert "đã viết" in box.locator('li[data-lang="vi"]').inner_text()
    # one kiosk still plays a pack from before the symbol fonts: it would draw boxes
    missing = box.locator('.glyphs-missing[data-lang="vi"]')
    missing.wait_for()
    assert [g.inner_text() for g in missing.locator(".glyph").all()] == ["→", "⚠", "①"]
    assert "“->”" in missing.inner_text() and "mini v1" in missing.inner_text()
    w.shot("notice-form-check")
    page.get_by_role("button", name="Gửi thông báo").click()
    page.wait_for_load_state()
    assert "Vẫn gửi" in page.locator("#form-errors").inner_text()  # refused, named
    w.shot("notice-form-refused")
    # the Lao text written: its line says so; then sent anyway, knowingly
    page.get_by_label("ພາສາລາວ").fill("ທາງ 9 → ທາງ 12 ⚠ ປິດ ① 24 ຊມ")
    box.locator('li.written[data-lang="lo"]').wait_for()
    page.get_by_label("Vẫn gửi", exact=False).check()
    page.get_by_role("button", name="Gửi thông báo").click()
    page.wait_for_url(base + "/notices?queued=3")
    w.shot("notice-form-sent")
    w.close()
