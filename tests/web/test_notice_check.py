"""A notice is checked against the fonts of the packs its kiosks play, before it is
sent: in the API, the dashboard form and `bgk server command … notice`. A
character some kiosk would draw as a box is refused and named (with what to type
instead), or sent with an explicit override that the commands record. The
kiosks' answers say how many characters they could not draw, per language."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from fastapi.testclient import TestClient
from noticekit import ack, done, notice_site
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from webkit import PASSWORD, Site

from kiosk.protocol.payloads import CommandAck
from server.fleet.notice_check import check_notice
from server.store.schema import commands
from server.web import sendops
from server.web.app import create_app

FIELD_REPORT = "Đường 9 → đi Đường 12 ⚠ Tạm dừng ① 24h — №5"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, font_cache: Path) -> Iterator[Site]:
    s = notice_site(tmp_path_factory.mktemp("notices"), font_cache)
    s.user("publisher", "publisher")
    yield s
    s.close()


@pytest.fixture
def client(site: Site) -> Iterator[TestClient]:
    app = create_app(site.cfg, store=site.store)
    with TestClient(app, follow_redirects=False) as c:
        r = c.post("/login", data={"name": "publisher", "password": PASSWORD, "next": "/"})
        assert r.status_code == 303
        yield c


def notice_rows(site: Site, text: str) -> list[Any]:
    with site.store.engine.connect() as conn:
        rows = conn.execute(
            select(
                commands.c.kiosk_id, commands.c.args, commands.c.sent_anyway, commands.c.created_by
            ).where(commands.c.op == "notice")
        ).all()
    return [r for r in rows if text in json.dumps(r.args, ensure_ascii=False)]


def test_the_field_report_notice_is_drawn_by_new_packs_not_by_old_ones(site: Site) -> None:
    new = check_notice(site.store, site.cfg, {"vi": FIELD_REPORT}, ["nk-01", "nk-new"])
    assert new.ok and new.unchecked == []
    everyone = check_notice(
        site.store, site.cfg, {"vi": FIELD_REPORT}, ["nk-01", "nk-old", "nk-new"]
    )
    vi = everyone.languages["vi"]
    assert vi.missing == ["→", "⚠", "①"] and vi.kiosks == ["nk-old"] and vi.packs == ["mini v1"]
    message = everyone.refusal("--send-anyway")
    assert '→ (U+2192 RIGHTWARDS ARROW, try "->")' in message and "① (U+2460" in message
    assert "(1)" in message and "--send-anyway" in message
    # the languages not written, and what those travellers read instead
    assert everyone.absent == {"en": "vi", "lo": "vi", "th": "vi", "zh": "vi"}


def test_a_chinese_character_outside_the_kept_set_is_named(site: Site) -> None:
    check = check_notice(
        site.store, site.cfg, {"zh": "道路关闭 鬱", "en": "Road closed"}, ["nk-01"]
    )
    assert check.languages["zh"].missing == ["鬱"] and not check.languages["en"].missing
    assert (
        "鬱 (U+9B31 CJK UNIFIED IDEOGRAPH-9B31, leave it out or say it in words)" in check.refusal()
    )
    # variation selectors and skin tones are never drawn: they never count
    assert check_notice(site.store, site.cfg, {"en": "⚠️ 👍🏽 ok"}, ["nk-01"]).ok


def test_the_api_refuses_with_the_characters_and_sends_with_the_override(
    site: Site, client: TestClient
) -> None:
    csrf = client.get("/api/v1/me").json()["csrf"]
    headers = {"X-CSRF-Token": csrf}
    body = {"text": {"vi": "Đóng cửa ⚠", "zh": "关闭 鬱"}, "to": ["lao-bao"], "minutes": 30}
    r = client.post("/api/v1/notices/check", json=body, headers=headers)
    assert r.status_code == 200
    found = r.json()
    assert found["ok"] is False and found["languages"]["zh"]["missing"][0]["code"] == "U+9B31"
    assert found["languages"]["vi"]["kiosks"] == ["nk-old"] and found["absent"]["lo"] == "vi"
    r = client.post("/api/v1/notices", json=body, headers=headers)
    assert r.status_code == 409
    assert "鬱" in r.json()["error"] and '"send_anyway": true' in r.json()["error"]
    assert notice_rows(site, "关闭 鬱") == []  # nothing was queued
    r = client.post("/api/v1/notices", json={**body, "send_anyway": True}, headers=headers)
    assert r.status_code == 202 and len(r.json()["commands"]) == 3
    recorded = {row.kiosk_id: row.sent_anyway for row in notice_rows(site, "关闭 鬱")}
    assert recorded == {
        "nk-01": {"zh": "鬱"},
        "nk-new": {"zh": "鬱"},
        "nk-old": {"vi": "⚠", "zh": "鬱"},
    }


def test_the_cli_refuses_names_the_character_and_sends_with_send_anyway(
    site: Site, font_cache: Path
) -> None:
    def command(*extra: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "XDG_CACHE_HOME": str(font_cache.parents[1])}
        return subprocess.run(
            [sys.executable, "-m", "kiosk.cli", "server", "command", "--data", str(site.cfg.data),
             "--kiosk", "nk-old", "notice", "--text", f"vi={FIELD_REPORT}", *extra],
            capture_output=True, text=True, env=env, timeout=120,
        )  # fmt: skip

    refused = command()
    assert refused.returncode != 0 and refused.stdout == ""
    line = refused.stderr.strip().splitlines()[-1]
    assert "→ (U+2192 RIGHTWARDS ARROW" in line and "--send-anyway" in line and "mini v1" in line
    assert notice_rows(site, FIELD_REPORT) == []
    sent = command("--send-anyway")
    assert sent.returncode == 0, sent.stderr
    assert "queued" in sent.stdout and "no en text: they read it in vi" in sent.stderr
    rows = notice_rows(site, FIELD_REPORT)
    assert [(r.kiosk_id, r.sent_anyway, r.created_by) for r in rows] == [
        ("nk-old", {"vi": "→⚠①"}, f"{getpass.getuser()} (CLI)")  # the system user who sent it
    ]


def test_the_form_refuses_until_send_anyway_is_ticked(site: Site, client: TestClient) -> None:
    page = client.get("/notices?lang=en").text
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    form = {
        "csrf": csrf,
        "text_vi": "Mưa lớn ⛔ 鬱",
        "to": "lao-bao",
        "minutes": "30",
        "level": "urgent",
    }
    checked = client.post("/notices?lang=en", data={**form, "action": "check"})
    assert checked.status_code == 200 and "form-errors" not in checked.text
    assert "Lao travellers will see the Vietnamese text" in checked.text
    assert "U+9B31" in checked.text and 'name="send_anyway"' in checked.text
    assert notice_rows(site, "Mưa lớn") == []
    refused = client.post("/notices?lang=en", data=form)
    assert refused.status_code == 400 and "tick “Send anyway”" in refused.text
    sent = client.post("/notices?lang=en", data={**form, "send_anyway": "1"})
    assert sent.status_code == 303 and sent.headers["location"] == "/notices?queued=3"
    assert {r.created_by for r in notice_rows(site, "Mưa lớn")} == {"publisher"}


def test_the_kiosks_answers_say_what_was_drawn(site: Site, client: TestClient) -> None:
    now = __import__("time").time()
    queued = sendops.send_notice(
        site.store, site.cfg, {"vi": "Thông báo ①", "lo": "ແຈ້ງ ①"}, ["lao-bao"],
        minutes=30, by="publisher", now=now, send_anyway=True,
    )  # fmt: skip
    by_kiosk = {q.kiosk_id: q.cmd_id for q in queued}
    ack(site, "nk-01", by_kiosk["nk-01"], done(by_kiosk["nk-01"], {"vi": 0, "lo": 0}))
    ack(site, "nk-old", by_kiosk["nk-old"], done(by_kiosk["nk-old"], {"vi": 1, "lo": 1}))
    ack(site, "nk-new", by_kiosk["nk-new"], done(by_kiosk["nk-new"], None))  # older software
    notice = next(
        n for n in sendops.recent_notices(site.store, now + 1) if "ແຈ້ງ ①" in n.text.values()
    )
    assert notice.missing_glyphs == {"vi": 1, "lo": 1} and notice.glyph_reports == 2
    assert notice.sent_anyway == {"vi": "①", "lo": "①"}
    page = client.get("/notices?lang=en").text
    row = page[page.index(f'data-notice="{notice.id}"') :].split("</tr>")[0]
    assert "Lao: 1 not drawn" in row and "sent anyway without: ① ①" in row
    vi_page = client.get("/notices?lang=vi").text
    assert "tiếng Lào: 1 ký tự không vẽ được" in vi_page


def test_the_ack_field_is_optional_both_ways() -> None:
    """An old kiosk's ack (no field) parses; a new ack parses on an old server."""

    class OldAck(BaseModel):  # CommandAck as servers before this field had it
        model_config = ConfigDict(strict=True, extra="ignore", frozen=True)
        cmd_id: str
        state: Literal["accepted", "done", "failed"]
        reason: str | None = None
        ts: float | None = None

    old = b'{"cmd_id":"c1","state":"done","reason":"notice shown","ts":1.0}'
    assert CommandAck.model_validate_json(old).missing_glyphs is None
    new = CommandAck(cmd_id="c1", state="done", reason="notice shown", missing_glyphs={"lo": 0})
    assert OldAck.model_validate_json(new.to_bytes()).state == "done"
    with pytest.raises(ValueError):
        CommandAck.model_validate_json(b'{"cmd_id":"c1","state":"done","missing_glyphs":{"xx":1}}')
