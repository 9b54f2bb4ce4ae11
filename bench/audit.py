"""The audit log's cost: appending hash-chained entries (each in its own
transaction, as the server writes them) against the same rows inserted
without the chain, and walking the chain with `verify`, on SQLite and (when
BGK_TEST_POSTGRES_URL is set) PostgreSQL.

    .venv/bin/python bench/audit.py [--entries 2000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from server.audit import log as audit
from server.audit.log import canonical
from server.store import Store, open_store
from server.store.schema import audit_log


def measure(store: Store, n: int) -> dict[str, float]:
    details = {"to": ["lao-bao"], "minutes": 60, "text": {"vi": "Cửa khẩu đóng lúc 17:00"}}
    started = time.perf_counter()
    for i in range(n):  # the baseline: the same rows, no chain, one transaction each
        with store.engine.begin() as conn:
            conn.execute(
                audit_log.insert().values(
                    seq=-1 - i, at=float(i), actor="bench", action="notice.sent",
                    object=f"notice:{i}", details=canonical(details), prev_hash="0" * 64,
                    hash="0" * 64,
                )
            )  # fmt: skip
    plain = time.perf_counter() - started
    with store.engine.begin() as conn:
        conn.execute(audit_log.delete())
    started = time.perf_counter()
    for i in range(n):
        audit.append(store, "bench", "notice.sent", f"notice:{i}", details, now=float(i))
    chained = time.perf_counter() - started
    started = time.perf_counter()
    verdict = audit.verify(store)
    walked = time.perf_counter() - started
    assert verdict.ok and verdict.entries == n
    return {"plain": plain, "chained": chained, "verify": walked}


def report(kind: str, n: int, r: dict[str, float]) -> None:
    print(
        f"{kind}: {n} appends {r['chained']:.2f} s ({n / r['chained']:.0f}/s) vs plain inserts "
        f"{r['plain']:.2f} s ({n / r['plain']:.0f}/s): {r['chained'] / r['plain']:.2f}x; "
        f"verify {r['verify']:.2f} s ({n / r['verify']:.0f} entries/s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=2000)
    n = parser.parse_args().entries
    with tempfile.TemporaryDirectory(prefix="bgk-bench-audit-") as tmp:
        store = open_store(f"sqlite:///{tmp}/fleet.db")
        try:
            report("SQLite", n, measure(store, n))
        finally:
            store.dispose()
    base = os.environ.get("BGK_TEST_POSTGRES_URL")
    if not base:
        print("PostgreSQL: not measured (set BGK_TEST_POSTGRES_URL)")
        return
    name = f"bgk_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        store = open_store(make_url(base).set(database=name).render_as_string(hide_password=False))
        try:
            report("PostgreSQL", n, measure(store, n))
        finally:
            store.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
