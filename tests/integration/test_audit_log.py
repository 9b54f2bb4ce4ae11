"""The audit log on SQLite and PostgreSQL: every entry chained to the one before;
editing, deleting, swapping or truncating rows straight in the database is found
by `verify`, which names the first bad entry; two processes appending at once
keep one chain; the real commands record who did what."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update

from server.audit import log as audit
from server.store import Store
from server.store.schema import audit_log

T0 = 1_790_000_000.0  # the injected clock

REPO = Path(__file__).resolve().parents[2]


def fill(store: Store, n: int) -> list[audit.Entry]:
    return [
        audit.append(store, f"user{i % 3}", "notice.sent", f"notice:n{i}", {"i": i}, now=T0 + i)
        for i in range(1, n + 1)
    ]


def test_a_chain_of_entries_verifies_and_names_its_head(store: Store) -> None:
    made = fill(store, 12)
    assert [e.seq for e in made] == list(range(1, 13))
    assert made[0].prev_hash == audit.GENESIS and made[5].prev_hash == made[4].hash
    verdict = audit.verify(store)
    assert verdict.ok and verdict.entries == 12 and verdict.head == audit.Head(12, made[-1].hash)
    assert audit.current_head(store, until=T0 + 5) == audit.Head(5, made[4].hash)
    newest = audit.entries(store, actor="user1")
    assert [e.seq for e in newest] == [10, 7, 4, 1] and newest[0].details_dict == {"i": 10}


def test_an_edited_row_is_named(store: Store) -> None:
    fill(store, 10)
    with store.engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 6).values(actor="someone-else"))
    verdict = audit.verify(store)
    assert not verdict.ok and verdict.bad_seq == 6 and "changed" in verdict.problem
    assert verdict.entries == 5  # #1..#5 still hold


def test_an_edit_with_its_hash_recomputed_is_named_by_the_next_entry(store: Store) -> None:
    fill(store, 10)
    with store.engine.begin() as conn:
        row = conn.execute(select(audit_log).where(audit_log.c.seq == 4)).one()
        forged = audit.entry_hash(4, row.at, row.actor, "notice.withdrawn", row.object,
                                  row.details, row.prev_hash)  # fmt: skip
        conn.execute(
            update(audit_log)
            .where(audit_log.c.seq == 4)
            .values(action="notice.withdrawn", hash=forged)
        )
    verdict = audit.verify(store)
    assert not verdict.ok and verdict.bad_seq == 5 and "does not follow entry #4" in verdict.problem


def test_a_deleted_row_is_named(store: Store) -> None:
    fill(store, 10)
    with store.engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq == 7))
    verdict = audit.verify(store)
    assert not verdict.ok and verdict.bad_seq == 7 and "missing" in verdict.problem


def test_swapped_rows_are_named(store: Store) -> None:
    fill(store, 10)
    with store.engine.begin() as conn:  # entries 3 and 8 change places
        conn.execute(update(audit_log).where(audit_log.c.seq == 3).values(seq=-3))
        conn.execute(update(audit_log).where(audit_log.c.seq == 8).values(seq=3))
        conn.execute(update(audit_log).where(audit_log.c.seq == -3).values(seq=8))
    verdict = audit.verify(store)
    assert not verdict.ok and verdict.bad_seq == 3


def test_a_removed_tail_is_found_against_a_printed_head(store: Store) -> None:
    made = fill(store, 10)
    printed = audit.Head(8, made[7].hash)  # what a report printed
    assert audit.verify(store, printed).ok
    with store.engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq >= 7))
    assert audit.verify(store).ok  # the chain alone cannot see a cut tail...
    verdict = audit.verify(store, printed)  # ...the printed head can
    assert not verdict.ok and verdict.bad_seq == 7 and "removed" in verdict.problem
    # a rewritten tail from #8 on: the head names it
    fill(store, 4)
    verdict = audit.verify(store, printed)
    assert not verdict.ok and verdict.bad_seq == 8 and "rewritten" in verdict.problem


_APPENDER = """
import sys
from server.audit import log as audit
from server.store import open_store
store = open_store(sys.argv[1], migrate=False)
for i in range(int(sys.argv[3])):
    audit.append(store, sys.argv[2], "command.resync", f"kiosk:k{i}", {"i": i}, now=1.0 + i)
store.dispose()
"""


def test_two_processes_append_at_once_into_one_chain(store: Store) -> None:
    url = store.engine.url.render_as_string(hide_password=False)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen([sys.executable, "-c", _APPENDER, url, name, "150"], env=env, cwd=REPO,
                         stderr=subprocess.PIPE, text=True)
        for name in ("server-a", "server-b")
    ]  # fmt: skip
    for proc in procs:
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
    verdict = audit.verify(store)
    assert verdict.ok and verdict.entries == 300
    assert {e.actor for e in audit.entries(store, limit=1000)} == {"server-a", "server-b"}


def bgk(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )


def test_commands_record_who_did_what_and_verify_names_a_tampered_entry(
    tmp_path: Path,
) -> None:
    keys, data = tmp_path / "keys", tmp_path / "data"
    assert bgk("keys", "init", keys).returncode == 0
    made = bgk("server", "init", "--data", data, "--keys", keys, "--url", "http://127.0.0.1:9")
    assert made.returncode == 0, made.stderr
    steps = [
        ("server", "user", "add", "lan", "--role", "publisher", "--generate"),
        ("server", "user", "role", "lan", "admin"),
        ("server", "token", "create", "--user", "lan"),
    ]
    for step in steps:
        run = bgk(*step, "--data", data)
        assert run.returncode == 0, run.stderr
    listed = bgk("server", "audit", "list", "--data", data, "--json")
    assert listed.returncode == 0, listed.stderr
    rows: list[dict[str, Any]] = json.loads(listed.stdout)
    assert [r["action"] for r in reversed(rows)] == [
        "account.added",
        "account.role",
        "token.created",
    ]
    assert rows[1]["details"] == {"role": "admin", "was": "publisher"}
    assert all(r["actor"].endswith("(CLI)") and r["object"] == "user:lan" for r in rows)
    ok = bgk("server", "audit", "verify", "--data", data)
    assert ok.returncode == 0 and "intact: 3 entries" in ok.stdout
    since = bgk("server", "audit", "list", "--data", data, "--since", "01/01/2099")
    assert since.returncode == 0 and "no audit entry" in since.stdout
    bad = bgk("server", "audit", "list", "--data", data, "--since", "2026-01-01")
    assert bad.returncode == 2 and "DD/MM/YYYY" in bad.stderr

    from server.config import load_server_config
    from server.store import open_store

    store = open_store(load_server_config(data).store_url)
    try:
        with store.engine.begin() as conn:  # someone hides that lan was made admin
            conn.execute(
                update(audit_log).where(audit_log.c.seq == 2).values(details='{"role":"viewer"}')
            )
    finally:
        store.dispose()
    broken = bgk("server", "audit", "verify", "--data", data, "--json")
    assert broken.returncode == 3
    assert json.loads(broken.stdout)["bad_seq"] == 2
    text = bgk("server", "audit", "verify", "--data", data)
    assert "BROKEN at entry #2" in text.stdout


def test_the_article_26_report_prints_the_chain_head_at_its_period_end(store: Store) -> None:
    from server.reports.period import month_period
    from server.reports.render import render_text
    from server.reports.report import build_report

    nov = month_period(2026, 11)
    inside = [
        audit.append(store, "lan", "notice.sent", f"notice:{i}", now=nov.start + 3600 * i)
        for i in range(1, 4)
    ]
    audit.append(store, "lan", "notice.sent", "notice:december", now=nov.end + 60)
    report = build_report(store, nov, now=nov.end + 86400 * 3)
    assert report.audit_head == audit.Head(3, inside[-1].hash)
    assert report.as_json()["audit_head"] == {"seq": 3, "hash": inside[-1].hash}
    text = render_text(report, "vi")
    assert f"mục #3, mã băm {inside[-1].hash}" in text
    assert f"--head 3:{inside[-1].hash}" in render_text(report, "en")
    # the printed head still verifies while the log is intact
    assert audit.verify(store, report.audit_head).ok
