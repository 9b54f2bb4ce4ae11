"""Gate sharing on loopback (issue 17 item 3): a kiosk serves the blobs it verified,
nothing else, to the gate's other kiosks, which fetch from it first; lying
peers cost an attempt, never an install; the server's bounds hold.

The same with five agents in network namespaces behind a shaped uplink:
tests/faults/test_gate_netns.py.
"""

from __future__ import annotations

import hashlib
import os
import select
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from deliverykit import T0, FileServer, RepoSim, SimKiosk, installed, pack_files, snapshot_tree
from sharekit import LIES, LiarPeer, raw_get

from kiosk.agent.download import PARALLEL
from kiosk.agent.fetch import HttpSource
from kiosk.agent.layout import Layout
from kiosk.agent.ratelimit import RateLimiter
from kiosk.agent.share_client import ShareClient
from kiosk.agent.share_index import Board
from kiosk.agent.share_server import ShareServer
from kiosk.protocol.pack import MANIFEST_NAME, parse_manifest

SIZE = 300_000


@pytest.fixture
def sim() -> RepoSim:
    s = RepoSim()
    s.add_pack(pack_files("share", count=4, size=SIZE), version=1)
    return s


@pytest.fixture
def origin(sim: RepoSim) -> Iterator[FileServer]:
    with FileServer(sim.files) as srv:
        yield srv


def kiosk(tmp: Path, name: str, sim: RepoSim, origin: FileServer, **share: object) -> SimKiosk:
    k = SimKiosk(tmp / name, HttpSource(5.0), sim.root_v1, T0.timestamp() + 60, base=origin.url)
    if share:
        k.deps.share = ShareClient(board=Board(), **share)  # type: ignore[arg-type]
    return k


def blob_bytes(origin: FileServer) -> int:
    return sum(n for path, _, n in origin.log if path.startswith("blobs/"))


def lengths(k: SimKiosk) -> dict[str, int]:
    data = ((k.state_dir / "current").resolve() / MANIFEST_NAME).read_bytes()
    return {f.sha256: f.length for f in parse_manifest(data).files}


@pytest.fixture
def first(
    tmp_path: Path, sim: RepoSim, origin: FileServer
) -> Iterator[tuple[SimKiosk, ShareServer]]:
    """A kiosk that installed the pack from the server, serving it on loopback."""
    k = kiosk(tmp_path, "a", sim, origin)
    k.sync()
    assert installed(k.state_dir) == ("demo", 1)
    server = ShareServer(Layout(k.state_dir), Board(), "127.0.0.1", 0, max_connections=8).start()
    yield k, server
    server.stop()


def test_a_second_kiosk_takes_every_blob_from_the_first(
    tmp_path: Path, sim: RepoSim, origin: FileServer, first: tuple[SimKiosk, ShareServer]
) -> None:
    a, server = first
    before = blob_bytes(origin)
    peer = f"127.0.0.1:{server.port}"
    b = kiosk(tmp_path, "b", sim, origin, me="127.0.0.1:1", peers=(peer,))
    result = b.sync()
    assert installed(b.state_dir) == ("demo", 1)
    assert blob_bytes(origin) == before, "the server sent blobs again"
    assert result.bytes == 0 and result.peer_bytes == sum(lengths(a).values())
    assert "from the gate's kiosks" in result.message
    assert server.board.served_blobs == len(lengths(a))


@pytest.mark.parametrize("lie", LIES)
def test_a_lying_peer_costs_an_attempt_never_an_install(
    tmp_path: Path, sim: RepoSim, origin: FileServer, lie: str
) -> None:
    honest = kiosk(tmp_path, "h", sim, origin)
    honest.sync()
    with LiarPeer(lengths(honest), lie) as liar:
        b = kiosk(
            tmp_path, "b", sim, origin, me="127.0.0.1:1", peers=(liar.address,), min_rate=100_000.0
        )
        result = b.sync()
        assert installed(b.state_dir) == ("demo", 1)  # every file checked against its hash
        assert b.pack_tree() == honest.pack_tree()
        assert result.bytes == sum(lengths(honest).values())  # all from the server
        # a peer that lied once is given up for the cycle (by each parallel download)
        assert liar.requests <= PARALLEL
    assert not list((b.state_dir / "tmp" / "dl").glob("*.part"))


def test_a_peer_never_serves_a_path_outside_the_blob_store(
    first: tuple[SimKiosk, ShareServer],
) -> None:
    a, server = first
    sha, length = next(iter(lengths(a).items()))
    tree = snapshot_tree(a.state_dir)
    secret = a.state_dir / "agent" / "state.json"
    paths = [
        "/blobs/sha256/../../agent/state.json",
        "/blobs/sha256/%2e%2e/%2e%2e/agent/state.json",
        "/blobs/sha256/%2E%2E%2F%2E%2E%2Fagent%2Fstate.json",
        "/blobs/sha256/..%2f..%2fagent%2fstate.json",
        "//etc/passwd",
        "/etc/passwd",
        str(secret),
        "/blobs/sha256/" + sha.upper(),
        f"/blobs/sha256/{sha}?download=1",
        f"/blobs/sha256/{sha}/",
        "/blobs/sha256/",
        "/",
    ]
    for path in paths:
        status, body = raw_get("127.0.0.1", server.port, path)
        assert status == 404 and body == b"", path
    status, body = raw_get("127.0.0.1", server.port, f"/blobs/sha256/{sha}")
    assert status == 200 and len(body) == length and hashlib.sha256(body).hexdigest() == sha
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        s.sendall(f"PUT /blobs/sha256/{sha} HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc".encode())
        assert s.recv(100).split(b" ")[1] == b"405"
    assert snapshot_tree(a.state_dir) == tree  # nothing written


def test_a_symlink_or_an_unpublished_blob_is_not_served(
    first: tuple[SimKiosk, ShareServer], tmp_path: Path
) -> None:
    a, server = first
    blobs = a.state_dir / "blobs" / "sha256"
    # a blob no verified manifest lists, planted in the store with its right hash
    data = b"draft of a pack never published to this kiosk" * 1000
    planted = hashlib.sha256(data).hexdigest()
    (blobs / planted).write_bytes(data)
    assert raw_get("127.0.0.1", server.port, f"/blobs/sha256/{planted}") == (404, b"")
    # a verified blob replaced by a symbolic link to a secret of the same length
    sha, length = next(iter(lengths(a).items()))
    secret = tmp_path / "secret"
    secret.write_bytes(b"S" * length)
    target = blobs / sha
    os.unlink(target)
    os.symlink(secret, target)
    assert raw_get("127.0.0.1", server.port, f"/blobs/sha256/{sha}") == (404, b"")
    # and a pack folder whose manifest is not the one the state verified serves nothing
    other = next(s for s in lengths(a) if s != sha)
    manifest = (a.state_dir / "current").resolve() / MANIFEST_NAME
    os.chmod(manifest, 0o644)
    manifest.write_bytes(manifest.read_bytes() + b" ")
    os.utime(a.state_dir / "agent" / "state.json")
    server.index._key = None  # the state file's time may not move within a tick
    assert raw_get("127.0.0.1", server.port, f"/blobs/sha256/{other}") == (404, b"")


def test_connections_are_capped(first: tuple[SimKiosk, ShareServer]) -> None:
    a, _ = first
    server = ShareServer(Layout(a.state_dir), Board(), "127.0.0.1", 0, max_connections=2).start()
    sha = next(iter(lengths(a)))
    idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(2)]
    try:
        # both slots are held by connections that send nothing: the next is refused at once
        threading.Event().wait(0.3)
        status, _ = raw_get("127.0.0.1", server.port, f"/blobs/sha256/{sha}")
        assert status == 503 and server.refused >= 1
    finally:
        for s in idle:
            s.close()
    # the slots come back when those connections end (or time out)
    deadline = threading.Event()
    for _ in range(100):
        if raw_get("127.0.0.1", server.port, f"/blobs/sha256/{sha}")[0] == 200:
            break
        deadline.wait(0.1)
    else:
        raise AssertionError("the slots were never given back")
    server.stop()


def test_the_rate_is_capped(first: tuple[SimKiosk, ShareServer]) -> None:
    a, _ = first
    sleeps: list[float] = []
    limiter = RateLimiter(100_000.0, clock=lambda: 0.0, sleep=sleeps.append)
    server = ShareServer(Layout(a.state_dir), Board(), "127.0.0.1", 0, limiter=limiter).start()
    try:
        sha, length = max(lengths(a).items(), key=lambda item: item[1])
        assert raw_get("127.0.0.1", server.port, f"/blobs/sha256/{sha}")[0] == 200
    finally:
        server.stop()
    # the bytes sent were paid for at 100 kB/s (less the limiter's 0.25 s of credit)
    assert max(sleeps) == pytest.approx(length / 100_000.0 - 0.25, abs=0.01)


def test_a_request_trickled_byte_by_byte_loses_its_slot(
    first: tuple[SimKiosk, ShareServer],
) -> None:
    a, _ = first
    server = ShareServer(
        Layout(a.state_dir), Board(), "127.0.0.1", 0, max_connections=1, request_s=1.0
    ).start()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as slow:
            # a byte every 0.3 s never trips the 5 s read timeout: only the deadline ends it
            slow.sendall(b"GET /blobs/")
            for _ in range(20):
                threading.Event().wait(0.3)
                try:
                    slow.sendall(b"a")
                    readable, _, _ = select.select([slow], [], [], 0)
                    if readable and slow.recv(100) == b"":
                        break  # closed by the share server, nothing answered
                except OSError:
                    break  # reset by the share server
            else:
                raise AssertionError("a request trickled for 6 s still holds its slot")
        sha = next(iter(lengths(a)))
        assert raw_get("127.0.0.1", server.port, f"/blobs/sha256/{sha}")[0] == 200
    finally:
        server.stop()
