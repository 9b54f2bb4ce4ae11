"""The faults of bench/soak.py. Each runs in its own thread and records its window
(monotonic start and end) and which kiosks it touched ("all", a gate, or ids)."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from soaknet import Link, LinkProc
from soakworld import healthy, wait

if TYPE_CHECKING:
    from soak import Soak


@dataclass
class Fault:
    name: str
    #: "all", or the kiosk ids it touched
    scope: str | list[str]
    start: float = 0.0
    end: float = 0.0
    #: the pack version published while it was on, and when
    version: int | None = None
    published: float = 0.0
    notes: list[str] = field(default_factory=list)


def _restart(proc: Any, port: int | None, down_s: float) -> None:
    proc.kill()
    time.sleep(down_s)
    proc.start()
    if port is not None:
        wait(lambda: healthy(port), 120, f"{proc.name} after its restart")
    else:
        time.sleep(3)


def broker_kill(soak: Soak, f: Fault) -> None:
    soak.broker.kill()
    time.sleep(5)
    soak.broker.start(timeout=60)


def server_kill(index: int) -> Callable[[Soak, Fault], None]:
    def run(soak: Soak, f: Fault) -> None:
        proc, port = soak.servers[index]
        _restart(proc, port, 5)

    return run


def ingest_kill(soak: Soak, f: Fault) -> None:
    _restart(soak.ingest, None, 5)


def postgres_restart(soak: Soak, f: Fault) -> None:
    soak.pg.crash_restart(5)
    for _, port in soak.servers:
        wait(lambda p=port: healthy(p), 120, "the servers after PostgreSQL's restart")


def disk_full(hold_s: float) -> Callable[[Soak, Fault], None]:
    def run(soak: Soak, f: Fault) -> None:
        state = soak.agents[-1].state
        filler = state / "filler.bin"
        st = os.statvfs(state)
        free = st.f_bavail * st.f_frsize
        with open(filler, "wb") as fh, contextlib.suppress(OSError):
            chunk = b"\0" * (1 << 20)
            while free > 0:
                fh.write(chunk[: min(len(chunk), free)])
                free -= len(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        f.notes.append(f"{soak.agents[-1].id}: {state} full")
        time.sleep(hold_s)
        filler.unlink()

    return run


def clock_step(hold_s: float) -> Callable[[Soak, Fault], None]:
    def run(soak: Soak, f: Fault) -> None:
        agent = soak.agents[0]
        for offset in (7200, -7200):
            agent.faketime.write_text(f"{offset:+d}\n")
            soak.sim_control(0, {"op": "clock", "offset_s": offset, "count": soak.clock_sims})
            time.sleep(hold_s)
        agent.faketime.write_text("+0\n")
        soak.sim_control(0, {"op": "clock", "offset_s": 0, "count": soak.clock_sims})

    return run


def partition(seconds: float) -> Callable[[Soak, Fault], None]:
    def run(soak: Soak, f: Fault) -> None:
        links: list[Link | LinkProc] = [soak.gate_links[0], soak.agents[0].link]
        for link in links:
            link.cut()
        time.sleep(seconds)
        for link in links:
            link.heal()

    return run


def burst(soak: Soak, f: Fault) -> None:
    for i in range(len(soak.gates)):
        soak.sim_control(i, {"op": "burst"})
    time.sleep(10)


class Schedule:
    """Runs the faults one after another, each while a pack is published and a
    notice sent, with quiet time between them."""

    def __init__(self, soak: Soak, faults: list[tuple[Fault, Callable[[Soak, Fault], None]]]):
        self.soak = soak
        self.faults = faults
        self.done: list[Fault] = []

    def _act(self, action: Callable[[Soak, Fault], None], fault: Fault) -> None:
        try:
            action(self.soak, fault)
        except BaseException as exc:  # SystemExit of a wait() too: the checker says so
            fault.notes.append(f"recovery failed: {exc}")
        fault.end = time.monotonic()  # the fault is over (publishing may go on)

    def run(self, slot_s: float) -> None:
        for fault, action in self.faults:
            slot_end = time.monotonic() + slot_s
            fault.start = time.monotonic()
            print(f"[{self.soak.elapsed():6.0f} s] fault: {fault.name}", flush=True)
            worker = threading.Thread(target=self._act, args=(action, fault), daemon=True)
            worker.start()
            time.sleep(3)
            fault.version = self.soak.publish()
            fault.published = time.monotonic()
            self.soak.notice(fault.name)
            worker.join()
            self.done.append(fault)
            print(
                f"[{self.soak.elapsed():6.0f} s]   over after {fault.end - fault.start:.0f} s; "
                f"published v{fault.version}",
                flush=True,
            )
            time.sleep(max(0.0, slot_end - time.monotonic()))


def save(faults: list[Fault], path: Path) -> None:
    path.write_text(json.dumps([f.__dict__ for f in faults], indent=1))
