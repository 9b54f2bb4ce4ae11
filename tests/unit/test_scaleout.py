"""Several server processes on one store. Leases (server.fleet.lease), SQLite and
PostgreSQL: one holder at a time, taken over when it lapses or when its process
is gone; notice ids that never collide."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from typing import Any

from server.fleet.lease import Lease, holder_gone, lease_info, process_holder


def dead_holder() -> str:
    """The holder name of a process of this host that has ended."""
    out = subprocess.run(
        [sys.executable, "-c", "from server.fleet.lease import process_holder as p; print(p())"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return out.stdout.strip()


def test_one_holder_at_a_time_and_take_over_after_lapse(store: Any) -> None:
    a = Lease(store, "fleet-control", ttl_s=0.5, holder=f"elsewhere 1 1 a-{time.time()}")
    b = Lease(store, "fleet-control", ttl_s=0.5, holder=f"elsewhere 2 2 b-{time.time()}")
    assert a.renew() and a.term == 1
    assert not b.renew() and b.last is not None and b.last.holder == a.holder
    assert a.renew() and a.term == 1  # renewing keeps the term
    time.sleep(0.7)  # a stalls past its lease
    assert b.renew() and b.term == 2
    assert not a.renew() and not a.held  # and learns it lost
    b.release()
    assert a.renew() and a.term == 3
    info = lease_info(store, "fleet-control")
    assert info is not None and info.holder == a.holder and info.term == 3


def test_a_lease_of_a_process_that_is_gone_is_taken_at_once(store: Any) -> None:
    ghost = dead_holder()
    assert holder_gone(ghost)
    assert not holder_gone(process_holder())
    assert not holder_gone(f"{socket.gethostname()}-other 1 1 x")  # another host: trusted
    Lease(store, "mqtt-_server-1", ttl_s=600, holder=ghost).renew()
    mine = Lease(store, "mqtt-_server-1", ttl_s=600)
    assert mine.renew() and mine.term == 2
    # a live holder of this host is not taken over before its lease lapses
    other = Lease(store, "mqtt-_server-1", ttl_s=600)
    assert not other.renew()


def test_notices_sent_in_the_same_millisecond_keep_their_own_ids() -> None:
    from kiosk.protocol.payloads import NoticeArgs
    from server.fleet.remote import new_notice_id

    now = 1_796_000_000.123
    ids = {new_notice_id(now) for _ in range(50)}
    assert len(ids) == 50
    for notice_id in ids:
        assert notice_id.startswith("n1796000000123-")
        NoticeArgs(id=notice_id, text={"vi": "x"}, expires=now + 60)  # a valid token


def test_sign_in_failures_count_across_server_processes(store: Any) -> None:
    """Two server processes (each its own throttle) on one store lock a guessed
    account together; the lock lapses after the window; a success clears it."""
    import pytest

    from server.web.auth import LOCK_S, MAX_FAILURES, LoginRefused, StoreLoginThrottle

    clock = [1_796_000_000.0]
    first, second = (StoreLoginThrottle(store, lambda: clock[0]) for _ in range(2))
    keys = ["user:ana", "addr:203.0.113.5"]
    for i in range(MAX_FAILURES):
        (first if i % 2 else second).check(keys)
        (first if i % 2 else second).failed(keys)
    for throttle in (first, second):
        with pytest.raises(LoginRefused) as refused:
            throttle.check(["user:ana", "addr:198.51.100.7"])
        assert refused.value.reason == "locked" and refused.value.retry_after
    first.check(["user:bob", "addr:198.51.100.7"])  # someone else, elsewhere: not locked
    clock[0] += LOCK_S + 1
    second.check(keys)
    first.failed(keys)
    first.succeeded("user:ana")
    second.check(["user:ana", "addr:198.51.100.7"])
