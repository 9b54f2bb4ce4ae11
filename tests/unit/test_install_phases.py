"""The install's phases (idle, pending, reverting) move only along the table of
kiosk/agent/state.py; anything else raises IllegalTransition; state.json keeps its format."""

from __future__ import annotations

import json

import pytest

from kiosk.agent import install
from kiosk.agent.state import (
    TRANSITIONS,
    AgentState,
    IllegalTransition,
    PackRef,
    Phase,
    Step,
    from_json,
    to_json,
)

OLD = PackRef("lao-bao", 7, "lao-bao-7-aaaaaaaaaaaa", "a" * 64)
NEW = PackRef("lao-bao", 8, "lao-bao-8-bbbbbbbbbbbb", "b" * 64)


def test_a_whole_install_and_a_whole_revert_walk_the_table() -> None:
    idle = AgentState(installed=OLD)
    assert idle.phase is Phase.IDLE
    waiting = install.pending(idle, NEW)
    assert waiting.phase is Phase.PENDING
    done = install.commit(waiting)
    assert done.phase is Phase.IDLE and done.installed == NEW and done.previous == OLD
    reverting = install.begin_revert(waiting, "failed to start 3 times", 10.0, blacklist=True)
    assert reverting.phase is Phase.REVERTING
    back = install.finish_revert(reverting)
    assert back.phase is Phase.IDLE and back.installed == OLD and back.is_blacklisted("lao-bao", 8)


@pytest.mark.parametrize(
    ("phase", "move"),
    [
        (Phase.IDLE, "commit"),
        (Phase.IDLE, "revert"),
        (Phase.IDLE, "finish"),
        (Phase.PENDING, "pending"),
        (Phase.PENDING, "finish"),
        (Phase.REVERTING, "commit"),
        (Phase.REVERTING, "revert"),
        (Phase.REVERTING, "pending"),
    ],
)
def test_an_illegal_move_raises_a_named_error_and_changes_nothing(phase: Phase, move: str) -> None:
    state = AgentState(installed=OLD)
    if phase is not Phase.IDLE:
        state = install.pending(state, NEW)
    if phase is Phase.REVERTING:
        state = install.begin_revert(state, "failed", 1.0, blacklist=False)
    moves = {
        "pending": lambda s: install.pending(s, NEW),
        "commit": install.commit,
        "revert": lambda s: install.begin_revert(s, "again", 2.0, blacklist=True),
        "finish": install.finish_revert,
    }
    with pytest.raises(IllegalTransition, match=f"while {phase}") as caught:
        moves[move](state)
    assert caught.value.phase is phase
    assert state.phase is phase  # frozen: nothing half-changed


def test_every_phase_can_be_rebuilt_from_the_disk_and_every_phase_is_reached() -> None:
    assert {TRANSITIONS[(p, Step.REBUILD)] for p in Phase} == {Phase.IDLE}
    assert {to for to in TRANSITIONS.values()} == set(Phase)


def test_the_state_file_keeps_its_format_and_the_phase_is_read_back() -> None:
    reverting = install.begin_revert(install.pending(AgentState(installed=OLD), NEW), "x", 1.0,
                                     blacklist=False)  # fmt: skip
    raw = json.loads(to_json(reverting))
    assert "phase" not in raw and raw["schema"] == 1 and raw["pending"]["reverting"] is True
    assert from_json(to_json(reverting)).phase is Phase.REVERTING
