"""Test helpers for the MQTT fleet link (issue 4): a real server data folder,
a real Mosquitto on free ports with files generated from the registry,
enrolled kiosks with their real bundles, and waiting on conditions.

Everything is generated at run time (keys, certificates, passwords).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from kiosk.agent.heartbeat import AgentFacts
from kiosk.common.backoff import Backoff
from kiosk.config import KioskConfig, load_config
from kiosk.protocol.payloads import PackRef
from server.broker.credentials import Identity, server_identity
from server.broker.local import LocalBroker
from server.broker.pki import FleetKeys
from server.config import ServerConfig, load_server_config
from server.store import Store, open_store
from server.store.schema import heartbeats, kiosk_state

REPO = Path(__file__).resolve().parent.parent
PACK = PackRef(id="lao-bao", version=3, hash="a" * 64)


@contextlib.contextmanager
def own_database(url: str) -> Iterator[str]:
    """`url` itself for SQLite; for PostgreSQL a new database on the same server,
    dropped afterwards (the session's database is shared by other tests)."""
    if not url.startswith("postgresql"):
        yield url
        return
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"bgk_fleet_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def wait_for(cond: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    """Poll `cond` until it returns something truthy; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


@dataclass
class Server:
    """A server data folder (bgk server init) with its own Mosquitto."""

    tmp: Path
    cfg: ServerConfig
    store: Store
    keys: FleetKeys
    broker: LocalBroker
    enrolled: list[str] = field(default_factory=list)

    def reload_config(self) -> None:
        self.cfg = load_server_config(self.cfg.data)

    def enrol(self, kiosk_id: str, gate: str = "lao-bao", **mqtt: Any) -> KioskConfig:
        """`bgk kiosk enroll` in-process; returns the bundle's config with test timings."""
        from server.fleet.enroll import enroll_kiosk

        bundle = self.tmp / "bundles" / kiosk_id
        state = self.tmp / "kiosks" / kiosk_id
        enroll_kiosk(
            self.cfg, kiosk_id, gate, (), bundle, time.time(), state_dir=str(state), replace=True
        )
        self.enrolled.append(kiosk_id)
        cfg = load_config(bundle / "kiosk.toml")
        timings = {"heartbeat_s": 1.0, "keepalive_s": 5, "will_delay_s": 0, **mqtt}
        wait_for(lambda: self.can_login(cfg), 10, f"the broker to accept {kiosk_id}")
        return replace(cfg, mqtt=replace(cfg.mqtt, **timings))

    def can_login(self, cfg: KioskConfig) -> bool:
        assert cfg.mqtt.password is not None
        return probe_login(self.broker, Identity(cfg.kiosk.id, cfg.mqtt.password)) == 0

    def state(self, kiosk_id: str) -> dict[str, Any] | None:
        with self.store.engine.connect() as conn:
            row = conn.execute(
                select(kiosk_state).where(kiosk_state.c.kiosk_id == kiosk_id)
            ).first()
        return None if row is None else dict(row._mapping)

    def hb_count(self, kiosk_id: str) -> int:
        with self.store.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(heartbeats)
                    .where(heartbeats.c.kiosk_id == kiosk_id)
                ).scalar_one()
            )

    def close(self) -> None:
        self.broker.stop()
        self.store.dispose()


def make_server(
    tmp: Path, *, store_url: str | None = None, fleet: str = "", mqtt: str = ""
) -> Server:
    """keys init + server init + a Mosquitto from the registry, wired in server.toml."""
    from server.datadir import init_data_dir
    from server.packs.keys import init_keyset
    from server.packs.signing import utcnow

    init_keyset(tmp / "keys")
    data = tmp / "data"
    cfg = init_data_dir(data, tmp / "keys", "http://127.0.0.1:9", utcnow)
    store = open_store(store_url or cfg.store_url)
    keys = FleetKeys(data / "mqtt")
    broker = LocalBroker.create(store, keys, tmp / "broker")
    broker.start()
    try:
        return _wire(tmp, data, store, keys, broker, store_url or cfg.store_url, fleet, mqtt)
    except BaseException:
        broker.stop()
        store.dispose()
        raise


def _wire(
    tmp: Path,
    data: Path,
    store: Store,
    keys: FleetKeys,
    broker: LocalBroker,
    store_url: str,
    fleet: str,
    mqtt: str,
) -> Server:
    extra = f"""
[store]
url = {json.dumps(store_url)}

[mqtt]
url = {json.dumps(broker.url)}
kiosk_url = {json.dumps(broker.tls_url)}
broker_dir = {json.dumps(str(tmp / "broker"))}
{mqtt}

[fleet]
sweep_s = 0.3
batch_ms = 50
{fleet}
"""
    if "announce_jitter_s" not in fleet:  # tests wait for announced syncs: a short window
        extra += "announce_jitter_s = 0.2\n"
    with (data / "server.toml").open("a", encoding="utf-8") as fh:
        fh.write(extra)
    return Server(tmp, load_server_config(data), store, keys, broker)


def probe_login(broker: LocalBroker, ident: Identity, timeout: float = 5.0) -> int:
    """CONNACK reason code of a login on the broker's plain listener (0 = accepted)."""
    return login_code(broker.port, ident, timeout=timeout)


def login_code(port: int, ident: Identity, *, ca: Path | None = None, timeout: float = 5.0) -> int:
    """CONNACK reason code of a login on 127.0.0.1:`port` (TLS when `ca` is given)."""
    result: list[int] = []
    client = paho.Client(
        CallbackAPIVersion.VERSION2, client_id=ident.username or "anon", protocol=paho.MQTTv5
    )
    if ident.username:
        client.username_pw_set(ident.username, ident.password)
    if ca is not None:
        client.tls_set(ca_certs=str(ca))
    client.on_connect = lambda _c, _u, _f, rc, _p: result.append(int(rc.value))
    try:
        client.connect("localhost" if ca else "127.0.0.1", port, 5)
    except OSError:
        return -1
    deadline = time.monotonic() + timeout
    while not result and time.monotonic() < deadline and client.loop(0.05) == 0:
        pass
    with contextlib.suppress(Exception):
        client.disconnect()
    return result[0] if result else -1


class Recorder:
    """A raw paho MQTT v5 client that records what it receives and its PUBACKs."""

    def __init__(
        self,
        broker: LocalBroker,
        ident: Identity,
        *,
        tls: bool = False,
        ca: Path | None = None,
        client_id: str | None = None,
    ) -> None:
        self.id = client_id or ident.username
        self.messages: list[tuple[str, bytes]] = []
        self.acks: dict[int, int] = {}
        self.connack: list[int] = []
        self.subacks: list[list[int]] = []
        c = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id or ident.username, protocol=paho.MQTTv5
        )
        c.username_pw_set(ident.username, ident.password)
        if tls:
            c.tls_set(ca_certs=str(ca))
        c.on_connect = lambda _c, _u, _f, rc, _p: self.connack.append(int(rc.value))
        c.on_message = lambda _c, _u, m: self.messages.append((m.topic, bytes(m.payload)))
        c.on_publish = lambda _c, _u, mid, rc, _p: self.acks.__setitem__(mid, int(rc.value))
        c.on_subscribe = lambda _c, _u, _mid, rcs, _p: self.subacks.append(
            [int(r.value) for r in rcs]
        )
        port = broker.layout.tls_port if tls else broker.port
        assert port is not None
        c.connect("localhost" if tls else "127.0.0.1", port, 5)
        c.loop_start()
        self.client = c
        wait_for(lambda: self.connack, 10, "CONNACK")

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> int:
        return int(self.client.publish(topic, payload, qos=qos, retain=retain).mid)

    def close(self) -> None:
        self.client.loop_stop()
        with contextlib.suppress(Exception):
            self.client.disconnect()


def facts(_now: float = 0.0) -> AgentFacts:
    return AgentFacts(pack=PACK, stale=False, time_floor=time.time() - 3600)


def fast_backoff() -> Backoff:
    return Backoff(base=0.2, cap=1.0, rng=random.Random(4))


def server_ident(server: Server, index: int = 1) -> Identity:
    return server_identity(server.keys, index)


@contextlib.contextmanager
def running_service(server: Server, **kwargs: Any) -> Iterator[Any]:
    from server.fleet.service import FleetService

    svc = FleetService(server.cfg, server.store, server.keys, **kwargs)
    svc.start()
    wait_for(lambda: svc.connected, 10, "the fleet service to connect")
    try:
        yield svc
    finally:
        svc.stop()


class TcpProxy:
    """A TCP relay that can black-hole traffic (a network partition: no FIN, no RST)."""

    def __init__(self, target_port: int) -> None:
        self.target = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.blocked = threading.Event()
        self._stop = threading.Event()
        self._socks: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self.listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                down, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.blocked.is_set():
                self._socks.append(down)  # accepted, never answered
                continue
            try:
                up = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                down.close()
                continue
            self._socks += [down, up]
            for a, b in ((down, up), (up, down)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        src.settimeout(0.2)
        while not self._stop.is_set():
            try:
                data = src.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not data:
                break
            while self.blocked.is_set() and not self._stop.is_set():
                time.sleep(0.05)  # held: the other side hears nothing
            if self._stop.is_set():
                break
            try:
                dst.sendall(data)
            except OSError:
                break
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def partition(self) -> None:
        self.blocked.set()

    def heal(self) -> None:
        # connections that lived through the partition are dead to both ends: drop them
        self.blocked.clear()

    def close(self) -> None:
        self._stop.set()
        self.listener.close()
        for s in self._socks:
            with contextlib.suppress(OSError):
                s.close()


def bgk(
    *args: str, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real `bgk` command."""
    return subprocess.run(
        [sys.executable, "-m", "kiosk.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=REPO,
    )
