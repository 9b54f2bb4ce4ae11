"""Article 26 reports from real fleet rows on SQLite and PostgreSQL: traveller
use summed from interaction events written through the ingest (IngestWriter),
presence written by the ingest and the sweeper, and presence retention that
keeps what a year's report needs."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import select

from kiosk.protocol.payloads import Event, Heartbeat, PackRef, Status, UiState
from server.broker.registry import KioskRegistry
from server.fleet.ingest import IngestWriter, Raw
from server.fleet.sweeper import Sweeper
from server.fleet_settings import FleetSettings
from server.reports.period import month_period, year_period
from server.reports.report import build_report
from server.store import Store
from server.store.schema import presence

CFG = FleetSettings(event_retention_days=400)
NOV = month_period(2026, 11)
DAY = 86400.0


def raw(kiosk: str, kind: str, payload: bytes) -> Raw:
    return Raw(f"bgk/v1/kiosk/{kiosk}/{kind}", payload, 1, 1, time.monotonic())


def interaction(seq: int, ts: float, data: dict[str, object], outbox: str = "o1") -> bytes:
    return Event(outbox_id=outbox, seq=seq, ts=ts, kind="interaction", data=data).to_bytes()


def hb(seq: int, ts: float) -> bytes:
    return Heartbeat(
        boot_id="b1", seq=seq, ts=ts, period=30, uptime=10.0 * seq,
        pack=PackRef(id="lao-bao", version=3, hash="c" * 64),
        ui=UiState(alive=True, screen="home"), temp=50.0, disk_free=8 * 10**9,
        time_floor=ts - 100, stale=False,
    ).to_bytes()  # fmt: skip


def test_traveller_use_is_summed_per_gate_from_ingested_events(
    store: Store, tmp_path: Path
) -> None:
    reg = KioskRegistry(store)
    t = NOV.start + 2 * DAY
    reg.add("lb-01", "lao-bao", (), NOV.start - 30 * DAY)
    reg.add("lb-02", "lao-bao", (), NOV.start - 30 * DAY)
    reg.add("cl-01", "cha-lo", (), NOV.start - 30 * DAY)
    w = IngestWriter(store, CFG, tmp_path)
    w.write(
        [
            raw("lb-01", "events", interaction(1, t, {
                "sessions": 3, "seconds": 240.5, "languages": {"vi": 2, "lo": 1},
                "pages": {"thu-tuc": 4, "du-lich": 1}, "message": "3 traveller sessions"})),
            raw("lb-01", "events", interaction(2, t + 600, {
                "sessions": 2, "seconds": 100.0, "languages": {"lo": 2, "en": 1},
                "pages": {"thu-tuc": 2, "lien-he": 3}})),
            # a QoS 1 redelivery of the same event: counted once
            raw("lb-01", "events", interaction(2, t + 600, {
                "sessions": 2, "seconds": 100.0, "languages": {"lo": 2, "en": 1},
                "pages": {"thu-tuc": 2, "lien-he": 3}})),
            raw("lb-02", "events", interaction(1, t + 5, {
                "sessions": 1, "seconds": 60, "languages": {"th": 1}, "pages": {"du-lich": 2}},
                outbox="o2")),
            raw("cl-01", "events", interaction(1, t + 9, {
                "sessions": 4, "seconds": 400, "languages": {"zh": 3, "vi": 1},
                "pages": {"thu-tuc": 1}})),
            # malformed counts from a buggy kiosk are skipped, not fatal
            raw("cl-01", "events", interaction(2, t + 10, {
                "sessions": "many", "seconds": True, "languages": {"vi": -1, "en": "x"},
                "pages": []})),
            # October and December: other periods
            raw("cl-01", "events", interaction(3, NOV.start - 1, {"sessions": 7, "seconds": 7})),
            raw("cl-01", "events", interaction(4, NOV.end, {"sessions": 9, "seconds": 9})),
            # other event kinds are not traveller use
            raw("cl-01", "events", Event(outbox_id="o1", seq=5, ts=t, kind="error",
                                         data={"sessions": 50}).to_bytes()),
        ],
        t + 700,
    )  # fmt: skip
    r = build_report(store, NOV, now=NOV.end + DAY)
    gates = {g.gate: g.usage for g in r.gates}
    lao, cha = gates["lao-bao"], gates["cha-lo"]
    assert (lao.sessions, lao.seconds) == (6, 400.5)
    assert dict(lao.languages) == {"vi": 2, "lo": 3, "en": 1, "th": 1}
    assert lao.top_pages() == [("thu-tuc", 6), ("du-lich", 3), ("lien-he", 3)]
    assert (cha.sessions, cha.seconds, dict(cha.languages)) == (4, 400.0, {"zh": 3, "vi": 1})
    total = r.total.usage
    assert total.sessions == 10 and total.mean_s == 80.05
    per_kiosk = {k.id: k.usage.sessions for k in r.kiosks}
    assert per_kiosk == {"cl-01": 4, "lb-01": 5, "lb-02": 1}
    js = r.as_json()
    assert js["total"]["median_session_s"] is None and js["total"]["mean_session_s"] == 80.0
    assert js["total"]["languages"] == {"vi": 3, "lo": 3, "zh": 3, "en": 1, "th": 1}
    assert js["gates"][1]["top_pages"][0] == {"page": "thu-tuc", "views": 6}


def test_uptime_from_presence_the_ingest_and_the_sweeper_wrote(
    store: Store, tmp_path: Path
) -> None:
    reg = KioskRegistry(store)
    t0 = NOV.start + 3600
    reg.add("lb-01", "lao-bao", (), t0 - 60)
    reg.add("lb-02", "lao-bao", (), t0 - 60)  # never speaks
    w = IngestWriter(store, CFG, tmp_path)
    sweeper = Sweeper(store, CFG, tmp_path)
    status = Status(online=True, boot_id="b1", seq0=1, hb_s=30).to_bytes()
    w.write([raw("lb-01", "status", status), raw("lb-01", "hb", hb(1, t0))], t0)
    sweeper.sweep(t0 + 1)
    # the link is cut: the broker publishes the kiosk's will an hour later
    gone = Status(online=False, boot_id="b1", seq0=1).to_bytes()
    w.write([raw("lb-01", "status", gone)], t0 + 3600)
    sweeper.sweep(t0 + 3601)
    # back two hours later
    w.write(
        [raw("lb-01", "status", status), raw("lb-01", "hb", hb(2, t0 + 3 * 3600))], t0 + 3 * 3600
    )
    sweeper.sweep(t0 + 3 * 3600 + 1)
    with store.engine.connect() as conn:
        states = (
            conn.execute(
                select(presence.c.state)
                .where(presence.c.kiosk_id == "lb-01")
                .order_by(presence.c.id)
            )
            .scalars()
            .all()
        )
    assert states == ["online", "offline", "online"]
    now = t0 + 4 * 3600
    r = build_report(store, NOV, now)
    k = {line.id: line for line in r.kiosks}
    u = k["lb-01"].uptime
    assert u.counted_s == now - (t0 - 60)
    assert u.offline_s == 60 + 2 * 3600 and u.outages == 1 and u.longest_outage_s == 2 * 3600
    assert k["lb-02"].never_seen and k["lb-02"].uptime.up_s == 0


def test_retention_keeps_the_state_before_a_year_and_a_year_of_changes(
    store: Store, tmp_path: Path
) -> None:
    KioskRegistry(store).add("k1", "g", (), year_period(2024).start)
    with store.engine.begin() as conn:
        conn.execute(
            presence.insert(),
            [
                {"kiosk_id": "k1", "at": year_period(2024).start + 10, "state": "online"},
                {"kiosk_id": "k1", "at": year_period(2024).start + 20, "state": "offline"},
                {"kiosk_id": "k1", "at": year_period(2024).start + 30, "state": "online"},
                {"kiosk_id": "k2", "at": year_period(2024).start + 40, "state": "offline"},
            ],
        )
    # even with events kept only 30 days, presence is kept 400 days and each
    # kiosk's newest change before that stays: k1 has been online since 2024
    short = FleetSettings(event_retention_days=30)
    out = Sweeper(store, short, tmp_path).retention(year_period(2026).start + 100 * DAY)
    assert out["presence"] == 2
    r = build_report(store, year_period(2025), now=year_period(2026).start + 100 * DAY)
    assert r.kiosks[0].uptime.up_pct == 100.0 and not r.kiosks[0].never_seen
