"""The reports page (Article 26), its CSV and the JSON API route, on the seeded
fleet of webkit.py with the app's clock at T0 (29/05/2026 in Vietnam); the
publication log as the API's widen writes it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import time

from conftest import SignIn
from reposim import pack_files, write_built_pack
from sqlalchemy import select
from webkit import T0, Site

from kiosk.protocol.payloads import Event
from server.fleet.ingest import IngestWriter, Raw
from server.packs.publications import record_publication
from server.store.schema import pack_publications

BOM = b"\xef\xbb\xbf"


def travellers(site: Site) -> None:
    """Interaction events from two kiosks, through the real ingest."""
    writer = IngestWriter(site.store, site.cfg.fleet, site.cfg.data)
    lb = {"sessions": 8, "seconds": 960.0, "languages": {"vi": 3, "lo": 4, "en": 1},
          "pages": {"thu-tuc": 6, "van-hoa": 2}}  # fmt: skip
    cl = {"sessions": 2, "seconds": 100.0, "languages": {"zh": 2}, "pages": {"thu-tuc": 1}}
    mono = time.monotonic()
    writer.write(
        [
            Raw("bgk/v1/kiosk/lb-01/events",
                Event(outbox_id="o", seq=1, ts=T0 - 900, kind="interaction", data=lb).to_bytes(),
                1, 1, mono),
            Raw("bgk/v1/kiosk/cl-01/events",
                Event(outbox_id="o", seq=1, ts=T0 - 800, kind="interaction", data=cl).to_bytes(),
                1, 2, mono),
        ],
        T0,
    )  # fmt: skip


def publish_in_may(site: Site) -> None:
    """`lao-bao` v9 published on 28/05/2026 by the same functions the CLI runs."""
    from server.packs.publish import publish_pack
    from server.packs.signing import open_repository

    folder = site.tmp / "built" / "lao-bao-9"
    write_built_pack(folder, pack_files("lao-bao9", 2, 500), "lao-bao", 9)
    repo = open_repository(site.cfg, ("targets",), keys=site.keys)
    result = publish_pack(
        repo,
        site.cfg.blob_dir,
        folder,
        ["lao-bao"],
        lambda: dt.datetime.fromtimestamp(T0 - 86400, dt.UTC),
    )
    record_publication(site.store, result, "bien-tap")


def test_the_reports_page_in_vietnamese(site: Site, sign_in: SignIn) -> None:
    travellers(site)
    publish_in_may(site)
    viewer = sign_in("viewer")
    r = viewer.get("/reports")
    assert r.status_code == 200
    html = r.text
    assert '<a href="/reports" aria-current="page">Báo cáo</a>' in html
    assert "SỞ THÔNG TIN VÀ TRUYỀN THÔNG TỈNH QUẢNG TRỊ" in html
    assert "Kỳ báo cáo: tháng 05/2026 (từ ngày 01/05/2026 đến ngày 31/05/2026)" in html
    assert "Điều 26" in html and "Ngày lập: 29/05/2026 03:26" in html
    assert "Kỳ báo cáo chưa kết thúc: số liệu tính đến 29/05/2026 03:26." in html
    gates = re.findall(r'<tr class="gate-row" data-gate="([a-z-]+)">', html)
    assert gates == ["cha-lo", "la-lay", "lao-bao"]
    kiosks = re.findall(r'<tr class="report-kiosk" data-kiosk="([a-z0-9-]+)">', html)
    assert kiosks == ["cl-01", "lt-01", "lt-02", "lb-01", "lb-02"]
    assert "chưa từng kết nối" in html
    assert "lao-bao</th>" in html and "v9" in html and "bien-tap" in html
    # language use: bars drawn as inline SVG, in the five languages' order
    langs = re.findall(r'<tr class="lang-row" data-lang="([a-z]+)">', html)
    assert langs == ["vi", "en", "lo", "th", "zh"]
    assert "Tiếng Lào" in html and 'class="fill" width="100.0"' in html
    assert 'href="/reports.csv?month=2026-05"' in html and "Tải CSV" in html
    assert 'data-kind="offline"' in html and "<script" not in html.split("</head>")[1]
    # no inline styles: the page's CSP allows only our stylesheet
    assert "style=" not in html


def test_periods_english_and_refusals(site: Site, sign_in: SignIn) -> None:
    viewer = sign_in("viewer")
    year = viewer.get("/reports?year=2026&lang=en")
    assert year.status_code == 200
    assert "Period: year 2026 (01/01/2026 to 31/12/2026)" in year.text
    assert "Download CSV" in year.text and 'href="/reports.csv?year=2026"' in year.text
    assert '<option value="2026" selected>' in year.text
    bad = viewer.get("/reports?month=2026-13&lang=vi")
    assert bad.status_code == 400
    assert "Kỳ báo cáo “2026-13” không hợp lệ" in bad.text
    future = viewer.get("/reports?month=2026-07")
    assert future.status_code == 400
    assert "Kỳ báo cáo tháng 07/2026 chưa bắt đầu (hôm nay là 29/05/2026)" in future.text
    anon = sign_in()
    r = anon.get("/reports?month=2026-05")
    assert (
        r.status_code == 303 and r.headers["location"] == "/login?next=/reports%3Fmonth%3D2026-05"
    )


def test_the_csv_download(site: Site, sign_in: SignIn) -> None:
    travellers(site)
    r = sign_in("viewer").get("/reports.csv?month=2026-05")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == 'attachment; filename="bao-cao-2026-05.csv"'
    assert r.content.startswith(BOM)
    rows = list(csv.reader(io.StringIO(r.content[len(BOM) :].decode("utf-8"))))
    assert rows[0][:3] == ["Kỳ báo cáo", "Cửa khẩu", "Kiosk"] and len(rows) == 6
    lb01 = next(row for row in rows if row[2] == "lb-01")
    assert lb01[13] == "8" and lb01[-6:-1] == ["3", "1", "4", "0", "0"]
    assert sign_in("viewer").get("/reports.csv?year=1999").status_code == 400


def test_the_json_api(site: Site, sign_in: SignIn) -> None:
    travellers(site)
    viewer = sign_in("viewer")
    r = viewer.get("/api/v1/reports?month=2026-05")
    assert r.status_code == 200
    body = r.json()
    assert body["period"]["key"] == "2026-05" and body["period"]["in_progress"] is True
    assert body["total"]["kiosks"] == 5 and body["total"]["sessions"] == 10
    assert [g["gate"] for g in body["gates"]] == ["cha-lo", "la-lay", "lao-bao"]
    assert {a["kind"] for a in body["alerts"]} >= {"offline", "ui_down", "disk_low"}
    assert viewer.get("/api/v1/reports?year=2026").json()["period"]["kind"] == "year"
    bad = viewer.get("/api/v1/reports?month=2026-13")
    assert bad.status_code == 400
    assert bad.json() == {"error": "month 2026-13: use YYYY-MM, e.g. 2026-11"}
    both = viewer.get("/api/v1/reports")
    assert both.status_code == 400 and "month YYYY-MM" in both.json()["error"]
    future = viewer.get("/api/v1/reports?year=2027")
    assert future.status_code == 400 and "has not begun" in future.json()["error"]
    assert sign_in().get("/api/v1/reports?month=2026-05").status_code == 401


def test_the_api_widen_writes_the_publication_log(site: Site, sign_in: SignIn) -> None:
    publisher = sign_in("publisher")
    csrf = publisher.get("/api/v1/me").json()["csrf"]
    r = publisher.post(
        "/api/v1/packs/lao-bao/publish",
        json={"version": 5, "to": ["cha-lo"]},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 200, r.text
    with site.store.engine.connect() as conn:
        rows = conn.execute(select(pack_publications)).all()
    assert len(rows) == 1
    row = rows[0]
    assert (row.pack, row.version, row.widened, row.published_by) == (
        "lao-bao", 5, True, "publisher",
    )  # fmt: skip
    assert row.audience == ["cha-lo", "la-lay"] and len(row.sha256) == 64
