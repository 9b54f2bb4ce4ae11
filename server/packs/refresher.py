"""Keep the online metadata fresh while the server runs.

timestamp.json expires after `timestamp_days` and the snapshot after
`snapshot_days`; kiosks refuse expired metadata (and keep playing their pack,
reporting `stale`). The refresher re-signs each with the online keys once
less than half of its validity is left. Targets and root are signed with
offline keys: it only logs a warning when they get close to expiry.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from tuf.api.metadata import Root, Snapshot, Targets, Timestamp

from server.config import ServerConfig
from server.packs.fileio import locked
from server.packs.repo import TufRepository
from server.packs.signing import open_repository, utcnow

log = logging.getLogger(__name__)

#: warn this long before an offline-signed role expires
OFFLINE_WARNING = timedelta(days=14)


@dataclass(frozen=True)
class RefreshResult:
    snapshot: bool
    timestamp: bool
    warnings: tuple[str, ...]


def refresh_online_metadata(repo: TufRepository, now: datetime) -> RefreshResult:
    """Re-sign snapshot and/or timestamp when less than half their validity is left."""
    with locked(repo.dir / ".lock"):
        snapshot = timestamp = False
        if repo.snapshot().expires - now < repo.validity(Snapshot.type) / 2:
            repo.do_snapshot(force=True)
            snapshot = True
        if snapshot or repo.timestamp().expires - now < repo.validity(Timestamp.type) / 2:
            repo.do_timestamp(force=True)
            timestamp = True
        warnings = []
        for role, signed in ((Targets.type, repo.targets()), (Root.type, repo.root())):
            if signed.expires - now < OFFLINE_WARNING:
                warnings.append(
                    f"{role} metadata expires {signed.expires:%d/%m/%Y}: re-sign it with the "
                    f"offline keys (`bgk server resign --role {role}`)"
                )
    return RefreshResult(snapshot, timestamp, tuple(warnings))


class TufRefresher:
    """A background service of `bgk server run` (start/stop)."""

    name = "tuf-refresher"

    def __init__(
        self,
        config: ServerConfig,
        *,
        now: Callable[[], datetime] = utcnow,
        check_every_s: float = 300.0,
    ) -> None:
        self.config = config
        self.now = now
        self.check_every_s = check_every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check_once(self) -> RefreshResult:
        repo = open_repository(self.config, now=self.now)
        result = refresh_online_metadata(repo, self.now())
        if result.timestamp:
            log.info("re-signed %s", "snapshot and timestamp" if result.snapshot else "timestamp")
        for warning in result.warnings:
            log.warning("%s", warning)
        return result

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check_once()
            except Exception:  # keep serving; the next check retries
                log.exception("refreshing TUF metadata failed")
            self._stop.wait(self.check_every_s)

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
