"""The dashboard's pages through FastAPI's TestClient, on a seeded SQLite store:
sign-in and its refusals, redirects, roles, CSRF, commands, notices, language."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from conftest import SignIn
from fastapi.testclient import TestClient
from sqlalchemy import select
from webkit import PASSWORD, T0, Site

from server.store.schema import commands

PAGES = ["/", "/kiosks/lb-01", "/alerts", "/notices", "/packs"]


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def queued(site: Site, kiosk: str | None = None) -> list[tuple[str, str, str]]:
    query = select(commands.c.kiosk_id, commands.c.op, commands.c.state).order_by(
        commands.c.created_at
    )
    if kiosk:
        query = query.where(commands.c.kiosk_id == kiosk)
    with site.store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(query)]  # type: ignore[misc]


def text_of(html: str) -> str:
    """The page's words, tags removed and spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- signing in ---------------------------------------------------------------


@pytest.mark.parametrize("path", [*PAGES, "/?gate=lao-bao&state=stale"])
def test_pages_send_a_stranger_to_the_sign_in_form_and_back(sign_in: SignIn, path: str) -> None:
    client = sign_in()
    r = client.get(path)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=" + quote(path, safe="/")
    form = client.get(r.headers["location"])
    assert form.status_code == 200 and 'name="next"' in form.text
    back = client.post("/login", data={"name": "admin", "password": PASSWORD, "next": path})
    assert back.status_code == 303 and back.headers["location"] == path


def test_sign_in_sets_a_strict_session_cookie(sign_in: SignIn) -> None:
    client = sign_in()
    r = client.post("/login", data={"name": "admin", "password": PASSWORD})
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("bgk_session=")
    for part in ("HttpOnly", "Max-Age=43200", "Path=/", "SameSite=lax"):
        assert part in cookie
    assert "Secure" not in cookie
    assert client.get("/").status_code == 200
    https = sign_in(base_url="https://testserver")
    r = https.post("/login", data={"name": "admin", "password": PASSWORD})
    assert "Secure" in r.headers["set-cookie"]


def test_a_sign_in_posted_from_another_site_is_refused(sign_in: SignIn) -> None:
    client = sign_in()
    form = {"name": "admin", "password": PASSWORD}
    r = client.post("/login", data=form, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and "set-cookie" not in r.headers
    r = client.post("/login", data=form, headers={"Origin": "http://testserver"})
    assert r.status_code == 303 and "bgk_session=" in r.headers["set-cookie"]


def test_a_wrong_password_says_so_in_the_chosen_language(sign_in: SignIn) -> None:
    client = sign_in()
    r = client.post("/login", data={"name": "admin", "password": "not-the-password"})
    assert r.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in r.text
    assert 'value="admin"' in r.text and "not-the-password" not in r.text
    assert "bgk_session" not in r.headers.get("set-cookie", "")
    r = client.post("/login?lang=en", data={"name": "nobody", "password": "whatever-else"})
    assert r.status_code == 401 and "Wrong user name or password" in r.text
    assert client.get("/").status_code == 303


def test_too_many_wrong_passwords_lock_the_name_and_say_for_how_long(sign_in: SignIn) -> None:
    client = sign_in()
    for _ in range(5):
        r = client.post("/login", data={"name": "publisher", "password": "wrong-wrong-wrong"})
        assert r.status_code == 401
    r = client.post("/login", data={"name": "publisher", "password": PASSWORD})
    assert r.status_code == 429
    assert "Vui lòng thử lại sau 15 phút" in r.text
    r = client.post("/login?lang=en", data={"name": "publisher", "password": PASSWORD})
    assert "try again in 15 minutes" in r.text
    assert client.get("/").status_code == 303


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/kiosks/lb-01?x=1", "/kiosks/lb-01?x=1"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/\r\nLocation: //evil.example", "/"),
        ("", "/"),
    ],
)
def test_sign_in_goes_only_to_a_page_of_this_site(
    sign_in: SignIn, target: str, expected: str
) -> None:
    client = sign_in()
    r = client.post("/login", data={"name": "viewer", "password": PASSWORD, "next": target})
    assert r.status_code == 303 and r.headers["location"] == expected
    form = client.get("/login", params={"next": target})
    assert form.status_code == 303 and form.headers["location"] == expected


def test_sign_out_needs_the_form_token_and_ends_the_session(sign_in: SignIn) -> None:
    client = sign_in("admin")
    page = client.get("/")
    assert client.post("/logout", data={}).status_code == 403
    assert client.post("/logout", data={"csrf": "forged"}).status_code == 403
    assert client.get("/").status_code == 200
    r = client.post("/logout", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 303 and r.headers["location"] == "/login?bye=1"
    assert "Bạn đã đăng xuất" in client.get("/login?bye=1").text
    assert client.get("/").status_code == 303


# --- the overview ---------------------------------------------------------------


def test_overview_counts_and_lists_problems_first(sign_in: SignIn) -> None:
    html = sign_in("viewer").get("/").text
    counts = re.findall(r'class="count count-(\w+)[^"]*">(?:<a[^>]*>)?<span class="n">(\d+)', html)
    assert dict(counts) == {"online": "2", "stale": "1", "offline": "2", "alerts": "3"}
    order = re.findall(r'data-kiosk="([^"]+)" data-state="(\w+)"', html)
    assert order == [
        ("lt-01", "offline"),
        ("lt-02", "offline"),
        ("lb-02", "stale"),
        ("cl-01", "online"),  # UI not running: before the healthy one
        ("lb-01", "online"),
    ]
    words = text_of(html)
    row = {k: text_of(r) for k, r in re.findall(r'data-kiosk="([^"]+)"(.*?)</tr>', html, re.S)}
    # old content: behind the newest version published to the kiosk's gate, group or all
    assert "lao-bao v3 ⚠ chưa phải bản mới nhất (v4)" in row["lb-02"]
    assert "lao-bao v4 ⚠ chưa phải bản mới nhất (v5)" in row["lt-01"]
    assert "⚠ chưa phải" not in row["lb-01"]  # v5 is not published to lao-bao
    assert "mất kết nối (chưa từng kết nối)" in words
    assert "chậm/cũ (nội dung hết hạn)" in words
    assert "⚠ KHÔNG chạy" in words and "⚠ giao diện không chạy" in words
    # last seen, dd/mm/yyyy HH:MM in Vietnam (T0 - 5 s = 29/05/2026 03:26 ICT)
    assert "29/05/2026 03:26" in words
    assert "03:26:40" in words  # when the page was made


def test_overview_filters_by_gate_and_state(sign_in: SignIn) -> None:
    client = sign_in("viewer")

    def kiosks(query: str) -> list[str]:
        return re.findall(r'data-kiosk="([^"]+)"', client.get("/" + query).text)

    assert kiosks("?gate=lao-bao") == ["lb-02", "lb-01"]
    assert kiosks("?state=offline") == ["lt-01", "lt-02"]
    assert kiosks("?gate=lao-bao&state=online") == ["lb-01"]
    page = client.get("/?gate=cha-lo&state=offline").text
    assert "Không có kiosk nào khớp bộ lọc." in page
    assert '<option value="cha-lo" selected>' in page
    assert '<option value="offline" selected>' in page
    assert len(kiosks("?gate=nowhere&state=bogus")) == 5
    assert kiosks("?q=LB-") == ["lb-02", "lb-01"]  # part of the id, any case
    assert kiosks("?q=lt&state=offline") == ["lt-01", "lt-02"]
    assert 'name="q" type="search" value="lb"' in client.get("/?q=lb").text


def test_a_large_fleet_shows_the_problems_first_and_says_what_is_left_out(
    sign_in: SignIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.web.dashboard import overview as dashboard

    monkeypatch.setattr(dashboard, "MAX_ROWS", 3)
    page = sign_in("viewer").get("/").text
    assert re.findall(r'data-kiosk="([^"]+)"', page) == ["lt-01", "lt-02", "lb-02"]
    assert "Đang hiện 3 trong 5 kiosk khớp bộ lọc" in text_of(page)
    assert '<span class="n">2</span>' in page  # the counts are still the whole fleet's
    page = sign_in("viewer").get("/?gate=lao-bao").text
    assert "Đang hiện" not in page and len(re.findall(r"data-kiosk=", page)) == 2


# --- a kiosk ---------------------------------------------------------------------


def test_kiosk_page_shows_its_facts_and_latest_screenshot(sign_in: SignIn) -> None:
    client = sign_in("viewer")
    page = client.get("/kiosks/lb-01")
    assert page.status_code == 200
    words = text_of(page.text)
    for fact in ("lao-bao", "quang-tri", "52,5 °C", "20,0 GB", "trực tuyến", "home"):
        assert fact in words
    assert "Chụp lúc 29/05/2026 03:24 · màn hình: home" in words
    src = re.search(r'<img src="([^"]+)"', page.text)
    assert src and src.group(1).startswith("/api/v1/kiosks/lb-01/screenshot")
    shot = client.get(src.group(1))
    assert shot.status_code == 200 and shot.content[:2] == b"\xff\xd8"
    assert "đồng bộ lại" in words and "đã xong" in words  # the seeded resync, done
    assert "đã bắt đầu đồng bộ" in words  # the kiosk's answer, in the reader's language
    other = text_of(client.get("/kiosks/lb-02").text)
    assert "Chưa có ảnh màn hình nào của kiosk này" in other
    assert "0,2 GB" in other and "⚠ sắp hết dung lượng" in other
    assert "sync started" in text_of(client.get("/kiosks/lb-01?lang=en").text)


def test_kiosk_page_tells_its_last_week_and_what_happened_to_it(
    sign_in: SignIn, site: Site
) -> None:
    import time

    from kiosk.protocol.payloads import Event
    from server.fleet.ingest import IngestWriter, Raw

    events = [
        ("install", {"pack": "lao-bao", "version": 4, "message": "installed lao-bao 4"}),
        ("commit", {"pack": "lao-bao", "version": 4, "message": "committed lao-bao 4"}),
        ("rejected", {"code": "bad-signature", "message": "targets metadata signed by an unknown key"}),
        ("interaction", {"sessions": 3, "seconds": 120.0, "languages": {"vi": 3}, "pages": {}}),
    ]  # fmt: skip
    writer = IngestWriter(site.store, site.cfg.fleet, site.cfg.data)
    now = time.time()
    raws = [
        Raw("bgk/v1/kiosk/lb-01/events",
            Event(outbox_id="ob", seq=i + 1, ts=now - 60 + i, kind=kind, data=data).to_bytes(),
            1, i + 1, time.monotonic())
        for i, (kind, data) in enumerate(events)
    ]  # fmt: skip
    writer.write(raws, now)
    page = text_of(sign_in("viewer").get("/kiosks/lb-01").text)
    assert "Sự kiện gần đây" in page
    assert "Đã cài gói lao-bao v4, đang chờ màn hình xác nhận" in page
    assert "Gói lao-bao v4 chạy tốt, đã giữ lại" in page
    assert "Từ chối một gói mới: targets metadata signed by an unknown key" in page
    assert page.index("Từ chối") < page.index("chạy tốt") < page.index("Đã cài")  # newest first
    assert "7 ngày qua hoạt động" in page and "% thời gian" in page
    assert "Kiosk chưa báo sự kiện nào" in text_of(sign_in("viewer").get("/kiosks/lb-02").text)


def test_an_unknown_kiosk_is_a_not_found_page_in_the_language(sign_in: SignIn) -> None:
    client = sign_in("admin")
    r = client.get("/kiosks/nope")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "Không tìm thấy kiosk “nope”" in r.text
    r = client.get("/kiosks/nope?lang=en")
    assert r.status_code == 404 and "There is no kiosk “nope”" in r.text
    post = client.post(
        "/kiosks/nope/commands", data={"op": "resync", "csrf": csrf_of(client.get("/").text)}
    )
    assert post.status_code == 404


def test_a_viewer_sees_no_command_buttons_and_the_server_refuses_them(
    sign_in: SignIn, site: Site
) -> None:
    client = sign_in("viewer")
    page = client.get("/kiosks/lb-01").text
    assert "/commands" not in page and "Chụp màn hình</button>" not in page
    assert "cần quyền người phát hành để gửi lệnh" in page
    before = queued(site)
    for op in ("screenshot", "resync", "reboot"):
        r = client.post(
            "/kiosks/lb-01/commands", data={"op": op, "csrf": csrf_of(page), "confirmed": "yes"}
        )
        assert r.status_code == 403 and "cần quyền người phát hành" in r.text
    assert queued(site) == before


def test_a_command_without_the_form_token_is_refused(sign_in: SignIn, site: Site) -> None:
    client = sign_in("admin")
    before = queued(site)
    for data in ({"op": "screenshot"}, {"op": "screenshot", "csrf": "forged"}):
        r = client.post("/kiosks/lb-01/commands", data=data)
        assert r.status_code == 403 and "Biểu mẫu đã hết hạn" in r.text
    assert queued(site) == before


def test_screenshot_command_is_queued_and_listed(sign_in: SignIn, site: Site) -> None:
    client = sign_in("publisher")
    page = client.get("/kiosks/lb-01").text
    r = client.post("/kiosks/lb-01/commands", data={"op": "screenshot", "csrf": csrf_of(page)})
    assert r.status_code == 303 and r.headers["location"] == "/kiosks/lb-01?sent=screenshot"
    assert queued(site, "lb-01")[-1] == ("lb-01", "screenshot", "queued")
    words = text_of(client.get(r.headers["location"]).text)
    assert "Đã xếp hàng lệnh “chụp màn hình” cho kiosk lb-01" in words
    assert "chụp màn hình đang chờ gửi publisher" in words
    bad = client.post("/kiosks/lb-01/commands", data={"op": "notice", "csrf": csrf_of(page)})
    assert bad.status_code == 400


def test_reboot_asks_for_confirmation_first(sign_in: SignIn, site: Site) -> None:
    client = sign_in("admin")
    token = csrf_of(client.get("/kiosks/cl-01").text)
    ask = client.post("/kiosks/cl-01/commands", data={"op": "reboot", "csrf": token})
    assert ask.status_code == 200 and "Khởi động lại kiosk cl-01?" in ask.text
    assert 'name="confirmed" value="yes"' in ask.text
    assert queued(site, "cl-01") == []
    done = client.post(
        "/kiosks/cl-01/commands", data={"op": "reboot", "csrf": token, "confirmed": "yes"}
    )
    assert done.status_code == 303
    assert queued(site, "cl-01") == [("cl-01", "reboot", "queued")]


# --- notices ---------------------------------------------------------------------


def notice_form(client: TestClient, **fields: str) -> dict[str, str]:
    data = {"csrf": csrf_of(client.get("/notices").text), "to": "all", "minutes": "60"}
    data["level"] = "urgent"
    data.update(fields)
    return data


def test_a_notice_needs_a_text_an_audience_and_sane_minutes(sign_in: SignIn, site: Site) -> None:
    client = sign_in("publisher")
    r = client.post("/notices", data=notice_form(client, text_vi="  ", text_en=""))
    assert r.status_code == 400
    assert "Hãy viết nội dung thông báo bằng ít nhất một ngôn ngữ." in r.text
    for minutes in ("0", "abc", "99999", ""):
        r = client.post(
            "/notices",
            data=notice_form(client, text_vi="Cửa khẩu đóng lúc 17:00", minutes=minutes),
        )
        assert r.status_code == 400
        assert "Thời gian hiển thị phải là số phút từ 1 đến 10080." in r.text
        assert "Cửa khẩu đóng lúc 17:00</textarea>" in r.text  # what was typed stays
        assert f'name="minutes" inputmode="numeric" value="{minutes}"' in r.text
    r = client.post(
        "/notices",
        data=notice_form(client, text_en="Closed at 5 pm", to="atlantis", level="info"),
    )
    assert r.status_code == 400 and "Hãy chọn nơi nhận thông báo." in r.text
    assert "Closed at 5 pm</textarea>" in r.text and 'value="info" checked' in r.text
    r = client.post("/notices?lang=en", data=notice_form(client, text_vi="x" * 1001))
    assert r.status_code == 400 and "at most 1000 characters" in r.text
    assert not [c for c in queued(site) if c[1] == "notice"]


def test_a_notice_is_queued_for_its_audience_and_says_for_how_many(
    sign_in: SignIn, site: Site
) -> None:
    client = sign_in("publisher")
    page = client.get("/notices").text
    assert '<option value="lao-bao">' in page and '<option value="quang-tri">' in page
    r = client.post(
        "/notices",
        data=notice_form(
            client, text_vi="Cửa khẩu tạm đóng", text_lo="ດ່ານປິດຊົ່ວຄາວ", to="lao-bao", minutes="30"
        ),
    )
    assert r.status_code == 303 and r.headers["location"] == "/notices?queued=2"
    assert "Đã xếp hàng thông báo cho 2 kiosk." in client.get(r.headers["location"]).text
    assert sorted(c[0] for c in queued(site) if c[1] == "notice") == ["lb-01", "lb-02"]
    r = client.post("/notices", data=notice_form(client, text_en="Heavy rain", to="quang-tri"))
    assert r.headers["location"] == "/notices?queued=3"


def test_sent_notices_show_how_far_they_reached_and_can_be_withdrawn(
    sign_in: SignIn, site: Site
) -> None:
    client = sign_in("publisher")
    assert "Chưa gửi thông báo nào trong 7 ngày qua." in client.get("/notices").text
    form = notice_form(client, text_vi="Đường 9 tạm đóng", to="lao-bao", minutes="30")
    client.post("/notices", data=form)
    page = client.get("/notices").text
    row = text_of(re.search(r'<tr class="notice-row".*?</tr>', page, re.S).group(0))  # type: ignore[union-attr]
    assert "Đường 9 tạm đóng" in row and "publisher" in row
    assert "0 / 2 kiosk" in row and "2 kiosk chưa nhận" in row and "còn hiệu lực đến" in row
    notice_id = re.search(r'data-notice="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    action = f"/notices/{notice_id}/withdraw"
    assert f'action="{action}"' in page
    assert client.post(action, data={"csrf": "forged"}).status_code == 403
    r = client.post(action, data={"csrf": csrf_of(page)})
    assert r.status_code == 303 and r.headers["location"] == "/notices?withdrawn=2"
    page = client.get(r.headers["location"]).text
    assert "Đã gửi lệnh gỡ thông báo tới 2 kiosk." in page
    assert "đã gỡ lúc" in text_of(page) and f'action="{action}"' not in page
    withdrawals = [c for c in queued(site) if c[1] == "notice"]
    assert len(withdrawals) == 4  # two notices, two withdrawals
    again = client.post(action, data={"csrf": csrf_of(page)})
    assert again.status_code == 400 and "Thông báo này đã được gỡ rồi." in again.text
    viewer = sign_in("viewer")
    assert viewer.post(action, data={"csrf": csrf_of(viewer.get("/").text)}).status_code == 403


def test_a_viewer_cannot_send_notices(sign_in: SignIn, site: Site) -> None:
    client = sign_in("viewer")
    assert client.get("/notices").status_code == 403
    assert 'href="/notices"' not in client.get("/").text
    token = csrf_of(client.get("/").text)
    r = client.post("/notices", data={"csrf": token, "text_vi": "x", "to": "all", "minutes": "5"})
    assert r.status_code == 403
    assert not [c for c in queued(site) if c[1] == "notice"]


# --- alerts, packs, language, headers -----------------------------------------------


def test_alerts_page_lists_open_and_recently_closed_alerts(sign_in: SignIn) -> None:
    html = sign_in("viewer").get("/alerts").text
    open_part, closed_part = html.split('id="closed"')
    assert re.findall(r'data-kind="(\w+)"', open_part) == ["offline", "disk_low", "ui_down"]
    assert re.findall(r'data-kind="(\w+)"', closed_part) == ["temp_high"]
    words = text_of(closed_part)
    assert "nhiệt độ cao 85.0 °C 29/05/2026 02:26 29/05/2026 03:26" in words


def test_a_kiosk_whose_clock_is_wrong_is_a_problem_on_the_dashboard(
    sign_in: SignIn, site: Site
) -> None:
    """A Pi without a clock battery that came up in 2040: the server sees the time
    in its heartbeats (through the real ingest) and opens a `clock` alert."""
    from webkit import _hb, _raw

    from server.fleet.ingest import IngestWriter
    from server.fleet.sweeper import Sweeper

    in_2040 = 2_208_988_800.0  # 01/01/2040 07:00 in Vietnam
    IngestWriter(site.store, site.cfg.fleet, site.cfg.data).write(
        [_raw("lt-02", "hb", _hb(1, in_2040, ("lao-bao", 4)))], T0 - 1
    )
    Sweeper(site.store, site.cfg.fleet, site.cfg.data).sweep(T0)
    viewer = sign_in("viewer")
    open_part = viewer.get("/alerts").text.split('id="closed"')[0]
    assert "clock" in re.findall(r'data-kind="(\w+)"', open_part)
    assert "đồng hồ kiosk sai 01/01/2040 07:00" in text_of(open_part)
    assert "đồng hồ kiosk sai" in text_of(viewer.get("/kiosks/lt-02").text)
    english = text_of(viewer.get("/alerts?lang=en").text)
    assert "kiosk clock wrong 01/01/2040 07:00" in english


def test_kiosk_page_says_what_it_shared_with_its_gate(sign_in: SignIn, site: Site) -> None:
    """Gate sharing's counters travel in the heartbeat (through the real ingest) to the
    kiosk's page and the API; a kiosk that does not share shows no such line."""
    from webkit import _hb, _raw

    from kiosk.protocol.payloads import ShareReport
    from server.fleet.ingest import IngestWriter

    report = ShareReport(
        served_bytes=312_500_000, served_blobs=40, server_bytes=0, peer_bytes=298_000_000
    )
    IngestWriter(site.store, site.cfg.fleet, site.cfg.data).write(
        [_raw("lb-01", "hb", _hb(90, T0 - 1, ("lao-bao", 4), share=report))], T0 - 1
    )
    viewer = sign_in("viewer")
    page = text_of(viewer.get("/kiosks/lb-01").text)
    assert "Chia sẻ trong cửa khẩu" in page
    assert "đã gửi 312,5 MB cho các kiosk khác của cửa khẩu" in page
    assert "lần tải gần nhất: 298,0 MB từ kiosk cùng cửa khẩu, 0,0 MB từ máy chủ" in page
    english = text_of(viewer.get("/kiosks/lb-01?lang=en").text)
    assert "last download: 298.0 MB from the gate" in english  # (the page escapes the ')
    assert "kiosks, 0.0 MB from the server" in english
    assert "Chia sẻ trong cửa khẩu" not in text_of(viewer.get("/kiosks/lb-02").text)
    api = viewer.get("/api/v1/kiosks/lb-01").json()
    assert (api["share_served"], api["share_peer"], api["share_server"]) == (
        312_500_000,
        298_000_000,
        0,
    )


def test_packs_page_lists_published_packs(sign_in: SignIn) -> None:
    html = sign_in("viewer").get("/packs").text
    words = text_of(html)
    assert re.search(r"lao-bao v4 tất cả kiosk \d\d/\d\d/\d{4}", words)
    assert re.search(r"cha-lo v2 cha-lo \d\d/\d\d/\d{4}", words)
    assert re.search(r"lao-bao v5 la-lay \d\d/\d\d/\d{4}", words)
    assert "lao-bao v3" not in words  # replaced by v4 for the same audience
    # how far each version has reached: lt-01 and lb-01 play v4, cl-01 plays cha-lo v2
    assert re.search(r"lao-bao v4 tất cả kiosk \d\d/\d\d/\d{4} 2 / 5 kiosk được phát hành", words)
    assert re.search(r"cha-lo v2 cha-lo \d\d/\d\d/\d{4} 1 / 1 kiosk được phát hành", words)
    assert re.search(r"lao-bao v5 la-lay \d\d/\d\d/\d{4} 0 / 2 kiosk được phát hành", words)


def test_language_switch_is_remembered(sign_in: SignIn) -> None:
    client = sign_in("admin")
    vi = client.get("/")
    assert '<html lang="vi">' in vi.text and "Tổng quan các kiosk" in vi.text
    assert 'href="/?lang=en"' in vi.text
    en = client.get("/?gate=lao-bao&lang=en")
    assert "bgk_lang=en" in en.headers["set-cookie"]
    assert '<html lang="en">' in en.text and "Kiosk overview" in en.text
    assert 'href="/?gate=lao-bao&amp;lang=vi"' in en.text  # the filter stays
    assert "Kiosk overview" in client.get("/").text  # the cookie remembers
    assert "Signed in: admin (admin)" in client.get("/alerts").text
    assert "Tổng quan các kiosk" in client.get("/?lang=vi").text
    assert "Tổng quan các kiosk" in client.get("/?lang=xx").text
    assert "Sign in" in sign_in().get("/login?lang=en").text
    # a link with ?lang=en followed by someone not signed in yet: the form is in English
    stranger = sign_in()
    to_form = stranger.get("/kiosks/lb-01?lang=en", follow_redirects=False)
    assert "bgk_lang=en" in to_form.headers["set-cookie"]
    assert "Sign in" in stranger.get(to_form.headers["location"]).text


def test_a_mistyped_address_is_a_page_for_people_and_json_for_programs(
    sign_in: SignIn,
) -> None:
    client = sign_in("viewer")
    page = client.get("/kiosk/lb-01", headers={"Accept": "text/html,*/*"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Không tìm thấy trang này." in page.text and "Tổng quan" in page.text
    for path in ("/api/v1/nothing", "/tuf/nothing.json", "/blobs/sha256/00"):
        r = client.get(path, headers={"Accept": "text/html,*/*"})
        assert r.status_code == 404 and r.headers["content-type"] == "application/json", path
    assert client.get("/kiosk/lb-01").headers["content-type"] == "application/json"


def test_pages_are_not_cached_nor_framed_and_static_files_are_served(sign_in: SignIn) -> None:
    client = sign_in("viewer")
    r = client.get("/")
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in r.headers["content-security-policy"]
    css = client.get("/static/dashboard.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    assert client.get("/static/dashboard.js").status_code == 200
