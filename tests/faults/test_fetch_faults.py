"""Faults on the wire, against a real local HTTP server: the kiosk's
download code (requests, streaming, Range) keeps the current pack untouched
and says what went wrong."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from deliverykit import T0, FileServer, RepoSim, SimKiosk, installed, pack_files

from kiosk.agent.errors import AgentError, BadDownload, DownloadStalled, NotEnoughSpace
from kiosk.agent.fetch import CHUNK_SIZE, HttpSource

BIG = 3 * 512 * 1024 + 12345  # a few network chunks


@pytest.fixture
def sim() -> RepoSim:
    s = RepoSim()
    s.add_pack(pack_files("v1", count=3), version=1)
    return s


@pytest.fixture
def server(sim: RepoSim) -> Iterator[FileServer]:
    with FileServer(sim.files) as srv:
        yield srv


def make_kiosk(tmp_path: Path, sim: RepoSim, server: FileServer, timeout: float = 5.0) -> SimKiosk:
    source = HttpSource(timeout)
    k = SimKiosk(tmp_path / "kiosk", source, sim.root_v1, T0.timestamp() + 60, base=server.url)
    k.sync()
    assert installed(k.state_dir) == ("demo", 1)
    return k


def new_version(sim: RepoSim) -> tuple[dict[str, bytes], str]:
    """Publish v2 with one big file; returns its files and the big blob's path."""
    files = pack_files("v2", count=3)
    files["media/big.bin"] = hashlib.sha256(b"big").digest() * (BIG // 32) + b"x" * (BIG % 32)
    sim.add_pack(files, version=2)
    return files, sim.blob_path(files["media/big.bin"])


def refused(kiosk: SimKiosk, error: type[AgentError], words: str) -> AgentError:
    before = kiosk.pack_tree()
    with pytest.raises(error, match=words) as info:
        kiosk.sync()
    assert installed(kiosk.state_dir) == ("demo", 1)
    assert kiosk.pack_tree() == before
    assert kiosk.status()["last_error"]["code"] == info.value.code
    return info.value


def parts(kiosk: SimKiosk) -> list[Path]:
    return sorted((kiosk.state_dir / "tmp" / "dl").glob("*.part"))


def part_of(kiosk: SimKiosk, blob_path: str) -> Path:
    return kiosk.state_dir / "tmp" / "dl" / (blob_path.rsplit("/", 1)[1] + ".part")


def test_a_byte_flipped_in_a_blob(tmp_path: Path, sim: RepoSim, server: FileServer) -> None:
    kiosk = make_kiosk(tmp_path, sim, server)
    _, big = new_version(sim)
    data = bytearray(sim.files[big])
    data[len(data) // 2] ^= 0x01
    server.files[big] = bytes(data)
    refused(kiosk, BadDownload, "does not match its signed hash")
    assert not part_of(kiosk, big).exists()  # the bad bytes are not kept for a resume


def test_a_valid_blob_of_another_pack_served_instead(
    tmp_path: Path, sim: RepoSim, server: FileServer
) -> None:
    kiosk = make_kiosk(tmp_path, sim, server)
    _, big = new_version(sim)
    other = next(p for p in sim.files if p.startswith("blobs/") and p != big)
    server.files[big] = sim.files[other]
    refused(kiosk, BadDownload, "signed")


def test_endless_data_is_cut_at_the_signed_length(
    tmp_path: Path, sim: RepoSim, server: FileServer
) -> None:
    kiosk = make_kiosk(tmp_path, sim, server)
    _, big = new_version(sim)
    server.modes[big] = "endless"
    refused(kiosk, BadDownload, "more than the signed")
    assert not part_of(kiosk, big).exists()
    # the client stopped reading soon after the signed length (plus what was in flight)
    assert server.sent < 2 * BIG + 64 * 1024 * 1024


def test_truncated_download_resumes_with_range(
    tmp_path: Path, sim: RepoSim, server: FileServer
) -> None:
    kiosk = make_kiosk(tmp_path, sim, server)
    files, big = new_version(sim)
    server.modes[big] = f"cut:{BIG // 2}"
    server.sent = 0
    kiosk.sync()
    assert installed(kiosk.state_dir) == ("demo", 2)
    ranges = [rng for path, rng, _ in server.log if path == big]
    assert len(ranges) == 2 and ranges[0] is None
    # resumed where the saved bytes end (a chunk in flight when the link dropped is lost)
    start = int(ranges[1].removeprefix("bytes=").rstrip("-"))
    assert 0 < start <= BIG // 2
    assert len(kiosk.sleeps) == 1  # one backoff between the attempts
    new_bytes = sum(len(d) for d in files.values()) - len(files["i18n/vi.json"])
    # at most the chunk in flight is fetched twice (plus a few KB of metadata)
    assert server.sent <= new_bytes + CHUNK_SIZE + 20_000


def test_resume_across_a_restart_of_the_sync(
    tmp_path: Path, sim: RepoSim, server: FileServer
) -> None:
    kiosk = make_kiosk(tmp_path, sim, server)
    kiosk.deps.attempts = 1
    _, big = new_version(sim)
    server.modes[big] = f"cut:{BIG // 3}"
    refused(kiosk, DownloadStalled, "dropped")
    saved = part_of(kiosk, big).stat().st_size
    assert 0 < saved <= BIG // 3
    kiosk.sync()
    assert installed(kiosk.state_dir) == ("demo", 2)
    assert [rng for path, rng, _ in server.log if path == big][-1] == f"bytes={saved}-"


def test_a_server_that_ignores_range_still_works(
    tmp_path: Path, sim: RepoSim, server: FileServer
) -> None:
    kiosk = make_kiosk(tmp_path, sim, server)
    _, big = new_version(sim)
    server.modes[big] = f"cut:{BIG // 2}"
    kiosk.deps.attempts = 1
    with pytest.raises(DownloadStalled):
        kiosk.sync()
    server.modes[big] = "ignore-range"
    kiosk.sync()
    assert installed(kiosk.state_dir) == ("demo", 2)
    assert kiosk.status()["last_error"] is None


def test_a_stalled_socket_times_out(tmp_path: Path, sim: RepoSim, server: FileServer) -> None:
    kiosk = make_kiosk(tmp_path, sim, server, timeout=1.0)
    kiosk.deps.attempts = 2
    _, big = new_version(sim)
    server.modes[big] = "stall:100000"
    err = refused(kiosk, DownloadStalled, "stopped sending")
    assert "the server at 127.0.0.1" in str(err)
    # each attempt kept what arrived before the stall and resumed from there
    assert [rng for path, rng, _ in server.log if path == big] == [None, "bytes=100000-"]
    assert part_of(kiosk, big).stat().st_size == 200000
    del server.modes[big]
    kiosk.sync()
    assert installed(kiosk.state_dir) == ("demo", 2)


def test_free_space_is_checked_before_downloading(
    tmp_path: Path, sim: RepoSim, server: FileServer
) -> None:
    kiosk = make_kiosk(tmp_path, sim, server)
    _, big = new_version(sim)
    kiosk.deps.free_bytes = lambda _path: 1_000_000  # less than the pack needs
    err = refused(kiosk, NotEnoughSpace, "not enough free space")
    assert "only 1 MB are free" in str(err)
    assert not any(path.startswith("blobs/") and path == big for path, _, _ in server.log)
