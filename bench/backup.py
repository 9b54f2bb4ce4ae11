"""Backup and restore of a server data folder: how long, how big, and whether the
ingest stalls while the nightly backup runs.

A data folder (keys init + server init) whose SQLite store holds N heartbeats
(default 1,000,000: a day of 350 kiosks at one per 30 s) and a blob store of B
MB of incompressible blobs. Measured in the same run:

    backup       `bgk server backup` (SQLite online backup API, tar.gz level 3)
    baseline     copying the same bytes (fleet.db + blobs) with shutil
    restore      `bgk server restore` into an empty folder (--keep-targets)
    writer gap   the longest pause of a writer committing 1,000 heartbeats every
                 50 ms during the backup (WAL: the backup must not block it)

    .venv/bin/python bench/backup.py [--heartbeats N] [--blob-mb B]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import insert

from server.config import load_server_config
from server.datadir import init_data_dir
from server.ops.backup import backup_server
from server.ops.restore import restore_server
from server.packs.keyfile import PASSPHRASE_ENV, write_passphrase_file
from server.packs.keys import init_keyset
from server.packs.signing import utcnow
from server.store import open_store
from server.store.schema import heartbeats


def rows(start: int, count: int) -> list[dict[str, object]]:
    now = time.time()
    return [
        {
            "kiosk_id": f"k{i % 350:04d}",
            "boot_id": "b",
            "seq": i,
            "ts": now,
            "received_at": now,
            "pack_id": "lao-bao",
            "pack_version": 3,
            "ui_alive": True,
            "temp": 51.5,
            "disk_free": 10**10,
            "stale": False,
        }
        for i in range(start, start + count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--heartbeats", type=int, default=1_000_000)
    parser.add_argument("--blob-mb", type=int, default=200)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bgk-bench-backup-") as tmp_name:
        tmp = Path(tmp_name)
        os.environ[PASSPHRASE_ENV] = str(tmp / "passphrase.txt")
        init_keyset(tmp / "keys", write_passphrase_file(tmp / "passphrase.txt"))
        config = init_data_dir(tmp / "data", tmp / "keys", "http://127.0.0.1:9", utcnow)
        store = open_store(config.store_url)
        with store.engine.begin() as conn:
            for start in range(0, opts.heartbeats, 50_000):
                conn.execute(insert(heartbeats), rows(start, min(50_000, opts.heartbeats - start)))
        for i in range(opts.blob_mb):
            (config.blob_dir / f"{i:064x}").write_bytes(os.urandom(1024 * 1024))
        db = Path(config.store_url.removeprefix("sqlite:///"))
        size = db.stat().st_size + opts.blob_mb * 1024 * 1024

        started = time.perf_counter()
        shutil.copyfile(db, tmp / "copy.db")
        shutil.copytree(config.blob_dir, tmp / "copy-blobs")
        baseline = time.perf_counter() - started

        stop = threading.Event()
        gaps: list[float] = []

        def writer() -> None:
            seq = opts.heartbeats
            last = time.perf_counter()
            while not stop.is_set():
                with store.engine.begin() as conn:
                    conn.execute(insert(heartbeats), rows(seq, 1000))
                seq += 1000
                now = time.perf_counter()
                gaps.append(now - last)
                last = now
                time.sleep(0.05)

        thread = threading.Thread(target=writer)
        thread.start()
        started = time.perf_counter()
        result = backup_server(load_server_config(config.data), tmp / "backups/")
        backup_s = time.perf_counter() - started
        stop.set()
        thread.join()
        store.dispose()

        started = time.perf_counter()
        restore_server(str(result.path), tmp / "restored", keep_targets=True)
        restore_s = time.perf_counter() - started

    mb = size / 1e6
    print(f"data folder: {opts.heartbeats:,} heartbeats + {opts.blob_mb} MB of blobs = {mb:.0f} MB")
    print(f"copy (baseline): {baseline:6.2f} s  ({mb / baseline:6.0f} MB/s)")
    print(
        f"backup:          {backup_s:6.2f} s  ({mb / backup_s:6.0f} MB/s, {backup_s / baseline:.1f}x the copy), file {result.bytes / 1e6:.0f} MB"
    )
    print(
        f"restore:         {restore_s:6.2f} s  ({mb / restore_s:6.0f} MB/s, {restore_s / baseline:.1f}x the copy)"
    )
    print(
        f"writer during the backup: {len(gaps)} commits, longest gap {max(gaps) * 1000:.0f} ms (50 ms sleep + commit)"
    )


if __name__ == "__main__":
    main()
