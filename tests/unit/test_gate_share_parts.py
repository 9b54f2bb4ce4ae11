"""Gate sharing's pure parts: the [share] settings, the rendezvous order, the board
peers read, and the heartbeat's share counters (issue 17 item 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.agent.heartbeat import AgentFacts, build_heartbeat, share_report
from kiosk.agent.share_client import rank
from kiosk.agent.share_index import Board
from kiosk.config import parse_config
from kiosk.protocol.errors import UsageError
from kiosk.protocol.payloads import Heartbeat, parse_kiosk_payload
from kiosk.protocol.topics import Kind

BASE = {
    "kiosk": {"id": "k1", "gate": "lao-bao"},
    "server": {"url": "https://bgk.example", "trusted_root": "root.json"},
}


def config(**share: object) -> object:
    return parse_config({**BASE, "share": share}, base=Path("/etc/bgk"))


def test_sharing_is_off_unless_turned_on_and_lists_static_peers() -> None:
    assert config().share.enabled is False  # type: ignore[attr-defined]
    on = config(enabled=True, listen="192.168.1.21:8765", peers=["192.168.1.22:8765"])
    assert on.share.peers == ("192.168.1.22:8765",)  # type: ignore[attr-defined]
    assert on.share.max_connections == 4  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("share", "words"),
    [
        ({"enabled": True}, "needs listen"),
        ({"enabled": True, "listen": "0.0.0.0:8765"}, "every address of the kiosk"),
        ({"enabled": True, "listen": "[::]:8765"}, "every address of the kiosk"),
        ({"enabled": True, "listen": "192.168.1.21"}, "must be address:port"),
        ({"enabled": True, "listen": "192.168.1.21:99999"}, "must be address:port"),
        ({"enabled": True, "listen": "10.0.0.2:8765", "peers": ["10.0.0.3"]}, "address:port"),
        ({"enabled": True, "listen": "10.0.0.2:8765", "max_connections": 0}, "between 1"),
    ],
)
def test_bad_share_settings_say_what_to_write(share: dict[str, object], words: str) -> None:
    with pytest.raises(UsageError, match=words):
        config(**share)


def test_every_kiosk_ranks_the_gate_the_same_way_and_the_work_spreads() -> None:
    gate = tuple(f"10.0.0.{i}:8765" for i in range(10, 15))
    blobs = [f"{i:064x}" for i in range(200)]
    for sha in blobs[:5]:
        assert rank(sha, gate) == rank(sha, tuple(reversed(gate)))
    leaders = [rank(sha, gate)[0] for sha in blobs]
    assert {leaders.count(a) for a in gate} <= set(range(20, 60))  # each leads ~40 of 200


def test_the_board_tells_peers_what_the_cycle_does() -> None:
    board = Board()
    got = {"n": 0}
    board.begin(["a" * 64, "b" * 64], lambda: got["n"])
    assert board.state_of("a" * 64) == ("want", 0)
    board.fetching("a" * 64)
    got["n"] = 1234
    assert board.state_of("a" * 64) == ("fetching", 1234)
    board.ready("a" * 64, 10)
    assert board.ready_length("a" * 64) == 10 and board.state_of("a" * 64) == ("none", 0)
    board.end(server_bytes=10, peer_bytes=5, at=1.0)
    assert board.state_of("b" * 64) == ("none", 0)
    assert board.report()["last_download"] == {"at": 1.0, "server_bytes": 10, "peer_bytes": 5}


def test_the_heartbeat_carries_the_share_counters() -> None:
    status = {
        "listen": "10.0.0.2:8765",
        "peers": [],
        "served_bytes": 5_000_000,
        "served_blobs": 3,
        "last_download": {"at": 1.0, "server_bytes": 0, "peer_bytes": 4_000_000},
    }
    facts = AgentFacts(pack=None, stale=False, time_floor=0.0, share=share_report(status))
    hb = build_heartbeat(
        boot_id="b1",
        seq=1,
        now=1000.0,
        period=30.0,
        uptime=5.0,
        facts=facts,
        health=None,
        temp=None,
        disk_free=None,
    )
    back = parse_kiosk_payload(Kind.HB, hb.to_bytes())
    assert isinstance(back, Heartbeat)
    assert back.share is not None
    assert (back.share.served_bytes, back.share.peer_bytes) == (5_000_000, 4_000_000)
    assert share_report(None) is None
    assert share_report({"served_bytes": "x"}) == share_report({})
