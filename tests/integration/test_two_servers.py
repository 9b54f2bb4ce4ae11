"""Two `bgk server run` processes against one PostgreSQL (and one Mosquitto): one
leads (sweeps, sends commands, publishes the server status), the other ingests
and serves; a third one on a broker account in use is refused; when the leader
is killed -9 the other takes over, and the restarted one joins as a follower.
Commands reach the kiosk once each throughout; sessions work on both."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from fleetkit import REPO, Recorder, Server, make_server, own_database, wait_for

from kiosk.protocol.payloads import parse_command, parse_server_status
from kiosk.protocol.topics import SERVER_STATUS, Kind, kiosk_topic
from server.broker.credentials import Identity
from server.broker.local import free_port
from server.fleet.remote import queue_command
from server.web.accounts import User, add_user, start_session

pytestmark = pytest.mark.postgres


class Proc:
    def __init__(self, server: Server, client: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.client = client
        args = ["server", "run", "--data", str(server.cfg.data)]
        args += ["--http", f"127.0.0.1:{self.port}", "--client", str(client)]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kiosk.cli", *args],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def health(self) -> dict[str, Any]:
        assert self.proc.poll() is None, self.proc.stderr.read().decode()  # type: ignore[union-attr]
        try:
            body: dict[str, Any] = requests.get(f"{self.url}/healthz", timeout=2).json()
        except requests.RequestException:
            return {}
        return body.get("fleet_ingest", {})

    def up(self) -> bool:
        return bool(self.health().get("ok"))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def server(tmp_path: Path, postgres_url: str) -> Iterator[Server]:
    with own_database(postgres_url) as url:
        world = make_server(tmp_path, store_url=url, fleet="leader_lease_s = 3")
        yield world
        world.close()


def test_two_server_processes_share_one_store(server: Server) -> None:
    cfg = server.enrol("k-two")
    assert cfg.mqtt.password is not None
    kiosk = Recorder(server.broker, Identity("k-two", cfg.mqtt.password))
    kiosk.client.subscribe([(kiosk_topic("k-two", Kind.CMD), 1), (SERVER_STATUS, 1)])
    procs = [Proc(server, 1), Proc(server, 3)]
    try:
        for p in procs:
            wait_for(p.up, 60, f"server process --client {p.client}")
        healths = [p.health() for p in procs]
        assert sorted(h["control"] for h in healths) == [False, True], healths
        assert sorted(h["sweeper"] for h in healths) == [False, True], healths

        # a third process with an account in use is refused, saying what to do
        third = subprocess.run(
            [sys.executable, "-m", "kiosk.cli", "server", "run", "--data", str(server.cfg.data),
             "--http", f"127.0.0.1:{free_port()}", "--client", "1"],
            cwd=REPO, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert third.returncode != 0
        assert "broker account _server-1 is used by another server process" in third.stderr
        assert "--client" in third.stderr

        # a dashboard session made through one process is good on the other
        add_user(server.store, "ana", "viewer", "a-long-password", now=time.time())
        cookie, _ = start_session(server.store, User("ana", "viewer"), now=time.time())
        for p in procs:
            me = requests.get(f"{p.url}/api/v1/me", cookies={"bgk_session": cookie}, timeout=5)
            assert me.json()["name"] == "ana"

        def received() -> list[str]:
            return [
                parse_command(body).cmd_id
                for topic, body in list(kiosk.messages)
                if topic.endswith("/cmd")
            ]

        def send(n: int) -> list[str]:
            return [
                queue_command(
                    server.store, server.keys, "k-two", "resync", {}, now=time.time(), ttl_s=600
                ).cmd_id
                for _ in range(n)
            ]

        sent = send(5)
        wait_for(lambda: set(sent) <= set(received()), 20, "the commands at the kiosk")
        time.sleep(1.5)  # a second leader would send each again within 0.5 s
        assert sorted(received()) == sorted(sent)

        # the leader dies without a word: the other takes over and says the server is up
        leader = next(p for p in procs if p.health()["control"])
        follower = next(p for p in procs if p is not leader)
        leader.proc.kill()
        leader.proc.wait()
        wait_for(lambda: follower.health().get("control"), 20, "the follower to take over")
        wait_for(lambda: follower.up(), 20, "the new leader's control link")

        def last_status() -> bool | None:
            statuses = [b for t, b in list(kiosk.messages) if t == SERVER_STATUS]
            return parse_server_status(statuses[-1]).online if statuses else None

        wait_for(lambda: last_status() is True, 20, "the server status back online")
        more = send(3)
        wait_for(lambda: set(more) <= set(received()), 20, "commands after the take-over")

        # the killed process comes back on its own accounts, as a follower
        back = Proc(server, leader.client)
        procs.append(back)
        wait_for(back.up, 60, "the restarted process")
        assert back.health()["control"] is False
        assert follower.health()["control"] is True
        time.sleep(1.5)
        assert sorted(received()) == sorted(sent + more)
        status = json.loads(requests.get(f"{follower.url}/healthz", timeout=5).text)
        assert status["fleet_ingest"]["sweeper"] or back.health()["sweeper"]
    finally:
        for p in procs:
            p.stop()
        kiosk.close()
