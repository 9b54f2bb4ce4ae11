"""The reports page in real Chromium: on screen, as a print-media screenshot and
as a PDF (Chromium's own print to PDF, A4), saved under tests/web/artifacts/ for
a person to look at."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from reposim import pack_files, write_built_pack
from test_browser import ARTIFACTS, Running, Watched, browser, server, sign_in
from webkit import Site

from kiosk.protocol.payloads import Event
from server.fleet.ingest import IngestWriter, Raw
from server.packs.publications import record_publication

pytestmark = pytest.mark.slow
__all__ = ["browser", "server"]  # the fixtures of test_browser.py, shared


def seed_use_and_a_publication(site: Site) -> None:
    now = time.time()
    writer = IngestWriter(site.store, site.cfg.fleet, site.cfg.data)
    events = {
        "lb-01": {"sessions": 41, "seconds": 5210.0, "languages": {"vi": 12, "lo": 25, "en": 6},
                  "pages": {"thu-tuc-nhap-canh": 30, "le-phi": 12, "lien-he": 7}},
        "lb-02": {"sessions": 17, "seconds": 1800.0, "languages": {"lo": 11, "th": 4, "vi": 3},
                  "pages": {"thu-tuc-nhap-canh": 10, "du-lich-quang-tri": 9}},
        "cl-01": {"sessions": 9, "seconds": 700.0, "languages": {"zh": 6, "vi": 3},
                  "pages": {"van-hoa": 5, "le-phi": 2}},
    }  # fmt: skip
    raws = [
        Raw(f"bgk/v1/kiosk/{k}/events",
            Event(outbox_id="o", seq=1, ts=now - 300, kind="interaction", data=d).to_bytes(),
            1, i, time.monotonic())
        for i, (k, d) in enumerate(events.items())
    ]  # fmt: skip
    writer.write(raws, now)
    from server.packs.publish import publish_pack
    from server.packs.signing import open_repository, utcnow

    folder = site.tmp / "built" / "cha-lo-3"
    write_built_pack(folder, pack_files("cha-lo3", 2, 500), "cha-lo", 3)
    repo = open_repository(site.cfg, ("targets",), keys=site.keys)
    record_publication(
        site.store, publish_pack(repo, site.cfg.blob_dir, folder, ["cha-lo"], utcnow), "bien-tap"
    )


def test_the_report_on_screen_in_print_and_as_a_pdf(server: Running, browser: Any) -> None:
    seed_use_and_a_publication(server.site)
    w = Watched(browser, viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = w.page
    sign_in(w, server.url, "viewer", "/reports")
    assert page.locator("header.top nav a[aria-current=page]").inner_text() == "Báo cáo"
    head = page.locator(".report-head").inner_text()
    assert "SỞ THÔNG TIN VÀ TRUYỀN THÔNG TỈNH QUẢNG TRỊ" in head and "Kỳ báo cáo: tháng" in head
    assert page.locator("tr.gate-row").count() == 3
    assert page.locator("tr.lang-row").count() == 5
    assert page.locator("svg.bar .fill").count() > 8
    w.shot("reports-1-screen")

    # the CSV link downloads the file
    with page.expect_download() as got:
        page.get_by_role("link", name="Tải CSV").click()
    download = got.value
    assert download.suggested_filename.startswith(
        "bao-cao-"
    ) and download.suggested_filename.endswith(".csv")
    path = download.path()
    assert path is not None and Path(path).read_bytes().startswith(b"\xef\xbb\xbf")

    # print: no navigation, no picker; the header with the publisher stays
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible()
    assert not page.locator(".picker").is_visible()
    assert page.locator(".report-head").is_visible()
    w.shot("reports-2-print")
    pdf = ARTIFACTS / "reports-2.pdf"
    page.pdf(path=str(pdf), format="A4", prefer_css_page_size=True)
    assert pdf.read_bytes().startswith(b"%PDF")
    page.emulate_media(media="screen")

    # the period picker: a year, then English
    page.get_by_label("Theo năm").select_option(str(time.localtime().tm_year))
    page.locator("form", has=page.get_by_label("Theo năm")).get_by_role(
        "button", name="Xem báo cáo"
    ).click()
    page.wait_for_url(f"**/reports?year={time.localtime().tm_year}")
    assert "Kỳ báo cáo: năm" in page.locator(".report-head").inner_text()
    page.get_by_role("link", name="English").click()
    assert "Period: year" in page.locator(".report-head").inner_text()
    w.shot("reports-3-year-en")
    w.close()
