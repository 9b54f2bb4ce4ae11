"""Fetching a blob from the other kiosks of the gate first, the server second.

A peer is an untrusted mirror: its bytes go through the same download code as
the server's (kiosk/agent/download.py: hashed while written, refused unless
they match the signed hash), its answer is cut at the signed length, and a
peer that sends wrong bytes, fails, stalls or sends slower than [share]
min_kbps is given up for the rest of the cycle. None of that can install a
bad file; it costs one attempt before the next source.

One download over the uplink per gate: for each blob, the kiosks of the gate
rank themselves by rendezvous hashing (sha256 of blob and address, the same
order everywhere). A kiosk asks its peers in that order:
  - a peer that has the blob serves it (200): done;
  - a peer that is fetching it from the server, or wants it too and ranks
    above this kiosk, is waited for, as long as the bytes it receives keep
    growing (its Bgk-Progress; [share] stall_s without progress: not waited for);
  - otherwise (no peer has it or will fetch it first) this kiosk claims it (peers
    that ask see Bgk-Share: fetching), asks the peers ranked above it once more
    (one that decided at the same moment goes first), and fetches it from the server.
Each kiosk downloads the blobs it ranks first for before the others, so the
gate's kiosks share the uplink work and none waits on a kiosk that waits on it.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from kiosk.agent.download import Cancelled, DownloadStats, Wanted, fetch_attempt
from kiosk.agent.errors import BadDownload, DownloadStalled, NetworkFailed, ServerFailed
from kiosk.agent.share_index import Board
from kiosk.protocol.pack import FileEntry

log = logging.getLogger("bgk.share")

#: seconds for connecting to a peer and for each read (they are on the same LAN)
PEER_TIMEOUT_S: Final = 5.0
#: a peer is judged on its speed only after this long
GRACE_S: Final = 3.0
CHUNK: Final = 512 * 1024
#: seconds a peer may answer "busy" (503) before this kiosk stops asking it for a blob
BUSY_S: Final = 5.0
#: seconds a peer that could not be reached is left alone (then asked again: its agent
#: may have been starting)
ABSENT_S: Final = 3.0


class PeerLacks(Exception):
    """The peer does not serve the blob (404); what its cycle does with it."""

    def __init__(self, state: str, progress: int) -> None:
        super().__init__(state)
        self.state = state
        self.progress = progress


class PeerBusy(Exception):
    """The peer serves as many connections as it may (503)."""


class PeerAbsent(Exception):
    """No connection to the peer (switched off, or its agent is still starting)."""


def rank(sha256: str, addresses: tuple[str, ...]) -> list[str]:
    """The gate's kiosks in the order they fetch this blob (the same on every kiosk)."""
    return sorted(set(addresses), key=lambda a: hashlib.sha256(f"{sha256}/{a}".encode()).digest())


class _PeerStream:
    offset = 0

    def __init__(self, response: Any, limit: int, min_rate: float, where: str) -> None:
        self._response = response
        self._limit = limit
        self._min_rate = min_rate
        self._where = where

    def chunks(self) -> Iterator[bytes]:
        import requests
        import urllib3

        raw = self._response.raw
        left = self._limit
        got = 0
        start = time.monotonic()
        while left > 0:  # never more than the signed length, whatever the peer sends
            try:
                data = raw.read1(min(CHUNK, left))
            except (urllib3.exceptions.HTTPError, requests.RequestException, OSError):
                raise DownloadStalled(f"{self._where} stopped sending") from None
            if not data:
                return
            got += len(data)
            left -= len(data)
            yield data
            elapsed = time.monotonic() - start
            if elapsed > GRACE_S and got / elapsed < self._min_rate:
                raise DownloadStalled(
                    f"{self._where} sends {got / elapsed * 8 / 1000:.0f} kbit/s, slower than "
                    "[share] min_kbps: fetching from elsewhere"
                )

    def close(self) -> None:
        self._response.close()


class PeerSource:
    """One peer as a download Source for one blob of `length` bytes."""

    is_stick = False

    def __init__(self, address: str, session: Any, length: int, min_rate: float) -> None:
        self.address = address
        self.name = f"the kiosk {address} of this gate"
        self._session = session
        self._length = length
        self._min_rate = min_rate

    def open(self, url: str, start: int = 0) -> _PeerStream:
        import requests

        try:
            r = self._session.get(url, stream=True, timeout=(PEER_TIMEOUT_S, PEER_TIMEOUT_S))
        except requests.ConnectionError:  # refused, unreachable, connect timeout
            raise PeerAbsent(self.name) from None
        except requests.RequestException as exc:
            raise DownloadStalled(f"{self.name}: {type(exc).__name__}") from None
        if r.status_code == 200:
            declared = r.headers.get("Content-Length")
            if declared is not None and declared != str(self._length):
                r.close()
                raise BadDownload(f"{self.name} offers {declared} bytes, not the signed length")
            return _PeerStream(r, self._length, self._min_rate, self.name)
        r.close()
        if r.status_code == 404:
            progress = r.headers.get("Bgk-Progress", "0")
            state = r.headers.get("Bgk-Share", "none")
            raise PeerLacks(state, int(progress) if progress.isdigit() else 0)
        if r.status_code == 503:
            raise PeerBusy()
        raise ServerFailed(f"{self.name} answered HTTP {r.status_code}")


@dataclass
class ShareClient:
    """The gate's peers, as this kiosk fetches from them (one per agent)."""

    me: str
    peers: tuple[str, ...]
    board: Board
    stall_s: float = 30.0
    #: bytes/s below which a peer is given up
    min_rate: float = 32_000.0
    poll_s: float = 0.5
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    _local: threading.local = field(default_factory=threading.local, repr=False)

    def everyone(self) -> tuple[str, ...]:
        return (self.me, *(p for p in self.peers if p != self.me))

    def leads(self, sha256: str) -> bool:
        return rank(sha256, self.everyone())[0] == self.me

    def session(self) -> Any:
        s = getattr(self._local, "session", None)
        if s is None:
            import requests

            s = requests.Session()
            s.trust_env = False
            s.headers.update({"Accept-Encoding": "identity", "User-Agent": "bgk-kiosk-share"})
            self._local.session = s
        return s

    def cycle(
        self, stats: DownloadStats, wanted: list[Wanted], ready: Iterable[FileEntry] = ()
    ) -> PeerCycle:
        """Begin a sync cycle: peers learn what it wants, and may have the blobs it
        verified in an earlier, interrupted cycle (`ready`); returns its fetcher."""
        self.board.begin([w.sha256 for w in wanted], lambda: stats.bytes + stats.peer_bytes)
        for entry in ready:
            self.board.ready(entry.sha256, entry.length)
        return PeerCycle(self)


class PeerCycle:
    """The peers during one sync cycle (download.Mirrors): a peer that failed is
    given up until the next cycle."""

    def __init__(self, client: ShareClient) -> None:
        self.c = client
        self.down: set[str] = set()
        #: peer -> monotonic time it could not be reached
        self.absent: dict[str, float] = {}
        self._lock = threading.Lock()

    def order(self, wanted: list[Wanted]) -> list[Wanted]:
        """The blobs this kiosk fetches first for the gate, then the others."""
        return sorted(wanted, key=lambda w: not self.c.leads(w.sha256))

    def fetched(self, item: Wanted) -> None:
        self.c.board.ready(item.sha256, item.length)

    def fetch(
        self,
        item: Wanted,
        folder: Path,
        stats: DownloadStats,
        checkpoint: Callable[[str], None],
        stop: threading.Event | None,
    ) -> Path | None:
        """The blob from a peer, verified; None: fetch it from the server.

        Before fetching from the server this kiosk claims the blob (peers see
        "fetching") and asks the peers ranked above it once more: one that wants the
        blob too, or claimed it meanwhile, goes first and this kiosk waits for it.
        Two kiosks that decided at the same moment so agree on one of them."""
        c = self.c
        ask = _Asking(self, item, folder, stats, checkpoint, stop)
        while True:
            got = ask.round(len(ask.order))
            if isinstance(got, Path):
                return got
            if not got:
                c.board.fetching(item.sha256)
                got = ask.round(ask.mine)  # the claim is visible: ask those above again
                if isinstance(got, Path):
                    return got
                if not got:
                    return None
                c.board.unclaim(item.sha256)
            if stop is not None and stop.is_set():
                raise Cancelled("another download of this pack failed")
            c.sleep(c.poll_s)

    def absent_now(self, peer: str) -> None:
        with self._lock:
            self.absent[peer] = self.c.monotonic()

    def give_up(self, peer: str) -> None:
        with self._lock:
            self.down.add(peer)

    def is_down(self, peer: str) -> bool:
        with self._lock:
            since = self.absent.get(peer)
            recent = since is not None and self.c.monotonic() - since < ABSENT_S
            return peer in self.down or recent

    def download(
        self,
        peer: str,
        item: Wanted,
        folder: Path,
        stats: DownloadStats,
        checkpoint: Callable[[str], None],
        stop: threading.Event | None,
    ) -> Path:
        source = PeerSource(peer, self.c.session(), item.length, self.c.min_rate)
        url = f"http://{peer}/blobs/sha256/{item.sha256}"
        mine = DownloadStats()
        try:
            path = fetch_attempt(
                source, url, item.sha256, item.length, folder, mine, checkpoint, stop
            )
        finally:
            stats.add(peer_bytes=mine.bytes)
        stats.add(peer_blobs=1)
        return path


class _Asking:
    """Asking the gate for one blob: who was waited for, since when, and who not."""

    def __init__(
        self,
        cycle: PeerCycle,
        item: Wanted,
        folder: Path,
        stats: DownloadStats,
        checkpoint: Callable[[str], None],
        stop: threading.Event | None,
    ) -> None:
        self.cycle, self.item, self.folder = cycle, item, folder
        self.stats, self.checkpoint, self.stop = stats, checkpoint, stop
        c = cycle.c
        self.order = rank(item.sha256, c.everyone())
        self.mine = self.order.index(c.me)
        self.seen: dict[str, tuple[int, float]] = {}
        self.ignored: set[str] = set()

    def round(self, upto: int) -> Path | bool:
        """Ask the first `upto` kiosks of the order: the blob (verified) from one that
        has it, True to wait for one that will, False when none will."""
        cycle, c, item = self.cycle, self.cycle.c, self.item
        waiting = False
        for i, peer in enumerate(self.order[:upto]):
            if peer == c.me or peer in self.ignored or cycle.is_down(peer):
                continue
            try:
                path = cycle.download(
                    peer, item, self.folder, self.stats, self.checkpoint, self.stop
                )
            except PeerLacks as lack:
                if not (lack.state == "fetching" or (lack.state == "want" and i < self.mine)):
                    continue
                progress = lack.progress
            except PeerBusy:  # it may have the blob: ask again soon, for BUSY_S at most
                progress = -1
            except PeerAbsent:
                cycle.absent_now(peer)
                continue
            except (BadDownload, NetworkFailed) as exc:
                log.warning("share: %s; the kiosk fetches it elsewhere", exc)
                cycle.give_up(peer)
                (self.folder / f"{item.sha256}.part").unlink(missing_ok=True)
                continue
            else:
                c.board.ready(item.sha256, item.length)
                return path
            now = c.monotonic()
            last = self.seen.get(peer)
            if last is None or progress != last[0]:
                self.seen[peer] = (progress, now)
            elif now - last[1] > (BUSY_S if progress < 0 else c.stall_s):
                self.ignored.add(peer)  # no progress: this kiosk fetches the blob itself
                continue
            waiting = True
        return waiting
