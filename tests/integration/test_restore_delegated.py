"""`bgk server restore` of a two-person (delegated) deployment, with a real kiosk
syncing over HTTP and real `bgk sign`s:

a backup is taken after one two-person publication, two more follow and the
kiosk installs them, the data folder is lost and restored. The backup's publishers
metadata is older than what the kiosk trusts and only the publishers can sign a
newer one, so until the next publication the kiosk refuses the server's metadata
(rollback) and keeps playing; the restore says so, marks the signing events the
backup held open as stale, and the next signing event is numbered past anything
the kiosk saw: two publishers sign it and the kiosk installs it (numbered just
after the backup's, it would be lower than what the kiosk trusts: refused again). The delegation
(who the publishers are, the threshold) comes back with the backup.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from deliverykit import AppServer, free_port, installed

from server.config import load_server_config
from server.ops.restore import VERSION_JUMP

REPO = Path(__file__).resolve().parents[2]
FIXTURE_PACKS = REPO / "tests" / "fixtures" / "packs"


def bgk(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kiosk.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300, cwd=REPO)  # fmt: skip


def ok(*args: str | Path) -> Any:
    run = bgk(*args, "--json")
    assert run.returncode == 0, f"bgk {' '.join(map(str, args[:3]))}: {run.stderr}"
    return json.loads(run.stdout)


@dataclass
class World:
    tmp: Path
    data: Path
    keys: Path
    port: int
    tokens: dict[str, Path]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def serve(self) -> AppServer:
        return AppServer(load_server_config(self.data), self.port)

    def sync(self) -> subprocess.CompletedProcess[str]:
        return bgk("kiosk", "sync", "--config", self.tmp / "kiosk" / "kiosk.toml", "--once",
                   "--json")  # fmt: skip

    def playing(self) -> tuple[str, int] | None:
        found: tuple[str, int] | None = installed(self.tmp / "kiosk" / "state")
        return found

    def create(self, version: int) -> str:
        made = ok("server", "signing", "create", FIXTURE_PACKS / "mini", "--data", self.data,
                  "--to", "all", "--version", str(version), "--by", "editor")  # fmt: skip
        return str(made["id"])

    def sign(self, name: str, event: str) -> subprocess.CompletedProcess[str]:
        return bgk("sign", event, "--server", self.url, "--token-file", self.tokens[name],
                   "--key", self.tmp / "laptops" / name / f"{name}.pem", "--yes")  # fmt: skip

    def publish(self, version: int) -> str:
        event = self.create(version)
        for name in ("an", "binh"):
            run = self.sign(name, event)
            assert run.returncode == 0, run.stderr
        return event

    def publishers_version(self) -> int:
        return max(int(p.name.split(".")[0]) for p in (self.data / "tuf").glob("*.publishers.json"))


@pytest.fixture
def world(tmp_path: Path, built_mini: Path, font_cache: Path) -> Iterator[World]:
    os.environ["XDG_CACHE_HOME"] = str(font_cache.parents[1])  # bgk shares the subset fonts
    keys, data = tmp_path / "keys", tmp_path / "data"
    w = World(tmp_path, data, keys, free_port(), {})
    ok("keys", "init", keys)
    ok("server", "init", "--data", data, "--keys", keys, "--url", w.url)
    ok("server", "publish", built_mini, "--data", data, "--to", "all")
    ok("kiosk", "enroll", "--data", data, "--id", "lb-01", "--gate", "lao-bao", "-o",
       tmp_path / "kiosk", "--state-dir", "state")  # fmt: skip
    pubs = []
    for name in ("an", "binh", "chi"):
        made = ok("keys", "person", "new", name, "-o", tmp_path / "laptops" / name)
        pubs += ["--publisher", made["public"]]
        assert bgk("server", "user", "add", name, "--role", "publisher", "--generate",
                   "--data", data).returncode == 0  # fmt: skip
        token = ok("server", "token", "create", "--user", name, "--data", data)["token"]
        w.tokens[name] = tmp_path / f"{name}.token"
        w.tokens[name].write_text(token)
    ok("server", "delegate", "--data", data, *pubs, "--threshold", "2")
    yield w


@pytest.mark.timeout(1200)
def test_a_restored_delegated_server_publishes_on_with_two_signatures(world: World) -> None:
    with world.serve():
        world.publish(2)
        assert world.sync().returncode == 0 and world.playing() == ("mini", 2)
        left_open = world.create(3)  # an event open at backup time
        assert world.sign("an", left_open).returncode == 0
        backup = world.tmp / "backup.tar"
        ok("server", "backup", "--data", world.data, "-o", backup)
        assert world.sign("binh", left_open).returncode == 0  # published after the backup
        assert world.sync().returncode == 0 and world.playing() == ("mini", 3)
        world.publish(4)  # and one more: the kiosk trusts publishers two versions past the backup
        synced = world.sync()
        assert synced.returncode == 0, synced.stderr
        assert world.playing() == ("mini", 4)
    trusted = world.publishers_version()

    shutil.rmtree(world.data)  # the disk is lost
    done = ok("server", "restore", backup, "--data", world.data, "--keys", world.keys)
    was, floor = done["publishers"]
    assert was < trusted and floor >= was + VERSION_JUMP
    text = bgk("server", "signing", "list", "--data", world.data).stdout
    assert f"{left_open}" in text and "stale" in text
    with world.serve():
        # the delegation came back: who the publishers are and the threshold
        stale = world.sign("chi", left_open)
        assert stale.returncode != 0 and "stale" in stale.stderr
        # until the publishers sign again the kiosk refuses the older publishers metadata
        refused = world.sync()
        assert refused.returncode != 0 and world.playing() == ("mini", 4)
        event = world.create(5)
        first = world.sign("an", event)
        assert first.returncode == 0 and "1 of 2" in first.stdout, first.stderr
        second = world.sign("binh", event)
        assert second.returncode == 0 and "published" in second.stdout, second.stderr
        synced = world.sync()
        assert synced.returncode == 0, synced.stdout + synced.stderr
        assert world.playing() == ("mini", 5)
        assert world.publishers_version() >= floor > trusted
        world.publish(6)  # and on, one version at a time
        assert world.sync().returncode == 0 and world.playing() == ("mini", 6)
