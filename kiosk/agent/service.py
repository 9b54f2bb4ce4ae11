"""`bgk kiosk agent`: the long-running service around the sync cycle.

    svc = AgentService(syncer)
    svc.run()            # blocks: sync every interval, settle pending packs
    svc.trigger_sync()   # from any thread: check now (an MQTT announcement)
    svc.stop()           # from any thread or a signal handler

Network and local failures retry with exponential backoff and jitter;
a rejected pack waits for the next interval. While a new pack waits for its
health check, the UI's health is looked at every few seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from kiosk.agent.errors import AgentError, SyncBusy
from kiosk.agent.layout import SyncLock
from kiosk.agent.status import kiosk_status
from kiosk.agent.sync import CycleResult, Syncer
from kiosk.common.backoff import Backoff
from kiosk.local import HEALTH_PERIOD_S

log = logging.getLogger("bgk.agent")


class AgentService:
    def __init__(
        self,
        syncer: Syncer,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        backoff: Backoff | None = None,
    ) -> None:
        self.syncer = syncer
        self.config = syncer.config
        self.monotonic = monotonic
        self.backoff = backoff or Backoff(15.0, self.config.sync.interval_s)
        self._wake = threading.Event()
        self._sync_now = threading.Event()
        self._stop = threading.Event()
        #: monotonic time the pending pack's health wait started (in this process)
        self._wait_from: float | None = None
        self._tries_seen = 0
        self.last_result: CycleResult | None = None

    # --- called from other threads -----------------------------------------------
    def trigger_sync(self) -> None:
        """Check for a new pack now (e.g. an MQTT announcement arrived)."""
        self._sync_now.set()
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def status(self) -> dict[str, Any]:
        """What `bgk kiosk status --json` shows (for heartbeats)."""
        return kiosk_status(self.config, self.syncer.deps.clock())

    # --- the loop ------------------------------------------------------------------
    def run(self) -> None:
        next_sync = self.monotonic()
        while not self._stop.is_set():
            pending = self.settle_step()
            now = self.monotonic()
            if self._sync_now.is_set() or now >= next_sync:
                self._sync_now.clear()
                next_sync = now + self.cycle_step()
                pending = self.settle_step()
            timeout = max(0.0, next_sync - self.monotonic())
            if pending:
                timeout = min(timeout, HEALTH_PERIOD_S)
            self._wake.wait(timeout)
            self._wake.clear()

    def cycle_step(self) -> float:
        """One sync cycle; returns the delay until the next one."""
        try:
            with SyncLock(self.syncer.layout.lock_file):
                result = self.syncer.cycle()
        except SyncBusy:
            return 60.0
        except AgentError as exc:
            log.warning("sync failed: %s", exc)
            if exc.retry == "backoff":
                failures = max(1, self.syncer.load().failures)
                return self.backoff.delay(failures, self.syncer.deps.rng)
            return self.config.sync.interval_s
        self.last_result = result
        log.info("%s", result.message)
        return self.config.sync.interval_s

    def settle_step(self) -> bool:
        """Judge a pending pack's health once; True while one is still pending."""
        try:
            with SyncLock(self.syncer.layout.lock_file):
                state = self.syncer.load()
                if state.pending is None:
                    self._wait_from = None
                    return False
                now = self.monotonic()
                if self._wait_from is None or state.pending.tries != self._tries_seen:
                    self._wait_from, self._tries_seen = now, state.pending.tries
                verdict = self.syncer.settle(waited_s=now - self._wait_from)
        except SyncBusy:
            return True
        except AgentError as exc:
            log.warning("health check failed: %s", exc)
            return True
        if verdict is None or verdict.action != "wait":
            self._wait_from = None
            if verdict is not None:
                log.info("%s", verdict.reason)
            return False
        if verdict.pending.tries != self._tries_seen:
            self._wait_from, self._tries_seen = self.monotonic(), verdict.pending.tries
        return True
