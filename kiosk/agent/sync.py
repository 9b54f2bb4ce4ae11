"""One sync cycle and the health settlement, with the I/O around the pure
state machine (kiosk.agent.install). Used by `bgk kiosk sync --once`,
`bgk kiosk import` and the agent service; callers hold the SyncLock.
"""

from __future__ import annotations

import hashlib
import logging
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from kiosk.agent import install
from kiosk.agent.checkpoints import Checkpoint, Checkpoints
from kiosk.agent.download import (
    PARALLEL,
    DownloadStats,
    Retry,
    Wanted,
    fetch_all,
    verify_file,
)
from kiosk.agent.errors import AgentError, NotEnoughSpace, PackFailedHealth
from kiosk.agent.events import AgentEvent, EventSink, LogSink
from kiosk.agent.fetch import Source
from kiosk.agent.layout import Layout, disk_error, flush_filesystem
from kiosk.agent.share_client import ShareClient
from kiosk.agent.state import AgentState, ErrorRecord, PackRef, StateFile
from kiosk.agent.structure import describe_pack, structural_problem
from kiosk.agent.tufclient import TufSession, cached_state
from kiosk.common.backoff import Backoff
from kiosk.config import KioskConfig
from kiosk.local import Channel
from kiosk.protocol.delivery import BLOB_PATH

log = logging.getLogger(__name__)
MB = 1_000_000


@dataclass
class Deps:
    """Everything from outside: network, clocks, randomness, test hooks."""

    source: Source
    #: base URL the files are under ({base}/tuf/..., {base}/blobs/sha256/...)
    base_url: str
    clock: Callable[[], float] = time.time
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    checkpoint: Callable[[str], None] = field(default_factory=Checkpoints)
    free_bytes: Callable[[Path], int] = lambda p: shutil.disk_usage(p).free
    events: EventSink = field(default_factory=LogSink)
    #: attempts per blob within one cycle (resumed with Range between them)
    attempts: int = 4
    #: blobs downloaded at once
    parallel: int = PARALLEL
    backoff: Backoff = field(default_factory=lambda: Backoff(1.0, 30.0))
    #: the gate's other kiosks, asked for each blob before the server (None: sharing off)
    share: ShareClient | None = None


@dataclass(frozen=True)
class CycleResult:
    action: Literal["switched", "up-to-date", "nothing-offered", "waiting"]
    message: str
    pack: PackRef | None = None
    bytes: int = 0
    blobs: int = 0
    #: bytes received from other kiosks of the gate
    peer_bytes: int = 0


class Syncer:
    def __init__(self, config: KioskConfig, root: bytes, deps: Deps) -> None:
        self.config = config
        self.root = root
        self.deps = deps
        self.layout = Layout(config.kiosk.state_dir)
        self._working = AgentState()
        self.state_file = StateFile(self.layout.state_file)
        self.channel = Channel(config.kiosk.state_dir)

    # --- state ---------------------------------------------------------------
    def now(self, state: AgentState) -> float:
        """The clock, never below the time floor."""
        return max(self.deps.clock(), state.time_floor)

    def save(self, state: AgentState) -> None:
        try:
            self.state_file.save(state)
        except OSError as exc:
            raise disk_error("saving the agent state", exc) from None

    def load(self) -> AgentState:
        """The saved state, reconciled with the disk after a crash or damage."""
        self.layout.ensure()
        saved, problem = self.state_file.load()
        current = self.layout.current_name()
        result = install.reconcile(
            saved, current, lambda name: describe_pack(self.layout, name), problem
        )
        state = result.state
        if saved is not None and problem:
            state = state.with_note(problem)
        cached = cached_state(self.layout.tuf)
        issued = cached.issued if cached is not None and cached.issued is not None else 0.0
        floor = max(state.time_floor, issued, self.config.server.enrolled)
        if floor > state.time_floor:  # the newest signed time seen, or the enrolment's
            state = replace(state, time_floor=floor)
        if result.note:
            log.warning("%s", result.note)
            state = state.with_note(result.note)
        if result.todo == "finish-revert":
            state = self._finish_revert(state)
        if state != saved:
            self.save(state)
        return state

    def record_error(self, state: AgentState, exc: AgentError) -> AgentState:
        now = self.now(state)
        state = replace(
            state,
            last_attempt=now,
            last_error=ErrorRecord(exc.code, str(exc), now),
            failures=state.failures + 1,
        )
        self.save(state)
        kind = "rejected" if exc.retry == "interval" else "error"
        self.deps.events.emit(AgentEvent(kind, now, str(exc), {"code": exc.code}))
        return state

    # --- the cycle -----------------------------------------------------------
    def cycle(self, only_pack: str | None = None) -> CycleResult:
        """Refresh, choose, download, stage, switch. Errors are recorded and raised."""
        state = self.load()
        if state.pending is not None:
            return CycleResult(
                "waiting",
                f"{state.pending.pack.label()} waits for its health check",
                state.pending.pack,
            )
        self._working = state
        try:
            return self._cycle(state, only_pack)
        except AgentError as exc:
            self.record_error(self._working, exc)
            raise

    def _cycle(self, state: AgentState, only_pack: str | None) -> CycleResult:
        d = self.deps
        cp = d.checkpoint
        session = TufSession(self.layout.tuf, d.base_url, self.root, d.source, self.now(state))
        trusted = session.refresh()
        floor = max(state.time_floor, trusted.issued or 0.0)
        state = replace(state, time_floor=floor)
        now = self.now(state)
        state = replace(state, last_check=now, last_attempt=now)
        self._working = state
        cp(Checkpoint.REFRESHED)
        ident = self.config.kiosk
        offer = install.choose(trusted.offers, (ident.gate, *ident.groups), state, only_pack)
        if offer is None:
            return self._done(
                state,
                CycleResult(
                    "nothing-offered", _nothing_message(ident.gate, ident.groups, only_pack)
                ),
            )
        if install.is_installed(offer, state):
            return self._done(
                state,
                CycleResult(
                    "up-to-date",
                    f"{offer.pack} version {offer.version} is installed and up to date",
                    state.installed,
                ),
            )
        install.check_not_older(offer, state, d.source.name)
        ref = install.pack_ref(offer)
        manifest_path = self.layout.manifests / f"{offer.sha256}.json"
        data = session.fetch_manifest(offer, manifest_path)
        manifest = install.validate_manifest(data, offer, self.config.sync.max_pack_mb * MB)
        cp(Checkpoint.MANIFEST)
        missing = install.missing_blobs(manifest, self.layout.has_blob)
        self._check_space(missing_bytes=sum(e.length for e in missing))
        cp(Checkpoint.SPACE_CHECKED)
        stats = DownloadStats()
        retry = Retry(d.attempts, d.backoff, d.rng, d.sleep)
        sources = {f.sha256: self.layout.blob(f.sha256) for f in manifest.files}
        wanted, earlier_ok = [], []
        for entry in missing:
            earlier = self.layout.downloads / entry.sha256
            if earlier.exists() and verify_file(earlier, entry.sha256, entry.length):
                sources[entry.sha256] = earlier  # from an interrupted cycle, checked again
                earlier_ok.append(entry)
            else:
                earlier.unlink(missing_ok=True)
                url = f"{d.base_url}{BLOB_PATH}{entry.sha256}"
                wanted.append(Wanted(url, entry.sha256, entry.length))
        share = d.share if d.share is not None and not d.source.is_stick else None
        mirrors = None if share is None else share.cycle(stats, wanted, earlier_ok)
        try:
            wanted = wanted if mirrors is None else mirrors.order(wanted)
            got = fetch_all(
                d.source, wanted, self.layout.downloads, retry, stats, cp, d.parallel, mirrors
            )
        finally:
            if share is not None:
                share.board.end(stats.bytes, stats.peer_bytes, now)
        sources.update(got)
        new_blobs = [sources[e.sha256] for e in missing]
        stage = self.layout.stage(ref.name, manifest, data, sources, cp)
        cp(Checkpoint.STAGED)
        try:
            flush_filesystem(self.layout.root)
            cp(Checkpoint.FLUSHED)
            self.layout.store_blobs(new_blobs)
            cp(Checkpoint.STORED)
            self.layout.place(stage, ref.name)
            cp(Checkpoint.PLACED)
        except OSError as exc:
            raise disk_error("installing the pack", exc) from None
        state = install.pending(state, ref)
        self.save(state)
        cp(Checkpoint.PENDING_SAVED)
        try:
            self.layout.switch(ref.name)
        except OSError as exc:
            raise disk_error("switching to the new pack", exc) from None
        cp(Checkpoint.SWITCHED)
        peers = (
            f", {stats.peer_bytes / MB:.1f} MB from the gate's kiosks" if stats.peer_bytes else ""
        )
        message = (
            f"switched to {ref.label()} ({len(missing)} new files, {stats.bytes / MB:.1f} MB "
            f"downloaded{peers}); waiting for its health check"
        )
        d.events.emit(
            AgentEvent(
                "install",
                now,
                message,
                {
                    "pack": ref.id,
                    "version": ref.version,
                    "bytes": stats.bytes,
                    "blobs": len(missing),
                    "peer_bytes": stats.peer_bytes,
                },
            )
        )
        result = CycleResult("switched", message, ref, stats.bytes, len(missing), stats.peer_bytes)
        return self._done(state, result)

    def _done(self, state: AgentState, result: CycleResult) -> CycleResult:
        state = replace(state, last_result=result.message, last_error=None, failures=0)
        self.save(state)
        if result.action in ("up-to-date", "nothing-offered"):
            self.clean(state)  # leftovers of an interrupted install or cleanup
        return result

    def _check_space(self, missing_bytes: int) -> None:
        partial = sum(p.stat().st_size for p in self.layout.downloads.glob("*") if p.is_file())
        need = max(0, missing_bytes - partial)
        keep = self.config.sync.min_free_mb * MB
        try:
            free = self.deps.free_bytes(self.layout.root)
        except OSError as exc:
            raise disk_error("checking free space", exc) from None
        if free - need < keep:
            raise NotEnoughSpace(
                f"not enough free space for the new pack: it needs {need / MB:.0f} MB and "
                f"{keep / MB:.0f} MB must stay free, but only {free / MB:.0f} MB are free; "
                "free space on the kiosk's disk (the current pack keeps playing)"
            )

    # --- health: commit or revert --------------------------------------------
    def settle(self, waited_s: float, wait_limit_s: float | None = None) -> install.Verdict | None:
        """One health decision about the pending pack (None when nothing is pending)."""
        state = self.load()
        p = state.pending
        if p is None:
            return None
        health = self.channel.read_health()
        verdict = install.judge(
            p,
            ui_present=self.channel.health_path.exists(),
            health=health,
            now=self.now(state),
            waited_s=waited_s,
            wait_limit_s=self.config.sync.health_wait_s if wait_limit_s is None else wait_limit_s,
            tries_limit=self.config.sync.health_tries,
            structural_problem=structural_problem(self.layout, p.pack),
        )
        state = replace(state, pending=verdict.pending)
        if verdict.action == "commit":
            self._commit(state, verdict.reason)
        elif verdict.action == "revert":
            self._revert(state, verdict.reason, blacklist=verdict.blacklist)
        elif verdict.pending != p:
            self.save(replace(state, last_result=verdict.reason))
        return verdict

    def _commit(self, state: AgentState, reason: str) -> None:
        cp = self.deps.checkpoint
        cp(Checkpoint.COMMITTING)
        state = install.commit(state)
        now = self.now(state)
        state = replace(
            state,
            last_result=f"installed {state.installed.label() if state.installed else ''}: {reason}",
        )
        self.save(state)
        cp(Checkpoint.COMMITTED)
        self.clean(state)
        cp(Checkpoint.CLEANED)
        assert state.installed is not None
        self.deps.events.emit(
            AgentEvent(
                "commit",
                now,
                state.last_result,
                {"pack": state.installed.id, "version": state.installed.version},
            )
        )

    def _revert(self, state: AgentState, reason: str, *, blacklist: bool) -> None:
        now = self.now(state)
        state = install.begin_revert(state, reason, now, blacklist=blacklist)
        self.save(state)
        self.deps.checkpoint(Checkpoint.REVERTING)
        self._finish_revert(state)

    def _finish_revert(self, state: AgentState) -> AgentState:
        p = state.pending
        assert p is not None
        self.layout.switch(p.previous.name if p.previous else None)
        self.deps.checkpoint(Checkpoint.REVERTED)
        back = p.previous.label() if p.previous else "no pack (there was none before)"
        blacklisted = state.is_blacklisted(p.pack.id, p.pack.version)
        message = f"{p.reason}: went back to {back}" + (
            f"; {p.pack.label()} will not be installed again (publish a fixed version)"
            if blacklisted
            else "; it will be downloaded again"
        )
        now = self.now(state)
        state = install.finish_revert(state)
        state = replace(
            state, last_result=message, last_error=ErrorRecord(PackFailedHealth.code, message, now)
        )
        self.save(state)
        self.clean(state)
        self.deps.events.emit(
            AgentEvent(
                "rollback",
                now,
                message,
                {"pack": p.pack.id, "version": p.pack.version, "blacklisted": blacklisted},
            )
        )
        return state

    def clean(self, state: AgentState) -> None:
        """Drop temp files, packs other than installed/previous, blobs they do not use."""
        keep = [r for r in (state.installed, state.previous) if r is not None]
        if state.pending is not None:
            keep.append(state.pending.pack)
        blobs: set[str] = set()
        for ref in keep:
            blobs |= _blob_set(self.layout, ref)
        self.layout.clean({r.name for r in keep}, blobs)


def _blob_set(layout: Layout, ref: PackRef) -> set[str]:
    from kiosk.protocol.pack import MANIFEST_NAME, parse_manifest

    try:
        data = (layout.pack_dir(ref.name) / MANIFEST_NAME).read_bytes()
        if hashlib.sha256(data).hexdigest() != ref.sha256:
            return set()
        return {f.sha256 for f in parse_manifest(data).files}
    except (OSError, ValueError):
        return set()


def _nothing_message(gate: str, groups: tuple[str, ...], only_pack: str | None) -> str:
    where = f"gate {gate}" + (f" or groups {', '.join(groups)}" if groups else "")
    if only_pack:
        return f"pack {only_pack} is not addressed to this kiosk ({where}) or is blacklisted: nothing installed"
    return f"no pack is published for {where} (or all): nothing to install"
