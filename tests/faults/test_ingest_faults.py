"""Hostile payloads on every ingest topic: dropped, logged, and the ingest goes on."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fleetkit import Recorder, Server, make_server, running_service, wait_for
from sqlalchemy import func, select

from kiosk.protocol.payloads import (
    CommandAck,
    Event,
    Heartbeat,
    ScreenshotHeader,
    Status,
    UiState,
    encode_screenshot,
)
from kiosk.protocol.topics import KIOSK_TO_SERVER, Kind
from server.broker.credentials import Identity
from server.store.schema import commands, heartbeats, kiosk_events, screenshots

TWO_MB = 2 * 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    world = make_server(tmp_path_factory.mktemp("fleet-ingest-faults"))
    yield world
    world.close()


def valid(kind: Kind, seq: int) -> bytes:
    now = time.time()
    if kind is Kind.HB:
        return Heartbeat(
            boot_id="b1",
            seq=seq,
            ts=now,
            period=30,
            uptime=1,
            pack=None,
            ui=UiState(alive=True),
            temp=50.0,
            disk_free=10**10,
            time_floor=0,
            stale=False,
        ).to_bytes()
    if kind is Kind.STATUS:
        return Status(online=True, boot_id="b1", seq0=1).to_bytes()
    if kind is Kind.EVENTS:
        return Event(
            outbox_id="o1", seq=seq, ts=now, kind="error", data={"message": "ok"}
        ).to_bytes()
    if kind is Kind.ACK:
        return CommandAck(cmd_id="nocmd", state="done").to_bytes()
    header = ScreenshotHeader(cmd_id=f"shot{seq}", ts=now, width=2, height=2)
    return encode_screenshot(header, b"\xff\xd8\xff\xe0" + b"\0" * 100)


def hostile(kind: Kind) -> list[tuple[str, bytes]]:
    wrong_types: dict[Kind, dict[str, Any]] = {
        Kind.HB: {**json.loads(valid(Kind.HB, 1)), "seq": "12"},
        Kind.STATUS: {"online": "yes", "boot_id": "b1", "seq0": 1},
        Kind.EVENTS: {**json.loads(valid(Kind.EVENTS, 1)), "seq": 1.5},
        Kind.ACK: {"cmd_id": "nocmd", "state": "exploded"},
    }
    out = [("malformed JSON", b'{"seq": 1, oops'), ("2 MB", b'{"pad": "' + b"a" * TWO_MB + b'"}')]
    if kind is Kind.SCREENSHOT:
        out += [
            ("wrong types", b'{"cmd_id": 5, "ts": "x", "width": 1, "height": 1}\n\xff\xd8\xff'),
            (
                "not a JPEG",
                ScreenshotHeader(cmd_id="x1", ts=1, width=1, height=1).to_bytes()
                + b"\n"
                + b"GIF89a",
            ),
            (
                "2 MB JPEG",
                ScreenshotHeader(cmd_id="x2", ts=1, width=1, height=1).to_bytes()
                + b"\n\xff\xd8\xff"
                + b"\0" * TWO_MB,
            ),
        ]
    else:
        out.append(("wrong types", json.dumps(wrong_types[kind]).encode()))
    return out


def count(server: Server, table: Any, kiosk: str) -> int:
    with server.store.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(table).where(table.c.kiosk_id == kiosk)
            ).scalar_one()
        )


def test_malformed_wrong_typed_and_oversized_payloads_are_dropped_and_ingest_goes_on(
    server: Server,
) -> None:
    cfg = server.enrol("lb-hostile")
    assert cfg.mqtt.password
    with running_service(server) as svc:
        kiosk = Recorder(server.broker, Identity("lb-hostile", cfg.mqtt.password))
        try:
            mids = []
            n_bad = 0
            for kind in KIOSK_TO_SERVER:
                for _what, payload in hostile(kind):
                    mids.append(
                        kiosk.publish(f"bgk/v1/kiosk/lb-hostile/{kind.value}", payload, qos=1)
                    )
                    n_bad += 1
            wait_for(lambda: set(mids) <= set(kiosk.acks), what="the broker to take every payload")
            assert all(
                kiosk.acks[m] < 128 for m in mids
            )  # the broker passed them on: our ingest judged
            wait_for(lambda: svc.stats.dropped >= n_bad, 20, "every hostile payload dropped")
            assert svc.stats.dropped == n_bad and svc.stats.db_errors == 0
            # ... and the ingest goes on: good messages on every topic are stored
            for kind in KIOSK_TO_SERVER:
                kiosk.publish(f"bgk/v1/kiosk/lb-hostile/{kind.value}", valid(kind, 7), qos=1)
            wait_for(
                lambda: count(server, heartbeats, "lb-hostile") == 1, what="the good heartbeat"
            )
            wait_for(lambda: count(server, kiosk_events, "lb-hostile") == 1, what="the good event")
            wait_for(
                lambda: count(server, screenshots, "lb-hostile") == 1, what="the good screenshot"
            )
            state = wait_for(lambda: server.state("lb-hostile"), what="state")
            assert state["online"] is True and state["hb_seq"] == 7
            assert svc._thread is not None and svc._thread.is_alive()
            assert svc.stats.dropped == n_bad
            with (
                server.store.engine.connect() as conn
            ):  # an ack for an unknown command changes nothing
                assert conn.execute(select(func.count()).select_from(commands)).scalar_one() == 0
        finally:
            kiosk.close()
