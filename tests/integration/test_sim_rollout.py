"""The simulated rollout of bench/rollout.py at a small scale, against a real
Mosquitto, the server's fleet service (ingest, announcer) and its HTTP app under
uvicorn: the simulated kiosks draw the agent's delays in the announced window
(kiosk.protocol.rollout, the same function), fetch and check the new version,
and report it as agents do, so that the dashboard's rollout reading counts them."""

from __future__ import annotations

import hashlib
import random
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fleetkit import Server, make_server, probe_login, running_service, wait_for
from reposim import pack_files, write_built_pack

from kiosk.protocol.rollout import announce_delay
from server.fleet.rollout import rollout_of
from server.fleet.view import fleet_view
from server.sim.cli import enrol_sim_kiosks
from server.sim.delivery import Delivery, Installed, root_version
from server.sim.rollout import RolloutFleet, RolloutOptions
from server.store.schema import kiosks

WINDOW_S = 3.0
COUNT = 12


@contextmanager
def serve(app: Any) -> Iterator[str]:
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    uv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_for(lambda: uv.started, 20, "uvicorn")
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        uv.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    world = make_server(tmp_path, fleet=f"announce_jitter_s = {WINDOW_S}")
    yield world
    world.close()


def publish(server: Server, version: int) -> Installed:
    from server.packs.publications import record_publication
    from server.packs.publish import publish_pack
    from server.packs.signing import open_repository, utcnow

    files = pack_files("fixed", 3, 2000) | pack_files(f"v{version}", 2, 2000)
    folder = write_built_pack(server.tmp / f"v{version}", files, "lao-bao", version)
    repo = open_repository(server.cfg, ("targets",), keys=server.tmp / "keys")
    record_publication(
        server.store, publish_pack(repo, server.cfg.blob_dir, folder, ["all"], utcnow), "test"
    )
    sha = hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest()
    return Installed(version, sha, frozenset(hashlib.sha256(d).hexdigest() for d in files.values()))


def test_simulated_kiosks_follow_the_announced_window_and_are_counted(server: Server) -> None:
    from server.web.app import create_app

    identities = enrol_sim_kiosks(server.cfg.data, server.store, COUNT, "rs", time.time())
    server.broker.reload()
    wait_for(lambda: probe_login(server.broker, identities[-1]) == 0, 20, "the broker reloaded")
    with server.store.engine.connect() as conn:
        gates = {r.id: r.gate for r in conn.execute(kiosks.select())}
    v1 = publish(server, 1)
    with running_service(server), serve(create_app(server.cfg, store=server.store)) as url:
        import requests

        delivery = Delivery(url, root_version(requests.Session(), url))
        opts = RolloutOptions(pack="lao-bao", period_s=2.0, workers=4, seed=5)
        fleet = RolloutFleet(server.cfg.mqtt.url, identities, gates, v1, delivery, opts)
        try:
            fleet.ramp(timeout=30)
            assert fleet.on_version(2) == 0
            v2 = publish(server, 2)
            fleet.run_until(lambda: fleet.on_version(2) == COUNT, timeout=40)
            assert fleet.on_version(2) == COUNT and fleet.failures == 0
            assert {k.installed for k in fleet.kiosks} == {v2}
            # the agent's rule, the announced window: the same draws as the rule gives
            rng = random.Random(5)
            assert fleet.delays == [announce_delay(rng, WINDOW_S) for _ in range(COUNT)]
            assert max(fleet.delays) <= WINDOW_S and max(fleet.delays) - min(fleet.delays) > 1.0
            start = min(fleet.announced.values())
            arrived = sorted(k.arrived[2] - start for k in fleet.kiosks)
            assert arrived[-1] - arrived[0] > 1.0  # spread over the window, not all at once

            def counted() -> Any:
                views = fleet_view(server.store, time.time(), server.cfg.fleet)
                r = rollout_of(server.store, views, "lao-bao", 2, ["all"], time.time())
                return r if r.on_now == COUNT and r.points[-1].on == COUNT else None

            r = wait_for(counted, 15, "the dashboard's reading of the rollout")
            assert sum(g.of for g in r.gates) == COUNT and len(r.gates) == 4
        finally:
            fleet.close()
