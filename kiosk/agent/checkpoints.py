"""Named points of a sync, for the kill tests (tests/faults/test_sync_kill.py).

In production this does nothing. The tests set two environment variables
(read once, by the command line, and passed down):

    BGK_TEST_CHECKPOINT_LOG=FILE   append each checkpoint name reached to FILE
    BGK_TEST_PAUSE_AT=NAME[:N]     at the N-th time NAME is reached, write
                                   "paused NAME" to FILE and wait: to be killed,
                                   or until FILE.resume appears (then go on)
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path


class Checkpoint(StrEnum):
    """Every named point of a sync: the install's in order, then a revert's. The kill
    tests (tests/faults/test_sync_kill.py) kill the agent at each of them."""

    REFRESHED = "refreshed"
    MANIFEST = "manifest"
    SPACE_CHECKED = "space-checked"
    DOWNLOAD_CHUNK = "download-chunk"
    DOWNLOADED = "downloaded"
    STAGING = "staging"
    STAGED = "staged"
    FLUSHED = "flushed"
    STORED = "stored"
    PLACED = "placed"
    PENDING_SAVED = "pending-saved"
    SWITCHED = "switched"
    COMMITTING = "committing"
    COMMITTED = "committed"
    CLEANED = "cleaned"
    #: a revert (the new pack failed its health check): before and after the switch back
    REVERTING = "reverting"
    REVERTED = "reverted"


#: the checkpoints of a revert, and of an install, in order
REVERT_STEPS: tuple[Checkpoint, ...] = (Checkpoint.REVERTING, Checkpoint.REVERTED)
STEPS: tuple[Checkpoint, ...] = tuple(c for c in Checkpoint if c not in REVERT_STEPS)


class Checkpoints:
    def __init__(
        self, log: Path | None = None, pause_at: str | None = None, count: int = 1
    ) -> None:
        self.log = log
        self.pause_at = pause_at
        self.count = count
        self.seen: Counter[str] = Counter()
        self._lock = threading.Lock()  # parallel downloads reach checkpoints too

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Checkpoints:
        log = env.get("BGK_TEST_CHECKPOINT_LOG")
        pause = env.get("BGK_TEST_PAUSE_AT")
        if not log:
            return cls()
        name, _, count = (pause or "").partition(":")
        return cls(Path(log), name or None, int(count or 1))

    def __call__(self, name: str) -> None:
        if self.log is None:
            return
        with self._lock:
            self.seen[name] += 1
            seen = self.seen[name]
            if seen == 1:
                self._write(name)
        if name == self.pause_at and seen == self.count:
            self._write(f"paused {name}")
            resume = self.log.with_name(self.log.name + ".resume")
            while not resume.exists():  # until the test kills this process or resumes it
                time.sleep(0.02)
            resume.unlink()

    def _write(self, line: str) -> None:
        assert self.log is not None
        fd = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{line}\n".encode())
        finally:
            os.close(fd)
