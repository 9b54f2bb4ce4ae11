"""Commands from the server to a kiosk through a real Mosquitto: signed, run at most
once, refused when expired or forged, acknowledged; reboot, resync, notice, screenshot."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fleetkit import (
    Recorder,
    Server,
    bgk,
    facts,
    fast_backoff,
    make_server,
    running_service,
    server_ident,
    wait_for,
)
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from PIL import Image
from sqlalchemy import select

from kiosk.agent.fleet import FleetLink
from kiosk.local import Channel, UiHealth
from kiosk.protocol.payloads import Command, CommandAck
from server.fleet.remote import command_status, queue_command, sign_command
from server.store.schema import commands, screenshots


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    world = make_server(tmp_path_factory.mktemp("fleet-cmd"))
    yield world
    world.close()


@pytest.fixture(scope="module")
def service(server: Server) -> Iterator[Any]:
    with running_service(server) as svc:
        yield svc


class Kiosk:
    def __init__(self, server: Server, kiosk_id: str) -> None:
        self.server = server
        self.cfg = server.enrol(kiosk_id)
        self.syncs: list[float] = []
        self.reboots: list[float] = []
        self.link: FleetLink | None = None

    def start(self) -> FleetLink:
        self.syncs.clear()  # (a sync from before the restart must not pass for the new one's)
        self.link = FleetLink(
            self.cfg,
            facts=facts,
            trigger_sync=lambda: self.syncs.append(time.time()),
            reboot=lambda: self.reboots.append(time.time()),
        )
        self.link.link.backoff = fast_backoff()
        self.link.announce_jitter_s = 0.0
        self.link.start()
        link = self.link
        wait_for(lambda: link.link.connected, what="kiosk connected")
        # the retained pack announcement triggers one sync on every connection: let it
        # happen, so that `syncs` counts what commands do
        wait_for(lambda: link.announced is not None and self.syncs, what="the announcement's sync")
        self.syncs.clear()
        return link

    def stop(self) -> None:
        if self.link is not None:
            self.link.stop()
            self.link = None


def send(
    server: Server, kiosk_id: str, op: str, args: dict[str, Any] | None = None, ttl: float = 60
) -> str:
    return queue_command(
        server.store, server.keys, kiosk_id, op, args or {}, now=time.time(), ttl_s=ttl
    ).cmd_id


def marker(text: str) -> dict[str, Any]:
    return {"id": f"m-{text}", "text": {"en": text}, "expires": time.time() + 60}


def final_state(server: Server, cmd_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        s = command_status(server.store, cmd_id)
        return s if s and s["state"] in ("done", "failed", "expired") else None

    result: dict[str, Any] = wait_for(done, what=f"command {cmd_id} to finish")
    return result


def test_resync_runs_and_is_acknowledged(server: Server, service: Any) -> None:
    k = Kiosk(server, "lb-cmd-sync")
    k.start()
    try:
        cmd_id = send(server, "lb-cmd-sync", "resync")
        status = final_state(server, cmd_id)
        assert status["state"] == "done" and status["sent_at"] and status["acked_at"]
        assert len(k.syncs) == 1
    finally:
        k.stop()


def test_a_duplicated_command_runs_once_even_across_restarts(server: Server, service: Any) -> None:
    k = Kiosk(server, "lb-cmd-dup")
    k.start()
    rec = Recorder(server.broker, server_ident(server, 3))
    try:
        cmd_id = send(server, "lb-cmd-dup", "resync")
        final_state(server, cmd_id)
        with server.store.engine.connect() as conn:
            payload = conn.execute(
                select(commands.c.payload).where(commands.c.cmd_id == cmd_id)
            ).scalar_one()
        for _ in range(3):  # QoS 1 redelivery, or a replay
            rec.publish("bgk/v1/kiosk/lb-cmd-dup/cmd", bytes(payload))
        # commands are handled in order: once a later marker is done, so are the copies
        final_state(server, send(server, "lb-cmd-dup", "notice", marker("first")))
        assert len(k.syncs) == 1
        k.stop()
        k.start()  # the ledger is on disk: a restarted agent does not run it either
        rec.publish("bgk/v1/kiosk/lb-cmd-dup/cmd", bytes(payload))
        final_state(server, send(server, "lb-cmd-dup", "notice", marker("second")))
        assert k.syncs == []  # (start() cleared the first run and the announcement's sync)
    finally:
        rec.close()
        k.stop()


def test_an_expired_command_is_not_run(server: Server, service: Any) -> None:
    k = Kiosk(server, "lb-cmd-exp")
    rec = Recorder(server.broker, server_ident(server, 3))
    try:
        # (1) expired by its signed `exp`: refused, reported as failed
        k.start()
        now = time.time()
        old = sign_command(
            server.keys,
            Command(
                cmd_id="expired0001", op="resync", kiosk="lb-cmd-exp", iat=now - 900, exp=now - 600
            ),
        )
        watcher = Recorder(server.broker, server_ident(server, 4))
        watcher.client.subscribe("bgk/v1/kiosk/lb-cmd-exp/cmd/ack", 1)
        wait_for(lambda: watcher.subacks, what="SUBACK")
        rec.publish("bgk/v1/kiosk/lb-cmd-exp/cmd", old.to_bytes())
        ack = wait_for(
            lambda: [CommandAck.model_validate_json(p) for _t, p in watcher.messages],
            what="the refusal",
        )
        watcher.close()
        assert ack[0].state == "failed" and "expired" in (ack[0].reason or "")
        assert k.syncs == []
        k.stop()
        # (2) its MQTT message expiry passes while the kiosk is away: the broker drops it
        fresh = sign_command(
            server.keys,
            Command(cmd_id="brokerexp01", op="resync", kiosk="lb-cmd-exp", iat=now, exp=now + 3600),
        )
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        props.MessageExpiryInterval = 1
        info = rec.client.publish(
            "bgk/v1/kiosk/lb-cmd-exp/cmd", fresh.to_bytes(), qos=1, properties=props
        )
        info.wait_for_publish(5)
        still = sign_command(
            server.keys,
            Command(
                cmd_id="brokerkeep1",
                op="notice",
                kiosk="lb-cmd-exp",
                iat=now,
                exp=now + 3600,
                args={"id": "n1", "text": {"en": "queued while away"}, "expires": now + 600},
            ),
        )
        rec.publish("bgk/v1/kiosk/lb-cmd-exp/cmd", still.to_bytes())
        time.sleep(2.2)
        k.start()  # its persistent session gets the queued command, not the expired one
        notice = Channel(k.cfg.kiosk.state_dir).notice_path
        wait_for(notice.exists, what="the queued notice")  # published after the expired one
        assert k.syncs == []
        assert k.link is not None and k.link.outbox.seen("brokerexp01") is None
    finally:
        rec.close()
        k.stop()


def test_a_forged_or_misaddressed_command_is_refused(server: Server, service: Any) -> None:
    k = Kiosk(server, "lb-cmd-forge")
    k.start()
    rec = Recorder(server.broker, server_ident(server, 3))
    try:
        now = time.time()
        good = sign_command(
            server.keys,
            Command(cmd_id="forged00001", op="reboot", kiosk="lb-cmd-forge", iat=now, exp=now + 60),
        )
        tampered = good.model_copy(update={"op": "resync"})
        other = sign_command(
            server.keys,
            Command(cmd_id="forged00002", op="reboot", kiosk="lb-someone", iat=now, exp=now + 60),
        )
        rec.publish("bgk/v1/kiosk/lb-cmd-forge/cmd", tampered.to_bytes())
        rec.publish("bgk/v1/kiosk/lb-cmd-forge/cmd", other.to_bytes())
        rec.publish("bgk/v1/kiosk/lb-cmd-forge/cmd", b'{"cmd_id": 5}')
        assert k.link is not None
        link = k.link
        wait_for(
            lambda: (
                link.outbox.seen("forged00001") == "failed"
                and link.outbox.seen("forged00002") == "failed"
            ),
            what="refusals",
        )
        assert k.syncs == [] and k.reboots == []
    finally:
        rec.close()
        k.stop()


def test_notice_reboot_and_cli(server: Server, service: Any) -> None:
    k = Kiosk(server, "lb-cmd-misc")
    k.start()
    try:
        out = bgk(
            "server",
            "command",
            "--data",
            str(server.cfg.data),
            "--kiosk",
            "lb-cmd-misc",
            "notice",
            "--text",
            "vi=Cửa khẩu đóng lúc 17:00",
            "--text",
            "en=The gate closes at 17:00",
            "--wait",
            "20",
            "--json",
        )
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["state"] == "done"
        notice = Channel(k.cfg.kiosk.state_dir).read_notice()
        assert notice is not None and notice.text["vi"] == "Cửa khẩu đóng lúc 17:00"
        assert notice.expires > time.time() + 3000

        cmd_id = send(server, "lb-cmd-misc", "reboot")
        status = final_state(server, cmd_id)
        assert status["state"] == "done" and status["reason"] == "rebooting"
        wait_for(lambda: k.reboots, what="the reboot")

        bad = bgk(
            "server", "command", "--data", str(server.cfg.data), "--kiosk", "nobody-here", "resync"
        )
        assert bad.returncode != 0 and "not enrolled" in bad.stderr
    finally:
        k.stop()


def fake_ui(state_dir: Path, stop: threading.Event) -> None:
    """What the kiosk UI does for a screenshot request: save a PNG, drop the request."""
    ch = Channel(state_dir)
    while not stop.is_set():
        ch.write_health(
            UiHealth(
                ts=time.time(),
                pid=1,
                pack_id="lao-bao",
                pack_version=3,
                screen="page:visa",
                lang="en",
                last_touch=None,
            )
        )
        for request_id, body in ch.pending_requests():
            if body.get("op") == "screenshot":
                buf = io.BytesIO()
                Image.new("RGB", (1920, 1080), (200, 30, 30)).save(buf, "PNG")
                ch.screenshots_dir.mkdir(parents=True, exist_ok=True)
                tmp = ch.screenshots_dir / f".{request_id}.tmp"
                tmp.write_bytes(buf.getvalue())
                tmp.rename(ch.screenshots_dir / f"{request_id}.png")
            ch.finish_request(request_id)
        time.sleep(0.1)


def test_screenshot_reaches_the_server_as_a_scaled_jpeg(server: Server, service: Any) -> None:
    k = Kiosk(server, "lb-cmd-shot")
    k.start()
    stop = threading.Event()
    ui = threading.Thread(target=fake_ui, args=(k.cfg.kiosk.state_dir, stop), daemon=True)
    ui.start()
    try:
        cmd_id = send(server, "lb-cmd-shot", "screenshot", {"max_width": 640})
        assert final_state(server, cmd_id)["state"] == "done"
        with server.store.engine.connect() as conn:
            row = conn.execute(select(screenshots).where(screenshots.c.cmd_id == cmd_id)).one()
        assert (row.width, row.height, row.screen) == (640, 360, "page:visa")
        jpeg = (server.cfg.data / row.path).read_bytes()
        assert jpeg[:3] == b"\xff\xd8\xff" and len(jpeg) == row.size
        with Image.open(io.BytesIO(jpeg)) as picture:
            assert picture.size == (640, 360)
            r, g, _b = picture.convert("RGB").getpixel((320, 180))  # type: ignore[misc]
            assert r > 150 and g < 80
        assert not list(Channel(k.cfg.kiosk.state_dir).screenshots_dir.glob("*.png"))
    finally:
        stop.set()
        k.stop()
    # without a UI the command fails with a reason a technician understands
    k2 = Kiosk(server, "lb-cmd-noui")
    k2.start().runner.screenshot_wait_s = 1.0
    try:
        cmd_id = send(server, "lb-cmd-noui", "screenshot")
        status = final_state(server, cmd_id)
        assert status["state"] == "failed" and "UI did not save a screenshot" in status["reason"]
    finally:
        k2.stop()
