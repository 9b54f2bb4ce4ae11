"""The packs page's rollout progress on a fleet that moved to lao-bao v2 at known
times (tests/web/rolloutkit.py; the app's clock injected): the counts now per gate,
the curve over time, in Vietnamese and English; and in real Chromium at 1366x768,
saved as tests/web/artifacts/packs-rollout.png for a person to look at."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from rolloutkit import CURVE, GATE_COUNTS, seed_rollout
from test_browser import ARTIFACTS, Watched, browser, sign_in
from webkit import PASSWORD, T0, make_site, serve

from server.fleet.rollout import SCAN_S, Point, curve, percent, progress
from server.fleet.view import KioskView
from server.web.app import create_app

__all__ = ["browser"]  # the fixture of test_browser.py, shared
NOW = T0 + 3600  # an hour after lao-bao v2 was published at T0


def signed_in(app: Any, lang: str = "vi") -> TestClient:
    client = TestClient(app, follow_redirects=False)
    r = client.post("/login", data={"name": "viewer", "password": PASSWORD, "next": "/"})
    assert r.status_code == 303, r.text
    if lang != "vi":
        client.get(f"/packs?lang={lang}")
    return client


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Any]:
    site = make_site(tmp_path)
    seed_rollout(site, T0)
    site.user("viewer", "viewer")
    yield create_app(site.cfg, store=site.store, clock=lambda: NOW)
    site.close()


def section(html: str, title: str) -> str:
    start = html.index(title)
    return html[start : html.index("</section>", start)]


def cells(html: str, row_class: str) -> list[list[str]]:
    rows = re.findall(rf'<tr class="{row_class}">(.*?)</tr>', html, re.S)
    return [
        [
            re.sub(r"<[^>]+>", "", c).strip()
            for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)
        ]
        for r in rows
    ]


def test_the_packs_page_shows_the_rollout_now_per_gate_and_over_time(app: Any) -> None:
    html = signed_in(app).get("/packs").text
    v2 = section(html, "Tiến độ cập nhật: lao-bao v2")
    assert "Hiện có 8 / 15 kiosk (53 %) đang chạy bản này hoặc mới hơn." in v2
    assert "Phát hành lúc 29/05/2026 03:26." in v2  # dd/mm/yyyy HH:MM, Vietnam time
    assert cells(v2, "rollout-gate") == [
        [gate, f"{n} / {m}", f"{p} %"] for gate, (n, m, p) in GATE_COUNTS.items()
    ]
    rows = cells(v2, "interval-row")
    assert [(r[1], r[2]) for r in rows] == [
        (f"+{after // 60} phút" + (f" {after % 60} giây" if after % 60 else ""), f"{on} / 15")
        for after, on in CURVE
    ]
    assert [r[3] for r in rows] == [f"{100 * on // 15} %" for _after, on in CURVE]
    assert rows[0][0] == "29/05/2026 03:26" and rows[-1][0] == "29/05/2026 03:33"
    assert v2.count("<polyline") == 1 and 'role="img"' in v2
    assert "lao-bao v1" not in html  # v2 replaced it for the same audience


def test_the_rollout_in_english(app: Any) -> None:
    html = signed_in(app, "en").get("/packs").text
    v2 = section(html, "Rollout: lao-bao v2")
    assert "Now 8 of 15 kiosks (53 %) run this version or a newer one." in v2
    assert ["lao-bao", "6 of 8", "75 %"] in cells(v2, "rollout-gate")
    assert [r[1] for r in cells(v2, "interval-row")][:3] == ["+0 min", "+1 min", "+2 min"]


def test_the_curve_counts_arrivals_up_to_each_point() -> None:
    step, points = curve([30.0, 90.0, 100.0, 400.0], 0.0, 3600.0)
    assert step == 60.0 and points[0] == Point(0.0, 0) and points[-1] == Point(400.0, 4)
    assert [p.on for p in points] == [0, 1, 3, 3, 3, 3, 3, 4]
    step, points = curve([], 0.0, 2 * 86400.0)  # nobody yet: up to now
    assert step == 21600.0 and len(points) == 9 and {p.on for p in points} == {0}
    step, points = curve([], 0.0, 30 * 86400.0)  # ... but not further than the events read
    assert points[-1].at == SCAN_S
    step, points = curve([5.0], 0.0, 10 * 365 * 86400.0)
    assert len(points) <= 13
    step, points = curve([1.0] * 3, 0.0, 86400.0 * 400)
    assert len(points) <= 13 and points[-1].on == 3
    assert percent(199, 200) == 99 and percent(0, 0) == 0


def view(kid: str, gate: str, version: int | None, groups: list[str] | None = None) -> KioskView:
    return KioskView(
        id=kid, gate=gate, groups=groups or [], state="online", reason="", since=None,
        pack_id="lao-bao" if version else None, pack_version=version, ui_alive=True,
        ui_screen=None, last_seen=None, temp=None, disk_free=None, alerts=[],
    )  # fmt: skip


def test_progress_counts_only_the_versions_audience() -> None:
    views = [
        view("a1", "a", 3),
        view("a2", "a", 2),
        view("b1", "b", 4, ["north"]),  # newer counts as reached
        view("c1", "c", 3),  # not in the audience
        view("d1", "d", None, ["north"]),  # never seen
    ]
    r = progress(views, "lao-bao", 3, ["a", "north"], 100.0, {"a1": 130.0, "c1": 110.0}, 1000.0)
    assert (r.audience, r.on_now, r.percent) == (4, 2, 50)
    assert [(g.gate, g.on, g.of) for g in r.gates] == [("a", 1, 2), ("b", 1, 1), ("d", 0, 1)]
    assert [p.on for p in r.points][-1] == 1  # c1's arrival is not of this audience
    assert progress(views, "lao-bao", 3, ["a"], None, {}, 1000.0).points == []


@pytest.mark.slow
def test_the_rollout_in_chromium_at_1366x768(tmp_path: Path, browser: Any) -> None:
    site = make_site(tmp_path)
    published = time.time() - 3600  # the browser's cookies need today's clock
    seed_rollout(site, published)
    site.user("viewer", "viewer")
    app = create_app(site.cfg, store=site.store)
    try:
        with serve(app) as url:
            w = Watched(browser, viewport={"width": 1366, "height": 768}, locale="vi-VN")
            sign_in(w, url, "viewer", "/packs")
            page = w.page
            v2 = page.locator("section.rollout").first
            assert "lao-bao v2" in v2.locator("h2").inner_text()
            assert v2.locator("tr.rollout-gate").count() == 3
            box = v2.locator("figure.rollout-chart svg").bounding_box()
            assert box is not None and box["width"] > 400 and box["height"] > 100
            assert box["x"] + box["width"] <= 1366  # beside the gate table, inside the page
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 1366, "the packs page scrolls sideways at 1366 px"
            v2.locator("summary").click()
            assert v2.locator("tr.interval-row").first.is_visible()
            w.shot("packs-rollout")
            assert (ARTIFACTS / "packs-rollout.png").stat().st_size > 10_000
            w.close()
    finally:
        site.close()
