"""The fleet link when things break: a kiosk killed, the broker restarted, the
network partitioned. Real Mosquitto, real processes, a real TCP proxy."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fleetkit import (
    REPO,
    Server,
    TcpProxy,
    facts,
    fast_backoff,
    make_server,
    running_service,
    wait_for,
)
from sqlalchemy import select

from kiosk.agent.events import AgentEvent
from kiosk.agent.fleet import FleetLink
from server.store.schema import kiosk_events, presence


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # bundles carry short timings: the broker publishes a lost kiosk's will after 1 s
    world = make_server(
        tmp_path_factory.mktemp("fleet-faults"),
        fleet="will_delay_s = 1\nkeepalive_s = 5\nheartbeat_s = 5",
    )
    yield world
    world.close()


def start(server: Server, kiosk_id: str, **mqtt: Any) -> FleetLink:
    cfg = server.enrol(kiosk_id, **mqtt)
    link = FleetLink(cfg, facts=facts, trigger_sync=lambda: None, reboot=lambda: None)
    link.link.backoff = fast_backoff()
    link.start()
    wait_for(lambda: link.link.connected, what=f"{kiosk_id} connected")
    return link


def test_lwt_marks_a_sigkilled_kiosk_agent_offline(server: Server) -> None:
    """The real `bgk kiosk agent`, from its enrolment bundle, killed with SIGKILL."""
    with running_service(server):
        server.enrol("lb-kill")  # writes tmp/bundles/lb-kill with the server's timings
        bundle = server.tmp / "bundles" / "lb-kill" / "kiosk.toml"
        agent = subprocess.Popen(
            [sys.executable, "-m", "kiosk.cli", "kiosk", "agent", "--config", str(bundle)],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "BGK_LOG": "warning"},
        )
        try:
            # never synced (no server to sync from): connected but "stale" content (when
            # the birth status came in a batch before the first heartbeat, the sweeper
            # derives "stale" from that heartbeat within [fleet] sweep_s)
            state = wait_for(
                lambda: (
                    (s := server.state("lb-kill")) and s["hb_at"] and s["state"] != "online" and s
                ),
                30,
                "the agent's heartbeat",
            )
            assert (
                state["online"] is True
                and state["state"] == "stale"
                and state["reason"] == "content expired"
            )
            agent.send_signal(signal.SIGKILL)
            agent.wait(10)
            killed = time.time()
            gone = wait_for(
                lambda: (s := server.state("lb-kill")) and s["state"] == "offline" and s,
                15,
                "offline after the kill",
            )
            assert gone["online"] is False and gone["reason"] == "disconnected"
            # the will delay (1 s) and one ingest batch: well before heartbeats would say so
            assert gone["status_at"] - killed < 5 * 1.0 + 2
            with server.store.engine.connect() as conn:
                states = [
                    r.state
                    for r in conn.execute(
                        select(presence.c.state)
                        .where(presence.c.kiosk_id == "lb-kill")
                        .order_by(presence.c.id)
                    )
                ]
            assert states[-2:] == ["stale", "offline"]
        finally:
            if agent.poll() is None:
                agent.kill()
                agent.wait()


def test_broker_restart_kiosks_reconnect_and_announce_again(server: Server) -> None:
    with running_service(server) as svc:
        kiosks = [start(server, f"lb-restart-{i}") for i in range(3)]
        try:
            births = {
                k.kiosk_id: wait_for(
                    lambda k=k: (s := server.state(k.kiosk_id)) and s["status_at"], what="birth"
                )
                for k in kiosks
            }
            connects = svc.stats.connects
            server.broker.stop()  # persistence saved on the way down
            wait_for(lambda: not any(k.link.connected for k in kiosks), what="kiosks noticing")
            server.broker.start()
            for k in kiosks:
                wait_for(lambda k=k: k.link.connected, 20, f"{k.kiosk_id} back")
            wait_for(lambda: svc.stats.connects > connects and svc.connected, 20, "the ingest back")
            for k in kiosks:  # a new birth status after the restart, the same boot
                s = wait_for(
                    lambda k=k: (
                        (s := server.state(k.kiosk_id))
                        and s["status_at"] > births[k.kiosk_id]
                        and s["online"]
                        and s
                    ),
                    what="new birth",
                )
                assert s["boot_id"] == k.boot_id
                hb = server.hb_count(k.kiosk_id)
                wait_for(
                    lambda k=k, hb=hb: server.hb_count(k.kiosk_id) > hb, 15, "heartbeats again"
                )
        finally:
            for k in kiosks:
                k.stop()


def test_partition_offline_then_online_and_the_outbox_delivers_exactly_once(server: Server) -> None:
    proxy = TcpProxy(server.broker.layout.tls_port or 0)
    try:
        with running_service(server):
            cfg_url = f"mqtts://localhost:{proxy.port}"
            link = start(server, "lb-part", url=cfg_url, keepalive_s=2, will_delay_s=0)
            try:
                sent: list[str] = []

                def event(text: str) -> None:
                    sent.append(text)
                    link.emit(AgentEvent("error", time.time(), text, {}))

                for i in range(5):
                    event(f"before {i}")
                wait_for(lambda: link.outbox.count() == 0, what="the first events delivered")
                proxy.partition()
                for i in range(20):  # the kiosk keeps working: events wait on its disk
                    event(f"during {i}")
                off = wait_for(
                    lambda: (s := server.state("lb-part")) and s["state"] == "offline" and s,
                    20,
                    "offline by LWT",
                )
                assert off["reason"] == "disconnected"
                wait_for(lambda: not link.link.connected, 15, "the kiosk noticing")
                assert link.outbox.count() > 0
                proxy.heal()
                for i in range(5):
                    event(f"after {i}")
                wait_for(lambda: link.link.connected, 30, "reconnected")
                wait_for(
                    lambda: (s := server.state("lb-part")) and s["state"] == "online",
                    15,
                    "online again",
                )
                wait_for(lambda: link.outbox.count() == 0, 15, "the outbox flushed")

                def stored() -> list[Any]:
                    with server.store.engine.connect() as conn:
                        return conn.execute(
                            select(kiosk_events.c.seq, kiosk_events.c.data)
                            .where(kiosk_events.c.kiosk_id == "lb-part")
                            .order_by(kiosk_events.c.seq)
                        ).all()

                rows = wait_for(
                    lambda: len(stored()) >= len(sent) and stored(), what="every event stored"
                )
                assert [
                    r.data["message"] for r in rows
                ] == sent  # nothing lost, nothing twice, in order
                assert len({r.seq for r in rows}) == len(rows)
            finally:
                link.stop()
    finally:
        proxy.close()


def test_an_event_no_server_was_subscribed_for_is_sent_again(tmp_path: Path) -> None:
    """A broker that restarted without its sessions (killed before its autosave)
    acknowledges a kiosk's event with "no matching subscribers" when the kiosk is
    back before the server: delivered nowhere. The outbox keeps it and sends it
    again until the server's ingest is there (found by bench/soak.py). A broker of
    its own: no server session has ever subscribed there."""
    server = make_server(tmp_path, fleet="will_delay_s = 1\nkeepalive_s = 5\nheartbeat_s = 5")
    link = start(server, "lb-nosub")
    try:
        link.emit(AgentEvent("error", time.time(), "while nobody listens", {}))
        wait_for(lambda: link.outbox.count() == 1 and not link._inflight, 10, "the broker's PUBACK")
        time.sleep(1.0)
        assert link.outbox.count() == 1, "an event acknowledged by nobody was dropped"
        with running_service(server):

            def stored() -> int:
                with server.store.engine.connect() as conn:
                    q = select(kiosk_events.c.seq).where(kiosk_events.c.kiosk_id == "lb-nosub")
                    return len(conn.execute(q).all())

            wait_for(stored, 20, "the event in the store once the server subscribes")
            wait_for(lambda: link.outbox.count() == 0, 20, "the outbox to drain")
            assert stored() == 1
    finally:
        link.stop()
        server.close()
