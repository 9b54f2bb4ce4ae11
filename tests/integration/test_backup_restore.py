"""`bgk server backup` / `restore` with a real kiosk syncing over HTTP: after a
wiped data folder comes back from a backup, the kiosk syncs on without a
rollback refusal, although the server signed newer metadata after the backup.
The control: the same restore without the targets key is refused by the
kiosk exactly as TUF's rollback protection says."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from deliverykit import AppServer, free_port, installed

from server.config import load_server_config
from server.fleet.enroll import enroll_kiosk
from server.ops.backup import tuf_versions
from server.ops.restore import VERSION_JUMP

BGK = [sys.executable, "-m", "kiosk.cli"]


def bgk(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([*BGK, *args], capture_output=True, text=True, check=False)
    if ok:
        assert done.returncode == 0, done.stderr
    return done


class World:
    def __init__(self, tmp: Path, built: Path) -> None:
        self.tmp = tmp
        self.keys = tmp / "keys"
        self.data = tmp / "data"
        self.port = free_port()
        bgk("keys", "init", str(self.keys))
        bgk("server", "init", "--data", str(self.data), "--keys", str(self.keys),
            "--url", f"http://127.0.0.1:{self.port}")  # fmt: skip
        bgk("server", "publish", str(built), "--data", str(self.data), "--to", "lao-bao")
        enroll_kiosk(load_server_config(self.data), "lb-01", "lao-bao", (), tmp / "kiosk",
                     time.time(), state_dir="state")  # fmt: skip
        self.kiosk_toml = tmp / "kiosk" / "kiosk.toml"

    def serve(self) -> AppServer:
        return AppServer(load_server_config(self.data), self.port)

    def sync(self) -> subprocess.CompletedProcess[str]:
        return bgk("kiosk", "sync", "--config", str(self.kiosk_toml), "--once", "--json", ok=False)

    def wipe(self) -> None:
        shutil.rmtree(self.data)


@pytest.fixture
def world(tmp_path: Path, built_mini: Path) -> Iterator[World]:
    yield World(tmp_path, built_mini)


def test_restore_jumps_past_what_kiosks_trust_and_the_kiosk_syncs_on(world: World) -> None:
    with world.serve():
        first = world.sync()
        assert first.returncode == 0, first.stdout + first.stderr
    assert installed(world.tmp / "kiosk" / "state") == ("mini", 1)

    made = json.loads(bgk("server", "backup", "--data", str(world.data), "-o",
                          f"{world.tmp / 'backups'}/", "--json").stdout)  # fmt: skip
    backup = Path(made["file"])
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600  # private keys inside
    with tarfile.open(backup) as tar:
        names = set(tar.getnames())
    for member in ("data/keys/timestamp.pem", "data/mqtt/ca.key", "data/mqtt/server.secret",
                   "data/server.toml", "store/fleet.sqlite.gz", "backup.json"):  # fmt: skip
        assert f"bgk-backup/{member}" in names, member
    assert any(n.startswith("bgk-backup/data/blobs/sha256/") for n in names)
    assert "bgk-backup/data/fleet.db" not in names  # the live file: copied by the backup API

    # after the backup the server signs on: targets (offline key), snapshot, timestamp
    bgk("server", "resign", "--data", str(world.data), "--role", "targets", "--keys",
        str(world.keys))  # fmt: skip
    with world.serve():
        assert world.sync().returncode == 0
    trusted = tuf_versions(world.data / "tuf")
    assert trusted["timestamp"] > made["tuf_versions"]["timestamp"]

    # the disk is lost; without the targets key the restore refuses, changing nothing
    world.wipe()
    refused = bgk("server", "restore", str(backup), "--data", str(world.data), "--keys",
                  str(world.tmp / "no-keys"), ok=False)  # fmt: skip
    assert refused.returncode != 0 and "targets key is needed" in refused.stderr
    assert "--keep-targets" in refused.stderr
    assert not [p for p in world.data.iterdir()]

    done = json.loads(bgk("server", "restore", str(world.tmp / "backups"), "--data",
                          str(world.data), "--keys", str(world.keys), "--json").stdout)  # fmt: skip
    for role in ("targets", "snapshot", "timestamp"):
        was, now = done["versions"][role]
        assert now >= was + VERSION_JUMP > trusted[role], (role, was, now)
    assert stat.S_IMODE((world.data / "fleet.db").stat().st_mode) & 0o007 == 0
    assert stat.S_IMODE((world.data / "tuf" / "timestamp.json").stat().st_mode) == 0o644
    with world.serve():
        again = world.sync()
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads(again.stdout)["installed"]["version"] == 1
    assert installed(world.tmp / "kiosk" / "state") == ("mini", 1)


def test_without_the_targets_bump_the_kiosk_refuses_as_tuf_says(world: World) -> None:
    """The control: `--keep-targets` although packs' targets moved on after the
    backup. The kiosk's rollback protection refuses it and keeps its pack."""
    with world.serve():
        assert world.sync().returncode == 0
    backup = world.tmp / "b.tar"
    bgk("server", "backup", "--data", str(world.data), "-o", str(backup))
    bgk("server", "resign", "--data", str(world.data), "--role", "targets", "--keys",
        str(world.keys))  # fmt: skip
    with world.serve():
        assert world.sync().returncode == 0
    world.wipe()
    bgk("server", "restore", str(backup), "--data", str(world.data), "--keep-targets")
    with world.serve():
        refused = world.sync()
    assert refused.returncode != 0
    assert "rollback" in (refused.stdout + refused.stderr).lower()
    assert installed(world.tmp / "kiosk" / "state") == ("mini", 1)


def test_a_damaged_backup_changes_nothing(world: World) -> None:
    backup = world.tmp / "b.tar"
    bgk("server", "backup", "--data", str(world.data), "-o", str(backup))
    cut = world.tmp / "cut.tar"
    cut.write_bytes(backup.read_bytes()[: backup.stat().st_size // 2])
    world.wipe()
    run = bgk("server", "restore", str(cut), "--data", str(world.data), "--keys",
              str(world.keys), ok=False)  # fmt: skip
    assert run.returncode != 0 and "cut short" in run.stderr, run.stderr
    assert run.stderr.count("\n") == 1
    assert list(world.data.iterdir()) == []
    # a data folder in use is never overwritten
    bgk("server", "restore", str(backup), "--data", str(world.data), "--keys", str(world.keys))
    again = bgk("server", "restore", str(backup), "--data", str(world.data), "--keys",
                str(world.keys), ok=False)  # fmt: skip
    assert again.returncode != 0 and "is not empty" in again.stderr
    assert os.path.exists(world.data / "server.toml")


@pytest.mark.postgres
def test_backup_and_restore_on_postgresql(
    tmp_path: Path, built_mini: Path, postgres_url: str
) -> None:
    """pg_dump of the live store; on the new machine, pg_restore into a new empty
    database of the same name."""
    from fleetkit import own_database
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from server.broker.registry import KioskRegistry
    from server.store import open_store

    world = World(tmp_path, built_mini)
    with own_database(postgres_url) as url:
        toml = world.data / "server.toml"
        toml.write_text(toml.read_text() + f'\n[store]\nurl = "{url}"\n')
        store = open_store(url)
        KioskRegistry(store).add("lb-pg", "lao-bao", (), time.time())
        store.dispose()
        backup = tmp_path / "pg.tar"
        made = json.loads(
            bgk("server", "backup", "--data", str(world.data), "-o", str(backup), "--json").stdout
        )
        assert made["store"] == "postgresql"
        world.wipe()
        name = make_url(url).database
        admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        bgk("server", "restore", str(backup), "--data", str(world.data), "--keys", str(world.keys))
        store = open_store(url)
        try:
            assert [k.id for k in KioskRegistry(store).list()] == ["lb-pg"]
        finally:
            store.dispose()


@pytest.mark.postgres
def test_the_installers_postgresql_store_as_the_service_user(
    tmp_path: Path, built_mini: Path, postgres_url: str
) -> None:
    """`install.sh --postgres`'s store: role bgk, its own database, reached over the
    local socket with the URL the installer writes; the server (as bgk) migrates it,
    backs it up with pg_dump and restores it with pg_restore."""
    import uuid

    from opskit import bgk_as, ensure_service_user, give, open_folder
    from sqlalchemy import create_engine, text

    ensure_service_user()
    name = f"bgk_peer_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = 'bgk'")).first():
            conn.execute(text("CREATE ROLE bgk LOGIN"))
        conn.execute(text(f'CREATE DATABASE "{name}" OWNER bgk'))
    url = f"postgresql+psycopg:///{name}?host=/var/run/postgresql"
    try:
        with open_folder("bgk-pg-") as top:
            keys, data = top / "keys", top / "data"
            bgk("keys", "init", str(keys))
            data.mkdir()
            give(keys)
            give(data)
            run = bgk_as("bgk", "server", "init", "--data", str(data), "--keys", str(keys),
                         "--url", "https://kiosk.example.vn")  # fmt: skip
            assert run.returncode == 0, run.stderr
            setting = bgk_as("bgk", "server", "config", "--data", str(data), "--set",
                             f"store.url={url}")  # fmt: skip
            assert setting.returncode == 0, setting.stderr
            user = bgk_as("bgk", "server", "user", "add", "ana", "--role", "admin", "--generate",
                          "--data", str(data))  # fmt: skip
            assert user.returncode == 0, user.stderr
            backups = top / "backups"
            backups.mkdir()
            give(backups)
            made = bgk_as("bgk", "server", "backup", "--data", str(data), "-o", f"{backups}/",
                          "--json")  # fmt: skip
            assert made.returncode == 0, made.stderr
            assert json.loads(made.stdout)["store"] == "postgresql"
            with admin.connect() as conn:  # the new machine: an empty database of that name
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{name}" OWNER bgk'))
            shutil.rmtree(data)
            data.mkdir()
            give(data)
            back = bgk_as("bgk", "server", "restore", str(backups), "--data", str(data),
                          "--keys", str(keys))  # fmt: skip
            assert back.returncode == 0, back.stderr
            listed = bgk_as("bgk", "server", "user", "list", "--data", str(data))
            assert b"ana" in listed.stdout, listed.stderr
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
