"""The soak's invariants, checked from independent records: each kiosk's journal
(what it sent, what the broker acknowledged, what it installed) against the
server's store, the published versions, the fleet view, and the soak's own
probes and memory samples. Prints the table; returns the exit status."""

from __future__ import annotations

import itertools
import json
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from server.store.schema import commands, heartbeats, kiosk_events

if TYPE_CHECKING:
    from soak import Soak
    from soakfaults import Fault

#: heartbeats sent this long after a fault ended still count as in its window
#: (reconnecting: backoff up to 30 s, then a heartbeat period)
GRACE_S = 90.0
MEMORY_LIMIT = 1.10


@dataclass
class Journals:
    events: set[tuple[str, str, int]] = field(default_factory=set)
    acked: set[tuple[str, str, int]] = field(default_factory=set)
    hbs: list[tuple[str, str, int, float]] = field(default_factory=list)
    installs: dict[str, list[tuple[float, int, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    dead: dict[str, float] = field(default_factory=dict)
    commands: int = 0
    kiosks: set[str] = field(default_factory=set)
    syncfails: int = 0


def read_journals(soak: Soak) -> Journals:
    j = Journals()
    for path in sorted((soak.tmp / "journal").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            try:
                r = json.loads(line)
            except ValueError:
                continue  # a line cut by the end of the process
            k, e = r.get("k"), r.get("e")
            if k:
                j.kiosks.add(k)
            if e == "hb":
                j.hbs.append((k, r["b"], r["s"], r["t"]))
            elif e == "ev":
                j.events.add((k, r["o"], r["s"]))
            elif e == "ack":
                j.acked.add((k, r["o"], r["s"]))
            elif e == "inst":
                j.installs[k].append((r["t"], r["v"], r["h"]))
            elif e == "dead":
                j.dead[k] = r["t"]
            elif e == "cmd":
                j.commands += 1
            elif e == "syncfail":
                j.syncfails += 1
    return j


def _q(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def _in_scope(f: Fault, kiosk: str, gate_of: dict[str, str]) -> bool:
    if f.scope == "all":
        return True
    if isinstance(f.scope, str):
        return gate_of.get(kiosk) == f.scope
    return kiosk in f.scope or (f.name.startswith("clock") and kiosk.startswith("sim-"))


class Report:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, bool | None]] = []

    def add(self, what: str, value: str, ok: bool | None = None) -> None:
        self.rows.append((what, value, ok))

    @property
    def failed(self) -> list[str]:
        return [w for w, _, ok in self.rows if ok is False]

    def print(self) -> None:
        width = max(len(w) for w, _, _ in self.rows)
        print()
        for what, value, ok in self.rows:
            mark = {True: "ok  ", False: "FAIL", None: "    "}[ok]
            print(f"{mark} {what:<{width}}  {value}")


def check(soak: Soak, faults: list[Fault], view: list[dict[str, Any]]) -> int:
    j = read_journals(soak)
    rep = Report()
    gate_of = {v["id"]: v["gate"] for v in view}
    ours = sorted(j.kiosks)
    with soak.store.engine.connect() as conn:
        stored_ev = {
            (r[0], r[1], r[2])
            for r in conn.execute(
                select(kiosk_events.c.kiosk_id, kiosk_events.c.outbox_id, kiosk_events.c.seq)
            )
        }
        stored_hb = {
            (r[0], r[1], r[2])
            for r in conn.execute(
                select(heartbeats.c.kiosk_id, heartbeats.c.boot_id, heartbeats.c.seq)
            )
        }
        notice_states = [
            r[0] for r in conn.execute(select(commands.c.state).where(commands.c.op == "notice"))
        ]
    alive = [k for k in ours if k not in j.dead]
    rep.add(
        "kiosks",
        f"{len(ours)} ({len(ours) - 3} simulated + 3 real agents); {len(j.dead)} lost power for good near the end",
    )
    rep.add("faults survived", f"{len(faults)}: " + "; ".join(f.name for f in faults))
    failed = [f"{f.name}: {n}" for f in faults for n in f.notes if n.startswith("recovery failed")]
    rep.add("every fault recovered", "yes" if not failed else "; ".join(failed), not failed)
    died = getattr(soak, "died", [])
    rep.add(
        "simulators and kiosk agents ran throughout",
        "yes" if not died else f"ended early: {', '.join(died)} (see logs/)",
        not died,
    )

    # 1. every QoS 1 event stored exactly once
    missing = j.events - stored_ev
    unsent = {e for e in missing if e not in j.acked and e[0] in j.dead}
    phantom = {e for e in stored_ev if e[0] in j.kiosks} - j.events
    lost = missing - unsent
    rep.add(
        "QoS 1 events sent / stored",
        f"{len(j.events)} / {len(j.events & stored_ev)}; lost {len(lost)}, stored but never sent "
        f"{len(phantom)}; left in the outbox of kiosks without power {len(unsent)}",
        not lost and not phantom,
    )
    if lost:
        rep.add("  lost events (first 5)", str(sorted(lost)[:5]))

    # 2. heartbeats: QoS 0, lost only where a fault was
    sent = len(j.hbs)
    gone = [(k, t) for k, b, s, t in j.hbs if (k, b, s) not in stored_hb]
    outside = [
        (k, t) for k, t in gone
        if not any(f.start - 5 <= t <= f.end + GRACE_S and _in_scope(f, k, gate_of) for f in faults)
        and not (k in j.dead and t >= j.dead[k] - 5)
    ]  # fmt: skip
    rep.add(
        "heartbeats (QoS 0) sent / stored",
        f"{sent} / {sent - len(gone)}: {len(gone) / max(1, sent):.3%} lost, all within faults "
        f"(allowance: QoS 0 may be lost while a fault lasts + {GRACE_S:.0f} s); outside: {len(outside)}",
        not outside,
    )
    during: dict[str, int] = defaultdict(int)
    for k, t in gone:  # each to the latest fault that had begun and touched the kiosk
        mine = [
            f for f in faults if f.start - 5 <= t <= f.end + GRACE_S and _in_scope(f, k, gate_of)
        ]
        if mine:
            during[max(mine, key=lambda f: f.start).name] += 1
    for f in faults:
        if during[f.name]:
            rep.add(f"  lost during {f.name}", str(during[f.name]))

    # 3. only signed packs, never backwards
    signed = {(p["version"], p["sha256"]) for p in soak.publications}
    bad = [(k, v) for k, ins in j.installs.items() for _, v, h in ins if (v, h) not in signed]
    back = [
        k for k, ins in j.installs.items() if any(b[1] <= a[1] for a, b in itertools.pairwise(ins))
    ]
    n_inst = sum(len(v) for v in j.installs.values())
    rep.add(
        "installs: unsigned / backwards",
        f"{n_inst} installs of {len(soak.publications)} published versions; unsigned {len(bad)}, "
        f"backwards {len(back)}",
        not bad and not back,
    )

    # 4. convergence after each fault
    never = 0
    rep.add("convergence per fault", "T = install - max(fault end, publication): median / p99 / max;"
            " in brackets install - publication (the fleet's spread)")  # fmt: skip
    for f in faults:
        if f.version is None:
            continue
        after, spread = [], []
        for k in alive:
            first = next((t for t, v, _ in j.installs.get(k, []) if v >= f.version), None)
            if first is None:
                never += 1
            else:
                after.append(max(0.0, first - max(f.end, f.published)))
                spread.append(max(0.0, first - f.published))
        rep.add(
            f"  v{f.version} after {f.name}",
            f"T {_q(after, 0.5):.1f} / {_q(after, 0.99):.1f} / {max(after, default=0):.1f} s "
            f"[{_q(spread, 0.5):.1f} / {_q(spread, 0.99):.1f} / {max(spread, default=0):.1f} s] "
            f"({len(after)}/{len(alive)} kiosks)",
        )
    latest = max(p["version"] for p in soak.publications)
    at_latest = sum(1 for k in alive if j.installs.get(k) and j.installs[k][-1][1] == latest)
    rep.add(
        "every live kiosk on the latest pack",
        f"{at_latest}/{len(alive)} on v{latest}; installs missing after a fault: {never}",
        at_latest == len(alive) and never == 0,
    )

    # 5. the fleet view agrees with reality
    state = {v["id"]: v["state"] for v in view}
    wrong_alive = [k for k in alive if state.get(k) != "online"]
    wrong_dead = [k for k in j.dead if state.get(k) != "offline"]
    rep.add(
        "fleet view after convergence",
        f"alive shown online {len(alive) - len(wrong_alive)}/{len(alive)}, "
        f"dead shown offline {len(j.dead) - len(wrong_dead)}/{len(j.dead)}"
        + (f"; wrong: {(wrong_alive + wrong_dead)[:5]}" if wrong_alive or wrong_dead else ""),
        not wrong_alive and not wrong_dead,
    )

    memory_rows(soak, rep)
    api_rows(soak, faults, rep)
    done = notice_states.count("done")
    took = [n.get("s", 0.0) for n in soak.notices]
    failed_posts = [n for n in soak.notices if n.get("status") != 202]
    rep.add(
        "notices", f"{len(soak.notices)} sent to all ({len(failed_posts)} refused; the POST took "
        f"{_q(took, 0.5):.1f} s median, {max(took, default=0):.1f} s max): {len(notice_states)} "
        f"commands, {done} shown (acknowledged done), {j.commands} received by simulated kiosks; "
        f"simulated sync retries {j.syncfails}",
    )  # fmt: skip
    rep.print()
    (soak.tmp / "report.json").write_text(json.dumps(rep.rows, indent=1))
    checked = [ok for _, _, ok in rep.rows if ok is not None]
    if rep.failed:
        print(f"\nsoak FAILED: {', '.join(rep.failed)}")
    else:
        print("\nsoak passed: every invariant holds")
    # the closing line CI reads: invariants as tests
    print(f"soak: {checked.count(True)} passed, {checked.count(False)} failed")
    return 1 if rep.failed else 0


def memory_rows(soak: Soak, rep: Report) -> None:
    by: dict[str, list[tuple[float, int, int]]] = defaultdict(list)
    for t, name, pid, kib in soak.memory:
        by[name].append((t, pid, kib))
    for name, samples in sorted(by.items()):
        last_pid = samples[-1][1]
        mine = [(t, kib) for t, pid, kib in samples if pid == last_pid]
        started = mine[0][0]
        base_at = max(getattr(soak, "warm", started), started + 120)
        base = [kib for t, kib in mine if t >= base_at][:3]
        end = [kib for _, kib in mine[-3:]]
        if not base or not end:
            continue
        ratio = statistics.mean(end) / statistics.mean(base)
        step = max(1, len(mine) // 8)
        curve = " ".join(f"{kib / 1024:.0f}" for _, kib in mine[::step])
        restarted = " (restarted: its own warm-up)" if len({s[1] for s in samples}) > 1 else ""
        rep.add(
            f"memory {name}",
            f"{statistics.mean(base) / 1024:.0f} -> {statistics.mean(end) / 1024:.0f} MiB "
            f"({ratio:.2f}x){restarted}; curve MiB: {curve}",
            ratio <= MEMORY_LIMIT,
        )


def api_rows(soak: Soak, faults: list[Fault], rep: Report) -> None:
    probes = soak.probes
    windows = [(f.name, f.start, f.end + 30) for f in faults]
    store_down = [(s, e) for name, s, e in windows if name.startswith("PostgreSQL")]
    quiet = [p for p in probes if not any(s <= p[0] <= e for _, s, e in windows)]
    bad_total = 0
    for name, s, e in [("no fault", 0.0, 0.0), *windows]:
        inside = quiet if name == "no fault" else [p for p in probes if s <= p[0] <= e]
        lat = [p[3] * 1000 for p in inside if p[2] > 0]
        errors = [p for p in inside if p[2] < 0 or p[2] >= 500]
        # a 503 with its sentence is the answer while the database restarts
        unexcused = [
            p for p in errors if not (p[2] == 503 and any(s <= p[0] <= e for s, e in store_down))
        ]
        bad_total += len(unexcused)
        rep.add(
            f"API/dashboard during {name}",
            f"p99 {_q(lat, 0.99):.0f} ms, median {_q(lat, 0.5):.0f} ms, {len(inside)} requests, "
            f"errors {len(errors)}" + (f" {sorted({p[2] for p in errors})}" if errors else ""),
            not unexcused,
        )
