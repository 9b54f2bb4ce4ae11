"""The server's TUF repository: init, publish rules, blob store, refresher,
key rotation, export; checked by the real kiosk code reading the data folder
(its layout is the URL layout) through a LocalSource."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from deliverykit import SimKiosk, installed, pack_files, write_built_pack
from tuf.api.metadata import Metadata, Root

from kiosk.agent.fetch import LocalSource
from kiosk.agent.layout import SyncLock
from server.config import ServerConfig
from server.datadir import init_data_dir
from server.packs.delegation import published_packs
from server.packs.export import export_pack
from server.packs.fileio import BlobMismatchError
from server.packs.keys import init_keyset
from server.packs.publish import PublishRefused, PublishResult, publish_pack
from server.packs.refresher import refresh_online_metadata
from server.packs.rotate import resign, rotate_key
from server.packs.signing import open_repository

NOW = datetime(2026, 5, 1, 3, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server(tmp_path: Path, clock: Clock) -> ServerConfig:
    init_keyset(tmp_path / "keys")
    return init_data_dir(tmp_path / "data", tmp_path / "keys", "http://127.0.0.1:9", clock)


def publish(
    server: ServerConfig,
    clock: Clock,
    tmp_path: Path,
    seed: str,
    version: int,
    to: str = "all",
    pack: str = "demo",
) -> PublishResult:
    folder = write_built_pack(
        tmp_path / f"built-{pack}-{seed}-{version}", pack_files(seed), pack, version
    )
    repo = open_repository(server, ("targets",), now=clock)
    return publish_pack(repo, server.blob_dir, folder, [to], clock)


def kiosk_on(
    server: ServerConfig, tmp_path: Path, clock: Clock, name: str = "k", gate: str = "lao-bao"
) -> SimKiosk:
    root = (server.tuf_dir / "1.root.json").read_bytes()
    source = LocalSource(server.data, "local:/")
    return SimKiosk(
        tmp_path / name, source, root, clock.now.timestamp() + 5, base="local:", gate=gate
    )


def test_init_makes_a_repository_with_online_keys_only_on_the_server(server: ServerConfig) -> None:
    root = Metadata[Root].from_bytes((server.tuf_dir / "1.root.json").read_bytes()).signed
    assert root.consistent_snapshot and all(root.roles[r].keyids for r in root.roles)
    assert root.expires == NOW + timedelta(days=365)
    assert sorted(p.name for p in server.keys_dir.iterdir()) == ["snapshot.pem", "timestamp.pem"]
    assert (server.keys_dir.stat().st_mode & 0o777) == 0o700
    assert server.tuf.offline_keys is not None and (server.tuf.offline_keys / "root.pem").exists()
    assert sorted(p.name for p in server.tuf_dir.iterdir() if p.is_file()) == [
        "1.root.json",
        "1.snapshot.json",
        "1.targets.json",
        "timestamp.json",
    ]


def test_a_published_pack_is_a_signed_target_the_kiosk_installs(
    server: ServerConfig, clock: Clock, tmp_path: Path
) -> None:
    result = publish(server, clock, tmp_path, "a", 1, to="lao-bao")
    packs = published_packs(open_repository(server).targets())
    assert [(p.pack, p.version, p.to, p.seq) for p in packs] == [("demo", 1, ("lao-bao",), 1)]
    files = pack_files("a")
    assert result.blobs_copied == len(files)
    assert all((server.blob_dir / p).stat().st_size > 0 for p in (server.blob_dir).iterdir())
    assert not [p for p in server.tuf_dir.rglob(".*") if p.name != ".lock"]  # no temp files left
    kiosk = kiosk_on(server, tmp_path, clock)
    kiosk.sync()
    assert installed(kiosk.state_dir) == ("demo", 1)
    other_gate = kiosk_on(server, tmp_path, clock, "k2", gate="cha-lo")
    assert other_gate.sync().action == "nothing-offered"


def test_versions_must_increase(server: ServerConfig, clock: Clock, tmp_path: Path) -> None:
    publish(server, clock, tmp_path, "a", 2, to="lao-bao")
    with pytest.raises(PublishRefused, match="older than the published version 2"):
        publish(server, clock, tmp_path, "b", 1)
    with pytest.raises(PublishRefused, match="already published with other content"):
        publish(server, clock, tmp_path, "b", 2)
    with pytest.raises(PublishRefused, match="already published to lao-bao"):
        publish(server, clock, tmp_path, "a", 2, to="lao-bao")
    widened = publish(server, clock, tmp_path, "a", 2, to="cha-lo")
    assert widened.widened and widened.pack.to == ("cha-lo", "lao-bao")
    # a new version for everyone replaces the older one in the signed targets
    newer = publish(server, clock, tmp_path, "c", 3, to="all")
    assert newer.dropped == ("packs/demo/2.manifest.json",)
    assert [p.version for p in published_packs(open_repository(server).targets())] == [3]


def test_a_damaged_blob_in_the_built_pack_is_refused_before_signing(
    server: ServerConfig, clock: Clock, tmp_path: Path
) -> None:
    folder = write_built_pack(tmp_path / "built", pack_files("a"), "demo", 1)
    blob = next((folder / "blobs" / "sha256").iterdir())
    blob.write_bytes(blob.read_bytes()[:-1] + b"!")
    repo = open_repository(server, ("targets",), now=clock)
    with pytest.raises(BlobMismatchError, match="rebuild the pack"):
        publish_pack(repo, server.blob_dir, folder, ["all"], clock)
    assert published_packs(repo.targets()) == []
    assert not (server.blob_dir / blob.name).exists()


def test_refresher_re_signs_before_expiry(
    server: ServerConfig, clock: Clock, tmp_path: Path
) -> None:
    publish(server, clock, tmp_path, "a", 1)
    repo = open_repository(server, now=clock)
    ts0, snap0 = repo.timestamp().version, repo.snapshot().version
    assert refresh_online_metadata(repo, clock.now).timestamp is False  # fresh: nothing to do
    clock.now = NOW + timedelta(hours=13)  # past half of the timestamp's day
    result = refresh_online_metadata(repo, clock.now)
    assert result.timestamp and not result.snapshot
    assert repo.timestamp().version == ts0 + 1 and repo.snapshot().version == snap0
    assert repo.timestamp().expires == clock.now.replace(microsecond=0) + timedelta(days=1)
    clock.now = NOW + timedelta(days=4)
    result = refresh_online_metadata(repo, clock.now)
    assert result.timestamp and result.snapshot
    clock.now = NOW + timedelta(days=80)  # targets (offline key) expires in 10 days
    assert any(
        "targets metadata expires" in w for w in refresh_online_metadata(repo, clock.now).warnings
    )
    # a kiosk at that time still accepts the re-signed metadata
    kiosk = kiosk_on(server, tmp_path, clock)
    kiosk.sync()
    assert installed(kiosk.state_dir) == ("demo", 1)
    resign(server, "targets", None, clock)
    assert refresh_online_metadata(repo, clock.now).warnings == ()


@pytest.mark.parametrize("role", ["timestamp", "snapshot", "targets", "root"])
def test_key_rotation_is_followed_by_enrolled_kiosks(
    server: ServerConfig, clock: Clock, tmp_path: Path, role: str
) -> None:
    publish(server, clock, tmp_path, "a", 1)
    kiosk = kiosk_on(server, tmp_path, clock)  # enrolled with root v1
    kiosk.sync()
    result = rotate_key(server, role, None, clock)
    assert (
        result.root_version == 2 and result.old_keyids and result.new_keyid not in result.old_keyids
    )
    root = Metadata[Root].from_bytes((server.tuf_dir / "2.root.json").read_bytes()).signed
    assert root.roles[role].keyids == [result.new_keyid]
    keys_folder = server.keys_dir if role in ("snapshot", "timestamp") else server.tuf.offline_keys
    assert keys_folder is not None
    assert len(list((keys_folder / "retired").iterdir())) == 1
    publish(server, clock, tmp_path, "b", 2)  # signed with the new key
    kiosk.sync()
    assert installed(kiosk.state_dir) == ("demo", 2)
    assert (kiosk.state_dir / "tuf" / "root_history" / "2.root.json").exists()


def test_export_for_usb_holds_exactly_one_pack_with_its_metadata(
    server: ServerConfig, clock: Clock, tmp_path: Path
) -> None:
    publish(server, clock, tmp_path, "a", 1, pack="other")
    publish(server, clock, tmp_path, "b", 4, to="lao-bao")
    result = export_pack(server, "demo", tmp_path / "usb", clock, valid_days=20)
    info = json.loads((tmp_path / "usb" / "export.json").read_text())
    assert (info["pack"], info["version"]) == ("demo", 4)
    assert result.expires == clock.now.replace(microsecond=0) + timedelta(days=20)
    blobs = {p.name for p in (tmp_path / "usb" / "blobs" / "sha256").iterdir()}
    assert len(blobs) == len(pack_files("b"))
    # a kiosk 15 days later, offline, imports it with the same checks as a sync
    clock.now = NOW + timedelta(days=15)
    root = (server.tuf_dir / "1.root.json").read_bytes()
    kiosk = SimKiosk(
        tmp_path / "k",
        LocalSource(tmp_path / "usb", "local:/"),
        root,
        clock.now.timestamp(),
        base="local:",
    )
    with SyncLock(kiosk.syncer.layout.lock_file):
        kiosk.syncer.cycle(only_pack="demo")
        kiosk.syncer.settle(waited_s=0.0)
    assert installed(kiosk.state_dir) == ("demo", 4)


def test_the_running_server_re_signs_in_the_background(server: ServerConfig, clock: Clock) -> None:
    from deliverykit import wait_for

    from server.packs.refresher import TufRefresher
    from server.run import default_services

    assert "tuf-refresher" in [s.name for s in default_services(server)]
    before = open_repository(server).timestamp().version
    clock.now = NOW + timedelta(hours=20)  # 4 hours of validity left
    service = TufRefresher(server, now=clock, check_every_s=3600)
    service.start()
    try:
        wait_for(
            lambda: open_repository(server).timestamp().version > before, "a re-signed timestamp"
        )
    finally:
        service.stop()
    assert open_repository(server).timestamp().expires == clock.now.replace(
        microsecond=0
    ) + timedelta(days=1)
