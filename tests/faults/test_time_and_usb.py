"""Time and USB sticks as an attacker and a dead clock see them (issue 9),
against the real parts: the server's data folder and TUF repository, its
HTTP app on a free port, and real kiosks (Syncer on a state folder) whose
clocks the tests set.

- `bgk server export` must not weaken freeze protection: the served
  timestamp keeps its one-day validity, a networked kiosk three days later
  still refuses frozen metadata, and a stick's long-lived metadata replayed
  over the network is refused; a kiosk that imported a stick syncs with the
  server afterwards, and an old stick is refused as a rollback.
- A kiosk whose clock starts in 1970 refuses metadata that expired before
  its enrolment (the bundle's enrolment time is its first time floor); one
  whose clock says 2040 is told its clock is wrong, not the server.
- A USB stick whose files are not regular files (a named pipe, a symbolic
  link) is refused at once, with words about the stick.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from deliverykit import (
    AppServer,
    FileServer,
    SimKiosk,
    installed,
    pack_files,
    snapshot_tree,
    write_built_pack,
)
from tuf.api.metadata import Metadata, Timestamp

from kiosk.agent.errors import (
    BadDownload,
    ClockWrong,
    ImportTimedOut,
    MetadataExpired,
    UntrustedMetadata,
)
from kiosk.agent.fetch import HttpSource, LocalSource
from kiosk.agent.layout import SyncLock
from kiosk.agent.sync import Deps, Syncer
from kiosk.config import load_config
from kiosk.protocol.delivery import EXPORT_FIELD
from server.config import ServerConfig
from server.datadir import init_data_dir
from server.fleet.enroll import enroll_kiosk
from server.packs.export import export_pack
from server.packs.keys import init_keyset
from server.packs.publish import publish_pack
from server.packs.signing import open_repository

T0 = datetime(2026, 5, 1, 3, 0, tzinfo=UTC)
DAY = timedelta(days=1)


class Clock:
    """The server's clock, set by the test."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Served:
    config: ServerConfig
    clock: Clock
    url: str
    root: bytes
    tmp: Path

    def publish(self, seed: str, version: int) -> None:
        built = write_built_pack(
            self.tmp / f"built-{seed}-{version}", pack_files(seed), "demo", version
        )
        repo = open_repository(self.config, ("targets",), now=self.clock)
        publish_pack(repo, self.config.blob_dir, built, ["lao-bao"], self.clock)

    def served_timestamp(self) -> Timestamp:
        return (
            Metadata[Timestamp]
            .from_bytes((self.config.tuf_dir / "timestamp.json").read_bytes())
            .signed
        )

    def export(self, name: str, valid_days: int) -> Path:
        out = self.tmp / name
        export_pack(self.config, "demo", out, self.clock, valid_days=valid_days)
        return out

    def kiosk(self, name: str, at: datetime) -> SimKiosk:
        """A networked kiosk (HTTP to the served app) whose clock says `at`."""
        return SimKiosk(self.tmp / name, HttpSource(5.0), self.root, at.timestamp(), base=self.url)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    clock = Clock()
    init_keyset(tmp_path / "keys")
    config = init_data_dir(tmp_path / "data", tmp_path / "keys", "http://127.0.0.1:9", clock)
    root = (config.tuf_dir / "1.root.json").read_bytes()
    with AppServer(config) as app:  # serves the data folder; nothing re-signs it
        s = Served(config, clock, app.url, root, tmp_path)
        s.publish("v1", 1)
        yield s


def import_stick(kiosk: SimKiosk, stick: Path) -> None:
    """`bgk kiosk import` with the kiosk's own state and clock: the same Syncer
    over the stick's folder."""
    deps = Deps(source=LocalSource(stick), base_url="local:", clock=lambda: kiosk.clock)
    syncer = Syncer(kiosk.config, kiosk.syncer.root, deps)
    with SyncLock(syncer.layout.lock_file):
        syncer.cycle(only_pack="demo")
        syncer.settle(waited_s=0.0)


# --- export and freeze protection ------------------------------------------------


def test_an_export_leaves_the_served_timestamp_as_it_was(served: Served) -> None:
    served.clock.now = T0 + timedelta(hours=2)
    stick = served.export("usb", valid_days=365)
    after = served.served_timestamp()
    # the server's timestamp keeps its usual validity (one day), never the stick's year
    assert after.expires <= served.clock.now + DAY
    assert EXPORT_FIELD not in after.unrecognized_fields
    on_stick = (
        Metadata[Timestamp].from_bytes((stick / "tuf" / "timestamp.json").read_bytes()).signed
    )
    assert on_stick.expires == served.clock.now + 365 * DAY
    assert EXPORT_FIELD in on_stick.unrecognized_fields
    # the stick's versions are its own: the served ones are already above them
    assert after.version > on_stick.version
    assert after.snapshot_meta.version > on_stick.snapshot_meta.version
    assert not (served.config.tuf_dir / f"{on_stick.snapshot_meta.version}.snapshot.json").exists()


def test_a_networked_kiosk_three_days_later_still_refuses_frozen_metadata(served: Served) -> None:
    kiosk = served.kiosk("k", T0 + timedelta(minutes=5))
    kiosk.sync()
    assert installed(kiosk.state_dir) == ("demo", 1)
    served.export("usb", valid_days=365)  # the server then stops re-signing: frozen
    kiosk.clock = (T0 + 3 * DAY).timestamp()
    with pytest.raises(MetadataExpired, match="the server must re-sign"):
        kiosk.sync()
    status = kiosk.status()
    assert status["stale"] is True and status["last_error"]["code"] == "metadata-expired"
    assert installed(kiosk.state_dir) == ("demo", 1)  # it keeps playing its pack


def test_a_stick_replayed_over_the_network_is_refused(served: Served) -> None:
    kiosk = served.kiosk("k", T0 + timedelta(minutes=5))
    kiosk.sync()
    stick = served.export("usb", valid_days=365)
    # the attacker serves the stick's folder (valid for a year) in place of the server
    files = {str(p.relative_to(stick)): p.read_bytes() for p in stick.rglob("*") if p.is_file()}
    with FileServer(files) as evil:
        kiosk.syncer.deps.source = HttpSource(5.0)
        kiosk.syncer.deps.base_url = evil.url
        kiosk.clock = (T0 + 3 * DAY).timestamp()
        before = snapshot_tree(kiosk.state_dir / "tuf")
        with pytest.raises(UntrustedMetadata, match="made for a USB stick"):
            kiosk.sync()
    assert snapshot_tree(kiosk.state_dir / "tuf") == before  # nothing of it was trusted
    assert kiosk.status()["stale"] is True


def test_after_a_stick_the_kiosk_goes_on_syncing_with_the_server(served: Served) -> None:
    stick = served.export("usb", valid_days=30)
    kiosk = served.kiosk("k", T0 + 10 * DAY)  # offline for days: only the stick is valid
    import_stick(kiosk, stick)
    assert installed(kiosk.state_dir) == ("demo", 1)
    assert kiosk.status()["stale"] is False
    # the link comes back: the server has re-signed and published version 2
    served.clock.now = T0 + 10 * DAY
    served.publish("v2", 2)
    kiosk.sync()
    assert installed(kiosk.state_dir) == ("demo", 2)
    status = kiosk.status()
    assert status["last_error"] is None and status["stale"] is False


def test_a_stick_older_than_what_the_kiosk_trusts_is_a_rollback(served: Served) -> None:
    old = served.export("usb-old", valid_days=30)
    served.clock.now = T0 + DAY
    served.publish("v2", 2)
    kiosk = served.kiosk("k", T0 + DAY + timedelta(minutes=5))
    kiosk.sync()
    assert installed(kiosk.state_dir) == ("demo", 2)
    with pytest.raises(UntrustedMetadata, match=r"USB stick is older .*export the pack again"):
        import_stick(kiosk, old)
    assert installed(kiosk.state_dir) == ("demo", 2)


# --- a kiosk's clock ----------------------------------------------------------------


def test_a_new_kiosk_whose_clock_says_1970_refuses_metadata_expired_before_its_enrolment(
    served: Served,
) -> None:
    # the server stopped re-signing at T0; the kiosk is enrolled two days later
    enrolled = T0 + 2 * DAY
    bundle = served.tmp / "bundle"
    enroll_kiosk(
        served.config, "lb-09", "lao-bao", (), bundle, enrolled.timestamp(), state_dir="state"
    )
    assert 'enrolled = "2026-05-03T03:00:00Z"' in (bundle / "kiosk.toml").read_text()
    config = load_config(bundle / "kiosk.toml")
    root = config.server.trusted_root.read_bytes()

    def sync_at_1970(cfg: object) -> None:
        deps = Deps(source=HttpSource(5.0), base_url=served.url, clock=lambda: 0.0)
        syncer = Syncer(cfg, root, deps)  # type: ignore[arg-type]
        with SyncLock(syncer.layout.lock_file):
            syncer.cycle()

    with pytest.raises(MetadataExpired):
        sync_at_1970(config)
    assert not (config.kiosk.state_dir / "current").exists()
    # the same kiosk without its enrolment time would have taken the expired metadata
    from dataclasses import replace

    blind = replace(config, server=replace(config.server, enrolled=0.0))
    (config.kiosk.state_dir / "agent" / "state.json").unlink()
    (config.kiosk.state_dir / "agent" / "state.json.bak").unlink()
    sync_at_1970(blind)
    assert (config.kiosk.state_dir / "current").exists()


def test_a_kiosk_whose_clock_says_2040_is_told_its_clock_is_wrong(served: Served) -> None:
    kiosk = served.kiosk("k", datetime(2040, 1, 1, tzinfo=UTC))
    with pytest.raises(ClockWrong, match="timedatectl") as caught:
        kiosk.sync()
    assert "the kiosk's clock is probably wrong" in str(caught.value)
    assert "01/01/2040" in str(caught.value)
    status = kiosk.status()
    assert status["last_error"]["code"] == "clock-wrong"
    assert "timedatectl" in status["last_error"]["summary_vi"]
    # a clock a few days ahead is not called wrong: the server's metadata expired
    kiosk.clock = (T0 + 4 * DAY).timestamp()
    with pytest.raises(MetadataExpired, match="the server must re-sign"):
        kiosk.sync()


# --- what a stick may hold ----------------------------------------------------------


def test_a_named_pipe_or_a_symlink_on_the_stick_is_refused_with_words_about_the_stick(
    served: Served,
) -> None:
    stick = served.export("usb", valid_days=7)
    kiosk = served.kiosk("k", T0 + timedelta(minutes=5))
    blob = next((stick / "blobs" / "sha256").iterdir())
    blob.unlink()
    os.mkfifo(blob)  # reading it would wait forever for a writer
    with pytest.raises(
        BadDownload, match=r"USB stick .* is a named pipe \(FIFO\), not a regular file"
    ):
        import_stick(kiosk, stick)
    assert installed(kiosk.state_dir) is None
    blob.unlink()
    blob.symlink_to("/dev/zero")
    with pytest.raises(BadDownload, match="is a symbolic link, not a regular file"):
        import_stick(kiosk, stick)
    timestamp = stick / "tuf" / "timestamp.json"
    timestamp.unlink()
    os.mkfifo(timestamp)
    with pytest.raises(BadDownload, match=r"tuf/timestamp.json on the USB stick .* named pipe"):
        import_stick(kiosk, stick)


def test_an_expired_stick_says_to_export_again_not_to_ask_the_server(served: Served) -> None:
    stick = served.export("usb", valid_days=2)
    kiosk = served.kiosk("k", T0 + 5 * DAY)
    with pytest.raises(MetadataExpired) as caught:
        import_stick(kiosk, stick)
    message = str(caught.value)
    assert "from the USB stick has expired" in message and "bgk server export" in message
    assert "the server must re-sign" not in message


def test_reading_a_stick_stops_at_its_deadline(tmp_path: Path) -> None:
    (tmp_path / "export.json").write_text("{}")
    now = [0.0]
    source = LocalSource(tmp_path, deadline=10.0, clock=lambda: now[0])
    assert source.read_small("export.json", 100) == b"{}"
    stream = source.open("local:/export.json")
    now[0] = 11.0  # a stick that takes too long between two reads
    with pytest.raises(ImportTimedOut, match=r"USB stick .* time limit"):
        list(stream.chunks())
    stream.close()
    with pytest.raises(ImportTimedOut):
        source.open("local:/export.json")
