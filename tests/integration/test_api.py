"""The JSON API (/api/v1) on a real server data folder and fleet store:
who may read and change what, commands and notices queued signed for the
running server to send, screenshots, packs published wider, clear errors."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from fleetkit import own_database
from sqlalchemy import select

from kiosk.protocol.payloads import Command, Heartbeat, PackRef, Status, UiState
from server.broker.registry import KioskRegistry
from server.config import ServerConfig
from server.fleet.ingest import IngestWriter, Raw
from server.fleet.sweeper import Sweeper
from server.store import Store, open_store
from server.store.schema import audit_log, commands, screenshots
from server.web import accounts as acc
from server.web.app import create_app
from server.web.auth import SESSION_COOKIE

PW = "một mật khẩu dài"


@dataclass
class Site:
    cfg: ServerConfig
    store: Store
    clock: list[float]
    tokens: dict[str, str]

    def client(self, role: str | None = None, cfg: ServerConfig | None = None) -> TestClient:
        app = create_app(cfg or self.cfg, store=self.store, clock=lambda: self.clock[0])
        client = TestClient(app)
        if role:
            client.headers["Authorization"] = f"Bearer {self.tokens[role]}"
        return client


def heartbeat(seq: int, now: float, *, ui: bool = True) -> bytes:
    return Heartbeat(
        boot_id="b1", seq=seq, ts=now, period=30, uptime=100.0,
        pack=PackRef(id="mini", version=1, hash="c" * 64),
        ui=UiState(alive=ui, screen="home" if ui else None), temp=51.0,
        disk_free=6 * 10**9, time_floor=now - 100, stale=False,
    ).to_bytes()  # fmt: skip


@pytest.fixture
def site(tmp_path: Path, store_url: str, built_mini: Path) -> Iterator[Site]:
    from server.broker.pki import ensure_fleet_keys
    from server.datadir import init_data_dir
    from server.packs.keys import init_keyset
    from server.packs.publish import publish_pack
    from server.packs.signing import open_repository, utcnow

    init_keyset(tmp_path / "keys")
    with own_database(store_url) as url:
        cfg = init_data_dir(tmp_path / "data", tmp_path / "keys", "http://127.0.0.1:9", utcnow)
        cfg = replace(cfg, store_url=url)
        ensure_fleet_keys(cfg.data, ["127.0.0.1"])
        repo = open_repository(cfg, ("targets",), now=utcnow)
        publish_pack(repo, cfg.blob_dir, built_mini, ["lao-bao"], utcnow)
        store = open_store(url)
        now = time.time()
        registry = KioskRegistry(store)
        registry.add("lb-01", "lao-bao", (), now)
        registry.add("lb-02", "lao-bao", ("north",), now)
        registry.add("cc-01", "cha-lo", ("north",), now)
        writer = IngestWriter(store, cfg.fleet, cfg.data)
        mono = time.monotonic()
        writer.write(
            [
                Raw("bgk/v1/kiosk/lb-01/status", Status(online=True, boot_id="b1", seq0=1).to_bytes(), 1, 1, mono),
                Raw("bgk/v1/kiosk/lb-01/hb", heartbeat(1, now), 0, 0, mono),
                Raw("bgk/v1/kiosk/lb-02/status", Status(online=True, boot_id="b1", seq0=1).to_bytes(), 1, 2, mono),
                Raw("bgk/v1/kiosk/lb-02/hb", heartbeat(1, now, ui=False), 0, 0, mono),
            ],
            now,
        )  # fmt: skip
        Sweeper(store, cfg.fleet, cfg.data).sweep(now)  # raises the alerts
        tokens = {}
        for role in ("viewer", "publisher", "admin"):
            acc.add_user(store, role, role, PW, now=now)
            tokens[role] = acc.create_token(store, role, now=now)
        yield Site(cfg, store, [now], tokens)
        store.dispose()


def test_reading_needs_a_valid_token_and_gets_the_fleet(site: Site) -> None:
    anon = site.client()
    r = anon.get("/api/v1/kiosks")
    assert r.status_code == 401 and "token create" in r.json()["error"]
    assert r.headers["www-authenticate"] == "Bearer"
    anon.headers["Authorization"] = "Bearer bgk_wrong"
    assert anon.get("/api/v1/kiosks").status_code == 401
    r = site.client("viewer").get("/api/v1/kiosks")
    assert r.status_code == 200
    by_id = {k["id"]: k for k in r.json()}
    assert set(by_id) == {"lb-01", "lb-02", "cc-01"}
    assert by_id["lb-01"]["state"] == "online" and by_id["lb-01"]["pack_version"] == 1
    assert by_id["lb-02"]["ui_alive"] is False
    assert by_id["cc-01"]["state"] == "offline" and by_id["cc-01"]["reason"] == "never seen"
    assert site.client("viewer").get("/api/v1/me").json()["role"] == "viewer"


def test_a_kiosk_its_alerts_and_unknown_ones(site: Site) -> None:
    viewer = site.client("viewer")
    one = viewer.get("/api/v1/kiosks/lb-01").json()
    assert one["gate"] == "lao-bao" and one["screenshot"] is None and one["commands"] == []
    assert one["events"] == [] and one["last_7_days"]["up_pct"] is None  # enrolled just now
    site.clock[0] += 600  # ten minutes later, online all along
    week = viewer.get("/api/v1/kiosks/lb-01").json()["last_7_days"]
    assert week["up_pct"] == pytest.approx(100.0) and week["outages"] == 0
    r = viewer.get("/api/v1/kiosks/nope")
    assert r.status_code == 404 and "nope" in r.json()["error"]
    r = viewer.get("/api/v1/kiosks/lb-01/screenshot")
    assert r.status_code == 404 and "screenshot" in r.json()["error"]
    alerts = viewer.get("/api/v1/alerts").json()
    assert {(a["kiosk_id"], a["kind"]) for a in alerts} >= {("lb-02", "ui_down")}
    assert all(a["open"] for a in alerts)


def test_viewers_cannot_send_commands_publishers_can_and_they_are_signed(site: Site) -> None:
    r = site.client("viewer").post("/api/v1/kiosks/lb-01/commands", json={"op": "reboot"})
    assert r.status_code == 403 and "publisher" in r.json()["error"]
    r = site.client("publisher").post(
        "/api/v1/kiosks/lb-01/commands", json={"op": "screenshot", "args": {"max_width": 640}}
    )
    assert r.status_code == 202, r.text
    cmd_id = r.json()["cmd_id"]
    with site.store.engine.connect() as conn:
        row = conn.execute(select(commands).where(commands.c.cmd_id == cmd_id)).one()
    assert row.state == "queued" and row.created_by == "publisher" and row.kiosk_id == "lb-01"
    signed = Command.model_validate_json(row.payload)
    assert signed.sig and signed.op == "screenshot" and signed.args == {"max_width": 640}
    listed = site.client("viewer").get("/api/v1/kiosks/lb-01/commands").json()
    assert [c["cmd_id"] for c in listed] == [cmd_id]


@pytest.mark.parametrize(
    ("path", "body", "status", "words"),
    [
        ("/api/v1/kiosks/ghost/commands", {"op": "reboot"}, 404, "ghost"),
        ("/api/v1/kiosks/lb-01/commands", {"op": "format-disk"}, 422, "op"),
        ("/api/v1/kiosks/lb-01/commands", {"op": "reboot", "args": {"now": 1}}, 400, "no args"),
        ("/api/v1/kiosks/lb-01/commands", {"op": "reboot", "ttl_s": 1}, 422, "ttl_s"),
        ("/api/v1/notices", {"text": {}, "to": ["all"]}, 400, "at least one language"),
        ("/api/v1/notices", {"text": {"fr": "Bonjour"}, "to": ["all"]}, 400, "unknown language"),
        ("/api/v1/notices", {"text": {"vi": "x"}, "to": ["nowhere"]}, 400, "no enrolled kiosk"),
        ("/api/v1/notices", {"text": {"vi": "x"}, "to": ["all"], "minutes": 0}, 422, "minutes"),
    ],
)
def test_wrong_requests_say_what_is_wrong(
    site: Site, path: str, body: dict[str, object], status: int, words: str
) -> None:
    r = site.client("publisher").post(path, json=body)
    assert r.status_code == status, r.text
    assert words in r.json()["error"]
    with site.store.engine.connect() as conn:
        assert conn.execute(select(commands)).first() is None


def test_a_notice_goes_to_every_kiosk_of_its_audience(site: Site) -> None:
    body = {"text": {"vi": "Cửa khẩu đóng lúc 17:00", "en": "The gate closes at 17:00"}}
    r = site.client("publisher").post(
        "/api/v1/notices", json={**body, "to": ["north"], "minutes": 30}
    )
    assert r.status_code == 202, r.text
    assert sorted(c["kiosk_id"] for c in r.json()["commands"]) == ["cc-01", "lb-02"]
    with site.store.engine.connect() as conn:
        rows = conn.execute(select(commands)).all()
    args = [Command.model_validate_json(row.payload).args for row in rows]
    assert all(a["text"]["vi"] == "Cửa khẩu đóng lúc 17:00" for a in args)
    assert all(abs(a["expires"] - (site.clock[0] + 1800)) < 1 for a in args)
    r = site.client("publisher").post("/api/v1/notices", json={**body, "to": ["all"]})
    assert len(r.json()["commands"]) == 3
    # one person: every gate for at most 6 hours; longer needs two people (a pack)
    long = {**body, "to": ["all"], "minutes": 6 * 60 + 1}
    r = site.client("publisher").post("/api/v1/notices", json=long)
    assert r.status_code == 400 and "needs two people" in r.json()["error"]
    # naming every gate, or a group that spans them (north: lao-bao and cha-lo), is every gate
    for every in (["lao-bao", "cha-lo"], ["north"], ["lao-bao", "north"]):
        r = site.client("publisher").post("/api/v1/notices", json={**long, "to": every})
        assert r.status_code == 400 and "needs two people" in r.json()["error"], every
    r = site.client("publisher").post("/api/v1/notices", json={**long, "to": ["lao-bao"]})
    assert r.status_code == 202, r.text
    with site.store.engine.connect() as conn:
        sent = conn.execute(
            select(audit_log.c.actor, audit_log.c.action).where(audit_log.c.action == "notice.sent")
        ).all()
    assert [tuple(row) for row in sent] == [("publisher", "notice.sent")] * 3


def test_screenshots_are_served_to_viewers(site: Site) -> None:
    shots = site.cfg.data / "screenshots" / "lb-01"
    shots.mkdir(parents=True)
    (shots / "a.jpg").write_bytes(b"\xff\xd8\xff\xe0fake-jpeg")
    with site.store.engine.begin() as conn:
        conn.execute(
            screenshots.insert().values(
                kiosk_id="lb-01", cmd_id="c1", taken_at=site.clock[0] - 5,
                received_at=site.clock[0], width=960, height=540, screen="home",
                path="screenshots/lb-01/a.jpg", size=17,
            )
        )  # fmt: skip
    viewer = site.client("viewer")
    detail = viewer.get("/api/v1/kiosks/lb-01").json()
    assert detail["screenshot"]["url"] == "/api/v1/kiosks/lb-01/screenshot"
    assert detail["screenshot"]["screen"] == "home"
    r = viewer.get(detail["screenshot"]["url"])
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert r.content.startswith(b"\xff\xd8")


def test_packs_are_listed_and_published_wider_only_with_the_targets_key(site: Site) -> None:
    packs = site.client("viewer").get("/api/v1/packs").json()
    assert [(p["pack"], p["version"], p["to"]) for p in packs] == [("mini", 1, ["lao-bao"])]
    offline = replace(site.cfg, tuf=replace(site.cfg.tuf, offline_keys=None))
    r = site.client("publisher", cfg=offline).post(
        "/api/v1/packs/mini/publish", json={"version": 1, "to": ["all"]}
    )
    assert r.status_code == 400 and "bgk server publish" in r.json()["error"]
    r = site.client("publisher").post(
        "/api/v1/packs/mini/publish", json={"version": 7, "to": ["all"]}
    )
    assert r.status_code == 404
    assert (
        site.client("viewer")
        .post("/api/v1/packs/mini/publish", json={"version": 1, "to": ["all"]})
        .status_code
        == 403
    )
    r = site.client("publisher").post(
        "/api/v1/packs/mini/publish", json={"version": 1, "to": ["all"]}
    )
    assert r.status_code == 200, r.text
    packs = site.client("viewer").get("/api/v1/packs").json()
    assert [(p["version"], sorted(p["to"])) for p in packs] == [(1, ["all"])]
    r = site.client("publisher").post(
        "/api/v1/packs/mini/publish", json={"version": 1, "to": ["all"]}
    )
    assert r.status_code == 400 and "already published" in r.json()["error"]


def test_a_dashboard_session_needs_its_csrf_token_to_change_anything(site: Site) -> None:
    cookie, session = acc.start_session(
        site.store, acc.User("publisher", "publisher"), now=site.clock[0]
    )
    browser = site.client()
    browser.cookies.set(SESSION_COOKIE, cookie)
    assert browser.get("/api/v1/kiosks").status_code == 200
    assert browser.get("/api/v1/me").json()["csrf"] == session.csrf
    r = browser.post("/api/v1/kiosks/lb-01/commands", json={"op": "resync"})
    assert r.status_code == 403 and "reload" in r.json()["error"]
    r = browser.post(
        "/api/v1/kiosks/lb-01/commands",
        json={"op": "resync"},
        headers={"X-CSRF-Token": session.csrf},
    )
    assert r.status_code == 202
    site.clock[0] += acc.SESSION_S + 1
    assert browser.get("/api/v1/kiosks").status_code == 401


def test_revoked_tokens_and_disabled_users_lose_access(site: Site) -> None:
    admin = site.client("admin")
    assert admin.get("/api/v1/kiosks").status_code == 200
    acc.disable_user(site.store, "admin", now=site.clock[0])
    assert admin.get("/api/v1/kiosks").status_code == 401
    [viewer_token] = acc.list_tokens(site.store, "viewer")
    acc.revoke_token(site.store, viewer_token.prefix, now=site.clock[0])
    assert site.client("viewer").get("/api/v1/kiosks").status_code == 401


def test_the_report_names_pages_by_the_published_packs_titles(site: Site) -> None:
    from server.reports.period import parse_period
    from server.reports.report import server_report

    r = site.client("viewer").get("/api/v1/reports", params={"month": time.strftime("%Y-%m")})
    assert r.status_code == 200, r.text
    titles = r.json()["page_titles"]
    assert set(titles) == {"welcome", "help"}  # the pages of the published pack "mini"
    assert all(set(t) == {"vi", "en", "lo", "th", "zh"} for t in titles.values())
    report = server_report(
        site.cfg, site.store, parse_period(time.strftime("%Y-%m"), None), site.clock[0]
    )
    assert report.page_title("welcome", "lo") == titles["welcome"]["lo"]
    assert report.page_title("unknown-page", "vi") == "unknown-page"  # no title: its id


def test_healthz_is_not_ok_when_a_part_is_not(site: Site) -> None:
    import datetime as dt

    class Ingest:
        name = "fleet ingest"

        def __init__(self, ok: bool) -> None:
            self.ok = ok

        def health(self) -> dict[str, object]:
            return {"ok": self.ok, "mqtt": "connected" if self.ok else "disconnected"}

    client = site.client()
    client.app.state.services = [Ingest(True)]  # type: ignore[attr-defined]
    body = client.get("/healthz").json()
    assert body["ok"] is True and body["fleet_ingest"]["mqtt"] == "connected"
    client.app.state.services = [Ingest(False)]  # type: ignore[attr-defined]
    body = client.get("/healthz").json()
    assert body["ok"] is False and body["tuf"]["ok"] is True
    month_later = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)  # the online roles expired
    later = create_app(site.cfg, store=site.store, now=lambda: month_later)
    body = TestClient(later).get("/healthz").json()
    assert body["ok"] is False and "refresher" in body["tuf"]["error"]


def test_a_notice_is_followed_and_withdrawn_from_the_screens_it_reached(site: Site) -> None:
    publisher = site.client("publisher")
    body = {
        "text": {"vi": "Cửa khẩu tạm đóng", "en": "Gate closed"},
        "to": ["north"],
        "minutes": 30,
    }
    assert publisher.post("/api/v1/notices", json=body).status_code == 202
    [sent] = site.client("viewer").get("/api/v1/notices").json()
    assert (sent["kiosks"], sent["shown"], sent["waiting"], sent["active"]) == (2, 0, 2, True)
    assert sent["text"]["vi"] == "Cửa khẩu tạm đóng" and sent["by"] == "publisher"
    path = f"/api/v1/notices/{sent['id']}/withdraw"
    assert site.client("viewer").post(path).status_code == 403
    r = publisher.post(path)
    assert r.status_code == 202, r.text
    assert sorted(c["kiosk_id"] for c in r.json()["commands"]) == ["cc-01", "lb-02"]
    with site.store.engine.connect() as conn:
        rows = conn.execute(select(commands).where(commands.c.created_by == "publisher")).all()
    withdrawals = [Command.model_validate_json(row.payload).args for row in rows]
    withdrawals = [a for a in withdrawals if not a["text"]]
    assert len(withdrawals) == 2 and all(a["id"] == sent["id"] for a in withdrawals)
    [after] = site.client("viewer").get("/api/v1/notices").json()
    assert after["active"] is False and after["withdrawn_at"] and after["kiosks"] == 2
    again = publisher.post(path)
    assert again.status_code == 400 and "already withdrawn" in again.json()["error"]
    assert publisher.post("/api/v1/notices/n404/withdraw").status_code == 404


def test_the_status_says_who_must_act(site: Site) -> None:
    """A wrong request is 4xx; a server that is not set up is 503 (the operator must
    act, server.errors.OperatorMustAct), not "400: your request" as it once was."""
    assert site.client("viewer").get("/api/v1/kiosks/nobody").status_code == 404
    moved = site.cfg.tuf_dir.with_name("tuf-moved-away")
    site.cfg.tuf_dir.rename(moved)
    try:
        r = site.client("viewer").get("/api/v1/packs")
        assert r.status_code == 503, r.text
        assert "holds no TUF repository" in r.json()["error"] and "bgk server init" in r.text
        assert r.headers["cache-control"] == "no-store"
    finally:
        moved.rename(site.cfg.tuf_dir)
    assert site.client("viewer").get("/api/v1/packs").status_code == 200
