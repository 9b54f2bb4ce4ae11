"""The web copies of the published packs, kept in DATA/sites/ (served at /p/<pack>/).

The newest published version of a pack is made into a site (server/packs/site.py)
from its signed manifest and the blob store, every blob checked against its
hash: by `bgk server publish` right after publishing (so no traveller waits),
else the first time it is asked for. A pack with dated pages is made again
each day (Vietnam time); older copies are removed.
"""

from __future__ import annotations

import re
import shutil
import threading
from datetime import date
from pathlib import Path

from kiosk.protocol.pack import MANIFEST_NAME, Manifest, parse_manifest
from server.config import ServerConfig
from server.packs.delegation import published_offers
from server.packs.publish import target_file_path
from server.packs.signing import open_repository
from server.packs.site import render_site


class SiteCache:
    """Sites of the published packs in DATA/sites/, made when first asked for."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.root = config.data / "sites"
        self._lock = threading.Lock()

    def _newest(self, pack_id: str) -> tuple[bytes, Manifest] | None:
        repo = open_repository(self.config)
        offers = [o for o in published_offers(repo) if o.pack == pack_id]
        if not offers:
            return None
        offer = max(offers, key=lambda o: o.version)
        data = target_file_path(repo.dir, offer.path, offer.sha256).read_bytes()
        return data, parse_manifest(data)

    def folder(self, pack_id: str, day: date) -> Path | None:
        """The site of the newest published version of `pack_id` (None: none published)."""
        newest = self._newest(pack_id)
        if newest is None:
            return None
        data, manifest = newest
        dated = any(p.valid_from or p.valid_until for p in manifest.pages)
        name = f"{pack_id}-v{manifest.version}" + (f"-{day.isoformat()}" if dated else "")
        site = self.root / name
        if (site / "index.html").is_file():
            return site
        with self._lock:
            if not (site / "index.html").is_file():
                source = self.root / f".manifest-{name}"
                source.mkdir(parents=True, exist_ok=True)
                (source / MANIFEST_NAME).write_bytes(data)
                try:
                    render_site(source, site, day, blob_dir=self.config.blob_dir)
                finally:
                    shutil.rmtree(source, ignore_errors=True)
                self._forget_older(pack_id, name)
        return site

    def _forget_older(self, pack_id: str, keep: str) -> None:
        for old in self.root.glob(f"{pack_id}-v*"):
            if old.name != keep and re.fullmatch(rf"{re.escape(pack_id)}-v\d+(-[\d-]+)?", old.name):
                shutil.rmtree(old, ignore_errors=True)
