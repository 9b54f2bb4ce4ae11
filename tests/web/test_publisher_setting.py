"""The publisher is a setting (issue 9.6): `bgk server init --publisher-…` names it,
and the reports (text, CSV, page), the dashboard footer and /api/v1/about follow,
without a line of code changing. Run as a DoIC administrator types it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from fastapi.testclient import TestClient
from webkit import PASSWORD

from server.config import load_server_config
from server.store import open_store
from server.web.accounts import add_user
from server.web.app import create_app

NEW_VI = "Sở Văn hóa, Thể thao và Du lịch tỉnh Quảng Trị"
NEW_EN = "Quảng Trị Department of Culture, Sports and Tourism"


def bgk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk.cli", *args], capture_output=True, text=True, timeout=120
    )


def report(data: Path, *more: str) -> str:
    done = bgk("server", "report", "--data", str(data), "--month", "2026-05", *more)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_changing_the_publisher_with_server_init_changes_the_report(tmp_path: Path) -> None:
    keys, data = tmp_path / "keys", tmp_path / "srv"
    assert bgk("keys", "init", str(keys)).returncode == 0
    made = bgk("server", "init", "--data", str(data), "--keys", str(keys),
               "--url", "http://127.0.0.1:9")  # fmt: skip
    assert made.returncode == 0, made.stderr
    # the sample keeps today's wording
    assert report(data).startswith("SỞ THÔNG TIN VÀ TRUYỀN THÔNG TỈNH QUẢNG TRỊ\n")
    before = load_server_config(data)

    changed = bgk("server", "init", "--data", str(data),
                  "--publisher-name-vi", NEW_VI, "--publisher-name-en", NEW_EN,
                  "--publisher-phone", "0233 000 0000", "--publisher-email", "vhttdl@example.vn",
                  "--site-url", "https://kiosk.example.vn/p/")  # fmt: skip
    assert changed.returncode == 0, changed.stderr
    assert NEW_VI in changed.stdout

    text = report(data)
    assert text.startswith(NEW_VI.upper() + "\n") and "THÔNG TIN VÀ TRUYỀN THÔNG" not in text
    assert "Quyết định số 25/2019/QĐ-UBND" in text  # the legal basis was kept
    assert report(data, "--lang", "en").startswith(NEW_EN.upper() + "\n")
    csv_file = tmp_path / "t5.csv"
    report(data, "--csv", str(csv_file))
    header, *_rows = csv_file.read_text(encoding="utf-8-sig").splitlines()
    assert header.endswith(",Đơn vị báo cáo")

    after = load_server_config(data)
    assert after.url == before.url and after.tuf == before.tuf and after.mqtt == before.mqtt
    assert after.site_url == "https://kiosk.example.vn/p"
    assert after.publisher.portal == before.publisher.portal  # untouched fields stay

    store = open_store(after.store_url)
    add_user(store, "guard", "viewer", PASSWORD, now=time.time())
    with TestClient(create_app(after, store=store), follow_redirects=False) as client:
        about = client.get("/api/v1/about").json()  # public: no token needed
        assert about["publisher"]["name"] == {"vi": NEW_VI, "en": NEW_EN}
        assert about["publisher"]["phone"] == "0233 000 0000"
        assert about["site_url"] == "https://kiosk.example.vn/p"
        r = client.post("/login", data={"name": "guard", "password": PASSWORD, "next": "/"})
        assert r.status_code == 303
        page = client.get("/reports?month=2026-05").text
        assert f'<p class="publisher">{NEW_VI.upper()}</p>' in page
        footer = page[page.index('<footer class="site-foot') :]
        assert NEW_VI in footer and "vhttdl@example.vn" in footer
        english = client.get("/?lang=en").text
        assert NEW_EN in english[english.index("<footer") :]
    store.dispose()


def test_bad_publisher_options_are_refused_and_nothing_changes(tmp_path: Path) -> None:
    keys, data = tmp_path / "keys", tmp_path / "srv"
    bgk("keys", "init", str(keys))
    bgk("server", "init", "--data", str(data), "--keys", str(keys), "--url", "http://127.0.0.1:9")
    toml = (data / "server.toml").read_bytes()
    for args, message in [
        (("--publisher-name-vi", " "), "name_vi is missing"),
        (("--publisher-email", "a\nb"), "one line of text"),
        (("--site-url", "ftp://x"), "http:// or https://"),
        (("--publisher-portal", "not a web address"), "not a web address"),
        (("--publisher-name-en", "X", "--url", "http://x"), "give only --publisher"),
    ]:
        done = bgk("server", "init", "--data", str(data), *args)
        assert done.returncode != 0 and message in done.stderr, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1
    assert (data / "server.toml").read_bytes() == toml
    again = bgk("server", "init", "--data", str(data), "--keys", str(keys), "--url", "http://x")
    assert again.returncode != 0 and "already a server data folder" in again.stderr
    fresh = bgk("server", "init", "--data", str(tmp_path / "other"))
    assert fresh.returncode != 0 and "needs --keys DIR and --url URL" in fresh.stderr
