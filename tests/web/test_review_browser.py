"""The review in real Chromium at 1366×768 against a real server (uvicorn), a real git
store, real builds and the real kiosk renderer (before/after pictures of the changed page).

Version 1 of the fixture pack went out through a review; the editor changes the
Vietnamese welcome page, requests publication from the page grid (the page shows
"building", then the review); the publisher sees the text diff, the kiosk's drawing
of the page before and after, the checks, comments and approves, and the page prints
the publish command; a viewer sees no decision buttons and the API refuses them (403).
Screenshots: test-artifacts/review/*.png.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from test_browser import Running, Watched, browser, sign_in
from webkit import make_site, serve

from server.packs import reviews
from server.packs.review_publish import publish_review
from server.packs.signing import open_repository, utcnow
from server.web.app import create_app
from server.workspace.archive import read_folder
from server.workspace.drafts import DraftStore
from server.workspace.review_build import build_review, request
from server.workspace.review_decide import approve

pytestmark = pytest.mark.slow
__all__ = ["browser"]  # the fixture of test_browser.py, shared

REPO = Path(__file__).resolve().parents[2]
TRACKED = REPO / "tests" / "fixtures" / "packs" / "tracked"
SHOTS = REPO / "test-artifacts" / "review"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, font_cache: Path) -> Iterator[Running]:
    site = make_site(tmp_path_factory.mktemp("review"))
    for name, role in (("bien", "editor"), ("phat", "publisher"), ("xem", "viewer")):
        site.user(name, role)
    drafts = DraftStore(site.cfg.data / "workspace")
    drafts.create("tracked")
    drafts.save("tracked", read_folder(TRACKED), author="import", message="Import", base=None,
                now=time.time(), replace_all=True)  # fmt: skip
    # version 1 went out through a review (so its sources are known: "before" pictures)
    first = request(
        site.store, drafts, "tracked", None, ["all"], by="bien", note="", now=time.time()
    )
    assert build_review(site.cfg, site.store, drafts, first, time.time,
                        font_cache=font_cache).state == "requested"  # fmt: skip
    approve(site.cfg, site.store, first, "phat", "", now=time.time(), clock=utcnow)
    repo = open_repository(site.cfg, ("targets",), keys=site.keys)
    publish_review(site.cfg, site.store, repo, first, utcnow, by="phat")
    app = create_app(site.cfg, store=site.store)
    app.state.font_cache = font_cache
    try:
        with serve(app) as url:
            yield Running(url, site)
    finally:
        site.close()


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def fits(page: Any) -> None:
    """Usable at 1366×768: nothing wider than the window."""
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366


def test_an_editor_requests_and_a_publisher_reviews_and_approves(
    server: Running, browser: Any
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    base, store = server.url, server.site.store
    drafts = DraftStore(server.site.cfg.data / "workspace")
    head = drafts.head("tracked")
    vi = (drafts.read("tracked", "pages/welcome/vi.md", head) or b"").decode()
    new = vi.replace("Chào mừng quý khách", "Xin kính chào quý khách")
    drafts.save("tracked", {"pages/welcome/vi.md": new.encode()}, author="bien",
                message="Lời chào mới", base=head, now=time.time())  # fmt: skip

    ed = Watched(browser, viewport={"width": 1366, "height": 768}, locale="vi-VN")
    page = ed.page
    sign_in(ed, base, "bien", "/workspace/tracked")
    form = page.locator("#request-review")
    form.locator("input[name=to]").fill("lao-bao, quang-tri")
    form.locator("input[name=note]").fill("Lời chào mới ở trang đầu")
    form.get_by_role("button", name="Yêu cầu xuất bản").click()
    page.wait_for_url(f"{base}/workspace/tracked/reviews/2")
    state = page.locator("#rv-state")
    if state.get_attribute("data-state") == "building":
        expect(page.locator(".flash")).to_contain_text("đang được kiểm tra")
        shot(page, "review-01-building")
    expect(state).to_have_attribute("data-state", "requested", timeout=600_000)
    expect(page.locator("#rv-audience")).to_have_text("lao-bao, quang-tri")
    assert page.locator("[data-act=approve]").count() == 0  # an editor does not decide
    ed.close()

    pub = Watched(browser, viewport={"width": 1366, "height": 768}, locale="vi-VN")
    page = pub.page
    sign_in(pub, base, "phat", "/workspace/tracked/reviews/2")
    changed = page.locator('article.rv-page[data-page="welcome"][data-lang="vi"]')
    expect(changed.locator("tr.rv-del")).to_contain_text("Chào mừng quý khách")
    expect(changed.locator("tr.rv-add")).to_contain_text("Xin kính chào quý khách")
    assert page.locator("article.rv-page").count() == 1  # only that page and language
    expect(page.locator("#rv-translations")).to_contain_text("cần cập nhật")  # 4 fall behind
    for side in ("Trước", "Sau"):  # the kiosk's drawing before and after (cold: seconds)
        img = changed.locator(f'img[alt^="{side}"]')
        page.wait_for_function("img => img.complete && img.naturalWidth === 1920",
                               arg=img.element_handle(), timeout=480_000)  # fmt: skip
    fits(page)
    shot(page, "review-02-publisher")
    page.locator("#rv-comment").fill("Nội dung đúng, phê duyệt.")
    page.get_by_role("button", name="Phê duyệt").click()
    expect(page.locator("#rv-state")).to_have_attribute("data-state", "approved", timeout=60_000)
    expect(page.locator(".rv-cmd")).to_contain_text("bgk server publish --review 2")
    expect(page.locator("#rv-comments")).to_contain_text("Nội dung đúng, phê duyệt.")
    fits(page)
    shot(page, "review-03-approved")
    page.get_by_role("link", name="Duyệt xuất bản").click()
    expect(page.locator('tr[data-review="2"]')).to_contain_text("đã phê duyệt")
    expect(page.locator('tr[data-review="1"]')).to_contain_text("đã xuất bản")
    shot(page, "review-04-list")
    pub.close()
    assert reviews.get(store, 2).decided_by == "phat"

    viewer = Watched(browser, viewport={"width": 1366, "height": 768}, locale="en-GB")
    page = viewer.page
    sign_in(viewer, base, "xem", "/workspace/tracked/reviews/2")
    assert page.locator("[data-act]").count() == 0
    csrf = page.locator("#review").get_attribute("data-csrf")
    refused = page.request.post(f"{base}/api/v1/reviews/2/reject", data={"comment": "no"},
                                headers={"X-CSRF-Token": csrf or ""})  # fmt: skip
    assert refused.status == 403
    viewer.close()
