"""Scale-out: two `bgk server ingest` processes on one shared subscription
($share/ingest/...) record every heartbeat exactly once, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from fleetkit import REPO, Recorder, make_server, own_database, wait_for
from sqlalchemy import func, select

from kiosk.protocol.payloads import Heartbeat, UiState
from server.broker.credentials import Identity
from server.store.schema import heartbeats

KIOSKS = 10
PER_KIOSK = 60


def test_two_ingest_processes_share_the_load_and_record_each_heartbeat_once(
    tmp_path: Path, store_url: str
) -> None:
    with own_database(store_url) as url:
        run_two_ingests(tmp_path, url)


def run_two_ingests(tmp_path: Path, store_url: str) -> None:
    server = make_server(tmp_path, store_url=store_url, mqtt="share = true")
    procs: list[subprocess.Popen[bytes]] = []
    kiosks: list[Recorder] = []
    try:
        stats = [tmp_path / "ingest-2.json", tmp_path / "ingest-3.json"]
        for n, path in zip((3, 4), stats, strict=True):
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "kiosk.cli",
                        "server",
                        "ingest",
                        "--data",
                        str(server.cfg.data),
                        "--client",
                        str(n),
                        "--stats",
                        str(path),
                    ],
                    cwd=REPO,
                    env={**os.environ, "BGK_LOG": "warning"},
                )
            )
        wait_for(
            lambda: all(p.exists() and json.loads(p.read_text())["connects"] >= 1 for p in stats),
            30,
            "both ingest processes subscribed",
        )
        for i in range(KIOSKS):
            cfg = server.enrol(f"lb-share-{i:02d}")
            assert cfg.mqtt.password
            kiosks.append(Recorder(server.broker, Identity(cfg.kiosk.id, cfg.mqtt.password)))
        sent = 0
        for seq in range(1, PER_KIOSK + 1):
            for k in kiosks:
                hb = Heartbeat(
                    boot_id="b1",
                    seq=seq,
                    ts=time.time(),
                    period=30,
                    uptime=seq,
                    pack=None,
                    ui=UiState(alive=True),
                    temp=None,
                    disk_free=None,
                    time_floor=0,
                    stale=False,
                )
                k.publish(f"bgk/v1/kiosk/{k.id}/hb", hb.to_bytes(), qos=1)
                sent += 1

        def stored() -> int:
            with server.store.engine.connect() as conn:
                return int(conn.execute(select(func.count()).select_from(heartbeats)).scalar_one())

        wait_for(lambda: stored() == sent, 60, f"{sent} heartbeats stored")
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            assert p.wait(30) == 0
        figures = [json.loads(p.read_text()) for p in stats]
        committed = [f["committed"] for f in figures]
        assert sum(committed) == sent  # each message reached exactly one process
        assert all(c > sent / 10 for c in committed), committed  # and both did real work
        assert stored() == sent
    finally:
        for k in kiosks:
            k.close()
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        server.close()
