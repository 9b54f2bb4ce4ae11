"""The dashboard in real Chromium (Playwright, Debian's /usr/bin/chromium) against
a real uvicorn server on a free port, on a fleet seeded through the real ingest.

Each page is saved as a PNG under tests/web/artifacts/ (gitignored) for a person
to look at; the assertions check what a border guard relies on.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from webkit import PASSWORD, Site, make_site, seed_fleet, serve

from server.web.app import create_app

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@dataclass
class Running:
    url: str
    site: Site


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """The app under uvicorn in a thread (webkit.serve)."""
    site = make_site(tmp_path_factory.mktemp("dashboard"))
    seed_fleet(site, time.time(), period=600)  # states hold for the whole run
    site.user("admin", "admin")
    site.user("viewer", "viewer")
    app = create_app(site.cfg, store=site.store)
    app.state.dashboard_refresh_s = 1.0
    try:
        with serve(app) as url:
            yield Running(url, site)
    finally:
        site.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


class Watched:
    """A page whose script errors and refused requests fail the test."""

    def __init__(self, browser: Any, **context: Any) -> None:
        self.context = browser.new_context(**context)
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.problems: list[str] = []
        self.page.on("pageerror", lambda exc: self.problems.append(f"script: {exc}"))
        self.page.on("console", self._console)

    def _console(self, msg: Any) -> None:
        # refusals the test asks for (wrong password 401, refused form 400) are fine;
        # anything else (a missing file, a CSP violation, a script error) is not
        expected = re.match(r"Failed to load resource: .* status of (400|401)\b", msg.text)
        if msg.type == "error" and not expected:
            self.problems.append(f"console: {msg.text}")

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()
        assert not self.problems, self.problems


def sign_in(w: Watched, base: str, name: str, path: str = "/") -> None:
    w.page.goto(base + path)
    assert "/login?next=" in w.page.url
    w.page.get_by_label("Tên đăng nhập").fill(name)
    w.page.get_by_label("Mật khẩu").fill(PASSWORD)
    w.page.get_by_role("button", name="Đăng nhập").click()
    w.page.wait_for_url(base + path)


def kiosk_rows(page: Any) -> list[str]:
    return [row.get_attribute("data-kiosk") for row in page.locator("tr.kiosk-row").all()]


def test_a_guard_signs_in_checks_the_fleet_and_acts(server: Running, browser: Any) -> None:
    base = server.url
    w = Watched(browser, viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = w.page

    page.goto(base + "/")
    page.wait_for_url(re.compile(r"/login\?next=/$"))
    page.get_by_label("Tên đăng nhập").fill("admin")
    page.get_by_label("Mật khẩu").fill("not-the-password")
    page.get_by_role("button", name="Đăng nhập").click()
    assert "Sai tên đăng nhập hoặc mật khẩu" in page.get_by_role("alert").inner_text()
    w.shot("01-login-wrong")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(base + "/")

    # the overview: counts, header, table with problems first
    assert page.locator(".count-online .n").inner_text() == "2"
    assert page.locator(".count-stale .n").inner_text() == "1"
    assert page.locator(".count-offline .n").inner_text() == "2"
    assert page.locator(".count-alerts .n").inner_text() == "3"
    assert "Đăng nhập: admin (quản trị viên)" in page.locator("header").inner_text()
    assert kiosk_rows(page) == ["lt-01", "lt-02", "lb-02", "cl-01", "lb-01"]
    assert "chưa phải bản mới nhất (v4)" in page.locator('tr[data-kiosk="lb-02"]').inner_text()
    w.shot("02-overview")

    # filter; the page refreshes itself (every second here) and keeps the filter
    page.get_by_label("Cửa khẩu").select_option("lao-bao")
    page.get_by_role("button", name="Lọc").click()
    page.wait_for_url(re.compile(r"gate=lao-bao"))
    assert kiosk_rows(page) == ["lb-02", "lb-01"]
    stamp = page.locator("#fleet .updated").inner_text()
    page.wait_for_function(
        "s => document.querySelector('#fleet .updated').innerText !== s", arg=stamp
    )
    assert kiosk_rows(page) == ["lb-02", "lb-01"]
    assert page.get_by_label("Cửa khẩu").input_value() == "lao-bao"
    w.shot("03-overview-filtered")

    # a kiosk: facts and its screenshot
    page.get_by_role("link", name="lb-01").click()
    page.wait_for_url(base + "/kiosks/lb-01")
    image = page.get_by_role("img", name=re.compile("Ảnh màn hình kiosk lb-01"))
    image.wait_for()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth === 480", arg=image.element_handle()
    )
    assert re.search(r"Chụp lúc \d\d/\d\d/\d{4} \d\d:\d\d", page.locator("figcaption").inner_text())
    assert "20,0 GB" in page.locator("#facts").inner_text()
    w.shot("04-kiosk")

    # Screenshot: queued, and listed
    page.get_by_role("button", name="Chụp màn hình").click()
    page.wait_for_url(base + "/kiosks/lb-01?sent=screenshot")
    assert "Đã xếp hàng lệnh “chụp màn hình”" in page.get_by_role("status").inner_text()
    first = page.locator("tr.command").first
    assert first.get_attribute("data-op") == "screenshot"
    assert "đang chờ gửi" in first.inner_text()
    w.shot("05-kiosk-screenshot-queued")

    # Reboot asks first; Cancel queues nothing
    page.get_by_role("button", name="Khởi động lại…").click()
    assert page.get_by_role("heading", name="Khởi động lại kiosk lb-01?").is_visible()
    w.shot("06-reboot-confirm")
    page.get_by_role("link", name="Huỷ").click()
    page.wait_for_url(base + "/kiosks/lb-01")
    assert page.locator('tr.command[data-op="reboot"]').count() == 0

    # a notice: refused empty (nothing typed is lost), then sent to a gate
    page.get_by_role("link", name="Thông báo khẩn").click()
    page.get_by_label("Thời gian hiển thị (phút)").fill("0")
    page.get_by_role("button", name="Gửi thông báo").click()
    errors = page.get_by_role("alert").inner_text()
    assert "ít nhất một ngôn ngữ" in errors and "từ 1 đến 10080" in errors
    assert page.get_by_label("Thời gian hiển thị (phút)").input_value() == "0"
    w.shot("07-notice-refused")
    page.get_by_label("Tiếng Việt").fill(
        "Cửa khẩu Lao Bảo tạm dừng làm thủ tục từ 11:30 đến 13:00."
    )
    page.get_by_label("English").fill("Lao Bao gate pauses clearance from 11:30 to 13:00.")
    page.get_by_label("Gửi đến").select_option("lao-bao")
    page.get_by_label("Thời gian hiển thị (phút)").fill("90")
    page.get_by_role("button", name="Gửi thông báo").click()
    page.wait_for_url(base + "/notices?queued=2")
    assert "Đã xếp hàng thông báo cho 2 kiosk." in page.get_by_role("status").inner_text()
    w.shot("08-notice-sent")

    page.get_by_role("link", name="Cảnh báo").click()
    assert page.locator("#open tr.alert-row").count() == 3
    assert page.locator("#closed tr.alert-row").count() == 1
    w.shot("09-alerts")
    page.get_by_role("link", name="Gói nội dung").click()
    assert page.locator("tr.pack-row").count() == 3
    w.shot("10-packs")

    # accounts (an admin): a new user gets a password shown once
    page.get_by_role("link", name="Tài khoản").click()
    page.get_by_label("Tên đăng nhập").fill("guard7")
    page.get_by_role("button", name="Thêm tài khoản").click()
    assert "Đã tạo tài khoản guard7" in page.get_by_role("status").first.inner_text()
    assert len(page.locator(".password code").inner_text()) >= 20
    w.shot("14-accounts")
    page.get_by_role("link", name="Đăng ký kiosk mới").click()
    assert page.get_by_label("Mã kiosk").is_visible()
    w.shot("15-enrol")
    page.get_by_role("link", name="Gói nội dung").click()

    # English, remembered across pages
    page.get_by_role("link", name="English").click()
    page.wait_for_url(re.compile(r"lang=en"))
    assert page.get_by_role("heading", level=1).inner_text() == "Published content packs"
    page.get_by_role("link", name="Overview").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Kiosk overview"
    assert page.locator(".count-stale .label").inner_text() == "Stale"
    w.shot("11-overview-en")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login\?bye=1"))
    assert "You have signed out." in page.get_by_role("status").inner_text()
    w.shot("12-signed-out")
    page.goto(base + "/kiosks/lb-01")
    assert "/login?next=/kiosks/lb-01" in page.url
    w.close()


def test_a_viewer_on_a_phone(server: Running, browser: Any) -> None:
    base = server.url
    w = Watched(browser, viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page = w.page
    sign_in(w, base, "viewer")
    assert page.locator(".count-offline .n").inner_text() == "2"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    w.shot("20-phone-overview")
    page.goto(base + "/kiosks/lb-01")
    assert page.get_by_role("button", name="Chụp màn hình").count() == 0
    assert "cần quyền người phát hành" in page.locator("main").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    w.shot("21-phone-kiosk")
    page.set_viewport_size({"width": 360, "height": 740})
    for path in ("/", "/alerts", "/packs", "/kiosks/lt-01"):
        page.goto(base + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"{path} is {width} px wide at 360 px"
    w.shot("22-phone-360-offline-kiosk")
    w.close()


# A stand-in for the browser's Notification: records what the page shows and
# answers the permission request as a guard who clicks "Allow" would.
NOTIFICATION_STUB = """
window.__shown = [];
window.Notification = function (title, options) {
  window.__shown.push({title: title, body: options && options.body});
};
window.Notification.permission = "default";
window.Notification.requestPermission = function () {
  window.Notification.permission = "granted";
  return Promise.resolve("granted");
};
"""


def title_becomes(page: Any, prefix: str, timeout: float = 10.0) -> None:
    """Wait for the page's own refresh to change its title (the dashboard's CSP
    forbids Playwright's evaluated wait functions)."""
    deadline = time.monotonic() + timeout
    while not page.title().startswith(prefix):
        assert time.monotonic() < deadline, f"title {page.title()!r}, not {prefix!r}…"
        page.wait_for_timeout(100)


def test_a_new_alert_shows_in_the_tab_title_and_as_a_desktop_notification(
    server: Running, browser: Any
) -> None:
    from sqlalchemy import insert, update

    from server.store.schema import alerts

    base = server.url
    w = Watched(browser, viewport={"width": 1280, "height": 900})
    page = w.page
    page.add_init_script(NOTIFICATION_STUB)
    sign_in(w, base, "viewer")
    assert page.title().startswith("(3) ")
    page.get_by_role("button", name="Báo trên máy tính khi có cảnh báo mới").click()
    page.get_by_role("status").filter(has_text="Đã bật").wait_for()
    store = server.site.store
    with store.engine.begin() as conn:
        conn.execute(
            insert(alerts).values(
                kiosk_id="lb-01", kind="temp_high", opened_at=time.time(), detail="86.0"
            )
        )
    try:
        title_becomes(page, "(4) ")
        shown = page.evaluate("window.__shown")
        assert shown == [
            {
                "title": "Kiosk cửa khẩu: 4 cảnh báo đang mở",
                "body": "Có cảnh báo mới. Mở bảng điều khiển để xem kiosk nào.",
            }
        ]
        w.shot("13-new-alert-title")
    finally:
        with store.engine.begin() as conn:
            conn.execute(
                update(alerts)
                .where(alerts.c.kiosk_id == "lb-01", alerts.c.kind == "temp_high")
                .values(closed_at=time.time())
            )
    title_becomes(page, "(3) ")
    assert len(page.evaluate("window.__shown")) == 1  # fewer alerts: no notification
    w.close()
