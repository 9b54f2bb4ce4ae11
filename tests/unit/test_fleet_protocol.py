"""The MQTT contract in kiosk.protocol: topics, strict payloads, limits, signing bytes."""

from __future__ import annotations

import json

import pytest

from kiosk.common.backoff import Backoff
from kiosk.protocol.errors import ProtocolError
from kiosk.protocol.payloads import (
    MAX_BYTES,
    Command,
    Heartbeat,
    NoticeArgs,
    PackRef,
    PayloadError,
    PayloadTooLarge,
    ScreenshotArgs,
    ScreenshotHeader,
    Status,
    UiState,
    command_args,
    command_signing_bytes,
    encode_screenshot,
    parse_announce,
    parse_command,
    parse_kiosk_payload,
    parse_screenshot,
)
from kiosk.protocol.topics import Kind, TopicError, kiosk_filter, kiosk_topic, parse_kiosk_topic


def heartbeat(**over: object) -> dict[str, object]:
    hb = Heartbeat(
        boot_id="b1", seq=4, ts=1.7e9, period=30, uptime=120.0,
        pack=PackRef(id="lao-bao", version=3, hash="ab" * 32),
        ui=UiState(alive=True, screen="page:visa", last_touch=1.7e9 - 5),
        temp=51.5, disk_free=10**10, time_floor=1.7e9 - 60, stale=False,
    )  # fmt: skip
    return {**json.loads(hb.to_bytes()), **over}


def test_topics_are_built_and_parsed_for_every_kind() -> None:
    for kind in Kind:
        topic = kiosk_topic("lb-01", kind)
        assert topic == f"bgk/v1/kiosk/lb-01/{kind.value}"
        assert parse_kiosk_topic(topic) == ("lb-01", kind)
    assert kiosk_filter(Kind.HB) == "bgk/v1/kiosk/+/hb"
    assert kiosk_filter(Kind.ACK, "ingest") == "$share/ingest/bgk/v1/kiosk/+/cmd/ack"


@pytest.mark.parametrize(
    "topic",
    ["bgk/v1/kiosk/LB-01/hb", "bgk/v1/kiosk/lb-01/hb/x", "bgk/v1/kiosk/lb-01", "bgk/v2/kiosk/lb-01/hb",
     "bgk/v1/kiosk//hb", "bgk/v1/kiosk/lb-01/cmd/nack", "bgk/v1/kiosk/+/hb"],
)  # fmt: skip
def test_topics_outside_the_contract_are_refused(topic: str) -> None:
    with pytest.raises(TopicError):
        parse_kiosk_topic(topic)


@pytest.mark.parametrize("bad", ["lb/02", "+", "#", "LB", "", "a" * 64, "_server-1"])
def test_a_kiosk_id_cannot_escape_its_subtree(bad: str) -> None:
    with pytest.raises(TopicError):
        kiosk_topic(bad, Kind.STATUS)


def test_heartbeat_validation_is_strict_and_forward_compatible() -> None:
    ok = parse_kiosk_payload(Kind.HB, json.dumps(heartbeat(future_field=1)).encode())
    assert isinstance(ok, Heartbeat) and ok.ui.screen == "page:visa"
    for field, value in (
        ("seq", "4"),
        ("stale", "no"),
        ("disk_free", -1),
        ("period", 0),
        ("ui", {"alive": 1}),
    ):
        with pytest.raises(PayloadError, match=field.split(".")[0]):
            parse_kiosk_payload(Kind.HB, json.dumps(heartbeat(**{field: value})).encode())
    with pytest.raises(PayloadError, match="hash"):
        parse_kiosk_payload(
            Kind.HB, json.dumps(heartbeat(pack={"id": "x", "version": 1, "hash": "zz"})).encode()
        )
    missing = heartbeat()
    del missing["boot_id"]
    with pytest.raises(PayloadError, match="boot_id"):
        parse_kiosk_payload(Kind.HB, json.dumps(missing).encode())
    with pytest.raises(PayloadError):
        parse_kiosk_payload(Kind.STATUS, b"{not json")


def test_oversized_payloads_are_refused_before_parsing() -> None:
    big = (
        b'{"online": true, "boot_id": "b", "seq0": 1, "pad": "'
        + b"x" * MAX_BYTES[Kind.STATUS]
        + b'"}'
    )
    with pytest.raises(PayloadTooLarge):
        parse_kiosk_payload(Kind.STATUS, big)
    with pytest.raises(PayloadTooLarge):
        parse_screenshot(b"x" * (MAX_BYTES[Kind.SCREENSHOT] + 1))
    assert isinstance(PayloadTooLarge("x"), ProtocolError)
    assert isinstance(
        parse_kiosk_payload(Kind.STATUS, Status(online=True, boot_id="b", seq0=1).to_bytes()),
        Status,
    )


def test_command_signing_bytes_cover_everything_but_the_signature() -> None:
    cmd = Command(cmd_id="c1", op="notice", kiosk="lb-01", iat=1.0, exp=61.0,
                  args={"text": {"vi": "Đóng cửa"}, "id": "n", "expires": 99.0})  # fmt: skip
    signed = cmd.model_copy(update={"sig": "c2lnbmF0dXJl"})
    assert command_signing_bytes(cmd) == command_signing_bytes(signed)
    for change in ({"kiosk": "lb-02"}, {"exp": 62.0}, {"op": "reboot"}, {"args": {}}):
        assert command_signing_bytes(cmd.model_copy(update=change)) != command_signing_bytes(cmd)
    body = command_signing_bytes(cmd)
    assert body.startswith(b"bgk-command-v1\n") and "Đóng cửa".encode() in body  # canonical UTF-8
    again = parse_command(signed.to_bytes())
    assert again == signed


def test_command_args_are_checked_per_op() -> None:
    notice = Command(
        cmd_id="c1",
        op="notice",
        kiosk="k",
        iat=0,
        exp=1,
        args={"id": "n1", "text": {"th": "ปิด"}, "expires": 5.0},
    )
    assert isinstance(command_args(notice), NoticeArgs)
    shot = Command(cmd_id="c2", op="screenshot", kiosk="k", iat=0, exp=1, args={"max_width": 640})
    assert command_args(shot) == ScreenshotArgs(max_width=640, quality=70)
    with pytest.raises(PayloadError, match="text"):
        command_args(
            notice.model_copy(update={"args": {"id": "n", "text": {"fr": "non"}, "expires": 1.0}})
        )
    with pytest.raises(PayloadError, match="no args"):
        command_args(Command(cmd_id="c3", op="reboot", kiosk="k", iat=0, exp=1, args={"now": True}))
    with pytest.raises(PayloadError):
        parse_command(b'{"cmd_id": "c4", "op": "format-disk", "kiosk": "k", "iat": 0, "exp": 1}')


def test_screenshot_payload_is_a_header_line_and_a_jpeg() -> None:
    header = ScreenshotHeader(cmd_id="c1", ts=5.0, width=640, height=360, screen="home")
    got, jpeg = parse_screenshot(encode_screenshot(header, b"\xff\xd8\xff\xe0rest"))
    assert got == header and jpeg == b"\xff\xd8\xff\xe0rest"
    with pytest.raises(PayloadError, match="JPEG"):
        parse_screenshot(encode_screenshot(header, b"\x89PNG"))
    with pytest.raises(PayloadError, match="header"):
        parse_screenshot(b"\xff\xd8\xff" * 10)


def test_announce_is_a_hint_with_versions() -> None:
    a = parse_announce(b'{"timestamp_version": 7, "packs": {"lao-bao": 3}}')
    assert a.packs == {"lao-bao": 3}
    with pytest.raises(PayloadError):
        parse_announce(b'{"timestamp_version": 7, "packs": {"lao-bao": "3"}}')


def test_backoff_grows_with_jitter_and_resets() -> None:
    import random

    b = Backoff(base=1.0, cap=8.0, rng=random.Random(1))
    delays = [b.next() for _ in range(6)]
    for n, d in enumerate(delays):
        full = min(8.0, 2.0**n)
        assert full / 2 <= d <= full
    assert len(set(delays)) == len(delays)  # jittered, not a lock-step fleet
    b.reset()
    assert b.next() <= 1.0
