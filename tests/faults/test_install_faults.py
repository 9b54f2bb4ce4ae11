"""Faults in what gets installed and in the kiosk's own files: unsafe manifest
paths, planted symlinks, a damaged state file, a pack that fails its health
check. The current pack stays whole; errors say what happened."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from deliverykit import T0, RepoSim, SimKiosk, installed, make_manifest, pack_files

from kiosk.agent.errors import BadManifest
from kiosk.agent.layout import SyncLock
from kiosk.local import Channel, UiHealth


@pytest.fixture
def sim() -> RepoSim:
    s = RepoSim()
    s.add_pack(pack_files("v1"), version=1)
    return s


@pytest.fixture
def kiosk(tmp_path: Path, sim: RepoSim) -> SimKiosk:
    k = SimKiosk(tmp_path / "kiosk", sim, sim.root_v1, T0.timestamp() + 60, health_tries=3)
    k.sync()
    assert installed(k.state_dir) == ("demo", 1)
    return k


def hostile_manifest(files: dict[str, bytes], bad_path: str) -> bytes:
    """A manifest (bypassing our own model's checks) listing `bad_path`."""
    doc = json.loads(make_manifest(files, "demo", 2))
    data = b"payload"
    files[bad_path] = data
    doc["files"].append(
        {"path": bad_path, "sha256": hashlib.sha256(data).hexdigest(), "length": len(data)}
    )
    doc["files"].sort(key=lambda f: f["path"])
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    "bad_path", ["../../escape.txt", "/etc/bgk-escape", "media/../../escape", "media/.hidden"]
)
def test_unsafe_manifest_paths_are_refused(
    sim: RepoSim, kiosk: SimKiosk, tmp_path: Path, bad_path: str
) -> None:
    files = pack_files("v2")
    manifest = hostile_manifest(files, bad_path)
    sim.add_pack(files, version=2, manifest=manifest)  # validly signed by the repository
    before = kiosk.pack_tree()
    with pytest.raises(BadManifest, match="unsafe path in pack"):
        kiosk.sync()
    assert installed(kiosk.state_dir) == ("demo", 1) and kiosk.pack_tree() == before
    assert not (tmp_path / "escape.txt").exists() and not Path("/etc/bgk-escape").exists()
    assert kiosk.status()["last_error"]["code"] == "bad-manifest"


def test_paths_that_use_a_file_as_a_folder_are_refused(sim: RepoSim, kiosk: SimKiosk) -> None:
    files = pack_files("v2")
    files["media/f000.bin/inner"] = b"x"  # media/f000.bin is a file
    sim.add_pack(files, version=2)
    before = kiosk.pack_tree()
    with pytest.raises(BadManifest, match="collide"):
        kiosk.sync()
    assert installed(kiosk.state_dir) == ("demo", 1) and kiosk.pack_tree() == before
    assert not list((kiosk.state_dir / "tmp").glob("stage-*"))


def test_a_symlink_planted_in_the_blob_store_is_not_followed(
    sim: RepoSim, kiosk: SimKiosk, tmp_path: Path
) -> None:
    files = pack_files("v2")
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"a file outside the state folder")
    target = files["media/f001.bin"]
    planted = kiosk.state_dir / "blobs" / "sha256" / hashlib.sha256(target).hexdigest()
    os.symlink(outside, planted)
    sim.add_pack(files, version=2)
    kiosk.sync()
    assert installed(kiosk.state_dir) == ("demo", 2)
    assert outside.read_bytes() == b"a file outside the state folder"
    installed_file = kiosk.state_dir / "current" / "media" / "f001.bin"
    assert not installed_file.is_symlink() and installed_file.read_bytes() == target


@pytest.mark.parametrize("damage", ["state.json truncated", "both copies truncated"])
def test_a_truncated_state_file(sim: RepoSim, kiosk: SimKiosk, damage: str) -> None:
    state = kiosk.state_dir / "agent" / "state.json"
    data = state.read_bytes()
    state.write_bytes(data[: len(data) // 2])
    if damage == "both copies truncated":
        bak = state.with_name("state.json.bak")
        bak.write_bytes(bak.read_bytes()[:10])
    status = kiosk.status()  # read-only: still tells what is installed
    assert status["installed"]["version"] == 1
    assert any("state.json" in note for note in status["notes"])
    before = kiosk.pack_tree()
    sim.add_pack(pack_files("v2"), version=2)
    kiosk.sync()
    assert installed(kiosk.state_dir) == ("demo", 2)
    status = kiosk.status()
    assert status["previous"]["version"] == 1
    notes = " ".join(status["notes"])
    assert ("backup" in notes) if damage == "state.json truncated" else ("rebuilt" in notes)
    # the old pack was kept whole as the previous one
    previous = kiosk.state_dir / status["previous"]["dir"]
    assert before == {
        str(f.relative_to(previous)): f.read_bytes() for f in previous.rglob("*") if f.is_file()
    }


def test_a_pack_that_fails_its_health_check_is_reverted_and_blacklisted(
    sim: RepoSim, kiosk: SimKiosk
) -> None:
    channel = Channel(kiosk.state_dir)

    def ui_reports(version: int, ok: bool, pid: int) -> None:
        channel.write_health(
            UiHealth(
                kiosk.clock,
                pid,
                "demo",
                version,
                "home",
                None,
                None,
                ok,
                None if ok else "font missing",
            )
        )

    ui_reports(1, True, 100)  # a UI runs on this kiosk
    before = kiosk.pack_tree()
    sim.add_pack(pack_files("v2"), version=2)
    with SyncLock(kiosk.syncer.layout.lock_file):
        result = kiosk.syncer.cycle()
    assert result.action == "switched" and installed(kiosk.state_dir) == ("demo", 2)
    verdicts = []
    for pid in (201, 202, 203):  # the UI is restarted by systemd and fails each time
        ui_reports(2, False, pid)
        with SyncLock(kiosk.syncer.layout.lock_file):
            verdicts.append(kiosk.syncer.settle(waited_s=1.0))
    assert [v.action for v in verdicts if v] == ["wait", "wait", "revert"]
    assert installed(kiosk.state_dir) == ("demo", 1) and kiosk.pack_tree() == before
    status = kiosk.status()
    assert status["installed"]["version"] == 1 and status["pending"] is None
    assert status["blacklist"][0]["id"] == "demo" and status["blacklist"][0]["version"] == 2
    assert status["last_error"]["code"] == "pack-failed-health"
    assert "failed to start 3 times" in status["last_error"]["message"]
    assert "font missing" in status["last_error"]["message"]
    assert [e.kind for e in kiosk.events.events][-1] == "rollback"
    # the blacklisted version is not installed again; a fixed one is
    assert kiosk.sync().action == "up-to-date"
    assert installed(kiosk.state_dir) == ("demo", 1)
    sim.add_pack(pack_files("v3"), version=3)
    with SyncLock(kiosk.syncer.layout.lock_file):
        kiosk.syncer.cycle()
    ui_reports(3, True, 301)
    with SyncLock(kiosk.syncer.layout.lock_file):
        assert kiosk.syncer.settle(waited_s=0.0).action == "commit"
    assert installed(kiosk.state_dir) == ("demo", 3)


def test_a_ui_that_never_confirms_counts_as_failed_starts(sim: RepoSim, kiosk: SimKiosk) -> None:
    Channel(kiosk.state_dir).write_health(
        UiHealth(kiosk.clock - 3600, 1, "demo", 1, "home", None, None)  # a UI that died
    )
    sim.add_pack(pack_files("v2"), version=2)
    with SyncLock(kiosk.syncer.layout.lock_file):
        kiosk.syncer.cycle()
        actions = [kiosk.syncer.settle(waited_s=1000.0).action for _ in range(3)]
    assert actions == ["wait", "wait", "revert"]
    assert installed(kiosk.state_dir) == ("demo", 1)
    assert "did not confirm" in kiosk.status()["last_error"]["message"]
