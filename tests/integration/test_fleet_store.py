"""The fleet's store logic on SQLite and PostgreSQL: idempotent history, latest
state, presence, alerts raised and cleared, command acks, retention, the view."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from kiosk.protocol.payloads import CommandAck, Event, Heartbeat, PackRef, Status, UiState
from server.broker.registry import KioskRegistry
from server.fleet.ingest import IngestWriter, Raw
from server.fleet.sweeper import Sweeper
from server.fleet.view import fleet_view, render_table
from server.fleet_settings import FleetSettings
from server.store import Store
from server.store.schema import alerts, commands, heartbeats, kiosk_events, presence

T0 = 1_780_000_000.0  # 28/05/2026 20:26:40 UTC
CFG = FleetSettings(
    offline_alert_s=300,
    disk_low_mb=500,
    temp_high_c=80,
    hb_retention_days=30,
    event_retention_days=400,
)


def hb(
    seq: int,
    *,
    boot: str = "b1",
    ts: float = T0,
    ui: bool = True,
    disk: int = 8 * 10**9,
    temp: float = 55.0,
    stale: bool = False,
    version: int = 3,
) -> bytes:
    return Heartbeat(
        boot_id=boot, seq=seq, ts=ts, period=30, uptime=seq * 30.0,
        pack=PackRef(id="lao-bao", version=version, hash="c" * 64),
        ui=UiState(alive=ui, screen="home" if ui else None), temp=temp, disk_free=disk,
        time_floor=T0 - 100, stale=stale,
    ).to_bytes()  # fmt: skip


def raw(kiosk: str, kind: str, payload: bytes, qos: int = 0) -> Raw:
    return Raw(f"bgk/v1/kiosk/{kiosk}/{kind}", payload, qos, 1, time.monotonic())


def rows(store: Store, table: Any, kiosk: str) -> int:
    with store.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(table).where(table.c.kiosk_id == kiosk)
            ).scalar_one()
        )


def open_alerts(store: Store, kiosk: str) -> set[str]:
    with store.engine.connect() as conn:
        return set(
            conn.execute(
                select(alerts.c.kind).where(
                    alerts.c.kiosk_id == kiosk, alerts.c.closed_at.is_(None)
                )
            ).scalars()
        )


def test_history_is_idempotent_and_the_latest_state_never_goes_back(
    store: Store, tmp_path: Path
) -> None:
    w = IngestWriter(store, CFG, tmp_path)
    w.write([raw("k1", "hb", hb(1)), raw("k1", "hb", hb(2, ts=T0 + 30))], T0 + 31)
    # QoS 1 redelivers, and a late copy of an older heartbeat arrives after a newer one
    w.write([raw("k1", "hb", hb(2, ts=T0 + 30)), raw("k1", "hb", hb(1))], T0 + 32)
    w.write([raw("k1", "hb", hb(3, ts=T0 + 60, version=4))], T0 + 61)
    w.write([raw("k1", "hb", hb(2, ts=T0 + 30, version=3))], T0 + 62)
    assert rows(store, heartbeats, "k1") == 3
    with store.engine.connect() as conn:
        from server.store.schema import kiosk_state

        state = conn.execute(select(kiosk_state).where(kiosk_state.c.kiosk_id == "k1")).one()
    assert state.hb_seq == 3 and state.pack_version == 4 and state.state == "online"
    # a reboot restarts seq under a new boot id: kept, not mistaken for a duplicate
    w.write([raw("k1", "hb", hb(1, boot="b2", ts=T0 + 90))], T0 + 91)
    assert rows(store, heartbeats, "k1") == 4
    # events too: (kiosk, outbox, seq) identifies one
    ev = Event(
        outbox_id="o1", seq=1, ts=T0, kind="install", data={"pack": "lao-bao", "version": 4}
    ).to_bytes()
    w.write([raw("k1", "events", ev, 1), raw("k1", "events", ev, 1)], T0 + 92)
    w.write([raw("k1", "events", ev, 1)], T0 + 93)
    assert rows(store, kiosk_events, "k1") == 1


def test_state_from_status_lwt_and_heartbeat_age_with_presence_logged_once(
    store: Store, tmp_path: Path
) -> None:
    w = IngestWriter(store, CFG, tmp_path)
    sweepers = [
        Sweeper(store, CFG, tmp_path),
        Sweeper(store, CFG, tmp_path),
    ]  # two server processes
    w.write(
        [raw("k2", "status", Status(online=True, boot_id="b1", seq0=1, hb_s=30).to_bytes(), 1)], T0
    )
    w.write([raw("k2", "hb", hb(1))], T0 + 1)

    def state_at(now: float) -> str:
        for s in sweepers:
            s.sweep(now)
        view = {v.id: v for v in fleet_view(store, now, CFG)}
        return view["k2"].state if "k2" in view else fleet_state(store, "k2")

    assert state_at(T0 + 20) == "online"
    assert state_at(T0 + 1 + 60) == "stale"  # late: > 1.5 periods + 5 s
    assert state_at(T0 + 1 + 120) == "offline"  # silent: > 3 periods + 10 s
    w.write([raw("k2", "hb", hb(2, ts=T0 + 130))], T0 + 130)
    assert state_at(T0 + 131) == "online"
    w.write(
        [raw("k2", "status", Status(online=False, boot_id="b1", seq0=1).to_bytes(), 1)], T0 + 140
    )  # the LWT
    assert fleet_state(store, "k2") == "offline"  # at once, not at the next sweep
    assert state_at(T0 + 141) == "offline"
    w.write(
        [
            raw("k2", "hb", hb(1, boot="b3", ts=T0 + 200, stale=True)),
            raw("k2", "status", Status(online=True, boot_id="b3", seq0=1).to_bytes(), 1),
        ],
        T0 + 200,
    )
    assert state_at(T0 + 201) == "stale"  # connected, but its pack metadata expired
    with store.engine.connect() as conn:
        log = [
            r.state
            for r in conn.execute(
                select(presence.c.state).where(presence.c.kiosk_id == "k2").order_by(presence.c.id)
            )
        ]
    assert log == ["online", "stale", "offline", "online", "offline", "stale"]


def fleet_state(store: Store, kiosk: str) -> str:
    from server.store.schema import kiosk_state

    with store.engine.connect() as conn:
        return str(
            conn.execute(
                select(kiosk_state.c.state).where(kiosk_state.c.kiosk_id == kiosk)
            ).scalar_one()
        )


def test_alerts_are_raised_and_cleared_with_their_condition(store: Store, tmp_path: Path) -> None:
    w = IngestWriter(store, CFG, tmp_path)
    s = Sweeper(store, CFG, tmp_path)
    w.write([raw("k3", "hb", hb(1, ui=False, disk=100 * 2**20, temp=85.0))], T0)
    s.sweep(T0 + 1)
    assert open_alerts(store, "k3") == {"ui_down", "disk_low", "temp_high"}
    s.sweep(T0 + 2)  # still true: nothing new opened
    with store.engine.connect() as conn:
        assert (
            conn.execute(
                select(func.count()).select_from(alerts).where(alerts.c.kiosk_id == "k3")
            ).scalar_one()
            == 3
        )
    rejected = Event(
        outbox_id="o",
        seq=1,
        ts=T0 + 3,
        kind="rejected",
        data={"pack": "lao-bao", "version": 5, "message": "bad hash"},
    )
    w.write(
        [raw("k3", "hb", hb(2, ts=T0 + 3)), raw("k3", "events", rejected.to_bytes(), 1)], T0 + 3
    )
    s.sweep(T0 + 4)
    assert open_alerts(store, "k3") == {"pack_rejected"}
    committed = Event(
        outbox_id="o", seq=2, ts=T0 + 5, kind="commit", data={"pack": "lao-bao", "version": 6}
    )
    w.write([raw("k3", "events", committed.to_bytes(), 1)], T0 + 5)
    s.sweep(T0 + 6)
    assert open_alerts(store, "k3") == set()
    # offline longer than offline_alert_s: the LWT, then the alert once 300 s passed
    w.write(
        [raw("k3", "status", Status(online=False, boot_id="b1", seq0=1).to_bytes(), 1)], T0 + 10
    )
    s.sweep(T0 + 200)
    assert open_alerts(store, "k3") == set()
    s.sweep(T0 + 311)
    assert open_alerts(store, "k3") == {"offline"}
    w.write(
        [
            raw("k3", "status", Status(online=True, boot_id="b9", seq0=1).to_bytes(), 1),
            raw("k3", "hb", hb(1, boot="b9", ts=T0 + 400)),
        ],
        T0 + 400,
    )
    s.sweep(T0 + 401)
    assert open_alerts(store, "k3") == set()
    with store.engine.connect() as conn:
        closed = conn.execute(
            select(func.count())
            .select_from(alerts)
            .where(alerts.c.kiosk_id == "k3", alerts.c.closed_at.is_not(None))
        ).scalar_one()
    assert closed == 5


def test_command_acks_expiry_and_retention(store: Store, tmp_path: Path) -> None:
    w = IngestWriter(store, CFG, tmp_path)
    s = Sweeper(store, CFG, tmp_path)
    with store.engine.begin() as conn:
        for cmd_id, exp in (("c-done", T0 + 600), ("c-late", T0 + 60)):
            conn.execute(
                insert(commands).values(
                    cmd_id=cmd_id,
                    kiosk_id="k4",
                    op="resync",
                    args={},
                    created_at=T0,
                    exp=exp,
                    payload=b"{}",
                    state="sent",
                )
            )
    done = CommandAck(cmd_id="c-done", state="done", reason="sync started").to_bytes()
    accepted = CommandAck(cmd_id="c-done", state="accepted").to_bytes()
    forged = CommandAck(cmd_id="c-late", state="done").to_bytes()
    w.write([raw("k4", "cmd/ack", done, 1)], T0 + 1)
    w.write(
        [raw("k4", "cmd/ack", accepted, 1), raw("k5", "cmd/ack", forged, 1)], T0 + 2
    )  # late / another kiosk's
    s.sweep(T0 + 100)
    with store.engine.connect() as conn:
        states = dict(conn.execute(select(commands.c.cmd_id, commands.c.state)).all())
    assert states == {"c-done": "done", "c-late": "expired"}

    day = 86400.0
    w.write([raw("k4", "hb", hb(1, ts=T0))], T0)
    w.write([raw("k4", "hb", hb(2, ts=T0 + 40 * day))], T0 + 40 * day)
    w.write(
        [raw("k4", "events", Event(outbox_id="o", seq=1, ts=T0, kind="error").to_bytes(), 1)], T0
    )
    assert rows(store, heartbeats, "k4") == 2
    s.retention(T0 + 41 * day)  # heartbeats are kept 30 days, events 400
    assert rows(store, heartbeats, "k4") == 1 and rows(store, kiosk_events, "k4") == 1
    s.retention(T0 + 401 * day)
    assert rows(store, kiosk_events, "k4") == 0


def test_the_technicians_view_in_vietnamese_and_english(store: Store, tmp_path: Path) -> None:
    reg = KioskRegistry(store)
    reg.add("vw-lb-01", "lao-bao", (), T0)
    reg.add("vw-lb-02", "lao-bao", (), T0)
    reg.add("vw-cl-01", "cha-lo", (), T0)
    w = IngestWriter(store, CFG, tmp_path)
    w.write([raw("vw-lb-01", "hb", hb(1, ui=False))], T0)
    Sweeper(store, CFG, tmp_path).sweep(T0 + 1)
    views = fleet_view(store, T0 + 2, CFG)
    assert [v.id for v in views] == ["vw-cl-01", "vw-lb-01", "vw-lb-02"]  # by gate, then id
    lb1 = views[1]
    assert lb1.state == "online" and lb1.pack_version == 3 and lb1.ui_alive is False
    assert [a.kind for a in lb1.alerts] == ["ui_down"]
    assert lb1.as_json()["last_seen_local"] == "29/05/2026 03:26"  # already the next day in Vietnam
    vi = render_table(views, "vi")
    assert (
        "Cửa khẩu" in vi
        and "giao diện không chạy" in vi
        and "chưa từng" in vi
        and "KHÔNG chạy" in vi
    )
    en = render_table(views, "en")
    assert (
        "UI not running" in en
        and "never" in en
        and "3 kiosks: 1 online, 0 stale, 2 offline; 1 open alerts." in en
    )
