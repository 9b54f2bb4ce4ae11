"""`bgk server report` as DoIC staff type it, on a server data folder whose fleet
was seeded through the real ingest (webkit.py), with a pack published by
`bgk server publish` (which writes the publication log)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from reposim import pack_files, write_built_pack
from sqlalchemy import select
from webkit import T0, Site, make_site, seed_fleet

from kiosk.protocol.payloads import Event
from server.fleet.ingest import IngestWriter, Raw
from server.store.schema import pack_publications

BOM = b"\xef\xbb\xbf"
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def vietnam_month(ts: float) -> str:
    return datetime.fromtimestamp(ts, VIETNAM).strftime("%Y-%m")


def months_ahead(ts: float, n: int) -> str:
    """The month n months after the one `ts` falls in (Vietnam time)."""
    today = datetime.fromtimestamp(ts, VIETNAM)
    index = today.year * 12 + today.month - 1 + n
    return f"{index // 12}-{index % 12 + 1:02d}"


#: a month that has not begun by the clock the command reads (two ahead: the
#: calendar may turn while the test runs)
FUTURE_MONTH = months_ahead(time.time(), 2)


def bgk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk.cli", *args], capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    s = make_site(tmp_path_factory.mktemp("reports"))
    seed_fleet(s, T0, packs=False)
    writer = IngestWriter(s.store, s.cfg.fleet, s.cfg.data)
    data = {"sessions": 12, "seconds": 1500.0, "languages": {"vi": 5, "lo": 6, "zh": 2},
            "pages": {"thu-tuc-xuat-canh": 9, "du-lich": 4}}  # fmt: skip
    event = Event(outbox_id="o1", seq=1, ts=T0 - 600, kind="interaction", data=data)
    writer.write([Raw("bgk/v1/kiosk/lb-01/events", event.to_bytes(), 1, 1, time.monotonic())], T0)
    folder = s.tmp / "built" / "lao-bao-7"
    write_built_pack(folder, pack_files("lao-bao7", 2, 500), "lao-bao", 7)
    published = bgk("server", "publish", str(folder), "--data", str(s.cfg.data),
                    "--keys", str(s.keys), "--to", "lao-bao")  # fmt: skip
    assert published.returncode == 0, published.stderr
    yield s
    s.close()


def test_bgk_server_publish_writes_the_publication_log(site: Site) -> None:
    with site.store.engine.connect() as conn:
        rows = conn.execute(select(pack_publications)).all()
    assert len(rows) == 1
    row = rows[0]
    assert (row.pack, row.version, row.audience, row.widened) == ("lao-bao", 7, ["lao-bao"], False)
    assert row.published_by.endswith("(CLI)") and len(row.sha256) == 64
    assert abs(row.published_at - time.time()) < 600


def test_the_monthly_report_in_vietnamese_and_english(site: Site) -> None:
    data = str(site.cfg.data)
    vi = bgk("server", "report", "--data", data, "--month", "2026-05")
    assert vi.returncode == 0, vi.stderr
    text = vi.stdout
    assert text.startswith("SỞ THÔNG TIN VÀ TRUYỀN THÔNG TỈNH QUẢNG TRỊ\n")
    assert "tháng 05/2026" in text and "Điều 26" in text
    assert "Từ 01/05/2026 đến 31/05/2026" in text
    assert "1. Hoạt động theo cửa khẩu" in text and "Toàn bộ" in text
    assert "lt-02" in text and "chưa từng kết nối" in text
    assert "Không có gói nội dung nào được phát hành trong kỳ." in text
    assert "Tiếng Lào" in text and "thu-tuc-xuat-canh" in text
    assert "mất kết nối lâu" in text  # the offline alert of lt-01
    en = bgk("server", "report", "--data", data, "--month", "2026-05", "--lang", "en")
    assert en.returncode == 0 and "May 2026" in en.stdout and "never connected" in en.stdout
    assert "Lao" in en.stdout and "Hours offline" in en.stdout
    # the month the pack above was published in (Vietnam time, from the publication
    # log the CLI wrote with the same clock) has it; that month is in progress
    # unless the calendar turned since
    with site.store.engine.connect() as conn:
        published_at = conn.execute(select(pack_publications.c.published_at)).scalar_one()
    month = vietnam_month(published_at)
    before = vietnam_month(time.time())
    now = bgk("server", "report", "--data", data, "--month", month, "--json")
    after = vietnam_month(time.time())
    assert now.returncode == 0, now.stderr
    report = json.loads(now.stdout)
    [pub] = report["publications"]
    assert (pub["pack"], pub["version"], pub["audience"]) == ("lao-bao", 7, ["lao-bao"])
    if before == after:
        assert report["period"]["in_progress"] is (month == after)


def test_json_and_csv(site: Site, tmp_path: Path) -> None:
    out = tmp_path / "may.csv"
    done = bgk("server", "report", "--data", str(site.cfg.data), "--month", "2026-05",
               "--json", "--csv", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["period"]["key"] == "2026-05" and not report["period"]["in_progress"]
    assert {g["gate"] for g in report["gates"]} == {"lao-bao", "cha-lo", "la-lay"}
    assert report["total"]["kiosks"] == 5 and report["total"]["sessions"] == 12
    lt01 = next(k for k in report["kiosks"] if k["id"] == "lt-01")
    assert lt01["outages"] == 1 and lt01["never_seen"] is False
    raw = out.read_bytes()
    assert raw.startswith(BOM)
    rows = list(csv.reader(io.StringIO(raw[len(BOM) :].decode("utf-8"))))
    assert rows[0][:5] == ["Kỳ báo cáo", "Cửa khẩu", "Kiosk", "Tính từ", "Đến"]
    assert rows[0][-6:-1] == [f"Lượt sử dụng: {n}" for n in
                              ("Tiếng Việt", "Tiếng Anh", "Tiếng Lào", "Tiếng Thái", "Tiếng Trung")]  # fmt: skip
    assert rows[0][-1] == "Đơn vị báo cáo"
    assert len(rows) == 6 and all(len(r) == len(rows[0]) for r in rows)
    lb01 = next(r for r in rows if r[2] == "lb-01")
    assert lb01[0] == "2026-05" and lb01[1] == "lao-bao"
    assert lb01[3] == "28/05/2026" and lb01[4] == "31/05/2026"
    assert lb01[-6:] == ["5", "0", "6", "0", "2", "Sở Thông tin và Truyền thông tỉnh Quảng Trị"]
    lt02 = next(r for r in rows if r[2] == "lt-02")
    assert lt02[6] == "0.00" and lt02[12] == "chưa từng kết nối"
    english = tmp_path / "may-en.csv"
    bgk("server", "report", "--data", str(site.cfg.data), "--year", "2026", "--lang", "en",
        "--csv", str(english))  # fmt: skip
    assert english.read_bytes().startswith(BOM + b"Period,Gate,Kiosk,Counted from,To,")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--month", "2026-13"), "bgk: error: --month 2026-13: use YYYY-MM, e.g. 2026-11\n"),
        (("--year", "20x6"), "bgk: error: --year 20x6: use YYYY, e.g. 2026\n"),
        (
            ("--month", FUTURE_MONTH),
            f"bgk: error: month {FUTURE_MONTH} has not begun yet (today is ",
        ),
    ],
)
def test_bad_and_future_periods_are_refused_in_one_line(
    site: Site, args: tuple[str, str], message: str
) -> None:
    done = bgk("server", "report", "--data", str(site.cfg.data), *args)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(message) and done.stderr.count("\n") == 1
