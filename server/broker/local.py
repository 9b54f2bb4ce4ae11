"""Run a Mosquitto with generated files on free ports: tests, `bgk demo`, benches.

    broker = LocalBroker.create(store, keys, workdir)   # files from the registry
    broker.start()                                      # waits until it accepts
    broker.url / broker.tls_url                         # mqtt://127.0.0.1:P, mqtts://...
    broker.reload()                                     # after enrol/revoke (SIGHUP)
    broker.stop()

Started as root, Mosquitto drops to user `mosquitto` and then cannot read a
0600 key; this helper runs it as the current user (`user root` when root),
with every file in its private working directory.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.protocol.errors import BgkError
from server.broker.conf import BrokerLayout
from server.broker.files import write_broker_files
from server.broker.pki import FleetKeys
from server.store import Store

MOSQUITTO = "/usr/sbin/mosquitto"


class BrokerError(BgkError):
    """The local Mosquitto could not be started (the message says why)."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def mosquitto_binary() -> str:
    for path in (MOSQUITTO, "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto"):
        if os.access(path, os.X_OK):
            return path
    raise BrokerError("mosquitto is not installed: apt-get install mosquitto (scripts/test does)")


@dataclass
class LocalBroker:
    store: Store
    keys: FleetKeys
    layout: BrokerLayout
    server_clients: int = 4
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @classmethod
    def create(
        cls,
        store: Store,
        keys: FleetKeys,
        workdir: Path,
        *,
        tls: bool = True,
        server_clients: int = 4,
        extra: tuple[str, ...] = (),
    ) -> LocalBroker:
        workdir.mkdir(parents=True, exist_ok=True)
        layout = BrokerLayout(
            out=workdir,
            tls_port=free_port() if tls else None,
            tls_bind="127.0.0.1",
            plain_port=free_port(),
            plain_bind="127.0.0.1",
            persistence_dir=workdir / "data",
            log_dest=f"file {workdir / 'mosquitto.log'}",
            run_as="root" if os.geteuid() == 0 else None,
            pid_file=workdir / "mosquitto.pid",
            extra=extra,
        )
        layout.persistence_dir.mkdir(parents=True, exist_ok=True)
        broker = cls(store, keys, layout, server_clients)
        broker.write_files()
        return broker

    @property
    def port(self) -> int:
        assert self.layout.plain_port is not None
        return self.layout.plain_port

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        if self.layout.tls_port is None:
            raise BrokerError("this broker has no TLS listener")
        return f"mqtts://localhost:{self.layout.tls_port}"

    @property
    def log_path(self) -> Path:
        return self.layout.out / "mosquitto.log"

    def write_files(self) -> None:
        write_broker_files(self.store, self.keys, self.layout, self.server_clients)

    def start(self, timeout: float = 10.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        conf = self.layout.out / "mosquitto.conf"
        self.proc = subprocess.Popen(
            [mosquitto_binary(), "-c", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        ports = [p for p in (self.layout.plain_port, self.layout.tls_port) if p is not None]
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                log = (
                    self.log_path.read_text(errors="replace")[-2000:]
                    if self.log_path.exists()
                    else ""
                )
                raise BrokerError(
                    f"mosquitto exited with {self.proc.returncode}: {err.strip()} {log.strip()}"
                )
            if all(_accepts(p) for p in ports):
                return
            time.sleep(0.02)
        self.stop()
        raise BrokerError(f"mosquitto did not accept connections within {timeout:.0f} s")

    def reload(self) -> None:
        """Re-read passwd and acl (after enrolling or revoking kiosks)."""
        self.write_files()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGHUP)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (Mosquitto saves its persistence file) and wait."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None

    def kill(self) -> None:
        """SIGKILL: a crash, nothing saved since the last autosave."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.stop()

    def __enter__(self) -> LocalBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self.stop()
