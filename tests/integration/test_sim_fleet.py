"""`bgk sim` against a real Mosquitto and the server's ingest: simulated kiosks
with their own logins, heartbeats all stored, power cuts seen as offline,
stale packs seen as stale, commands answered."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fleetkit import REPO, Server, bgk, make_server, running_service, wait_for
from sqlalchemy import func, select

from server.fleet.remote import command_status, queue_command
from server.store.schema import heartbeats, kiosk_state, screenshots

KIOSKS = 40


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    world = make_server(tmp_path_factory.mktemp("fleet-sim"))
    yield world
    world.close()


def test_a_simulated_fleet_is_ingested_with_nothing_lost(server: Server) -> None:
    with running_service(server):
        args = [sys.executable, "-m", "kiosk.cli", "sim", "--kiosks", str(KIOSKS), "--data", str(server.cfg.data),
                "--period", "1", "--duration", "6", "--offline-frac", "0.25", "--stale-frac", "0.25",
                "--will-delay", "0", "--json"]  # fmt: skip
        env = {**os.environ, "BGK_LOG": "warning"}
        sim = subprocess.Popen(
            args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        try:
            # while it runs: every simulated kiosk is enrolled and logs in with its own password
            wait_for(
                lambda: count_states(server) >= KIOSKS, 30, "every simulated kiosk's birth status"
            )
            cmd = queue_command(
                server.store, server.keys, "sim-00003", "screenshot", {}, now=time.time(), ttl_s=60
            )
            # power cuts are seen as offline (their will), old packs as stale
            wait_for(
                lambda: (
                    (s := states_by_kind(server)).get("offline", 0) >= KIOSKS // 4
                    and s.get("stale", 0) >= 1
                ),
                20,
                "power cuts and stale packs seen",
            )
            out, err = sim.communicate(timeout=60)
        finally:
            if sim.poll() is None:
                sim.kill()
        assert sim.returncode == 0, err
        report = json.loads(out.strip().splitlines()[-1])
        assert report["kiosks"] == KIOSKS and report["power_cuts"] == KIOSKS // 4
        assert report["sent"] > KIOSKS * 3

        def stored() -> int:
            query = (
                select(func.count())
                .select_from(heartbeats)
                .where(heartbeats.c.kiosk_id.like("sim-%"))
            )
            with server.store.engine.connect() as conn:
                return int(conn.execute(query).scalar_one())

        wait_for(lambda: stored() == report["sent"], 20, f"{report['sent']} heartbeats stored")
        # the simulator stopped cleanly: every kiosk said goodbye
        wait_for(lambda: states_by_kind(server).get("offline", 0) == KIOSKS, 20, "the goodbyes")
        status = wait_for(
            lambda: (s := command_status(server.store, cmd.cmd_id)) and s["state"] == "done" and s,
            20,
            "the command answered",
        )
        assert status["reason"] == "simulated kiosk"
        with server.store.engine.connect() as conn:
            shots = (
                select(func.count())
                .select_from(screenshots)
                .where(screenshots.c.kiosk_id == "sim-00003")
            )
            assert conn.execute(shots).scalar_one() == 1
    view = bgk("server", "fleet", "--data", str(server.cfg.data), "--json")
    rows = json.loads(view.stdout)
    assert len([r for r in rows if r["id"].startswith("sim-")]) == KIOSKS
    assert {r["gate"] for r in rows} >= {"lao-bao", "la-lay"}


def count_states(server: Server) -> int:
    with server.store.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(kiosk_state)
                .where(kiosk_state.c.kiosk_id.like("sim-%"))
            ).scalar_one()
        )


def states_by_kind(server: Server) -> dict[str, Any]:
    with server.store.engine.connect() as conn:
        rows = conn.execute(
            select(kiosk_state.c.state, func.count())
            .where(kiosk_state.c.kiosk_id.like("sim-%"))
            .group_by(kiosk_state.c.state)
        ).all()
    return {state: n for state, n in rows}
