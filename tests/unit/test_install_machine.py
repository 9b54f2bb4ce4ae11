"""The pure install state machine: choice of pack, health verdicts, recovery."""

from __future__ import annotations

import pytest

from kiosk.agent import install
from kiosk.agent.errors import BadManifest, OlderPack
from kiosk.agent.state import AgentState, Blacklisted, PackRef, Pending
from kiosk.local import UiHealth
from kiosk.protocol.delivery import PackOffer


def offer(pack: str, version: int, to: tuple[str, ...], seq: int, sha: str = "a" * 64) -> PackOffer:
    return PackOffer(f"packs/{pack}/{version}.manifest.json", pack, version, to, seq, sha, 100)


def ref(pack: str, version: int, sha: str = "a" * 64) -> PackRef:
    return PackRef(pack, version, f"{pack}-{version}-{sha[:12]}", sha)


def test_choose_takes_the_latest_publication_addressed_to_the_kiosk() -> None:
    offers = [
        offer("lao-bao", 7, ("lao-bao",), 1),
        offer("generic", 2, ("all",), 2),
        offer("cha-lo", 9, ("cha-lo",), 3),  # another gate: ignored
        offer("quang-tri", 1, ("quang-tri",), 4),  # a group of this kiosk
    ]
    state = AgentState()
    chosen = install.choose(offers, ("lao-bao",), state)
    assert chosen is not None and chosen.pack == "generic"
    chosen = install.choose(offers, ("lao-bao", "quang-tri"), state)
    assert chosen is not None and chosen.pack == "quang-tri"
    assert install.choose(offers[2:3], ("lao-bao",), state) is None


def test_choose_skips_blacklisted_versions_and_honours_only_pack() -> None:
    offers = [offer("lao-bao", 7, ("all",), 1), offer("lao-bao", 8, ("all",), 2)]
    state = AgentState(blacklist=(Blacklisted("lao-bao", 8, "failed", 0.0),))
    chosen = install.choose(offers, ("x",), state)
    assert chosen is not None and chosen.version == 7
    assert install.choose(offers, ("x",), AgentState(), only_pack="other") is None


def test_older_or_changed_versions_of_the_installed_pack_are_refused() -> None:
    state = AgentState(installed=ref("lao-bao", 8))
    with pytest.raises(OlderPack, match="older than the installed version 8"):
        install.check_not_older(offer("lao-bao", 7, ("all",), 5), state)
    with pytest.raises(BadManifest, match="other content"):
        install.check_not_older(offer("lao-bao", 8, ("all",), 5, sha="b" * 64), state)
    install.check_not_older(offer("lao-bao", 9, ("all",), 5), state)
    install.check_not_older(offer("other", 1, ("all",), 5), state)


def health(pack: PackRef, *, ok: bool, pid: int, ts: float = 1000.0) -> UiHealth:
    return UiHealth(ts, pid, pack.id, pack.version, "home", None, None, ok, None if ok else "boom")


def judge(
    p: Pending,
    h: UiHealth | None,
    *,
    present: bool = True,
    waited: float = 0.0,
    problem: str | None = None,
) -> install.Verdict:
    return install.judge(
        p,
        ui_present=present,
        health=h,
        now=1001.0,
        waited_s=waited,
        wait_limit_s=60.0,
        tries_limit=3,
        structural_problem=problem,
    )


def test_without_a_ui_the_structural_check_decides() -> None:
    p = Pending(ref("x", 2), ref("x", 1))
    assert judge(p, None, present=False).action == "commit"
    v = judge(p, None, present=False, problem="media/a is missing")
    assert v.action == "revert" and not v.blacklist and "damaged" in v.reason


def test_a_ui_showing_the_new_pack_commits() -> None:
    p = Pending(ref("x", 2), ref("x", 1))
    assert judge(p, health(p.pack, ok=True, pid=5)).action == "commit"
    # still showing the old pack: wait
    assert judge(p, health(ref("x", 1), ok=True, pid=5)).action == "wait"
    # a stale health file (UI dead) does not commit
    assert judge(p, health(p.pack, ok=True, pid=5, ts=900.0)).action == "wait"


def test_each_failing_ui_process_counts_once_and_n_failures_revert() -> None:
    p = Pending(ref("x", 2), ref("x", 1))
    v = judge(p, health(p.pack, ok=False, pid=10))
    assert v.action == "wait" and v.pending.tries == 1
    v = judge(v.pending, health(p.pack, ok=False, pid=10))  # same process again
    assert v.pending.tries == 1
    v = judge(v.pending, health(p.pack, ok=False, pid=11))
    assert v.pending.tries == 2
    v = judge(v.pending, None, waited=61.0)  # no confirmation in time
    assert v.action == "revert" and v.blacklist and v.pending.tries == 3


def test_waiting_alone_is_not_a_failure() -> None:
    p = Pending(ref("x", 2), ref("x", 1))
    v = judge(p, None, waited=59.0)
    assert v.action == "wait" and v.pending.tries == 0


def describe(name: str) -> PackRef | None:
    return {r.name: r for r in (ref("x", 1), ref("x", 2))}.get(name)


def test_reconcile_drops_a_pending_pack_that_was_never_switched_to() -> None:
    state = install.pending(AgentState(installed=ref("x", 1)), ref("x", 2))
    r = install.reconcile(state, ref("x", 1).name, describe)
    assert r.state.pending is None and r.state.installed == ref("x", 1)
    assert r.note and "interrupted before the switch" in r.note


def test_reconcile_keeps_waiting_for_a_switched_pack() -> None:
    state = install.pending(AgentState(installed=ref("x", 1)), ref("x", 2))
    r = install.reconcile(state, ref("x", 2).name, describe)
    assert r.state == state and r.todo == "none" and r.note is None


def test_reconcile_finishes_an_interrupted_revert() -> None:
    state = install.pending(AgentState(installed=ref("x", 1)), ref("x", 2))
    state = install.begin_revert(state, "failed", 5.0, blacklist=True)
    assert install.reconcile(state, ref("x", 2).name, describe).todo == "finish-revert"
    done = install.reconcile(state, ref("x", 1).name, describe)
    assert done.todo == "none" and done.state.installed == ref("x", 1)
    assert done.state.is_blacklisted("x", 2)


def test_reconcile_rebuilds_a_lost_state_from_the_current_link() -> None:
    r = install.reconcile(None, ref("x", 2).name, describe, "state.json: truncated")
    assert r.state.installed == ref("x", 2)
    assert r.note and "unreadable" in r.note
    assert install.reconcile(None, None, describe).state == AgentState()
