"""Test helpers for the dashboard: a real server data folder (keys init + server
init), users, and a small fleet seeded through the real ingest path (heartbeats,
status messages, a screenshot, a command ack), the real sweeper (alerts) and
real signed publishing (packs).

The fleet at `now` (see `seed_fleet`):

    lb-01  lao-bao  online, lao-bao v4 (newest), UI on "home", a screenshot
    lb-02  lao-bao  stale (content expired), lao-bao v3 (older), disk low
    cl-01  cha-lo   online, UI not running; a temperature alert closed an hour ago
    lt-01  la-lay   offline (disconnected 20 minutes ago), offline alert; lao-bao v4
                    while v5 is published to la-lay only
    lt-02  la-lay   enrolled, never seen

Published: lao-bao v4 to all (v3 before it), lao-bao v5 to la-lay, cha-lo v2 to cha-lo.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reposim import pack_files, write_built_pack

from kiosk.protocol.payloads import (
    CommandAck,
    Heartbeat,
    PackRef,
    ScreenshotHeader,
    ShareReport,
    Status,
    UiState,
    encode_screenshot,
)
from server.broker.registry import KioskRegistry
from server.config import ServerConfig
from server.fleet.ingest import IngestWriter, Raw
from server.fleet.sweeper import Sweeper
from server.store import Store, open_store
from server.web import sendops
from server.web.accounts import add_user

PASSWORD = "correct-horse-battery"
T0 = 1_780_000_000.0  # 28/05/2026 20:26:40 UTC = 29/05/2026 03:26 in Vietnam
KIOSKS = {
    "lb-01": ("lao-bao", ("quang-tri",)),
    "lb-02": ("lao-bao", ("quang-tri",)),
    "cl-01": ("cha-lo", ()),
    "lt-01": ("la-lay", ("quang-tri",)),
    "lt-02": ("la-lay", ()),
}


@dataclass
class Site:
    tmp: Path
    keys: Path
    cfg: ServerConfig
    store: Store

    def user(self, name: str, role: str) -> str:
        add_user(self.store, name, role, PASSWORD, now=time.time())
        return name

    def close(self) -> None:
        self.store.dispose()


def make_site(tmp: Path) -> Site:
    from server.datadir import init_data_dir
    from server.packs.keys import init_keyset
    from server.packs.signing import utcnow

    init_keyset(tmp / "keys")
    cfg = init_data_dir(tmp / "data", tmp / "keys", "http://127.0.0.1:9", utcnow)
    return Site(tmp, tmp / "keys", cfg, open_store(cfg.store_url))


def publish(site: Site, pack_id: str, version: int, to: tuple[str, ...]) -> None:
    from server.packs.publish import publish_pack
    from server.packs.signing import open_repository, utcnow

    folder = site.tmp / "built" / f"{pack_id}-{version}"
    write_built_pack(folder, pack_files(f"{pack_id}{version}", 2, 500), pack_id, version)
    repo = open_repository(site.cfg, ("targets",), keys=site.keys)
    publish_pack(repo, site.cfg.blob_dir, folder, to, utcnow)


def jpeg(text: str, size: tuple[int, int] = (480, 270)) -> bytes:
    """A small picture of a kiosk screen (Pillow)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, (11, 79, 138))
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, size[0] - 20, 90), fill=(255, 255, 255))
    draw.text((36, 45), text, fill=(20, 20, 20))
    for i in range(3):
        draw.rectangle((20 + i * 150, 120, 150 + i * 150, 240), fill=(240, 190, 60))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def _hb(
    seq: int,
    ts: float,
    pack: tuple[str, int] | None,
    *,
    ui: bool = True,
    screen: str | None = "home",
    stale: bool = False,
    disk: int = 20 * 10**9,
    temp: float = 52.5,
    period: float = 30,
    share: ShareReport | None = None,
) -> bytes:
    ref = PackRef(id=pack[0], version=pack[1], hash="c" * 64) if pack else None
    return Heartbeat(
        boot_id="b1", seq=seq, ts=ts, period=period, uptime=3600.0 + seq, pack=ref,
        ui=UiState(alive=ui, screen=screen if ui else None), temp=temp, disk_free=disk,
        time_floor=ts - 100, stale=stale, share=share,
    ).to_bytes()  # fmt: skip


def _raw(kiosk: str, kind: str, payload: bytes) -> Raw:
    return Raw(f"bgk/v1/kiosk/{kiosk}/{kind}", payload, 1, 1, time.monotonic())


def _status(online: bool, ts: float, period: float = 30) -> bytes:
    return Status(online=online, boot_id="b1", seq0=1, ts=ts, hb_s=period).to_bytes()


def seed_fleet(site: Site, now: float, *, packs: bool = True, period: float = 30) -> None:
    """The fleet described at the top of this module, as it is at `now`.

    `period` is the kiosks' heartbeat period: with a long one the states stay
    as seeded for a while on a real clock (lb-01 turns stale 1.5 periods later)."""
    registry = KioskRegistry(site.store)
    for kiosk_id, (gate, groups) in KIOSKS.items():
        registry.add(kiosk_id, gate, groups, now - 86400)
    if packs:
        publish(site, "lao-bao", 3, ("all",))
        publish(site, "lao-bao", 4, ("all",))
        publish(site, "lao-bao", 5, ("la-lay",))
        publish(site, "cha-lo", 2, ("cha-lo",))
    cfg = site.cfg.fleet
    writer = IngestWriter(site.store, cfg, site.cfg.data)
    sweeper = Sweeper(site.store, cfg, site.cfg.data)
    hour = now - 3600
    # an hour ago: everyone up, cl-01 too hot
    writer.write(
        [
            _raw("lb-01", "status", _status(True, hour)),
            _raw("lb-02", "status", _status(True, hour)),
            _raw("cl-01", "status", _status(True, hour)),
            _raw("lt-01", "status", _status(True, hour)),
            _raw("cl-01", "hb", _hb(1, hour, ("cha-lo", 2), temp=85.0)),
        ],
        hour,
    )
    sweeper.sweep(hour)
    # twenty minutes ago lt-01 went away
    gone = now - 1200
    writer.write(
        [
            _raw("lt-01", "hb", _hb(5, gone - 30, ("lao-bao", 4))),
            _raw("lt-01", "status", _status(False, gone)),
        ],
        gone,
    )
    sweeper.sweep(gone)
    # lb-01 answered a resync ten minutes ago
    done = sendops.send_command(
        site.store, site.cfg, "lb-01", "resync", {}, by="admin", now=now - 600
    )
    writer.write([_raw("lb-01", "cmd/ack", _ack(done.cmd_id))], now - 590)
    # now
    shot = ScreenshotHeader(cmd_id="seed-shot", ts=now - 120, width=480, height=270, screen="home")
    writer.write(
        [
            _raw("lb-01", "hb", _hb(9, now - 5, ("lao-bao", 4), period=period)),
            _raw(
                "lb-02",
                "hb",
                _hb(9, now - 5, ("lao-bao", 3), stale=True, disk=200 * 2**20, period=period),
            ),
            _raw("cl-01", "hb", _hb(9, now - 5, ("cha-lo", 2), ui=False, period=period)),
            _raw("lb-01", "screenshot", encode_screenshot(shot, jpeg("Lao Bao - Xin chao"))),
        ],
        now - 2,
    )
    sweeper.sweep(now - 1)


def _ack(cmd_id: str) -> bytes:
    return CommandAck(cmd_id=cmd_id, state="done", reason="sync started").to_bytes()


@contextmanager
def serve(app: Any, sock: socket.socket | None = None) -> Iterator[str]:
    """`app` under uvicorn in a thread, on `sock` (a socket already bound, when the
    URL must be known before the app is made) or on a port picked now; yields its
    base URL."""
    import uvicorn

    if sock is None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
    uv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        uv.should_exit = True
        thread.join(10)
        sock.close()
