"""A server with real packs for the notice checks: the mini pack built with its
fonts (symbol fallbacks included) and published, the same pack as built before
the fallback fonts existed, and kiosks whose heartbeats say which one they play.

    nk-01  lao-bao  plays mini v2 (with the symbol fallback fonts)
    nk-old lao-bao  plays mini v1 (a pack from before them: no fonts/fallback/)
    nk-new lao-bao  never seen: it will install mini v2, the newest for its gate
"""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path

from webkit import Site, make_site

from kiosk.protocol.glyphs import FALLBACK_FONT_DIR
from kiosk.protocol.pack import BLOB_DIR, MANIFEST_NAME, parse_manifest
from kiosk.protocol.payloads import CommandAck, Heartbeat, PackRef, Status, UiState
from server.broker.registry import KioskRegistry
from server.fleet.ingest import IngestWriter, Raw

REPO = Path(__file__).resolve().parents[2]
MINI = REPO / "tests" / "fixtures" / "packs" / "mini"
KIOSKS = {"nk-01": 2, "nk-old": 1, "nk-new": None}


def without_fallbacks(built: Path, out: Path) -> Path:
    """`built` as a pack from before the symbol fallback fonts (version 1)."""
    manifest = parse_manifest((built / MANIFEST_NAME).read_bytes())
    files = tuple(f for f in manifest.files if not f.path.startswith(FALLBACK_FONT_DIR))
    old = manifest.model_copy(update={"files": files, "version": 1})
    (out / BLOB_DIR).mkdir(parents=True)
    for f in files:
        shutil.copy(built / BLOB_DIR / f.sha256, out / BLOB_DIR / f.sha256)
    (out / MANIFEST_NAME).write_bytes(old.to_bytes())
    return out


def notice_site(tmp: Path, font_cache: Path) -> Site:
    from server.packs.build import build_pack
    from server.packs.publish import publish_pack
    from server.packs.signing import open_repository, utcnow

    site = make_site(tmp)
    registry = KioskRegistry(site.store)
    now = time.time()
    for kiosk_id in KIOSKS:
        registry.add(kiosk_id, "lao-bao", (), now - 86400)
    v2 = build_pack(MINI, tmp / "built" / "mini-2", version=2, font_cache=font_cache).out
    v1 = without_fallbacks(v2, tmp / "built" / "mini-1")
    repo = open_repository(site.cfg, ("targets",), keys=site.keys)
    for folder in (v1, v2):
        publish_pack(repo, site.cfg.blob_dir, folder, ("lao-bao",), utcnow)
    hashes = {
        version: hashlib.sha256((folder / MANIFEST_NAME).read_bytes()).hexdigest()
        for version, folder in ((1, v1), (2, v2))
    }
    writer = IngestWriter(site.store, site.cfg.fleet, site.cfg.data)
    raws = []
    for kiosk_id, version in KIOSKS.items():
        if version is None:
            continue
        hb = Heartbeat(
            boot_id="b1", seq=1, ts=now, period=600, uptime=60.0,
            pack=PackRef(id="mini", version=version, hash=hashes[version]),
            ui=UiState(alive=True, screen="attract"), temp=None, disk_free=None,
            time_floor=now - 100, stale=False,
        )  # fmt: skip
        status = Status(online=True, boot_id="b1", seq0=1, ts=now, hb_s=600)
        raws += [_raw(kiosk_id, "status", status.to_bytes()), _raw(kiosk_id, "hb", hb.to_bytes())]
    writer.write(raws, now)
    return site


def ack(site: Site, kiosk_id: str, cmd_id: str, payload: bytes) -> None:
    """The kiosk's answer to a command, through the real ingest."""
    IngestWriter(site.store, site.cfg.fleet, site.cfg.data).write(
        [_raw(kiosk_id, "cmd/ack", payload)], time.time()
    )


def done(cmd_id: str, missing: dict[str, int] | None) -> bytes:
    return CommandAck(
        cmd_id=cmd_id,
        state="done",
        reason="notice shown",
        ts=time.time(),
        missing_glyphs=missing,  # type: ignore[arg-type]
    ).to_bytes()


def _raw(kiosk: str, kind: str, payload: bytes) -> Raw:
    return Raw(f"bgk/v1/kiosk/{kiosk}/{kind}", payload, 1, 1, time.monotonic())
