"""Enrolment as production runs it: `bgk kiosk enroll` as the service user `bgk`,
a real Mosquitto started as root that drops to `mosquitto`, broker files written
by `bgk server mosquitto-config` as root. Enrolment happens whole or not at all,
says whether the broker took the kiosk, and a missing permission is one line
that names the file and the permission."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fleetkit import login_code, wait_for
from opskit import bgk_as, ensure_service_user, give, open_folder

from server.broker.credentials import Identity
from server.broker.local import free_port, mosquitto_binary
from server.broker.registry import KioskRegistry
from server.config import load_server_config
from server.fleet.enroll import enroll_kiosk
from server.store import open_store

BGK = [sys.executable, "-m", "kiosk.cli"]


def root_bgk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BGK, *args], capture_output=True, text=True, check=False)


def accepts(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class World:
    top: Path
    data: Path
    broker_dir: Path
    tls_port: int
    port: int

    @property
    def passwd(self) -> Path:
        return self.broker_dir / "fleet" / "passwd"

    def registry(self) -> list[str]:
        store = open_store(load_server_config(self.data).store_url)
        try:
            return [k.id for k in KioskRegistry(store).list()]
        finally:
            store.dispose()


def reload_on_request(fleet: Path, pid_file: Path, stop: threading.Event) -> None:
    """What deploy/systemd/bgk-mosquitto-reload.path does: fleet/reload changed ->
    `systemctl reload mosquitto` (ExecReload: kill -HUP $MAINPID)."""

    def state() -> tuple[int, int] | None:
        try:
            st = (fleet / "reload").stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns)

    seen = state()
    while not stop.wait(0.05):
        now = state()
        if now is not None and now != seen:
            os.kill(int(pid_file.read_text()), signal.SIGHUP)
        seen = now


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    ensure_service_user()
    with open_folder("bgk-enrol-") as top:
        keys = top / "keys"
        assert root_bgk("keys", "init", str(keys)).returncode == 0
        give(keys)
        data = top / "data"
        data.mkdir(mode=0o750)
        give(data)
        init = bgk_as("bgk", "server", "init", "--data", str(data), "--keys", str(keys),
                      "--url", "http://127.0.0.1:9")  # fmt: skip
        assert init.returncode == 0, init.stderr
        tls_port, port = free_port(), free_port()
        broker_dir = top / "broker"
        with (data / "server.toml").open("a") as fh:
            fh.write(
                f'\n[mqtt]\nurl = "mqtt://127.0.0.1:{port}"\n'
                f'kiosk_url = "mqtts://localhost:{tls_port}"\nbroker_dir = "{broker_dir}"\n'
            )
        for name in ("persist", "log", "run"):
            (top / name).mkdir()
            shutil.chown(top / name, "mosquitto", "mosquitto")
        conf = root_bgk("server", "mosquitto-config", "--data", str(data), "-o", str(broker_dir),
                        "--tls-port", str(tls_port), "--port", str(port),
                        "--persistence", str(top / "persist"),
                        "--log-dest", f"file {top / 'log' / 'mosquitto.log'}",
                        "--run-as", "mosquitto", "--pid-file", str(top / "run" / "pid"))  # fmt: skip
        assert conf.returncode == 0, conf.stderr
        broker = subprocess.Popen([mosquitto_binary(), "-c", str(broker_dir / "mosquitto.conf")])
        stop = threading.Event()
        watcher = threading.Thread(
            target=reload_on_request, args=(broker_dir / "fleet", top / "run" / "pid", stop)
        )
        try:
            wait_for(lambda: accepts(port) and accepts(tls_port), 10, "Mosquitto to listen")
            watcher.start()
            yield World(top, data, broker_dir, tls_port, port)
        finally:
            stop.set()
            if watcher.is_alive():
                watcher.join()
            broker.terminate()
            broker.wait(10)


def test_the_service_user_enrols_a_kiosk_and_the_broker_takes_it(world: World) -> None:
    """As `bgk`, with the bundle as a tar on stdout (nothing left on the server)."""
    run = bgk_as("bgk", "kiosk", "enroll", "--data", str(world.data), "--id", "lb-02",
                 "--gate", "lao-bao", "--group", "quang-tri", "-o", "-")  # fmt: skip
    err = run.stderr.decode()
    assert run.returncode == 0, err
    assert "Traceback" not in err
    assert "the broker accepts lb-02 now" in err, err
    with tarfile.open(fileobj=io.BytesIO(run.stdout)) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert stat.S_IMODE(members["lb-02"].mode) == 0o700
        assert stat.S_IMODE(members["lb-02/kiosk.toml"].mode) == 0o600
        toml = tar.extractfile(members["lb-02/kiosk.toml"])
        assert toml is not None
        text = toml.read().decode()
        ca = tar.extractfile(members["lb-02/mqtt-ca.crt"])
        assert ca is not None
        (world.top / "lb-02-ca.crt").write_bytes(ca.read())
    password = next(
        line.split("=", 1)[1].strip().strip('"')
        for line in text.splitlines()
        if line.startswith("password")
    )
    ident = Identity("lb-02", password)
    assert login_code(world.tls_port, ident, ca=world.top / "lb-02-ca.crt") == 0
    # the kiosk list stays the server's: bgk:mosquitto 0640, in the setgid folder
    st = world.passwd.stat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (ensure_service_user().pw_uid, 0o640)


def test_a_missing_permission_is_one_line_and_nothing_is_half_done(world: World) -> None:
    """The broken layout of the issue: the kiosk list left root:mosquitto 0640 by a
    root run. Enrolment refuses before writing anything; the installer's command
    (mosquitto-config as root) gives the folder back and a retry needs no --replace."""
    fleet = world.broker_dir / "fleet"
    before = world.passwd.read_bytes()
    os.chown(fleet, 0, -1)
    os.chmod(fleet, 0o2750)
    run = bgk_as("bgk", "kiosk", "enroll", "--data", str(world.data), "--id", "lb-03",
                 "--gate", "lao-bao", "-o", str(world.top / "no-bundle"))  # fmt: skip
    err = run.stderr.decode()
    assert run.returncode != 0 and "Traceback" not in err, err
    assert err.count("\n") == 1, err
    assert f"cannot write {fleet}/passwd: user bgk needs write permission in {fleet}" in err
    assert "root:mosquitto 2750" in err and "deploy/server/install.sh" in err
    assert "lb-03" not in world.registry()
    assert not (world.top / "no-bundle").exists()
    assert world.passwd.read_bytes() == before
    assert not [p for p in world.top.iterdir() if p.name.startswith(".no-bundle")]

    fix = root_bgk("server", "mosquitto-config", "--data", str(world.data), "-o",
                   str(world.broker_dir), "--json")  # fmt: skip
    assert fix.returncode == 0, fix.stderr
    # the broker's own settings are kept: only owners and modes change back
    assert json.loads(fix.stdout)["changed"] == []
    bundles = world.top / "bundles"
    bundles.mkdir(exist_ok=True)
    give(bundles)
    again = bgk_as("bgk", "kiosk", "enroll", "--data", str(world.data), "--id", "lb-03",
                   "--gate", "lao-bao", "-o", str(bundles / "lb-03"))  # fmt: skip
    assert again.returncode == 0, again.stderr.decode()
    assert "the broker accepts lb-03 now" in again.stdout.decode()
    assert stat.S_IMODE((bundles / "lb-03" / "kiosk.toml").stat().st_mode) == 0o600


def test_a_failure_after_the_kiosk_list_was_written_undoes_everything(world: World) -> None:
    """The bundle cannot be delivered (the pipe to ssh broke): no registry row,
    no password in the broker's list, no temp folder."""

    class BrokenPipe(io.BytesIO):
        def write(self, _data: object) -> int:
            raise BrokenPipeError("the other end went away")

    before = world.passwd.read_bytes()
    config = load_server_config(world.data)
    with pytest.raises(BrokenPipeError):
        enroll_kiosk(
            config, "lb-04", "lao-bao", (), None, time.time(), stream=BrokenPipe(), confirm_s=0
        )
    assert "lb-04" not in world.registry()
    assert b"lb-04:" not in world.passwd.read_bytes()
    assert world.passwd.read_bytes().count(b"\n") == before.count(b"\n")


def test_the_configured_broker_dir_wins_over_a_stale_layout_file(world: World) -> None:
    """The broker folder was moved: enrolment writes where server.toml says, never
    where the old bgk-layout.json points, and says how to make them agree."""
    moved = world.top / "broker-moved"
    shutil.copytree(world.broker_dir, moved, symlinks=True)
    shutil.copystat(world.broker_dir / "fleet", moved / "fleet")
    give(moved / "fleet", group="mosquitto")
    config = load_server_config(world.data)
    mqtt = config.mqtt.__class__(**{**config.mqtt.__dict__, "broker_dir": moved, "url": ""})
    config = config.__class__(**{**config.__dict__, "mqtt": mqtt})
    original = world.passwd.read_bytes()
    result = enroll_kiosk(config, "lb-05", "lao-bao", (), world.top / "b5", time.time())
    assert b"lb-05:" in (moved / "fleet" / "passwd").read_bytes()
    assert world.passwd.read_bytes() == original  # the old folder is left alone
    assert result.broker is not None and result.broker.warning is not None
    assert f"-o {moved}" in result.broker.warning
