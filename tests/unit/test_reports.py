"""Article 26 reports: periods in Vietnam time and the uptime arithmetic, on
hand-made presence timelines in the store (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import insert

from kiosk.common.vietnam import VIETNAM
from kiosk.protocol.errors import UsageError
from server.reports.period import month_period, parse_period, year_period
from server.reports.report import build_report
from server.reports.uptime import kiosk_uptime, state_intervals
from server.store import Store
from server.store.schema import alerts, kiosks, presence

H = 3600.0
DAY = 86400.0
NOV = month_period(2026, 11)  # 30 days
NOV_S = 30 * DAY


def vn(*args: int) -> float:
    return dt.datetime(*args, tzinfo=VIETNAM).timestamp()  # type: ignore[misc]


# --- periods ---------------------------------------------------------------------------


def test_months_and_years_start_at_midnight_in_vietnam_utc_plus_7_all_year() -> None:
    assert NOV.start == dt.datetime(2026, 10, 31, 17, tzinfo=dt.UTC).timestamp()
    assert NOV.end == dt.datetime(2026, 11, 30, 17, tzinfo=dt.UTC).timestamp()
    # no daylight saving: every month boundary is 17:00 UTC the day before
    for month in range(1, 13):
        start = dt.datetime.fromtimestamp(month_period(2026, month).start, dt.UTC)
        assert (start.hour, start.minute) == (17, 0)
    dec = month_period(2026, 12)
    assert dec.end == year_period(2027).start
    assert year_period(2026).end - year_period(2026).start == 365 * DAY
    assert year_period(2028).end - year_period(2028).start == 366 * DAY
    assert NOV.key == "2026-11" and NOV.title("vi") == "tháng 11/2026"
    assert NOV.title("en") == "November 2026" and year_period(2026).title("vi") == "năm 2026"


@pytest.mark.parametrize(
    ("month", "year", "message"),
    [
        ("2026-13", None, "--month 2026-13: use YYYY-MM, e.g. 2026-11"),
        ("2026-1", None, "--month 2026-1: use YYYY-MM, e.g. 2026-11"),
        ("11/2026", None, "--month 11/2026: use YYYY-MM, e.g. 2026-11"),
        (None, "26", "--year 26: use YYYY, e.g. 2026"),
        (None, None, "give either --month YYYY-MM (e.g. 2026-11) or --year YYYY (e.g. 2026)"),
    ],
)
def test_bad_periods_say_how_to_write_one(
    month: str | None, year: str | None, message: str
) -> None:
    with pytest.raises(UsageError) as info:
        parse_period(month, year)
    assert str(info.value) == message


def test_parse_period() -> None:
    assert parse_period("2026-11", None) == NOV
    assert parse_period(None, "2026") == year_period(2026)
    with pytest.raises(UsageError, match=r"^month 2026-00: use YYYY-MM"):
        parse_period("2026-00", None, names=("month", "year"))


# --- pure arithmetic --------------------------------------------------------------------


def test_intervals_take_the_state_before_the_window_and_skip_repeats() -> None:
    changes = [
        (5.0, "online"),
        (20.0, "stale"),
        (30.0, "stale"),
        (40.0, "offline"),
        (99.0, "online"),
    ]
    assert state_intervals(changes, 10, 50) == [
        (10, 20, "online"),
        (20, 40, "stale"),
        (40, 50, "offline"),
    ]
    assert state_intervals([], 0, 10) == [(0, 10, "offline")]  # never heard from
    assert state_intervals(changes, 10, 10) == []


def test_outages_longest_and_the_ui_down_time() -> None:
    changes = [(0.0, "online"), (100.0, "offline"), (130.0, "online"), (200.0, "offline")]
    u = kiosk_uptime(changes, 0, 1000, ui_down=[(50, 80), (60, 120), (900, 2000)])
    assert (u.online_s, u.offline_s, u.outages, u.longest_outage_s) == (170, 830, 2, 800)
    # the UI was down 50..120 (merged), of which 50..100 while up; 900.. while offline
    assert u.showing_s == 120 and u.up_pct == pytest.approx(17.0)
    # offline already at the start: its time counts, it is not a new outage
    u = kiosk_uptime([(-5.0, "offline"), (10.0, "online")], 0, 100)
    assert (u.outages, u.offline_s, u.longest_outage_s) == (0, 10, 10)


# --- on the store -----------------------------------------------------------------------


def enrol(store: Store, kiosk: str, gate: str, at: float, revoked: float | None = None) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            insert(kiosks).values(
                id=kiosk, gate=gate, groups=[], enrolled_at=at, revoked_at=revoked
            )
        )


def changes(store: Store, kiosk: str, *timeline: tuple[float, str]) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            insert(presence),
            [{"kiosk_id": kiosk, "at": at, "state": s, "reason": None} for at, s in timeline],
        )


def by_id(report: Any) -> dict[str, Any]:
    return {k.id: k for k in report.kiosks}


def test_a_month_per_kiosk_and_per_gate(store: Store) -> None:
    start = NOV.start
    # lb-01: online since September; offline 2 h on 10/11 and 30 min on 20/11
    enrol(store, "lb-01", "lao-bao", vn(2026, 9, 1))
    changes(
        store,
        "lb-01",
        (vn(2026, 9, 1, 8), "online"),
        (vn(2026, 11, 10, 8), "offline"),
        (vn(2026, 11, 10, 10), "online"),
        (vn(2026, 11, 20, 8), "stale"),
        (vn(2026, 11, 20, 9), "offline"),
        (vn(2026, 11, 20, 9, 30), "online"),
        (vn(2026, 12, 1, 0, 30), "offline"),  # after the month: ignored
    )
    # lb-02: enrolled mid-month (16/11 00:00), online from 16/11 06:00
    enrol(store, "lb-02", "lao-bao", vn(2026, 11, 16))
    changes(store, "lb-02", (vn(2026, 11, 16, 6), "online"))
    # cl-01: offline at the start of the month (since October), back on 2/11, revoked on 21/11
    enrol(store, "cl-01", "cha-lo", vn(2026, 1, 1), revoked=vn(2026, 11, 21))
    changes(store, "cl-01", (vn(2026, 10, 30), "offline"), (vn(2026, 11, 2), "online"))
    # lt-01: enrolled, never heard from
    enrol(store, "lt-01", "la-lay", vn(2026, 10, 1))
    # gone before the month / enrolled after it: not in the report
    enrol(store, "old-1", "la-lay", vn(2025, 1, 1), revoked=vn(2026, 10, 31, 23))
    enrol(store, "new-1", "la-lay", vn(2026, 12, 2))

    r = build_report(store, NOV, now=vn(2027, 1, 5))
    k = by_id(r)
    assert sorted(k) == ["cl-01", "lb-01", "lb-02", "lt-01"]
    assert not r.in_progress and r.notes == ["never_seen"]

    lb1 = k["lb-01"].uptime
    assert lb1.counted_s == NOV_S
    assert lb1.offline_s == 2.5 * H and lb1.stale_s == 1 * H
    assert (lb1.outages, lb1.longest_outage_s) == (2, 2 * H)
    assert lb1.up_pct == pytest.approx(100 * (NOV_S - 2.5 * H) / NOV_S)
    assert lb1.online_pct == pytest.approx(100 * (NOV_S - 3.5 * H) / NOV_S)

    lb2 = k["lb-02"]
    assert lb2.counted_from == vn(2026, 11, 16) and lb2.uptime.counted_s == 15 * DAY
    # offline (never heard from) the first six hours: time, but not an outage
    assert lb2.uptime.offline_s == 6 * H and lb2.uptime.outages == 0
    assert not lb2.never_seen

    cl1 = k["cl-01"]
    assert cl1.counted_to == vn(2026, 11, 21) and cl1.uptime.counted_s == 20 * DAY
    assert cl1.uptime.offline_s == 1 * DAY and cl1.uptime.outages == 0
    assert cl1.revoked_at == vn(2026, 11, 21)

    lt1 = k["lt-01"]
    assert lt1.never_seen and lt1.uptime.up_pct == 0 and lt1.uptime.offline_s == NOV_S

    gates = {g.gate: g for g in r.gates}
    assert sorted(gates) == ["cha-lo", "la-lay", "lao-bao"]
    lao = gates["lao-bao"]
    assert lao.kiosks == 2
    assert lao.uptime.counted_s == NOV_S + 15 * DAY
    assert lao.uptime.up_s == (NOV_S - 2.5 * H) + (15 * DAY - 6 * H)
    assert lao.uptime.outages == 2 and lao.uptime.longest_outage_s == 6 * H
    assert r.total.kiosks == 4
    assert r.total.uptime.counted_s == NOV_S + 15 * DAY + 20 * DAY + NOV_S
    assert start == NOV.start


def test_a_period_in_progress_counts_up_to_now_and_the_future_is_refused(store: Store) -> None:
    enrol(store, "lb-01", "lao-bao", vn(2026, 1, 1))
    changes(store, "lb-01", (vn(2026, 1, 1, 1), "online"), (vn(2026, 11, 3, 12), "offline"))
    now = vn(2026, 11, 3, 18)  # 3 days 18 hours into November
    r = build_report(store, NOV, now)
    u = r.kiosks[0].uptime
    assert r.in_progress and r.until == now and "in_progress" in r.notes
    assert u.counted_s == 2 * DAY + 18 * H and u.offline_s == 6 * H and u.outages == 1
    # the offline stretch still running is cut at now
    assert u.longest_outage_s == 6 * H
    # a year in progress too
    y = build_report(store, year_period(2026), now)
    assert y.kiosks[0].uptime.counted_s == now - vn(2026, 1, 1)
    assert y.kiosks[0].uptime.offline_s == 1 * H + 6 * H
    with pytest.raises(UsageError, match=r"month 2026-12 has not begun yet \(today is 03/11/2026"):
        build_report(store, month_period(2026, 12), now)


def test_state_changes_on_the_month_boundary_belong_to_the_right_month(store: Store) -> None:
    enrol(store, "k1", "g", vn(2026, 10, 1))
    # offline from 31/10 23:00 to 01/11 01:00 Vietnam time (16:00-18:00 UTC on 31/10)
    changes(
        store,
        "k1",
        (vn(2026, 10, 1), "online"),
        (vn(2026, 10, 31, 23), "offline"),
        (vn(2026, 11, 1, 1), "online"),
        (NOV.end, "offline"),  # exactly at the end: December's
    )
    nov = build_report(store, NOV, vn(2027, 1, 1)).kiosks[0].uptime
    assert nov.offline_s == 1 * H and nov.outages == 0
    octo = build_report(store, month_period(2026, 10), vn(2027, 1, 1)).kiosks[0].uptime
    assert octo.offline_s == 1 * H and octo.outages == 1
    dec = build_report(store, month_period(2026, 12), vn(2027, 1, 1)).kiosks[0].uptime
    assert dec.offline_s == 31 * DAY and dec.outages == 0


def test_showing_content_leaves_out_the_ui_down_alerts(store: Store) -> None:
    enrol(store, "k1", "g", vn(2026, 10, 1))
    changes(store, "k1", (vn(2026, 10, 1), "online"))
    with store.engine.begin() as conn:
        conn.execute(
            insert(alerts),
            [
                # from 31/10 20:00 to 01/11 04:00: 4 h in November
                {"kiosk_id": "k1", "kind": "ui_down", "opened_at": vn(2026, 10, 31, 20),
                 "closed_at": vn(2026, 11, 1, 4), "detail": None},
                # still open since 30/11 22:00: 2 h in November
                {"kiosk_id": "k1", "kind": "ui_down", "opened_at": vn(2026, 11, 30, 22),
                 "closed_at": None, "detail": None},
                {"kiosk_id": "k1", "kind": "disk_low", "opened_at": vn(2026, 11, 5),
                 "closed_at": vn(2026, 11, 6), "detail": None},
            ],
        )  # fmt: skip
    r = build_report(store, NOV, vn(2027, 1, 1))
    u = r.kiosks[0].uptime
    assert u.up_s == NOV_S and u.showing_s == NOV_S - 6 * H
    counts = {a.kind: (a.opened, a.closed, a.open_at_end) for a in r.alerts}
    assert counts["ui_down"] == (1, 1, 1) and counts["disk_low"] == (1, 1, 0)
    assert counts["offline"] == (0, 0, 0)
