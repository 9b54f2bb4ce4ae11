"""The install state machine, pure: facts in (state, offers, manifests, UI
health, times), decisions and new states out. kiosk/agent/sync.py does the
I/O around it.

    idle --new offer--> download --> stage --> [pending saved] --> switched
    switched --health ok / structural check ok--> committed (previous kept)
    switched --N failed starts--> reverting (blacklist saved) --> previous restored

The phases (idle, pending, reverting) and the only moves between them are the
table of kiosk/agent/state.py (`TRANSITIONS`); every function below that changes
the phase checks its move there first (`AgentState.advance`).

After a restart, `reconcile` puts the saved state and the `current` symlink
back in agreement: a pending pack `current` does not point to was never
switched to and is dropped; one it points to waits for its health check
again (agent restarts are not failed starts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Literal

from kiosk.agent.errors import BadManifest, OlderPack
from kiosk.agent.state import AgentState, Blacklisted, PackRef, Pending, Step
from kiosk.local import HEALTH_STALE_S, UiHealth
from kiosk.protocol.delivery import PackOffer
from kiosk.protocol.errors import ProtocolError
from kiosk.protocol.pack import MANIFEST_NAME, FileEntry, Manifest, parse_manifest


def choose(
    offers: Iterable[PackOffer],
    names: Iterable[str],
    state: AgentState,
    only_pack: str | None = None,
) -> PackOffer | None:
    """The most recently published pack addressed to this kiosk, not blacklisted."""
    names = set(names)
    candidates = [
        o
        for o in offers
        if o.addressed_to(names)
        and not state.is_blacklisted(o.pack, o.version)
        and (only_pack is None or o.pack == only_pack)
    ]
    return max(candidates, key=lambda o: o.seq, default=None)


def is_installed(offer: PackOffer, state: AgentState) -> bool:
    ref = state.installed
    return ref is not None and (ref.id, ref.version, ref.sha256) == (
        offer.pack,
        offer.version,
        offer.sha256,
    )


def check_not_older(offer: PackOffer, state: AgentState, origin: str = "the server") -> None:
    ref = state.installed
    if ref is None or ref.id != offer.pack:
        return
    if offer.version < ref.version:
        raise OlderPack(
            f"{origin} offers {offer.pack} version {offer.version}, older than the installed "
            f"version {ref.version}: not installed (rollback refused), the current pack keeps playing"
        )
    if offer.version == ref.version and offer.sha256 != ref.sha256:
        raise BadManifest(
            f"{origin} offers {offer.pack} version {offer.version} with other content than the "
            "installed one: refused (a version is never changed after publishing)"
        )


def pack_name(offer: PackOffer) -> str:
    return f"{offer.pack}-{offer.version}-{offer.sha256[:12]}"


def pack_ref(offer: PackOffer) -> PackRef:
    return PackRef(offer.pack, offer.version, pack_name(offer), offer.sha256)


def validate_manifest(data: bytes, offer: PackOffer, max_bytes: int) -> Manifest:
    """Parse the (hash-verified) manifest and check it is the pack the target says."""
    try:
        manifest = parse_manifest(data)
    except ProtocolError as exc:
        raise BadManifest(
            f"{offer.pack} version {offer.version} was refused: {exc}; the current pack keeps playing"
        ) from None
    if (manifest.id, manifest.version) != (offer.pack, offer.version):
        raise BadManifest(
            f"the signed target {offer.path} holds {manifest.id} version {manifest.version}, "
            "not what its signed description says: refused"
        )
    if any(f.path == MANIFEST_NAME for f in manifest.files):
        raise BadManifest(f"{offer.pack} lists a file named {MANIFEST_NAME}: refused")
    if manifest.total_bytes > max_bytes:
        raise BadManifest(
            f"{offer.pack} version {offer.version} is {manifest.total_bytes / 1e6:.0f} MB, more than "
            f"this kiosk's limit of {max_bytes / 1e6:.0f} MB ([sync] max_pack_mb): not installed"
        )
    return manifest


def missing_blobs(manifest: Manifest, have: Callable[[str, int], bool]) -> list[FileEntry]:
    """One entry per blob the kiosk does not hold yet (same content, one download)."""
    seen: set[str] = set()
    out = []
    for entry in manifest.files:
        if entry.sha256 in seen:
            continue
        seen.add(entry.sha256)
        if not have(entry.sha256, entry.length):
            out.append(entry)
    return out


# --- switching, commit, revert ----------------------------------------------


def pending(state: AgentState, pack: PackRef) -> AgentState:
    state.advance(Step.BEGIN)
    return replace(state, pending=Pending(pack=pack, previous=state.installed))


def _pending_of(state: AgentState, step: Step) -> Pending:
    state.advance(step)
    assert state.pending is not None  # every phase but idle has one (for mypy)
    return state.pending


def commit(state: AgentState) -> AgentState:
    p = _pending_of(state, Step.COMMIT)
    return replace(state, installed=p.pack, previous=p.previous, pending=None)


def begin_revert(state: AgentState, reason: str, now: float, *, blacklist: bool) -> AgentState:
    p = _pending_of(state, Step.REVERT)
    entries = state.blacklist
    if blacklist and not state.is_blacklisted(p.pack.id, p.pack.version):
        entries = (*entries, Blacklisted(p.pack.id, p.pack.version, reason, now))
    return replace(state, pending=replace(p, reverting=True, reason=reason), blacklist=entries)


def finish_revert(state: AgentState) -> AgentState:
    p = _pending_of(state, Step.FINISH)
    return replace(state, installed=p.previous, pending=None)


# --- health -----------------------------------------------------------------

Action = Literal["commit", "wait", "revert"]


@dataclass(frozen=True)
class Verdict:
    action: Action
    pending: Pending
    reason: str
    #: on revert: blacklist the version (it failed to start; not merely damaged on disk)
    blacklist: bool = False


def judge(
    p: Pending,
    *,
    ui_present: bool,
    health: UiHealth | None,
    now: float,
    waited_s: float,
    wait_limit_s: float,
    tries_limit: int,
    structural_problem: str | None,
) -> Verdict:
    """Decide about a switched pack.

    Without a UI on this kiosk (no health file ever written), the structural
    check decides. With one, the UI must report it shows the new pack with
    ok=true; a UI process reporting ok=false, or no confirmation within
    `wait_limit_s`, is one failed start; `tries_limit` failed starts revert.
    `waited_s` is measured by the caller since the switch or the last counted
    failure, in this process (restarts of the agent are never failures).
    """
    label = p.pack.label()
    if structural_problem is not None:
        return Verdict("revert", p, f"{label} is damaged on disk ({structural_problem})")
    if not ui_present:
        return Verdict("commit", p, f"{label} passed the structural check (no UI on this kiosk)")
    fresh = health is not None and now - health.ts <= HEALTH_STALE_S
    shows = (
        fresh
        and health is not None
        and (health.pack_id, health.pack_version) == (p.pack.id, p.pack.version)
    )
    if shows and health is not None and health.ok:
        return Verdict("commit", p, f"the screen shows {label}")
    failure: str | None = None
    if shows and health is not None and not health.ok and health.pid not in p.failed_pids:
        p = replace(p, failed_pids=(*p.failed_pids, health.pid))
        failure = f"the screen could not show {label}: {health.error or 'no reason given'}"
    elif waited_s >= wait_limit_s:
        failure = f"the screen did not confirm {label} within {wait_limit_s:.0f} s"
    if failure is None:
        return Verdict("wait", p, f"waiting for the screen to show {label}")
    p = replace(p, tries=p.tries + 1, reason=failure)
    if p.tries >= tries_limit:
        return Verdict(
            "revert", p, f"{label} failed to start {p.tries} times (last: {failure})", True
        )
    return Verdict("wait", p, failure)


# --- after a restart -----------------------------------------------------------


@dataclass(frozen=True)
class Reconciled:
    state: AgentState
    #: "finish-revert" when `current` must be pointed back at the previous pack
    todo: Literal["none", "finish-revert"]
    note: str | None


def reconcile(
    state: AgentState | None,
    current: str | None,
    describe: Callable[[str], PackRef | None],
    load_problem: str | None = None,
) -> Reconciled:
    """Bring the saved state in line with what `current` points to."""
    if state is None:
        ref = describe(current) if current else None
        note = None
        if load_problem or current:
            note = (
                f"the agent state was unreadable ({load_problem}); rebuilt from the installed pack"
                if load_problem
                else "no agent state; rebuilt from the installed pack"
            )
        return Reconciled(AgentState(installed=ref), "none", note)
    p = state.pending
    if p is not None:
        prev_name = p.previous.name if p.previous else None
        if p.reverting:
            if current == p.pack.name:
                return Reconciled(state, "finish-revert", None)
            return Reconciled(finish_revert(state), "none", None)
        if current == p.pack.name:
            return Reconciled(state, "none", None)
        if current == prev_name:
            note = f"an install of {p.pack.label()} was interrupted before the switch; it will be retried"
            state.advance(Step.DROP)
            return Reconciled(replace(state, pending=None), "none", note)
    installed = state.installed.name if state.installed else None
    if p is None and current == installed:
        return Reconciled(state, "none", None)
    ref = describe(current) if current else None
    note = (
        f"the agent state did not match the installed pack ({current or 'none'}); "
        "rebuilt from the installed pack"
    )
    previous = state.installed if state.installed and state.installed != ref else state.previous
    state.advance(Step.REBUILD)
    return Reconciled(replace(state, installed=ref, previous=previous, pending=None), "none", note)
