"""Pack announcements: `bgk/v1/packs/announce`, retained, QoS 1 — a hint to sync.

The running server (its main fleet service) watches the TUF repository in
DATA/tuf/ and publishes {timestamp_version, packs: {id: newest version}}
whenever timestamp.json changes (a publish, or the refresher re-signing) and
again after every reconnect. `bgk server publish` therefore needs no broker
connection of its own, and a kiosk that was away finds the retained hint
when it comes back. Kiosks trust none of it: they sync and TUF decides.

The announcement carries [fleet] announce_jitter_s as `jitter_s`: each kiosk
syncs after a uniform delay in that window (kiosk.protocol.rollout), so a
fleet does not reach the server in one second. Changing the setting (and
restarting the server) announces again with the new window.
"""

from __future__ import annotations

import logging
from pathlib import Path

from kiosk.protocol.payloads import Announce
from server.config import ServerConfig

log = logging.getLogger(__name__)


class AnnounceWatcher:
    def __init__(self, cfg: ServerConfig) -> None:
        self.cfg = cfg
        self._seen: float | None = None
        self.last: Announce | None = None

    @property
    def timestamp_path(self) -> Path:
        return self.cfg.tuf_dir / "timestamp.json"

    def changed(self) -> Announce | None:
        """The announcement to publish when the repository changed since the last call."""
        try:
            mtime = self.timestamp_path.stat().st_mtime
        except OSError:
            return None  # no repository (yet)
        if mtime == self._seen:
            return None
        self._seen = mtime
        announce = read_announce(self.cfg)
        if announce is not None and announce != self.last:
            self.last = announce
            return announce
        return None


def read_announce(cfg: ServerConfig) -> Announce | None:
    """What the repository offers now, or None when it cannot be read."""
    from server.packs.delegation import published_offers
    from server.packs.repo import RepositoryError, TufRepository
    from server.packs.signing import utcnow

    repo = TufRepository(cfg.tuf_dir, cfg.tuf, {}, utcnow)
    try:
        timestamp = repo.open("timestamp").signed.version
        offers = published_offers(repo)
    except RepositoryError as exc:
        log.warning("cannot read the repository to announce it: %s", exc)
        return None
    packs: dict[str, int] = {}
    for offer in offers:
        packs[offer.pack] = max(offer.version, packs.get(offer.pack, 0))
    return Announce(timestamp_version=timestamp, packs=packs, jitter_s=cfg.fleet.announce_jitter_s)
