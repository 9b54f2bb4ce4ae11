"""A fleet that moves to a new pack version at known times, through the real
ingest (heartbeats and the agent's `commit` events, received at the times given)
and real signed publishing, logged in the publication log at `published`.

    lao-bao gate  8 kiosks, 6 of them on v2: at +30, +90, +150, +200, +250, +280 s
    cha-lo gate   4 kiosks, 2 on v2: at +100, +400 s
    la-lay gate   3 kiosks, none yet (still on v1)
lao-bao v1 was published to all a day before, v2 to all at `published`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time

from reposim import pack_files, write_built_pack
from webkit import Site

from kiosk.protocol.payloads import Event, Heartbeat, PackRef, Status, UiState
from server.broker.registry import KioskRegistry
from server.fleet.ingest import IngestWriter, Raw
from server.packs.publications import record_publication

GATES = {"lao-bao": 8, "cha-lo": 4, "la-lay": 3}
#: kiosk -> seconds after publication when its commit of v2 reaches the server
MOVES = {
    "lao-bao-01": 30.0,
    "lao-bao-02": 90.0,
    "lao-bao-03": 150.0,
    "lao-bao-04": 200.0,
    "lao-bao-05": 250.0,
    "lao-bao-06": 280.0,
    "cha-lo-01": 100.0,
    "cha-lo-02": 400.0,
}
#: the curve's points (every minute from publication, then the last arrival at +400 s)
CURVE = [(0, 0), (60, 1), (120, 3), (180, 4), (240, 5), (300, 7), (360, 7), (400, 8)]
GATE_COUNTS = {"cha-lo": (2, 4, 50), "la-lay": (0, 3, 0), "lao-bao": (6, 8, 75)}


def kiosk_ids() -> list[str]:
    return [f"{gate}-{i:02d}" for gate, n in GATES.items() for i in range(1, n + 1)]


def publish_at(site: Site, version: int, at: float) -> None:
    from server.packs.publish import publish_pack
    from server.packs.signing import open_repository, utcnow

    folder = site.tmp / "built" / f"lao-bao-{version}"
    write_built_pack(folder, pack_files(f"lao-bao{version}", 2, 500), "lao-bao", version)
    repo = open_repository(site.cfg, ("targets",), keys=site.keys)
    result = publish_pack(repo, site.cfg.blob_dir, folder, ["all"], utcnow)
    # the TUF metadata is signed on today's clock (it must not be expired); the
    # publication log says when, on the clock of the test
    when = dt.datetime.fromtimestamp(at, dt.UTC).isoformat()
    record_publication(
        site.store,
        dataclasses.replace(result, pack=dataclasses.replace(result.pack, published=when)),
        "bien-tap",
    )


def _raw(kiosk: str, kind: str, payload: bytes) -> Raw:
    return Raw(f"bgk/v1/kiosk/{kiosk}/{kind}", payload, 1, 1, time.monotonic())


def _hb(seq: int, ts: float, version: int) -> bytes:
    return Heartbeat(
        boot_id="b1", seq=seq, ts=ts, period=30.0, uptime=3600.0 + seq,
        pack=PackRef(id="lao-bao", version=version, hash="c" * 64),
        ui=UiState(alive=True, screen="attract"), temp=50.0, disk_free=10**10,
        time_floor=ts - 100, stale=False,
    ).to_bytes()  # fmt: skip


def seed_rollout(site: Site, published: float) -> None:
    registry = KioskRegistry(site.store)
    for kiosk in kiosk_ids():
        registry.add(kiosk, kiosk.rsplit("-", 1)[0], (), published - 86400 * 3)
    publish_at(site, 1, published - 86400)
    publish_at(site, 2, published)
    writer = IngestWriter(site.store, site.cfg.fleet, site.cfg.data)
    before = published - 60
    writer.write(
        [_raw(k, "status", Status(online=True, boot_id="b1", seq0=1, ts=before).to_bytes())
         for k in kiosk_ids()]
        + [_raw(k, "hb", _hb(1, before, 1)) for k in kiosk_ids()],
        before,
    )  # fmt: skip
    for n, (kiosk, after) in enumerate(sorted(MOVES.items(), key=lambda m: m[1])):
        at = published + after
        commit = Event(outbox_id="o1", seq=2, ts=at - 1, kind="commit",
                       data={"pack": "lao-bao", "version": 2})  # fmt: skip
        install = Event(outbox_id="o1", seq=1, ts=at - 5, kind="install",
                        data={"pack": "lao-bao", "version": 2, "bytes": 1000, "blobs": 2})  # fmt: skip
        writer.write(
            [_raw(kiosk, "events", install.to_bytes()), _raw(kiosk, "events", commit.to_bytes()),
             _raw(kiosk, "hb", _hb(2 + n, at, 2))],
            at,
        )  # fmt: skip
    # everyone else keeps heartbeating on v1 (and a commit of another pack changes nothing)
    last = published + 500
    other = Event(
        outbox_id="o1", seq=1, ts=last, kind="commit", data={"pack": "cha-lo", "version": 9}
    )
    writer.write(
        [_raw(k, "hb", _hb(50, last, 1)) for k in kiosk_ids() if k not in MOVES]
        + [_raw(k, "hb", _hb(50, last, 2)) for k in MOVES]
        + [_raw("la-lay-01", "events", other.to_bytes())],
        last,
    )
