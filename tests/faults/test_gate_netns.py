"""One download per gate, in network namespaces made by the test (issue 17 item 3).

Five kiosk agents (`bgk kiosk agent`, real processes) and three lying peers on
a gate's LAN bridge; nginx delivering the server's repository behind an uplink
shaped with tc tbf. A pack published once crosses the uplink about once, every
agent installs it whole, and the liars (wrong bytes, endless bytes, 2 KB/s)
cost attempts, never an install. The attacks on one share server (paths,
unpublished blobs, connection cap) are in tests/integration/test_gate_share.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from deliverykit import installed, make_manifest, pack_files
from gatekit import REPO, Gate, Nginx, Repo, agent_cmd, netns_problem, write_kiosk
from sharekit import LiarPeer, wait_until

from kiosk.protocol.pack import parse_manifest

BGK = [sys.executable, "-m", "kiosk.cli"]
KIOSKS = 5
LIARS = ("wrong", "endless", "slow")
BLOB = 1_000_000

problem = netns_problem()
pytestmark = pytest.mark.skipif(problem is not None, reason=problem or "")


@pytest.fixture
def gate() -> Iterator[Gate]:
    with Gate(KIOSKS + len(LIARS), uplink_mbit=40) as g:
        yield g


def test_a_gate_downloads_a_pack_once_and_liars_break_nothing(gate: Gate, tmp_path: Path) -> None:
    repo = Repo(tmp_path / "server")
    files = pack_files("gate", count=6, size=BLOB)
    built = parse_manifest(make_manifest(files, "demo", 1))
    size = built.total_bytes
    lengths = {f.sha256: f.length for f in built.files}
    everyone = [gate.share_address(i) for i in range(KIOSKS + len(LIARS))]
    liars = [LiarPeer(lengths, mode, gate.listen(KIOSKS + j, 8765)) for j, mode in enumerate(LIARS)]
    procs: list[subprocess.Popen[bytes]] = []
    with Nginx(gate, repo.data, tmp_path / "nginx") as nginx:
        for liar in liars:
            liar.__enter__()
        try:
            configs = []
            for i in range(KIOSKS):
                peers = [a for a in everyone if a != gate.share_address(i)]
                configs.append(
                    write_kiosk(tmp_path / f"k{i}", i, gate, repo.root, peers, interval_s=30)
                )
            # the agents run (their first sync finds nothing), as at a gate before a publication
            for i, config in enumerate(configs):
                log = open(tmp_path / f"k{i}.log", "wb")  # noqa: SIM115
                procs.append(gate.popen(i, agent_cmd(config), stdout=log, stderr=log))
            states = [tmp_path / f"k{i}" / "state" for i in range(KIOSKS)]
            wait_until(
                lambda: (
                    all((s / "agent" / "state.json").exists() for s in states)
                    and all(gate.reachable(gate.lan_ip(i), 8765) for i in range(KIOSKS))
                ),
                "the agents' first sync and share servers",
                25,
            )
            before = gate.uplink_bytes()
            repo.publish(files)  # their next sync (30 s after they started) finds it
            deadline = time.monotonic() + 55
            while not all(os.path.lexists(s / "current") for s in states):
                assert time.monotonic() < deadline, _logs(tmp_path)
                for p in procs:
                    assert p.poll() is None, _logs(tmp_path)
                time.sleep(0.2)
            for s in states:  # each whole: every file there with its signed length and hash
                assert installed(s) == ("demo", 1)
            over_uplink = nginx.blob_bytes()
            link = gate.uplink_bytes() - before
            # each agent reports what it served and where its download came from
            reports = [s.parent / "state" / "agent" / "share.json" for s in states]
            # four kiosks took (nearly) the whole pack from the others, not from the uplink
            wait_until(lambda: min(_shared(reports)) >= 3 * size, "the agents' share reports", 15)
            status = subprocess.run(
                [*BGK, "kiosk", "status", "--config", str(configs[0])],
                capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            assert "gate sharing: on 10.88.0.10:8765 with 7 kiosks" in status
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(timeout=20)
            for liar in liars:
                liar.__exit__()
    # about once over the uplink (5 kiosks without sharing: 5x)
    assert size <= over_uplink <= 1.3 * size, (over_uplink, size)
    assert link <= 1.5 * size
    assert sum(liar.requests for liar in liars) > 0, "the liars were never asked"


def _shared(reports: list[Path]) -> tuple[int, int]:
    """(bytes the agents received from peers, bytes they served) by their reports."""
    peer = served = 0
    for path in reports:
        if path.exists():
            report = json.loads(path.read_text())
            served += report["served_bytes"]
            peer += (report.get("last_download") or {}).get("peer_bytes", 0)
    return peer, served


def _logs(tmp: Path) -> str:
    return "\n".join(
        f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(tmp.glob("k*.log"))
    )


def test_the_kiosk_firewall_line_lets_only_the_gate_lan_reach_the_share_port(
    gate: Gate, tmp_path: Path
) -> None:
    rules = (REPO / "deploy" / "nftables" / "bgk-kiosk-share.nft").read_text()
    (tmp_path / "share.nft").write_text(rules.replace("192.168.1.0/24", "10.88.0.0/24"))
    subprocess.run(
        ["ip", "netns", "exec", gate.names[0], "nft", "-f", str(tmp_path / "share.nft")],
        check=True,
    )
    with gate.listen(0, 8765) as listener:
        listener.listen()
        kiosk = gate.lan_ip(0)
        assert gate.reachable(kiosk, 8765, gate.names[1])  # another kiosk of the gate
        assert not gate.reachable(kiosk, 8765, gate.srv)  # beyond the gate's router
