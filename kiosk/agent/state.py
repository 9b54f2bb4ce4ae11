"""The agent's durable state: state_dir/agent/state.json (and a backup copy).

Written atomically at each step that matters (pending, commit, revert,
result of a cycle). The installed pack itself is defined by the `current`
symlink; the state says which pack that is, which one came before, which
one waits for its health check, and which versions are blacklisted. A
damaged state file is rebuilt from the disk (kiosk.agent.install.reconcile).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from kiosk.common.files import atomic_write

STATE_SCHEMA = 1


@dataclass(frozen=True)
class PackRef:
    id: str
    version: int
    #: folder under state_dir/packs/
    name: str
    #: SHA-256 of the manifest (what the signed target says)
    sha256: str

    def label(self) -> str:
        return f"{self.id} v{self.version}"


@dataclass(frozen=True)
class Pending:
    """A pack switched to (or about to be) that has not passed its health check."""

    pack: PackRef
    previous: PackRef | None
    #: failed starts so far
    tries: int = 0
    #: UI processes already counted as a failed start
    failed_pids: tuple[int, ...] = ()
    #: set once the pack failed N times: switching back to `previous` is under way
    reverting: bool = False
    reason: str = ""


@dataclass(frozen=True)
class Blacklisted:
    id: str
    version: int
    reason: str
    at: float


@dataclass(frozen=True)
class ErrorRecord:
    code: str
    message: str
    at: float


@dataclass(frozen=True)
class AgentState:
    installed: PackRef | None = None
    previous: PackRef | None = None
    pending: Pending | None = None
    blacklist: tuple[Blacklisted, ...] = ()
    #: newest signed time seen (epoch s): the clock is never trusted below it
    time_floor: float = 0.0
    #: last verified look at the server (epoch s, clock at or above the floor)
    last_check: float | None = None
    #: last cycle, successful or not
    last_attempt: float | None = None
    #: what the last successful cycle (or health decision) did, in words
    last_result: str = ""
    last_error: ErrorRecord | None = None
    #: consecutive failed cycles (for backoff)
    failures: int = 0
    #: notes about recoveries (state rebuilt, interrupted install dropped), newest last
    notes: tuple[str, ...] = field(default=())

    def is_blacklisted(self, pack: str, version: int) -> bool:
        return any(b.id == pack and b.version == version for b in self.blacklist)

    def with_note(self, note: str) -> AgentState:
        return replace(self, notes=(*self.notes, note)[-10:])


def to_json(state: AgentState) -> bytes:
    body = {"schema": STATE_SCHEMA, **asdict(state)}
    return (json.dumps(body, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode()


def from_json(data: bytes) -> AgentState:
    """Parse state.json; raise ValueError when it is damaged."""
    raw = json.loads(data)
    if not isinstance(raw, dict) or raw.get("schema") != STATE_SCHEMA:
        raise ValueError("not an agent state file")
    try:
        pending = raw.get("pending")
        return AgentState(
            installed=_ref(raw.get("installed")),
            previous=_ref(raw.get("previous")),
            pending=None
            if pending is None
            else Pending(
                pack=_req_ref(pending["pack"]),
                previous=_ref(pending.get("previous")),
                tries=int(pending.get("tries", 0)),
                failed_pids=tuple(int(p) for p in pending.get("failed_pids", ())),
                reverting=bool(pending.get("reverting", False)),
                reason=str(pending.get("reason", "")),
            ),
            blacklist=tuple(
                Blacklisted(str(b["id"]), int(b["version"]), str(b["reason"]), float(b["at"]))
                for b in raw.get("blacklist", ())
            ),
            time_floor=float(raw.get("time_floor", 0.0)),
            last_check=_opt_float(raw.get("last_check")),
            last_attempt=_opt_float(raw.get("last_attempt")),
            last_result=str(raw.get("last_result", "")),
            last_error=None if raw.get("last_error") is None else ErrorRecord(**raw["last_error"]),
            failures=int(raw.get("failures", 0)),
            notes=tuple(str(n) for n in raw.get("notes", ())),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"agent state file is damaged: {exc}") from None


def _ref(raw: Any) -> PackRef | None:
    return None if raw is None else _req_ref(raw)


def _req_ref(raw: Any) -> PackRef:
    return PackRef(str(raw["id"]), int(raw["version"]), str(raw["name"]), str(raw["sha256"]))


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


class StateFile:
    """state.json plus state.json.bak (the same content, for a damaged card)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.backup = path.with_name(path.name + ".bak")

    def load(self) -> tuple[AgentState | None, str | None]:
        """The state, or (None, why) when neither copy is readable (None, None: no state yet)."""
        problems = []
        for path in (self.path, self.backup):
            try:
                return from_json(path.read_bytes()), None if path == self.path else (
                    f"{self.path.name} was damaged; used its backup"
                )
            except FileNotFoundError:
                continue
            except (OSError, ValueError) as exc:
                problems.append(f"{path.name}: {exc}")
        return None, ("; ".join(problems) or None)

    def save(self, state: AgentState) -> None:
        data = to_json(state)
        atomic_write(self.path, data)
        atomic_write(self.backup, data)
