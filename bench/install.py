"""How fast a kiosk installs a pack, and how many bytes it moves.

Everything is generated at run time in a temp folder: keys, a server data
folder, a ~200 MB pack of hundreds of files, published with the real server
code, served by nginx with the deploy/ config (`limit_rate` for the links).
The kiosk side is the real agent code (TUF refresh, streamed downloads
hashed on the fly, staging, one flush, symlink switch, commit).

(a) install time against a plain download of the same bytes at the same
    rate in the same run (curl, one process, keep-alive; and requests to
    disk without hashing), at 1 Gbit/s, 50 Mbit/s and unlimited loopback;
(b) a new version that changes one picture: bytes transferred vs the
    changed bytes (plus metadata);
(c) a download killed at 50 % and resumed: bytes transferred vs pack size.

    .venv/bin/python bench/install.py [--size-mb 200] [--files 400] [--reps 3]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests
from delivery_servers import Link, Nginx

from kiosk.agent.fetch import HttpSource
from kiosk.agent.layout import SyncLock
from kiosk.agent.sync import Deps, Syncer
from kiosk.config import parse_config
from kiosk.protocol.pack import BLOB_DIR, MANIFEST_NAME, FileEntry, Manifest
from server.config import ServerConfig
from server.datadir import init_data_dir
from server.packs.keyfile import PASSPHRASE_ENV, write_passphrase_file
from server.packs.keys import init_keyset
from server.packs.publish import publish_pack
from server.packs.signing import open_repository

REPO = Path(__file__).resolve().parents[1]
GBIT = 125_000_000  # bytes/s
MBIT50 = 6_250_000


def now() -> datetime:
    return datetime.now(UTC)


# --- the pack -----------------------------------------------------------------------


def write_pack(folder: Path, files: dict[str, bytes], version: int) -> Manifest:
    blobs = folder / BLOB_DIR
    blobs.mkdir(parents=True, exist_ok=True)
    entries = []
    for path, data in sorted(files.items()):
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        entries.append(FileEntry(path=path, sha256=digest, length=len(data)))
    manifest = Manifest(
        schema=1,
        id="bench",
        version=version,
        title={"vi": "bench"},
        languages=("vi",),
        default_language="vi",
        pages=(),
        fonts={},
        strings={"vi": "i18n/vi.json"},
        files=tuple(entries),
    )
    (folder / MANIFEST_NAME).write_bytes(manifest.to_bytes())
    return manifest


def generate_files(size_mb: int, count: int) -> dict[str, bytes]:
    """Incompressible media-like files of varied sizes totalling about size_mb."""
    total = size_mb * 1_000_000
    weights = [1 + (i * 7919) % 13 for i in range(count)]
    scale = total / sum(weights)
    files = {"i18n/vi.json": b'{"bench": true}\n'}
    for i, w in enumerate(weights):
        files[f"media/photo-{i:04d}.jpg"] = os.urandom(int(w * scale))
    return files


# --- the two sides -------------------------------------------------------------------


@dataclass
class World:
    tmp: Path
    config: ServerConfig
    root: bytes
    pack: Manifest


def make_world(tmp: Path, size_mb: int, count: int) -> tuple[World, dict[str, bytes]]:
    os.environ[PASSPHRASE_ENV] = str(tmp / "passphrase.txt")
    init_keyset(tmp / "keys", write_passphrase_file(tmp / "passphrase.txt"))
    config = init_data_dir(tmp / "data", tmp / "keys", "http://127.0.0.1:9", now)
    files = generate_files(size_mb, count)
    manifest = write_pack(tmp / "built-1", files, 1)
    repo = open_repository(config, ("targets",), now=now)
    publish_pack(repo, config.blob_dir, tmp / "built-1", ["all"], now)
    root = (config.tuf_dir / "1.root.json").read_bytes()
    return World(tmp, config, root, manifest), files


def kiosk_toml(folder: Path, url: str, root: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "root.json").write_bytes(root)
    path = folder / "kiosk.toml"
    path.write_text(
        f'[kiosk]\nid = "bench"\ngate = "lao-bao"\nstate_dir = "state"\n\n'
        f'[server]\nurl = "{url}"\ntrusted_root = "root.json"\n\n'
        "[sync]\nmin_free_mb = 0\ntimeout_s = 30\n"
    )
    return path


def install(folder: Path, url: str, root: bytes) -> tuple[float, int]:
    """One real install into a fresh kiosk folder: (seconds, bytes downloaded)."""
    raw = {
        "kiosk": {"id": "bench", "gate": "lao-bao", "state_dir": "state"},
        "server": {"url": url, "trusted_root": "root.json"},
        "sync": {"min_free_mb": 0},
    }
    folder.mkdir(parents=True, exist_ok=True)
    config = parse_config(raw, base=folder)
    syncer = Syncer(config, root, Deps(source=HttpSource(30.0), base_url=url))
    started = time.perf_counter()
    with SyncLock(syncer.layout.lock_file):
        result = syncer.cycle()
        verdict = syncer.settle(waited_s=0.0)
    seconds = time.perf_counter() - started
    assert verdict is not None and verdict.action == "commit", verdict
    return seconds, result.bytes


def plain_curl(url: str, digests: list[str], out: Path) -> float:
    """The same blobs with curl -o, one process, keep-alive, no hashing."""
    out.mkdir(parents=True)
    conf = out / "urls.txt"
    conf.write_text(
        "".join(f'url = "{url}/blobs/sha256/{d}"\noutput = "{out}/{d}"\n' for d in digests)
    )
    started = time.perf_counter()
    subprocess.run(["curl", "-sS", "--fail", "-K", str(conf)], check=True)
    return time.perf_counter() - started


def plain_requests(url: str, digests: list[str], out: Path) -> float:
    """The same blobs with requests to disk, 1 MB chunks, no hashing."""
    out.mkdir(parents=True)
    session = requests.Session()
    started = time.perf_counter()
    for d in digests:
        with session.get(f"{url}/blobs/sha256/{d}", stream=True, timeout=30) as r:
            r.raise_for_status()
            with open(out / d, "wb") as fh:
                for chunk in r.iter_content(1024 * 1024):
                    fh.write(chunk)
    return time.perf_counter() - started


def rm(path: Path) -> None:
    subprocess.run(["rm", "-rf", str(path)], check=True)


# --- the three measurements -------------------------------------------------------------


def bench_rates(world: World, urls: dict[str, str], reps: dict[str, int]) -> None:
    size = world.pack.total_bytes
    print(f"\n(a) install vs plain download: {len(world.pack.files)} files, {size / 1e6:.0f} MB")
    print(
        f"{'link':>12} | {'curl s':>7} | {'requests s':>10} | {'install s':>9} | "
        f"{'install/curl':>12} | {'install/requests':>16} | {'install MB/s':>12}"
    )
    for name, url in urls.items():
        scratch = world.tmp / f"scratch-{name.replace(' ', '').replace('/', '')}"
        c, r, i = (
            statistics.median(run(n, url, scratch, world) for n in range(reps[name]))
            for run in (_curl_run, _requests_run, _install_run)
        )
        print(
            f"{name:>12} | {c:7.2f} | {r:10.2f} | {i:9.2f} | {i / c:12.3f} | "
            f"{i / r:16.3f} | {size / i / 1e6:12.1f}",
            flush=True,
        )


def _curl_run(i: int, url: str, scratch: Path, world: World) -> float:
    digests = sorted({f.sha256 for f in world.pack.files})
    t = plain_curl(url, digests, scratch / f"curl-{i}")
    rm(scratch / f"curl-{i}")
    return t


def _requests_run(i: int, url: str, scratch: Path, world: World) -> float:
    digests = sorted({f.sha256 for f in world.pack.files})
    t = plain_requests(url, digests, scratch / f"req-{i}")
    rm(scratch / f"req-{i}")
    return t


def _install_run(i: int, url: str, scratch: Path, world: World) -> float:
    t, got = install(scratch / f"kiosk-{i}", url, world.root)
    assert got == world.pack.total_bytes, (got, world.pack.total_bytes)
    rm(scratch / f"kiosk-{i}")
    return t


def bench_delta(world: World, files: dict[str, bytes], server: Nginx) -> None:
    kiosk = world.tmp / "delta-kiosk"
    install(kiosk, server.url, world.root)
    changed = dict(files)
    name = sorted(p for p in files if p.startswith("media/"))[len(files) // 2]
    changed[name] = os.urandom(len(files[name]))
    write_pack(world.tmp / "built-2", changed, 2)
    repo = open_repository(world.config, ("targets",), now=now)
    publish_pack(repo, world.config.blob_dir, world.tmp / "built-2", ["all"], now)
    mark = server.mark()
    config = parse_config(
        {
            "kiosk": {"id": "bench", "gate": "lao-bao", "state_dir": "state"},
            "server": {"url": server.url, "trusted_root": "root.json"},
            "sync": {"min_free_mb": 0},
        },
        base=kiosk,
    )
    syncer = Syncer(config, world.root, Deps(source=HttpSource(30.0), base_url=server.url))
    with SyncLock(syncer.layout.lock_file):
        syncer.cycle()
        syncer.settle(waited_s=0.0)
    blobs, meta = server.sent_since(mark)
    delta = len(changed[name])
    print(f"\n(b) new version changing one picture ({delta / 1e6:.2f} MB) of {len(files)} files")
    print(f"    blob bytes sent {blobs:,} = {blobs / delta:.4f}x the changed bytes")
    print(
        f"    metadata + manifest {meta:,} bytes; total {(blobs + meta):,} = "
        f"{(blobs + meta) / (delta + meta):.4f}x (changed + metadata)"
    )
    rm(kiosk)


def bench_resume(world: World, server: Nginx, url: str, rate_label: str) -> None:
    folder = world.tmp / "resume-kiosk"
    config = kiosk_toml(folder, url, world.root)
    size = world.pack.total_bytes
    mark = server.mark()
    cmd = [
        sys.executable,
        "-m",
        "kiosk.cli",
        "kiosk",
        "sync",
        "--once",
        "--json",
        "--config",
        str(config),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    downloads = folder / "state" / "tmp" / "dl"

    def done_bytes() -> int:
        try:
            return sum(p.stat().st_size for p in downloads.iterdir())
        except OSError:
            return 0

    while done_bytes() < size / 2:
        if proc.poll() is not None:
            raise SystemExit("the sync ended before half of the pack arrived")
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    at_kill = done_bytes()
    first_blobs, first_meta = server.sent_since(mark)
    mark = server.mark()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["installed"]["version"] >= 1
    second_blobs, second_meta = server.sent_since(mark)
    total = first_blobs + second_blobs
    print(f"\n(c) download killed at {at_kill / size:.0%} ({rate_label}) and resumed")
    print(
        f"    blob bytes sent {total:,} for a {size:,}-byte pack = {total / size:.4f}x "
        f"(first run {first_blobs:,}, after restart {second_blobs:,}); "
        f"metadata {first_meta + second_meta:,} bytes"
    )
    rm(folder)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--files", type=int, default=400)
    parser.add_argument("--reps", type=int, default=3, help="repetitions at fast rates (median)")
    parser.add_argument("--slow-reps", type=int, default=1, help="repetitions at 50 Mbit/s")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bgk-bench-install-") as name:
        tmp = Path(name)
        print(f"generating a {args.size_mb} MB pack of {args.files} files ...", flush=True)
        world, files = make_world(tmp, args.size_mb, args.files)
        nginx = Nginx(world.config.data, tmp / "nginx", None)
        links = {"1 Gbit/s": Link(nginx.port, GBIT), "50 Mbit/s": Link(nginx.port, MBIT50)}
        urls = {"unlimited": nginx.url, **{k: v.url for k, v in links.items()}}
        try:
            reps = {"unlimited": args.reps, "1 Gbit/s": args.reps, "50 Mbit/s": args.slow_reps}
            bench_rates(world, urls, reps)
            bench_delta(world, files, nginx)
            bench_resume(world, nginx, urls["50 Mbit/s"], "50 Mbit/s")
        finally:
            for link in links.values():
                link.stop()
            nginx.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
