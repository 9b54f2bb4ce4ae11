"""SIGKILL at every step of download, stage, switch, commit and revert: on restart
the kiosk has exactly the old or the new pack, never a mix, and the next
sync finishes the job. Also: repeated kills before a commit do not roll a
good pack back, and a disk that fills up during a download.

`bgk kiosk sync --once` runs as a real process against a real local HTTP
server; a test-only environment variable makes it stop at a named
checkpoint (kiosk/agent/checkpoints.py), where it is killed.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from deliverykit import (
    FileServer,
    RepoSim,
    SimKiosk,
    installed,
    pack_files,
    wait_for,
    write_kiosk_toml,
)

from kiosk.agent.checkpoints import REVERT_STEPS, STEPS, Checkpoint
from kiosk.agent.fetch import CHUNK_SIZE, HttpSource
from kiosk.agent.state import Phase
from kiosk.protocol.pack import parse_manifest

BGK = [sys.executable, "-m", "kiosk.cli"]
BIG = 3 * CHUNK_SIZE + 1000


@dataclass
class World:
    sim: RepoSim
    server: FileServer
    template: Path  # a kiosk folder with v1 installed and committed


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    sim = RepoSim(now=datetime.now(UTC))
    sim.add_pack(pack_files("v1", count=8), version=1)
    with FileServer(sim.files) as server:
        template = tmp_path_factory.mktemp("kill") / "kiosk"
        write_kiosk_toml(template, server.url, sim.root_v1)
        kiosk = SimKiosk(template, HttpSource(5.0), sim.root_v1, time.time(), base=server.url)
        kiosk.sync()
        assert installed(kiosk.state_dir) == ("demo", 1)
        files = pack_files("v1", count=4)  # half the files unchanged: a delta update
        files.update(pack_files("v2", count=8))
        files["media/big.bin"] = hashlib.sha256(b"big").digest() * (BIG // 32)
        sim.add_pack(files, version=2)
        yield World(sim, server, template)


def copy_kiosk(world: World, dest: Path) -> Path:
    # cp -a keeps the hard links between installed packs and the blob store
    subprocess.run(["cp", "-a", str(world.template), str(dest)], check=True)
    return dest


def run_paused(folder: Path, checkpoint: str, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, BGK_TEST_CHECKPOINT_LOG=str(log), BGK_TEST_PAUSE_AT=checkpoint)
    return subprocess.Popen(
        [*BGK, "kiosk", "sync", "--once", "--config", str(folder / "kiosk.toml")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def kill_at(folder: Path, checkpoint: str) -> None:
    log = folder / f"checkpoints-{checkpoint.replace(':', '-')}.log"
    proc = run_paused(folder, checkpoint, log)
    name = checkpoint.split(":")[0]

    def paused() -> bool:
        if proc.poll() is not None:
            _, err = proc.communicate()
            raise AssertionError(f"sync ended before {checkpoint}: {err.decode()[-2000:]}")
        return log.exists() and f"paused {name}" in log.read_text()

    wait_for(paused, f"checkpoint {checkpoint}")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL


def restarted_kiosk(world: World, folder: Path) -> SimKiosk:
    return SimKiosk(folder, HttpSource(5.0), world.sim.root_v1, time.time(), base=world.server.url)


def assert_clean(kiosk: SimKiosk) -> None:
    """After a finished sync: no temp files, only the two packs and their blobs."""
    state = kiosk.state_dir
    assert [p for p in (state / "tmp").rglob("*") if p.is_file()] == []
    status = kiosk.status()
    keep = {status["installed"]["dir"], status["previous"]["dir"]}
    assert {f"packs/{p.name}" for p in (state / "packs").iterdir()} == keep
    wanted: set[str] = set()
    for folder in keep:
        wanted |= {
            f.sha256 for f in parse_manifest((state / folder / "manifest.json").read_bytes()).files
        }
    assert {p.name for p in (state / "blobs" / "sha256").iterdir()} == wanted


#: where to kill, and which pack the kiosk must have right after the kill
KILL_POINTS = [
    (Checkpoint.REFRESHED, 1),
    (Checkpoint.MANIFEST, 1),
    (Checkpoint.SPACE_CHECKED, 1),
    (f"{Checkpoint.DOWNLOAD_CHUNK}:1", 1),  # inside the first new file
    (f"{Checkpoint.DOWNLOAD_CHUNK}:3", 1),  # inside the big file, after its first chunk
    (f"{Checkpoint.DOWNLOADED}:2", 1),  # between two files
    (f"{Checkpoint.STAGING}:1", 1),
    (f"{Checkpoint.STAGING}:7", 1),
    (Checkpoint.STAGED, 1),
    (Checkpoint.FLUSHED, 1),
    (Checkpoint.STORED, 1),
    (Checkpoint.PLACED, 1),
    (Checkpoint.PENDING_SAVED, 1),
    (Checkpoint.SWITCHED, 2),
    (Checkpoint.COMMITTING, 2),
    (Checkpoint.COMMITTED, 2),
    (Checkpoint.CLEANED, 2),
]


def test_every_install_checkpoint_has_a_kill_case() -> None:
    killed = {point.partition(":")[0] for point, _ in KILL_POINTS}
    assert killed == set(STEPS), f"no kill case for {set(STEPS) - killed}"


@pytest.mark.parametrize(("checkpoint", "expect"), KILL_POINTS, ids=[k for k, _ in KILL_POINTS])
def test_sigkill_at_every_step(world: World, tmp_path: Path, checkpoint: str, expect: int) -> None:
    folder = copy_kiosk(world, tmp_path / "kiosk")
    kill_at(folder, checkpoint)
    kiosk = restarted_kiosk(world, folder)
    # exactly one whole pack: every file there with its signed hash and length
    assert installed(kiosk.state_dir) == ("demo", expect)
    status = kiosk.status()
    assert status["current"] is not None
    # status says what is true: the pack `current` points to, pending or installed
    shows = status["pending"] or status["installed"]
    assert shows["version"] == expect and status["current"] == shows["dir"]
    if checkpoint == "pending-saved":  # the kill came between saving and switching
        text = subprocess.run(
            [*BGK, "kiosk", "status", "--config", str(folder / "kiosk.toml")],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        assert "installed: demo version 1" in text and "pending" not in text
        assert "note: an install of demo v2 was interrupted before the switch" in text
    # the next sync finishes the job: the new pack, committed, nothing left over
    kiosk.sync()
    assert installed(kiosk.state_dir) == ("demo", 2)
    status = kiosk.status()
    assert status["installed"]["version"] == 2 and status["previous"]["version"] == 1
    assert status["pending"] is None and status["last_error"] is None
    assert status["blacklist"] == []
    assert_clean(kiosk)


def test_repeated_kills_before_commit_do_not_roll_back(world: World, tmp_path: Path) -> None:
    folder = copy_kiosk(world, tmp_path / "kiosk")
    kill_at(folder, "switched")
    for _ in range(4):  # more than health_tries (3) restarts, each killed before the commit
        kill_at(folder, "committing")
        assert installed(folder / "state") == ("demo", 2)
    kiosk = restarted_kiosk(world, folder)
    kiosk.sync()
    status = kiosk.status()
    assert installed(folder / "state") == ("demo", 2)
    assert status["installed"]["version"] == 2 and status["previous"]["version"] == 1
    assert status["blacklist"] == [] and status["last_error"] is None
    assert not [e for e in kiosk.events.events if e.kind == "rollback"]


DISK_FULL_SCRIPT = r"""
set -u
mount -t tmpfs -o size=12m tmpfs "$MNT"
cp -a "$SEED/state/." "$MNT/"
"$@" > "$OUT/stdout" 2> "$OUT/stderr" &
pid=$!
for _ in $(seq 1200); do
  grep -q "paused space-checked" "$LOG" 2>/dev/null && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.05
done
# fill the disk, all but 64 KB (the download needs far more)
avail=$(df --output=avail -B1 "$MNT" | tail -n 1)
dd if=/dev/zero of="$MNT/filler" bs=4096 count=$(( (avail - 65536) / 4096 )) 2>/dev/null
touch "$LOG.resume"
wait $pid
echo $? > "$OUT/rc"
rm -f "$MNT/filler"
cp -a "$MNT/." "$OUT/state/"
"""


def test_disk_full_during_download(world: World, tmp_path: Path) -> None:
    """A real full file system (a small tmpfs in a private mount namespace) that
    fills up after the free-space check, as the download starts: the current
    pack keeps playing and the space taken is given back."""
    folder = copy_kiosk(world, tmp_path / "kiosk")
    mnt = tmp_path / "mnt"
    out = tmp_path / "out"
    (out / "state").mkdir(parents=True)
    mnt.mkdir()
    config = write_kiosk_toml(tmp_path / "conf", world.server.url, world.sim.root_v1)
    config.write_text(config.read_text().replace('state_dir = "state"', f'state_dir = "{mnt}"'))
    log = tmp_path / "checkpoints.log"
    env = dict(
        os.environ,
        MNT=str(mnt),
        SEED=str(folder),
        OUT=str(out),
        LOG=str(log),
        BGK_TEST_CHECKPOINT_LOG=str(log),
        BGK_TEST_PAUSE_AT="space-checked",
    )
    cmd = [*BGK, "kiosk", "sync", "--once", "--json", "--config", str(config)]
    subprocess.run(
        ["unshare", "--mount", "--map-root-user", "bash", "-c", DISK_FULL_SCRIPT, "bash", *cmd],
        env=env,
        check=True,
        timeout=120,
    )
    assert (out / "rc").read_text().strip() == "5", (out / "stderr").read_text()
    assert "disk is full" in (out / "stderr").read_text()
    state = out / "state"
    assert installed(state) == ("demo", 1)
    assert list((state / "tmp" / "dl").iterdir()) == []  # the space was given back

    assert json.loads((out / "stdout").read_text())["code"] == "disk-failed"
    saved = json.loads((state / "agent" / "state.json").read_text())
    assert saved["last_error"]["code"] == "disk-failed"
    assert saved["installed"]["version"] == 1 and saved["pending"] is None


def switched_to_v2_failing(world: World, folder: Path) -> None:
    """v2 switched to; its UI failed twice (pids 201, 202) and fails a third time
    (pid 203): the next `bgk kiosk sync --once` reverts to v1."""
    from kiosk.agent.layout import SyncLock
    from kiosk.local import Channel, UiHealth

    kiosk = restarted_kiosk(world, folder)
    channel = Channel(kiosk.state_dir)

    def ui_fails(pid: int, at: float) -> None:
        channel.write_health(UiHealth(at, pid, "demo", 2, "home", None, None, False, "no font"))

    with SyncLock(kiosk.syncer.layout.lock_file):
        assert kiosk.syncer.cycle().action == "switched"
        for pid in (201, 202):
            ui_fails(pid, kiosk.clock)
            verdict = kiosk.syncer.settle(waited_s=1.0)
            assert verdict is not None and verdict.action == "wait"
    ui_fails(203, time.time())


@pytest.mark.parametrize("checkpoint", [str(c) for c in REVERT_STEPS])
def test_sigkill_during_a_revert(world: World, tmp_path: Path, checkpoint: str) -> None:
    """Killed while switching back from a pack that failed to start: on restart the
    revert is finished, never undone; the failed version stays blacklisted."""
    folder = copy_kiosk(world, tmp_path / "kiosk")
    switched_to_v2_failing(world, folder)
    kill_at(folder, checkpoint)
    assert "paused" in (folder / f"checkpoints-{checkpoint}.log").read_text()  # killed there
    kiosk = restarted_kiosk(world, folder)
    state = kiosk.syncer.load()  # what the agent does first when it starts again
    assert state.phase is Phase.IDLE
    assert installed(kiosk.state_dir) == ("demo", 1)
    status = kiosk.status()
    assert status["installed"]["version"] == 1 and status["pending"] is None
    assert [(b["id"], b["version"]) for b in status["blacklist"]] == [("demo", 2)]
    # and it stays there: v2 is not installed again
    assert kiosk.sync().action == "up-to-date"
    assert installed(kiosk.state_dir) == ("demo", 1)
