"""The workspace in real Chromium against a real server (uvicorn), a real git store
and the real kiosk renderer (`bgk pack preview` on its own Xvfb): the issue's
scenario as far as the workspace goes today.

An editor changes two paragraphs of the Vietnamese welcome page of the sample
pack; the four other languages turn "needs update" for exactly those paragraphs;
the editor updates the English page and marks it done; the kiosk preview shows
the new English text (pixels change in the text area); a second editor on the
same page gets a conflict, not a silent overwrite; a viewer can look but not
write (403 from the API too). Screenshots go to tests/web/artifacts/workspace-*.png.
"""

from __future__ import annotations

import io
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from playwright.sync_api import expect
from test_browser import ARTIFACTS, Running, Watched, browser, sign_in
from webkit import make_site, serve

from server.web.app import create_app
from server.workspace.archive import read_folder
from server.workspace.drafts import DraftStore

pytestmark = pytest.mark.slow
__all__ = ["browser"]  # the fixture of test_browser.py, shared

REPO = Path(__file__).resolve().parents[2]
WELCOME_VI = (
    "Màn hình này cung cấp những thông tin cần thiết khi qua cửa khẩu",
    "Giờ làm việc của cửa khẩu do cơ quan chức năng quy định",
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    site = make_site(tmp_path_factory.mktemp("workspace"))
    for name, role in (("bien", "editor"), ("dich", "editor"), ("xem", "viewer")):
        site.user(name, role)
    drafts = DraftStore(site.cfg.data / "workspace")
    drafts.create("lao-bao")
    files = read_folder(REPO / "content_packs" / "lao-bao")
    drafts.save("lao-bao", files, author="import", message="Import", base=None, now=time.time(),
                replace_all=True)  # fmt: skip
    app = create_app(site.cfg, store=site.store)
    try:
        with serve(app) as url:
            yield Running(url, site)
    finally:
        site.close()


def states(page: Any, row: str) -> dict[str, str]:
    cells = page.locator(f'tr[data-page="{row}"] td.cell').all()
    return {c.get_attribute("data-lang"): c.get_attribute("data-state") for c in cells}


def wait_saved(page: Any) -> str:
    expect(page.locator("#status")).to_have_class("ok", timeout=30_000)
    base: str = page.locator("#editor").get_attribute("data-base")
    return base


def wait_preview(page: Any, version: str) -> bytes:
    """The preview image once it shows `version` (cold: builds the pack, starts Kivy)."""
    expect(page.locator("#preview")).to_have_attribute("data-version", version, timeout=240_000)
    src = page.locator("#preview").get_attribute("src")
    body: bytes = page.request.get(urljoin(page.url, src)).body()
    return body


def changed_pixels(a: bytes, b: bytes) -> tuple[int, tuple[int, int, int, int] | None]:
    from PIL import Image, ImageChops

    one, two = Image.open(io.BytesIO(a)).convert("RGB"), Image.open(io.BytesIO(b)).convert("RGB")
    assert one.size == two.size == (1920, 1080)
    diff = ImageChops.difference(one, two).convert("L").point(lambda v: 255 if v > 40 else 0)
    return diff.histogram()[255], diff.getbbox()


def test_an_editor_changes_the_source_and_a_translator_catches_up(
    server: Running, browser: Any
) -> None:
    base = server.url
    w = Watched(browser, viewport={"width": 1366, "height": 768}, locale="vi-VN")
    page = w.page
    page.set_default_timeout(30_000)
    sign_in(w, base, "bien", "/workspace/lao-bao")
    assert set(states(page, "welcome").values()) == {"source", "up-to-date"}
    w.shot("workspace-01-grid")

    # two paragraphs of the Vietnamese welcome page change
    page.goto(base + "/workspace/lao-bao/edit/welcome/vi")
    text = page.locator("#text").input_value()
    for old in WELCOME_VI:
        assert old in text
    new = text.replace(WELCOME_VI[0], "Màn hình này giới thiệu các thủ tục khi qua cửa khẩu")
    new = new.replace(WELCOME_VI[1], "Giờ mở cửa của cửa khẩu do cơ quan có thẩm quyền quy định")
    page.locator("#text").fill(new)
    wait_saved(page)
    w.shot("workspace-02-source-saved")

    # the grid: the welcome page first, its four translations need an update for 2 paragraphs
    page.goto(base + "/workspace/lao-bao")
    assert page.locator("tbody tr").first.get_attribute("data-page") == "welcome"
    assert states(page, "welcome") == {"vi": "source", "en": "needs-update", "lo": "needs-update",
                                       "th": "needs-update", "zh": "needs-update"}  # fmt: skip
    for lang in ("en", "lo", "th", "zh"):
        cell = page.locator(f'tr[data-page="welcome"] td[data-lang="{lang}"]').inner_text()
        assert "cần cập nhật" in cell and "2 đoạn đổi" in cell
    assert states(page, "customs")["en"] == "up-to-date"
    w.shot("workspace-03-grid-needs-update")

    # the English page: exactly the two changed source paragraphs are highlighted
    page.goto(base + "/workspace/lao-bao/edit/welcome/en")
    changed = page.locator(".para.changed").all_inner_texts()
    assert len(changed) == 2
    assert "giới thiệu các thủ tục" in changed[0] and "Giờ mở cửa" in changed[1]
    version = page.locator("#editor").get_attribute("data-base")
    before = wait_preview(page, version)
    en = page.locator("#text").input_value()
    en_new = en.replace(
        "This kiosk gives you practical information for your crossing",
        "THIS SCREEN EXPLAINS THE BORDER PROCEDURES",
    )
    assert en_new != en
    page.locator("#text").fill(en_new)
    saved = wait_saved(page)
    after = wait_preview(page, saved)
    n, box = changed_pixels(before, after)
    assert n > 2000 and box is not None, (n, box)
    assert box[1] < 540, box  # the first paragraphs, in the upper half of the screen
    (ARTIFACTS / "workspace-preview-before.png").write_bytes(before)
    (ARTIFACTS / "workspace-preview-after.png").write_bytes(after)
    w.shot("workspace-04-english-edited")

    page.get_by_role("button", name="Đánh dấu đã dịch xong").click()
    expect(page.locator("#cell-state")).to_have_attribute("data-state", "up-to-date")
    page.goto(base + "/workspace/lao-bao")
    assert states(page, "welcome")["en"] == "up-to-date"
    assert states(page, "welcome")["lo"] == "needs-update"
    w.shot("workspace-05-en-done")
    w.close()


def test_two_editors_on_one_page_get_a_conflict_and_a_viewer_cannot_write(
    server: Running, browser: Any
) -> None:
    base = server.url
    one = Watched(browser, viewport={"width": 1366, "height": 768}, locale="vi-VN")
    two = Watched(browser, viewport={"width": 1024, "height": 1366}, locale="vi-VN")  # a tablet
    sign_in(one, base, "bien", "/workspace/lao-bao/edit/contact/en")
    sign_in(two, base, "dich", "/workspace/lao-bao/edit/contact/en")
    text = one.page.locator("#text").input_value()
    one.page.locator("#text").fill(text + "\nOne more line from the first editor.\n")
    wait_saved(one.page)
    two.page.locator("#text").fill(text + "\nA different line from the second editor.\n")
    conflict = two.page.locator("#conflict")
    conflict.wait_for(state="visible", timeout=30_000)
    assert "first editor" in two.page.locator("#theirs").inner_text()
    assert "second editor" in two.page.locator("#mine").inner_text()
    stored = DraftStore(server.site.cfg.data / "workspace").read("lao-bao", "pages/contact/en.md")
    assert stored is not None and b"first editor" in stored and b"second editor" not in stored
    two.shot("workspace-06-conflict-tablet")
    # keeping theirs and mine: saved on top of theirs, both in the history
    two.page.get_by_role("button", name="Giữ bản của tôi").click()
    wait_saved(two.page)
    drafts = DraftStore(server.site.cfg.data / "workspace")
    assert b"second editor" in (drafts.read("lao-bao", "pages/contact/en.md") or b"")
    assert drafts.history("lao-bao")[0].message == "Keep my version after a conflict"
    one.close()
    # the refused save (409) is the conflict the test asked for
    two.problems = [p for p in two.problems if "status of 409" not in p]
    two.close()

    viewer = Watched(browser, viewport={"width": 1366, "height": 768}, locale="vi-VN")
    sign_in(viewer, base, "xem", "/workspace/lao-bao/edit/welcome/en")
    assert viewer.page.locator("#text").get_attribute("readonly") is not None
    assert viewer.page.get_by_role("button", name="Đánh dấu đã dịch xong").count() == 0
    csrf = viewer.page.locator("#editor").get_attribute("data-csrf")
    head = drafts.head("lao-bao")
    r = viewer.page.request.post(
        base + "/api/v1/workspace/lao-bao/save",
        data={"base": head, "message": "x", "files": {"pages/welcome/en.md": "# X\n"}},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status == 403 and "editor" in r.json()["error"]
    assert drafts.head("lao-bao") == head
    viewer.shot("workspace-07-viewer")
    viewer.close()


def test_the_workspace_speaks_english_when_asked(server: Running, browser: Any) -> None:
    w = Watched(browser, viewport={"width": 1366, "height": 768})
    sign_in(w, server.url, "xem", "/workspace/lao-bao")
    w.page.goto(server.url + "/workspace/lao-bao?lang=en")
    assert w.page.locator("h2").first.inner_text() in ("Pages and languages", "Pack check")
    assert re.search(r"up to date|needs update", w.page.locator("#grid").inner_text())
    w.close()
    shutil.rmtree(ARTIFACTS / "none", ignore_errors=True)


def test_pictures_upload_from_the_editor_and_hostile_ones_are_refused(
    server: Running, browser: Any
) -> None:
    from PIL import Image

    w = Watched(browser, viewport={"width": 1366, "height": 768}, locale="vi-VN")
    page = w.page
    sign_in(w, server.url, "bien", "/workspace/lao-bao/edit/practical/vi")
    drafts = DraftStore(server.site.cfg.data / "workspace")
    head = drafts.head("lao-bao")
    upload = page.locator("#upload")
    upload.set_input_files(
        {"name": "anh.jpg", "mimeType": "image/jpeg", "buffer": b"<html><script>x()</script>"}
    )
    expect(page.locator("#status")).to_have_class("bad")
    assert (  # in the reader's language (the API says upload-not-picture, kind html)
        "Tệp anh.jpg là văn bản HTML hoặc XML, không phải hình PNG hoặc JPEG. Chưa lưu gì."
        in page.locator("#status").inner_text()
    )
    assert drafts.head("lao-bao") == head
    w.shot("workspace-08-upload-refused")
    out = io.BytesIO()
    Image.new("RGB", (400, 300), (20, 120, 60)).save(out, "PNG")
    upload.set_input_files(
        {"name": "cho-bien.png", "mimeType": "image/png", "buffer": out.getvalue()}
    )
    expect(page.locator("#status")).to_have_class("ok", timeout=30_000)  # the page saved with it
    assert "![](media/cho-bien.png)" in page.locator("#text").input_value()
    assert drafts.read("lao-bao", "media/cho-bien.png") == out.getvalue()
    text = drafts.read("lao-bao", "pages/practical/vi.md") or b""
    assert b"![](media/cho-bien.png)" in text
    w.problems = [p for p in w.problems if "status of 400" not in p]  # the refusal asked for
    w.close()


def test_lint_findings_and_preview_failures_read_in_vietnamese_or_english(
    server: Running, browser: Any
) -> None:
    w = Watched(browser, viewport={"width": 1366, "height": 768}, locale="vi-VN")
    page = w.page
    path = "/workspace/lao-bao/edit/contact/vi"
    sign_in(w, server.url, "bien", path)
    text = page.locator("#text")
    good = text.input_value()
    text.fill("# Liên hệ\n\nChữ **đậm chưa đóng\n")
    wait_saved(page)
    lint = page.locator("#lint li")
    expect(lint.first).to_have_text("Dòng 3: Chữ đậm '**' chưa được đóng.", timeout=30_000)
    assert lint.first.get_attribute("data-rule") == "markup"
    expect(page.locator("#preview-status")).to_contain_text(
        "Không vẽ được trang: gói còn lỗi; sửa các lỗi được chỉ ra.", timeout=240_000
    )
    assert "pages/contact/vi.md:3: Chữ đậm '**' chưa được đóng." in page.locator(
        "#preview-status").inner_text()  # fmt: skip
    w.shot("workspace-09-lint-vi")
    page.goto(server.url + path + "?lang=en")
    expect(page.locator("#lint li").first).to_have_text(
        "Line 3: Bold '**' is not closed.", timeout=30_000
    )
    expect(page.locator("#preview-status")).to_contain_text(
        "The page cannot be drawn: the pack has errors; fix what is shown.", timeout=240_000
    )
    w.shot("workspace-10-lint-en")
    page.locator("#text").fill(good)  # put the page back for whoever comes next
    wait_saved(page)
    expect(page.locator("#lint li")).to_have_count(0, timeout=30_000)
    w.problems = [p for p in w.problems if "status of 422" not in p]  # the failed previews
    w.close()
