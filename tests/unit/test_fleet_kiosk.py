"""The kiosk side of the fleet link without a network: heartbeat builder and
readings, the disk outbox and command ledger, command verification and running."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.agent.heartbeat import (
    AgentFacts,
    build_heartbeat,
    facts_from_status,
    read_cpu_temp,
    ui_state,
)
from kiosk.agent.outbox import Outbox
from kiosk.agent.remote import Actions, CommandRefused, CommandRunner, verify
from kiosk.local import Channel, UiHealth
from kiosk.protocol.payloads import Command, CommandAck, PackRef, command_signing_bytes

NOW = 1_780_000_000.0


def health(ts: float, ok: bool = True) -> UiHealth:
    return UiHealth(
        ts=ts,
        pid=7,
        pack_id="lao-bao",
        pack_version=3,
        screen="page:visa",
        lang="lo",
        last_touch=ts - 30,
        ok=ok,
    )


def test_ui_is_alive_only_with_a_fresh_healthy_report() -> None:
    assert ui_state(health(NOW - 2), NOW).alive
    assert ui_state(health(NOW - 2), NOW).screen == "page:visa"
    assert not ui_state(health(NOW - 60), NOW).alive  # the UI stopped writing
    assert not ui_state(health(NOW - 2, ok=False), NOW).alive  # it cannot draw its pack
    assert ui_state(None, NOW).alive is False
    dead = ui_state(health(NOW - 60), NOW)
    assert dead.screen is None and dead.last_touch == NOW - 90


def test_heartbeat_builder_is_pure_and_matches_the_contract() -> None:
    facts = AgentFacts(
        pack=PackRef(id="lao-bao", version=3, hash="e" * 64), stale=True, time_floor=NOW - 100
    )
    hb = build_heartbeat(boot_id="b1", seq=9, now=NOW, period=30, uptime=1234.56, facts=facts,
                         health=health(NOW - 1), temp=61.234, disk_free=5 * 10**9, agent="0.1")  # fmt: skip
    again = build_heartbeat(boot_id="b1", seq=9, now=NOW, period=30, uptime=1234.56, facts=facts,
                            health=health(NOW - 1), temp=61.234, disk_free=5 * 10**9, agent="0.1")  # fmt: skip
    assert hb == again
    body = json.loads(hb.to_bytes())
    assert body["pack"] == {"id": "lao-bao", "version": 3, "hash": "e" * 64}
    assert body["temp"] == 61.2 and body["stale"] is True and body["ui"]["alive"] is True
    assert set(body) >= {"seq", "uptime", "pack", "ui", "temp", "disk_free", "time_floor", "stale"}


def test_facts_come_from_the_agents_own_status() -> None:
    status = {"installed": {"id": "lao-bao", "version": 4, "sha256": "f" * 64, "dir": "packs/x"},
              "stale": False, "time_floor": "2026-05-28T20:26:40Z"}  # fmt: skip
    facts = facts_from_status(status)
    assert facts.pack == PackRef(id="lao-bao", version=4, hash="f" * 64)
    assert facts.time_floor == NOW and facts.stale is False
    assert facts_from_status({"installed": None, "stale": True, "time_floor": None}) == AgentFacts(
        None, True, 0.0
    )


def test_cpu_temperature_prefers_the_cpu_zone_and_is_none_without_sensors(tmp_path: Path) -> None:
    assert read_cpu_temp(tmp_path) is None
    for n, (kind, milli) in enumerate(
        (("acpitz", "30000"), ("cpu-thermal", "48312"), ("gpu", "41000"))
    ):
        zone = tmp_path / "class" / "thermal" / f"thermal_zone{n}"
        zone.mkdir(parents=True)
        (zone / "type").write_text(kind + "\n")
        (zone / "temp").write_text(milli + "\n")
    assert read_cpu_temp(tmp_path) == pytest.approx(48.312)


def test_outbox_keeps_order_across_restarts_and_forgets_only_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "agent" / "outbox.db"
    box = Outbox(path)
    seqs = [box.add("events", json.dumps({"n": i}).encode(), NOW + i) for i in range(5)]
    assert seqs == sorted(seqs)
    first = box.pending(0, 3)
    assert [json.loads(r.body)["n"] for r in first] == [0, 1, 2]
    box.done(first[0].seq)
    ident = box.outbox_id
    box.close()
    box = Outbox(path)  # a power cut: everything not acknowledged is still there, in order
    assert box.outbox_id == ident
    assert [json.loads(r.body)["n"] for r in box.pending(0, 100)] == [1, 2, 3, 4]
    assert [json.loads(r.body)["n"] for r in box.pending(first[2].seq, 100)] == [3, 4]
    box.close()


def test_ledger_accepts_a_command_once_and_queues_its_ack_atomically(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox.db")
    assert box.accept("c1", NOW + 60, "accepted", b"ack-1", NOW)
    assert not box.accept("c1", NOW + 60, "accepted", b"ack-2", NOW)
    assert [r.body for r in box.pending(0, 10)] == [b"ack-1"]
    box.finish("c1", "done", b"ack-3", NOW + 1)
    assert box.seen("c1") == "done"
    assert box.prune_ledger(NOW + 60 + 8 * 86400) == 1
    assert box.seen("c1") is None
    box.close()


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def signed(key: Ed25519PrivateKey, **over: object) -> Command:
    fields: dict[str, object] = {
        "cmd_id": "c1",
        "op": "resync",
        "kiosk": "lb-01",
        "iat": NOW,
        "exp": NOW + 600,
        **over,
    }
    cmd = Command.model_validate(fields)
    return cmd.model_copy(
        update={"sig": base64.b64encode(key.sign(command_signing_bytes(cmd))).decode()}
    )


def test_verify_refuses_forged_misaddressed_and_expired_commands(key: Ed25519PrivateKey) -> None:
    pub = key.public_key()
    verify(signed(key), pub, "lb-01", NOW)
    verify(signed(key), pub, "lb-01", NOW + 600 + 100)  # a clock a little ahead: still fine
    with pytest.raises(CommandRefused, match="signature"):
        verify(signed(key).model_copy(update={"op": "reboot"}), pub, "lb-01", NOW)
    with pytest.raises(CommandRefused, match="signature"):
        verify(signed(Ed25519PrivateKey.generate()), pub, "lb-01", NOW)
    with pytest.raises(CommandRefused, match="lb-02"):
        verify(signed(key, kiosk="lb-02"), pub, "lb-01", NOW)
    with pytest.raises(CommandRefused, match="expired"):
        verify(signed(key), pub, "lb-01", NOW + 600 + 121)
    with pytest.raises(CommandRefused, match="re-enrol"):
        verify(signed(key), None, "lb-01", NOW)


def test_runner_runs_once_writes_notices_and_acknowledges(
    tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    syncs: list[int] = []
    box = Outbox(tmp_path / "outbox.db")
    channel = Channel(tmp_path / "state")
    actions = Actions(
        trigger_sync=lambda: syncs.append(1),
        reboot=lambda: None,
        publish_screenshot=lambda b: None,
        drain=lambda t: None,
    )
    runner = CommandRunner("lb-01", key.public_key(), box, channel, actions, clock=lambda: NOW)
    resync = signed(key).to_bytes()
    assert runner.handle(resync) == "done"
    assert runner.handle(resync) == "duplicate"
    assert syncs == [1]
    notice = signed(
        key,
        cmd_id="c2",
        op="notice",
        args={"id": "n1", "text": {"vi": "Tạm dừng", "en": "Paused"}, "expires": NOW + 60},
    )
    assert runner.handle(notice.to_bytes()) == "done"
    shown = channel.read_notice()
    assert shown is not None and shown.text["vi"] == "Tạm dừng" and shown.expires == NOW + 60
    other = signed(key, cmd_id="c5", op="notice", args={"id": "n0", "text": {}, "expires": NOW})
    assert runner.handle(other.to_bytes()) == "done" and channel.read_notice() is not None
    clear = signed(key, cmd_id="c3", op="notice", args={"id": "n1", "text": {}, "expires": NOW})
    assert runner.handle(clear.to_bytes()) == "done" and channel.read_notice() is None
    old = signed(key, cmd_id="c4", iat=NOW - 1200, exp=NOW - 600)
    assert runner.handle(old.to_bytes()) == "refused" and syncs == [1]
    assert runner.handle(b"{]") == "malformed"
    acks = [CommandAck.model_validate_json(r.body) for r in box.pending(0, 100)]
    assert [(a.cmd_id, a.state) for a in acks] == [
        ("c1", "accepted"), ("c1", "done"), ("c2", "accepted"), ("c2", "done"),
        ("c5", "accepted"), ("c5", "done"), ("c3", "accepted"), ("c3", "done"),
        ("c4", "failed"),
    ]  # fmt: skip
    assert "expired" in (acks[-1].reason or "")
    # withdrawing n0 left n1 on the screen; "all" clears whatever is shown
    assert [a.reason for a in acks if a.cmd_id in ("c5", "c3") and a.state == "done"] == [
        "notice not shown",
        "notice cleared",
    ]
    runner.handle(notice.model_copy(update={"cmd_id": "c6"}).to_bytes())
    assert channel.read_notice() is None  # c6 is not signed: refused
    again = signed(
        key, cmd_id="c7", op="notice", args={"id": "n2", "text": {"vi": "x"}, "expires": NOW + 60}
    )
    assert runner.handle(again.to_bytes()) == "done" and channel.read_notice() is not None
    wipe = signed(key, cmd_id="c8", op="notice", args={"id": "all", "text": {}, "expires": NOW})
    assert runner.handle(wipe.to_bytes()) == "done" and channel.read_notice() is None
    box.close()


def test_a_time_floor_above_the_clock_stops_replays_of_expired_commands(
    tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    """A Pi without a real-time clock may boot in 1970; the time floor keeps old commands dead."""
    box = Outbox(tmp_path / "outbox.db")
    actions = Actions(
        trigger_sync=lambda: None,
        reboot=lambda: None,
        publish_screenshot=lambda b: None,
        drain=lambda t: None,
    )
    runner = CommandRunner(
        "lb-01",
        key.public_key(),
        box,
        Channel(tmp_path),
        actions,
        clock=lambda: 0.0,
        time_floor=lambda: NOW,
    )
    assert runner.handle(signed(key, iat=NOW - 3600, exp=NOW - 1800).to_bytes()) == "refused"
    box.close()
