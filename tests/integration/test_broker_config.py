"""`bgk server mosquitto-config` writes files a real Mosquitto runs with: TLS for
kiosks, no anonymous access, per-kiosk passwords, and (as root) the production
scheme of a broker that drops to user `mosquitto` and still reads its files."""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fleetkit import Server, bgk, login_code, make_server, wait_for

from server.broker.credentials import Identity
from server.broker.local import free_port, mosquitto_binary


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    world = make_server(tmp_path_factory.mktemp("fleet-conf"))
    yield world
    world.close()


def production_like() -> bool:
    """Root with a `mosquitto` user: run the broker the way production does."""
    if os.geteuid() != 0:
        return False
    try:
        pwd.getpwnam("mosquitto")
        grp.getgrnam("mosquitto")
    except KeyError:
        return False
    return True


def test_generated_files_run_a_broker_that_knows_only_enrolled_kiosks(server: Server) -> None:
    cfg = server.enrol("lb-conf-01")
    assert cfg.mqtt.password
    as_mosquitto = production_like()
    # a folder the unprivileged broker can reach (pytest's own tmp is private to root)
    out = Path(tempfile.mkdtemp(prefix="bgk-broker-"))
    broker: subprocess.Popen[bytes] | None = None
    try:
        os.chmod(out, 0o755)
        data = out / "data"
        data.mkdir()
        if as_mosquitto:
            shutil.chown(data, "mosquitto", "mosquitto")
        tls_port, port = free_port(), free_port()
        res = bgk("server", "mosquitto-config", "--data", str(server.cfg.data), "-o", str(out / "etc"),
                  "--tls-port", str(tls_port), "--port", str(port), "--persistence", str(data),
                  "--log-dest", "stderr", "--run-as", "mosquitto" if as_mosquitto else "",
                  "--pid-file", str(data / "mosquitto.pid"), "--json")  # fmt: skip
        assert res.returncode == 0, res.stderr
        written = {Path(p).name for p in json.loads(res.stdout)["files"]}
        assert {"passwd", "acl", "broker.key", "broker.crt", "ca.crt", "mosquitto.conf"} <= written
        etc = out / "etc"
        os.chmod(etc, 0o755)
        key_mode = stat.S_IMODE((etc / "broker.key").stat().st_mode)
        passwd_file = etc / "fleet" / "passwd"
        if as_mosquitto:  # root:mosquitto 0640, readable by the broker after it drops root
            mosquitto_gid = grp.getgrnam("mosquitto").gr_gid
            assert key_mode == 0o640 and (etc / "broker.key").stat().st_gid == mosquitto_gid
            # the kiosk list belongs to the data folder's owner, group mosquitto, 0640
            assert passwd_file.stat().st_gid == mosquitto_gid
            assert stat.S_IMODE(passwd_file.stat().st_mode) == 0o640
            assert passwd_file.stat().st_uid == server.cfg.data.stat().st_uid
            assert stat.S_IMODE((etc / "fleet").stat().st_mode) == 0o2750
        else:
            assert key_mode == 0o600
        passwd = passwd_file.read_text()
        assert "lb-conf-01:$7$" in passwd and cfg.mqtt.password not in passwd

        broker = subprocess.Popen(
            [mosquitto_binary(), "-c", str(etc / "mosquitto.conf")], stderr=subprocess.PIPE
        )
        wait_for(lambda: _accepts(port) and _accepts(tls_port), 10, "the broker listening")
        assert login_code(tls_port, Identity("lb-conf-01", cfg.mqtt.password), ca=cfg.mqtt.ca) == 0
        assert login_code(tls_port, Identity("", ""), ca=cfg.mqtt.ca) == 135  # no anonymous access
        assert login_code(tls_port, Identity("lb-conf-99", "guess"), ca=cfg.mqtt.ca) == 135
        assert login_code(port, Identity("lb-conf-01", cfg.mqtt.password)) == 0  # loopback listener
        if as_mosquitto:
            owner = pwd.getpwuid(Path(f"/proc/{broker.pid}").stat().st_uid).pw_name
            assert owner == "mosquitto"  # it dropped root and still read passwd, acl and broker.key
    finally:
        if broker is not None:
            broker.terminate()
            broker.wait(10)
            if broker.stderr:
                broker.stderr.close()
        shutil.rmtree(out, ignore_errors=True)


def _accepts(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False
