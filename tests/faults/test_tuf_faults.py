"""Faults in the signed metadata: every case keeps the current pack untouched
and records a clear error (in-memory repository simulator, real kiosk code)."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from deliverykit import T0, RepoSim, SimKiosk, installed, pack_files
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import Metadata, MetaFile, Timestamp

from kiosk.agent.errors import (
    AgentError,
    BadDownload,
    MetadataExpired,
    OlderPack,
    UntrustedMetadata,
)

DAY = 86400.0


@pytest.fixture
def sim() -> RepoSim:
    s = RepoSim()
    s.add_pack(pack_files("v1"), version=1, to=("lao-bao",))
    return s


@pytest.fixture
def kiosk(tmp_path: Path, sim: RepoSim) -> SimKiosk:
    k = SimKiosk(tmp_path / "kiosk", sim, sim.root_v1, T0.timestamp() + 60)
    k.sync()
    assert installed(k.state_dir) == ("demo", 1)
    return k


def refused(kiosk: SimKiosk, error: type[AgentError], words: str) -> AgentError:
    """Sync must fail with `error` mentioning `words`, the pack untouched, the error recorded."""
    before = kiosk.pack_tree()
    with pytest.raises(error, match=words) as info:
        kiosk.sync()
    assert installed(kiosk.state_dir) == ("demo", 1)
    assert kiosk.pack_tree() == before
    status = kiosk.status()
    assert status["installed"]["version"] == 1
    assert status["last_error"]["code"] == info.value.code
    assert words.split()[0] in status["last_error"]["message"]
    assert status["last_error"]["summary_vi"]
    assert not list((kiosk.state_dir / "tmp" / "dl").iterdir())
    return info.value


def test_metadata_signed_by_an_unknown_key(sim: RepoSim, kiosk: SimKiosk) -> None:
    sim.keys["targets"] = [CryptoSigner.generate_ed25519()]  # not in the kiosk's root
    sim.add_pack(pack_files("v2"), version=2)
    refused(kiosk, UntrustedMetadata, "not signed by the keys this kiosk trusts")


def test_signed_metadata_edited_after_signing(sim: RepoSim, kiosk: SimKiosk) -> None:
    sim.add_pack(pack_files("v2"), version=2)
    name = f"tuf/{sim.targets.signed.version}.targets.json"
    doc = json.loads(sim.files[name])
    target = doc["signed"]["targets"]["packs/demo/2.manifest.json"]
    target["custom"]["to"] = ["lao-bao", "everywhere"]  # a change after signing
    sim.files[name] = json.dumps(doc).encode()
    sim.publish(("snapshot", "timestamp"))  # properly signed over the edited bytes
    refused(kiosk, UntrustedMetadata, "not signed by the keys this kiosk trusts")


@pytest.mark.parametrize("how", ["one of two keys", "the same key twice"])
def test_below_threshold_or_duplicate_signatures(tmp_path: Path, how: str) -> None:
    sim = RepoSim()
    second = CryptoSigner.generate_ed25519()
    sim.root.signed.add_key(second.public_key, "targets")
    sim.root.signed.roles["targets"].threshold = 2
    sim.keys["targets"].append(second)
    sim.publish_root()
    sim.root_v1 = sim.files["tuf/1.root.json"]
    sim.add_pack(pack_files("v1"), version=1)
    kiosk = SimKiosk(tmp_path / "k", sim, sim.root_v1, T0.timestamp() + 60)
    kiosk.sync()
    assert installed(kiosk.state_dir) == ("demo", 1)  # two valid signatures: accepted
    sim.keys["targets"] = sim.keys["targets"][:1]  # one of the two required signatures
    sim.add_pack(pack_files("v2"), version=2)
    if how == "the same key twice":
        name = f"tuf/{sim.targets.signed.version}.targets.json"
        doc = json.loads(sim.files[name])
        doc["signatures"] = doc["signatures"] * 2  # counted twice would reach the threshold
        sim.files[name] = json.dumps(doc).encode()
        sim.publish(("snapshot", "timestamp"))
    refused(kiosk, UntrustedMetadata, "signed pack list")


def test_a_huge_timestamp_is_refused_for_its_size_not_a_signed_length(
    sim: RepoSim, kiosk: SimKiosk
) -> None:
    sim.add_pack(pack_files("v2"), version=2)
    sim.faults.endless.add("tuf/timestamp.json")  # no signed file says how long it is
    err = refused(kiosk, BadDownload, "timestamp.json from the server is larger than")
    assert "the 16384 bytes a timestamp may be" in str(err)
    assert "signed length" not in str(err)


def test_old_timestamp_replayed(sim: RepoSim, kiosk: SimKiosk) -> None:
    old = sim.files["tuf/timestamp.json"]
    sim.add_pack(pack_files("v2"), version=2, to=("nowhere",))
    kiosk.sync()  # the kiosk now trusts the newer timestamp
    sim.files["tuf/timestamp.json"] = old  # still validly signed and not expired
    refused(kiosk, UntrustedMetadata, "older than what this kiosk already trusts")


def test_old_snapshot_replayed(sim: RepoSim, kiosk: SimKiosk) -> None:
    old_version = sim.snapshot.signed.version
    sim.add_pack(pack_files("v2"), version=2, to=("nowhere",))
    kiosk.sync()
    # a new, validly signed timestamp that points back at the old snapshot
    data = sim.files[f"tuf/{old_version}.snapshot.json"]
    ts = Metadata[Timestamp].from_bytes(sim.files["tuf/timestamp.json"])
    ts.signed.version += 1
    ts.signed.snapshot_meta = MetaFile(old_version, len(data))
    sim.sign("timestamp", ts)
    sim.files["tuf/timestamp.json"] = ts.to_bytes()
    refused(kiosk, UntrustedMetadata, "older than what this kiosk already trusts")


def test_lower_pack_version(tmp_path: Path) -> None:
    sim = RepoSim()
    sim.add_pack(pack_files("v3"), version=3)
    kiosk = SimKiosk(tmp_path / "k", sim, sim.root_v1, T0.timestamp() + 60)
    kiosk.sync()
    assert installed(kiosk.state_dir) == ("demo", 3)
    # a newer publication of an older version (a careless or hostile targets signer)
    sim.add_pack(pack_files("v2"), version=2)
    before = kiosk.pack_tree()
    with pytest.raises(OlderPack, match="older than the installed version 3"):
        kiosk.sync()
    assert installed(kiosk.state_dir) == ("demo", 3) and kiosk.pack_tree() == before
    assert kiosk.status()["last_error"]["code"] == "older-pack"


def test_expired_metadata_blocks_installs_but_keeps_playing(sim: RepoSim, kiosk: SimKiosk) -> None:
    sim.add_pack(pack_files("v2"), version=2)  # signed at T0, timestamp valid one day
    kiosk.clock = T0.timestamp() + 2 * DAY
    err = refused(kiosk, MetadataExpired, "expired")
    assert "stale" in str(err)
    status = kiosk.status()
    assert status["stale"] is True and "expired" in status["stale_reason"]
    assert status["installed"]["version"] == 1
    # the server comes back and re-signs: the kiosk installs and is no longer stale
    sim.now = T0 + timedelta(days=2)
    sim.publish(("snapshot", "timestamp"))
    kiosk.sync()
    assert installed(kiosk.state_dir) == ("demo", 2)
    assert kiosk.status()["stale"] is False


def test_offline_kiosk_reports_stale_without_any_network(sim: RepoSim, kiosk: SimKiosk) -> None:
    assert kiosk.status()["stale"] is False
    kiosk.clock = T0.timestamp() + 3 * DAY
    status = kiosk.status()
    assert status["stale"] is True and status["installed"]["version"] == 1


def test_time_floor_refuses_metadata_expired_before_the_newest_signed_time(
    sim: RepoSim, kiosk: SimKiosk
) -> None:
    ancient = dict(sim.files)  # the repository as it was at T0
    sim.now = T0 + timedelta(days=30)
    sim.add_pack(pack_files("v2"), version=2, to=("lao-bao",))
    kiosk.clock = sim.now.timestamp() + 60
    kiosk.sync()
    assert installed(kiosk.state_dir) == ("demo", 2)
    assert kiosk.status()["time_floor"].startswith((T0 + timedelta(days=30)).strftime("%Y-%m-%d"))
    # power cut: the clock restarts in 1970, the metadata cache is lost, and
    # someone replays the repository of a month ago (valid signatures)
    shutil.rmtree(kiosk.state_dir / "tuf")
    sim.files = ancient
    kiosk.clock = 0.0
    before = kiosk.pack_tree()
    with pytest.raises(MetadataExpired):
        kiosk.sync()
    assert installed(kiosk.state_dir) == ("demo", 2) and kiosk.pack_tree() == before


def test_pack_for_another_gate_is_ignored(sim: RepoSim, kiosk: SimKiosk) -> None:
    files = pack_files("other-gate")
    sim.add_pack(files, version=2, to=("cha-lo",))
    result = kiosk.sync()
    assert result.action == "up-to-date"
    assert installed(kiosk.state_dir) == ("demo", 1)
    fetched = {path for path, _ in sim.requests}
    assert not any(sim.blob_path(data) in fetched for data in files.values())
    assert not any(path.startswith("tuf/targets/packs/demo/") and ".2." in path for path in fetched)
