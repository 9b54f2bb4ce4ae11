"""What a kiosk may serve to its gate: blobs it has verified, and nothing else.

Two sources, both read-only for the share server:

- `VerifiedIndex`: the blobs of the packs the agent state names (installed,
  previous, pending), read from each pack's manifest.json after checking the
  manifest's hash against the state (the manifest was verified by TUF when the
  pack was installed). A file in blobs/sha256/ that no such manifest lists, a
  blob of a pack that was never published to this kiosk, is not served: the
  index is never a directory listing.
- `Board`: the sync cycle in progress, in memory: blobs verified in this or an
  earlier cycle but not yet in the blob store (tmp/dl/<hex>), the blobs the
  cycle wants, those it is fetching from the server, and how many bytes it
  has received so far (peers waiting on this kiosk see it move).

Both give (sha256 -> length); the server opens the file itself, without
following symbolic links, and checks it is a regular file of that length.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

from kiosk.agent.layout import Layout
from kiosk.agent.state import StateFile
from kiosk.protocol.errors import ProtocolError
from kiosk.protocol.pack import MANIFEST_NAME, parse_manifest


class VerifiedIndex:
    """sha256 -> length of every blob of the packs in the agent state; re-read
    when state.json changes (its inode, size or mtime)."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self._key: tuple[int, int, int] | None = None
        self._blobs: dict[str, int] = {}
        self._lock = threading.Lock()

    def blobs(self) -> dict[str, int]:
        try:
            st = os.stat(self.layout.state_file)
            key = (st.st_ino, st.st_size, st.st_mtime_ns)
        except OSError:
            return {}
        with self._lock:
            if key != self._key:
                self._blobs, self._key = self._read(), key
            return self._blobs

    def _read(self) -> dict[str, int]:
        state, _ = StateFile(self.layout.state_file).load()
        if state is None:
            return {}
        refs = [state.installed, state.previous]
        if state.pending is not None:
            refs.append(state.pending.pack)
        out: dict[str, int] = {}
        for ref in refs:
            if ref is None:
                continue
            try:
                data = (self.layout.pack_dir(ref.name) / MANIFEST_NAME).read_bytes()
                if hashlib.sha256(data).hexdigest() != ref.sha256:
                    continue  # not the manifest the state verified: serve none of it
                for entry in parse_manifest(data).files:
                    out[entry.sha256] = entry.length
            except (OSError, ProtocolError, ValueError):
                continue
        return out


class Board:
    """The running sync cycle as peers see it (thread-safe, in memory only)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: verified downloads not (yet) in the blob store: sha256 -> length
        self._ready: dict[str, int] = {}
        self._want: set[str] = set()
        self._fetching: set[str] = set()
        self._progress: Callable[[], int] = lambda: 0
        #: bytes served to peers since the agent started, and blobs
        self.served_bytes = 0
        self.served_blobs = 0
        #: the last cycle that downloaded anything: bytes from the server and from peers
        self.last_cycle: dict[str, float] | None = None

    # --- the sync side ---------------------------------------------------------------
    def begin(self, want: list[str], progress: Callable[[], int]) -> None:
        with self._lock:
            self._want, self._fetching, self._progress = set(want), set(), progress

    def fetching(self, sha256: str) -> None:
        with self._lock:
            self._fetching.add(sha256)

    def unclaim(self, sha256: str) -> None:
        """Not fetching it after all (a kiosk ranked higher wants it): back to "want"."""
        with self._lock:
            self._fetching.discard(sha256)

    def ready(self, sha256: str, length: int) -> None:
        """A download verified against its signed hash and length."""
        with self._lock:
            self._ready[sha256] = length
            self._fetching.discard(sha256)
            self._want.discard(sha256)

    def end(self, server_bytes: int, peer_bytes: int, at: float) -> None:
        """The cycle's downloads are over; remember what came from where."""
        with self._lock:
            self._want, self._fetching, self._progress = set(), set(), lambda: 0
            if server_bytes or peer_bytes:
                self.last_cycle = {
                    "at": at,
                    "server_bytes": server_bytes,
                    "peer_bytes": peer_bytes,
                }

    def report(self) -> dict[str, object]:
        """What `bgk kiosk status` and the heartbeat show (agent/share.json)."""
        with self._lock:
            return {
                "served_bytes": self.served_bytes,
                "served_blobs": self.served_blobs,
                "last_download": self.last_cycle,
            }

    # --- the server side -------------------------------------------------------------
    def ready_length(self, sha256: str) -> int | None:
        with self._lock:
            return self._ready.get(sha256)

    def state_of(self, sha256: str) -> tuple[str, int]:
        """("fetching" | "want" | "none", bytes this cycle has received so far)."""
        with self._lock:
            if sha256 in self._fetching:
                return "fetching", self._progress()
            if sha256 in self._want:
                return "want", self._progress()
            return "none", 0

    def count_served(self, n: int, blob_done: bool) -> None:
        with self._lock:
            self.served_bytes += n
            self.served_blobs += int(blob_done)


def blob_paths(layout: Layout, sha256: str) -> list[Path]:
    """Where a verified blob may be: the store, or a verified download not yet stored."""
    return [layout.blob(sha256), layout.downloads / sha256]
