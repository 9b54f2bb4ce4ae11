"""The kiosk's fleet link against a real Mosquitto with generated files: TLS with
the enrolment bundle, presence, heartbeats, events, and the broker's ACL."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fleetkit import (
    PACK,
    Recorder,
    Server,
    bgk,
    facts,
    fast_backoff,
    make_server,
    probe_login,
    running_service,
    server_ident,
    wait_for,
)
from sqlalchemy import select

from kiosk.agent.events import AgentEvent
from kiosk.agent.fleet import FleetLink
from kiosk.local import Channel, UiHealth
from kiosk.protocol.payloads import Status
from server.broker.credentials import Identity
from server.store.schema import kiosk_events


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    world = make_server(tmp_path_factory.mktemp("fleet"))
    yield world
    world.close()


@pytest.fixture(scope="module")
def service(server: Server) -> Iterator[Any]:
    with running_service(server) as svc:
        yield svc


def start_kiosk(
    server: Server, kiosk_id: str, **mqtt: Any
) -> tuple[FleetLink, dict[str, list[Any]]]:
    cfg = server.enrol(kiosk_id, **mqtt)
    calls: dict[str, list[Any]] = {"sync": [], "reboot": []}
    link = FleetLink(
        cfg,
        facts=facts,
        trigger_sync=lambda: calls["sync"].append(1),
        reboot=lambda: calls["reboot"].append(1),
    )
    link.link.backoff = fast_backoff()
    link.announce_jitter_s = 0.2
    link.start()
    return link, calls


def test_bundle_kiosk_connects_over_tls_and_is_seen_online(
    server: Server, service: Any, tmp_path: Path
) -> None:
    link, _ = start_kiosk(server, "lb-tls-01")
    try:
        assert link.config.mqtt.url.startswith("mqtts://")
        Channel(link.config.kiosk.state_dir).write_health(
            UiHealth(
                ts=time.time(),
                pid=1,
                pack_id="lao-bao",
                pack_version=3,
                screen="home",
                lang="vi",
                last_touch=None,
            )
        )
        state = wait_for(
            lambda: (
                (s := server.state("lb-tls-01")) and s["state"] == "online" and s["ui_alive"] and s
            ),
            what="online state",
        )
        assert state["pack_id"] == PACK.id and state["pack_version"] == PACK.version
        assert state["ui_screen"] == "home"
        assert state["online"] is True and state["boot_id"] == link.boot_id
        wait_for(lambda: server.hb_count("lb-tls-01") >= 2, what="two heartbeats")

        out = bgk("server", "fleet", "--data", str(server.cfg.data), "--json")
        assert out.returncode == 0, out.stderr
        row = next(k for k in json.loads(out.stdout) if k["id"] == "lb-tls-01")
        assert row["state"] == "online" and row["gate"] == "lao-bao" and row["ui_alive"] is True
        assert row["last_seen_local"] and row["last_seen_local"][2] == "/"
        text = bgk("server", "fleet", "--data", str(server.cfg.data))
        assert "lb-tls-01" in text.stdout and "trực tuyến" in text.stdout
        english = bgk("server", "fleet", "--data", str(server.cfg.data), "--lang", "en")
        assert "online" in english.stdout and "Last seen" in english.stdout
    finally:
        link.stop()
    # a clean stop says goodbye: offline at once, no will delay
    wait_for(lambda: server.state("lb-tls-01")["state"] == "offline", what="offline after goodbye")  # type: ignore[index]


def test_events_go_through_the_disk_outbox_in_order(server: Server, service: Any) -> None:
    link, _ = start_kiosk(server, "lb-events")
    try:
        for i in range(30):
            link.emit(AgentEvent("error", time.time(), f"problem {i}", {"code": "x"}))
        link.emit(
            AgentEvent("rejected", time.time(), "bad hash", {"pack": "lao-bao", "version": 4})
        )

        def stored() -> list[Any]:
            with server.store.engine.connect() as conn:
                return conn.execute(
                    select(kiosk_events.c.seq, kiosk_events.c.kind, kiosk_events.c.data)
                    .where(kiosk_events.c.kiosk_id == "lb-events")
                    .order_by(kiosk_events.c.seq)
                ).all()

        rows = wait_for(lambda: len(stored()) == 31 and stored(), what="31 events")
        assert [r.data["message"] for r in rows[:30]] == [f"problem {i}" for i in range(30)]
        assert rows[-1].kind == "rejected"
        wait_for(lambda: link.outbox.count() == 0, what="an empty outbox")
        wait_for(
            lambda: server.state("lb-events")["rejected_version"] == 4, what="rejection recorded"
        )  # type: ignore[index]
    finally:
        link.stop()


def test_a_kiosk_publishing_as_another_is_refused_by_the_broker(
    server: Server, service: Any
) -> None:
    a = server.enrol("lb-imp-a")
    server.enrol("lb-imp-b")
    assert a.mqtt.password
    rec = Recorder(server.broker, Identity("lb-imp-a", a.mqtt.password), tls=True, ca=a.mqtt.ca)
    try:
        forged = Status(online=False, boot_id="x", seq0=1).to_bytes()
        bad = rec.publish("bgk/v1/kiosk/lb-imp-b/status", forged, retain=True)
        bad_cmd = rec.publish("bgk/v1/kiosk/lb-imp-a/cmd", b"{}")  # nor write its own commands
        good = rec.publish(
            "bgk/v1/kiosk/lb-imp-a/status",
            Status(online=True, boot_id="y", seq0=1).to_bytes(),
            retain=True,
        )
        wait_for(lambda: {bad, bad_cmd, good} <= set(rec.acks), what="three PUBACKs")
        assert rec.acks[bad] == 135  # not authorized: the broker refused it, not our code
        assert rec.acks[bad_cmd] == 135
        assert rec.acks[good] < 128
        wait_for(lambda: server.state("lb-imp-a"), what="lb-imp-a's own status")
        assert server.state("lb-imp-b") is None
    finally:
        rec.close()
    # client id = username: a kiosk cannot pick another kiosk's id either
    sneaky = Recorder(server.broker, Identity("lb-imp-a", a.mqtt.password), client_id="lb-imp-b")
    try:
        assert sneaky.connack == [0]
        mid = sneaky.publish("bgk/v1/kiosk/lb-imp-b/hb", b"{}")
        wait_for(lambda: mid in sneaky.acks, what="PUBACK")
        assert sneaky.acks[mid] == 135
    finally:
        sneaky.close()
    assert probe_login(server.broker, Identity("lb-imp-b", "not-the-password")) == 135
    assert probe_login(server.broker, Identity("nobody", "x")) == 135


def test_a_kiosk_cannot_read_another_kiosks_commands(server: Server, service: Any) -> None:
    spy_cfg = server.enrol("lb-spy")
    victim, _ = start_kiosk(server, "lb-victim")
    assert spy_cfg.mqtt.password
    spy = Recorder(server.broker, Identity("lb-spy", spy_cfg.mqtt.password))
    try:
        spy.client.subscribe(
            [("bgk/v1/kiosk/lb-victim/cmd", 1), ("bgk/v1/kiosk/+/cmd", 1), ("bgk/v1/#", 1)]
        )
        wait_for(lambda: spy.subacks, what="SUBACK")
        wait_for(lambda: victim.link.connected, what="victim connected")
        from server.fleet.remote import command_status, queue_command

        q = queue_command(
            server.store, server.keys, "lb-victim", "resync", {}, now=time.time(), ttl_s=60
        )
        wait_for(
            lambda: command_status(server.store, q.cmd_id)["state"] == "done",
            what="the victim's done-ack",
        )  # type: ignore[index]
        assert not [t for t, _ in spy.messages if "/cmd" in t and "lb-victim" in t]
        assert not [t for t, _ in spy.messages if t.startswith("bgk/v1/kiosk/lb-victim/")]
    finally:
        spy.close()
        victim.stop()


def test_revoking_a_kiosk_ends_its_access(server: Server, service: Any) -> None:
    link, _ = start_kiosk(server, "lb-revoked")
    try:
        wait_for(lambda: link.link.connected, what="connected")
        out = bgk("kiosk", "revoke", "--data", str(server.cfg.data), "--id", "lb-revoked")
        assert out.returncode == 0, out.stderr
        assert "reloaded" in out.stdout
        wait_for(lambda: not link.link.connected, what="the broker to drop the revoked kiosk")
        password = link.config.mqtt.password
        assert password
        assert probe_login(server.broker, Identity("lb-revoked", password)) == 135
        assert "lb-revoked" not in (server.broker.layout.out / "fleet" / "passwd").read_text()
    finally:
        link.stop()


def test_server_identities_cannot_be_used_without_the_secret(server: Server) -> None:
    good = server_ident(server, 4)
    assert probe_login(server.broker, good) == 0
    assert probe_login(server.broker, Identity(good.username, good.password + "x")) == 135


def test_publishing_a_pack_announces_it_and_kiosks_sync(
    server: Server, service: Any, built_mini: Path
) -> None:
    link, calls = start_kiosk(server, "lb-announce")
    try:
        # on connecting, the retained announcement of the empty repository: one sync
        first = wait_for(
            lambda: link.announced is not None and calls["sync"] and link.announced,
            what="the retained announcement",
        )
        before = len(calls["sync"])
        out = bgk(
            "server",
            "publish",
            str(built_mini),
            "--data",
            str(server.cfg.data),
            "--to",
            "lao-bao",
            "--keys",
            str(server.tmp / "keys"),
        )
        assert out.returncode == 0, out.stderr
        wait_for(
            lambda: (link.announced or 0) > first and len(calls["sync"]) > before,
            20,
            "a sync triggered by the new announcement",
        )
        rec = Recorder(server.broker, server_ident(server, 4))
        try:
            rec.client.subscribe("bgk/v1/packs/announce", 1)
            retained = wait_for(lambda: rec.messages, what="the retained announcement")
            body = json.loads(retained[-1][1])
            assert body["packs"] == {"mini": 1} and body["timestamp_version"] >= 2
        finally:
            rec.close()
    finally:
        link.stop()
