"""The TUF side of a sync: python-tuf's ngclient with the enrolled root.

One `Updater` per cycle (refresh() works once per Updater), with a durable
metadata cache in the state dir (rollback protection needs it). Its expiry
checks use `now` = max(clock, time floor): a kiosk whose clock went back to
1970 still refuses metadata that expired after the newest signed time seen.
Errors come out as the agent's error tree (kiosk.agent.errors).

Two-person publishing: top-level targets may delegate `packs/*` to the role
`publishers` (a threshold of the publishers' keys). After the refresh, the
session asks ngclient for a path of that pattern, which makes ngclient load
and verify the delegated metadata (signatures, threshold, version, expiry)
and keep it in the cache as `publishers.json`; the offers are then those of
top-level targets (published before the delegation) and of `publishers`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from tuf.api import exceptions as tuf_errors
from tuf.api.metadata import Metadata
from tuf.ngclient import Updater, UpdaterConfig
from tuf.ngclient.fetcher import FetcherInterface

from kiosk.agent.clockcheck import clock_problem
from kiosk.agent.errors import (
    AgentError,
    BadDownload,
    ClockWrong,
    DiskFailed,
    MetadataExpired,
    ServerFailed,
    ServerUnreachable,
    UntrustedMetadata,
)
from kiosk.agent.fetch import NotFound, Source
from kiosk.protocol.delivery import (
    EXPORT_FIELD,
    ISSUED_FIELD,
    TARGETS_PATH,
    TUF_PATH,
    PackOffer,
)

log = logging.getLogger(__name__)


#: a timestamp this long or longer is not inspected for EXPORT_FIELD (ngclient
#: refuses it anyway: timestamp_max_length is 16 KiB)
_PEEK_LIMIT: Final = 64 * 1024


class SourceFetcher(FetcherInterface):
    """python-tuf's fetcher interface over our `Source` (HTTP or a USB folder).

    Over the network, a timestamp made for a USB stick (signed EXPORT_FIELD) is
    refused before ngclient sees it: a copy of a stick, replayed, must not keep
    a networked kiosk on old content for the stick's long validity."""

    def __init__(self, source: Source) -> None:
        self.source = source
        #: the file being fetched (for messages: which file was too long)
        self.url = ""

    def _fetch(self, url: str) -> Iterator[bytes]:
        self.url = url
        try:
            stream = self.source.open(url)
        except NotFound as exc:
            # ngclient reads 403/404 on (N+1).root.json as "no newer root"
            raise tuf_errors.DownloadHTTPError(str(exc), exc.status) from None
        chunks = _drain(stream)
        if not self.source.is_stick and url.rsplit("/", 1)[-1] == "timestamp.json":
            return _refuse_export(chunks, self.source.name)
        return chunks


def _drain(stream: Any) -> Iterator[bytes]:
    try:
        yield from stream.chunks()
    finally:
        stream.close()


def _refuse_export(chunks: Iterator[bytes], origin: str) -> Iterator[bytes]:
    """The chunks of a timestamp, unless it is signed as made for a stick."""
    held = bytearray()
    for chunk in chunks:
        held += chunk
        if len(held) >= _PEEK_LIMIT:  # too long to be a timestamp: ngclient says so
            yield bytes(held)
            yield from chunks
            return
    try:
        signed = json.loads(held)["signed"]
        made = signed.get(EXPORT_FIELD) if isinstance(signed, dict) else None
    except (ValueError, KeyError, TypeError):
        made = None  # not even metadata: ngclient refuses it with its own words
    if made is not None:
        raise UntrustedMetadata(
            f"{origin} sent a timestamp made for a USB stick (bgk server export, {made}); "
            "a network sync never accepts one (a copied stick replayed to keep this kiosk on "
            "old content?): nothing was installed, the kiosk keeps its current pack; "
            "tell the DoIC"
        )
    yield bytes(held)


@dataclass(frozen=True)
class TrustedState:
    """What the verified metadata says after a refresh."""

    offers: tuple[PackOffer, ...]
    #: when the server signed the timestamp (epoch s), None if it does not say
    issued: float | None
    #: earliest expiry of timestamp, snapshot and targets (epoch s)
    expires: float
    timestamp_version: int


def epoch(when: datetime) -> float:
    return when.timestamp()


#: the delegated role of two-person publishing, and a path ngclient looks up in it
PUBLISHERS: Final = "publishers"
_PROBE: Final = "packs/bgk-probe/1.manifest.json"


def _delegated(metadata_dir: Path, targets: Any, snapshot: Any) -> Any | None:
    """The verified publishers metadata of this snapshot, or None (no delegation, or
    not loaded: a cache entry of another snapshot version is not used)."""
    roles = getattr(getattr(targets, "delegations", None), "roles", None) or {}
    meta = getattr(snapshot, "meta", {}).get(f"{PUBLISHERS}.json")
    if PUBLISHERS not in roles or meta is None:
        return None
    try:
        signed = Metadata.from_bytes((metadata_dir / f"{PUBLISHERS}.json").read_bytes()).signed
    except (OSError, ValueError, tuf_errors.RepositoryError):
        return None
    return signed if signed.version == meta.version else None


def cached_state(metadata_dir: Path) -> TrustedState | None:
    """The state of the metadata last verified (the cache only ever holds verified
    metadata: ngclient writes it after checking). None when there is none."""
    try:
        timestamp = Metadata.from_bytes((metadata_dir / "timestamp.json").read_bytes()).signed
        snapshot = Metadata.from_bytes((metadata_dir / "snapshot.json").read_bytes()).signed
        targets = Metadata.from_bytes((metadata_dir / "targets.json").read_bytes()).signed
    except (OSError, ValueError, tuf_errors.RepositoryError):
        return None
    listed = list(getattr(targets, "targets", {}).values())
    delegated = _delegated(metadata_dir, targets, snapshot)
    if delegated is not None:
        listed += list(delegated.targets.values())
    expiries = [epoch(timestamp.expires), epoch(snapshot.expires), epoch(targets.expires)]
    if delegated is not None:
        expiries.append(epoch(delegated.expires))
    offers = []
    for t in listed:
        offer = PackOffer.from_target(
            t.path, t.length, t.hashes, t.unrecognized_fields.get("custom")
        )
        if offer is not None:
            offers.append(offer)
    issued = _parse_issued(timestamp.unrecognized_fields.get(ISSUED_FIELD))
    return TrustedState(tuple(offers), issued, min(expiries), timestamp.version)


def _parse_issued(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


class TufSession:
    """One verified look at the repository: refresh, then fetch manifests."""

    def __init__(
        self,
        metadata_dir: Path,
        base_url: str,
        root: bytes,
        source: Source,
        now: float,
    ) -> None:
        self.metadata_dir = metadata_dir
        self.source = source
        self.now = now
        self.fetcher = SourceFetcher(source)
        metadata_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.updater = Updater(
                str(metadata_dir),
                base_url + TUF_PATH,
                target_base_url=base_url + TARGETS_PATH,
                fetcher=self.fetcher,
                bootstrap=root,
            )
        except tuf_errors.RepositoryError as exc:
            raise UntrustedMetadata(
                f"the kiosk's trusted root is invalid ({exc}): re-enrol the kiosk"
            ) from None
        except OSError as exc:
            raise DiskFailed(f"cannot write the metadata cache {metadata_dir}: {exc}") from None
        _pin_reference_time(self.updater, now)

    def refresh(self) -> TrustedState:
        with translate_errors("the signed pack list", self):
            self.updater.refresh()
        snapshot = self.updater._trusted_set.snapshot
        if f"{PUBLISHERS}.json" in snapshot.meta:
            with translate_errors("the pack list the publishers signed", self):
                # loads and verifies publishers.json (threshold of the delegated keys)
                self.updater.get_targetinfo(_PROBE)
        state = cached_state(self.metadata_dir)
        if state is None:
            raise UntrustedMetadata("the verified metadata could not be read back from the cache")
        return state

    def fetch_manifest(self, offer: PackOffer, dest: Path) -> bytes:
        """Download the offered pack's manifest, verified against its signed hash."""
        with translate_errors(f"the manifest of {offer.pack} version {offer.version}", self):
            info = self.updater.get_targetinfo(offer.path)
            if info is None:
                raise UntrustedMetadata(f"{offer.path} is not in the signed targets")
            dest.parent.mkdir(parents=True, exist_ok=True)
            self.updater.download_target(info, filepath=str(dest))
        return dest.read_bytes()

    def signed_times(self) -> list[float]:
        """Every signed time this session knows: expiries of the metadata loaded
        (expired ones too), the timestamp's issue time, the cached state's."""
        times = []
        for signed in self.updater._trusted_set:
            times.append(epoch(signed.expires))
            issued = _parse_issued(signed.unrecognized_fields.get(ISSUED_FIELD))
            if issued is not None:
                times.append(issued)
        cached = cached_state(self.metadata_dir)
        if cached is not None:
            times += [cached.expires, *([cached.issued] if cached.issued else [])]
        return times


def _pin_reference_time(updater: Updater, now: float) -> None:
    """Expiry checks at `now` (the time floor) instead of the raw clock.

    ngclient has no public parameter for this: it reads the clock once into
    TrustedMetadataSet.reference_time when the Updater is made (tested in
    tests/unit/test_tuf_client.py against the installed python-tuf)."""
    trusted = updater._trusted_set
    if not hasattr(trusted, "reference_time"):
        raise RuntimeError("python-tuf changed: TrustedMetadataSet.reference_time is gone")
    trusted.reference_time = datetime.fromtimestamp(now, UTC)


class translate_errors:
    """python-tuf's exceptions -> the agent's error tree, with words for a technician."""

    def __init__(self, what: str, session: TufSession) -> None:
        self.what = what
        self.session = session

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if exc is None or isinstance(exc, AgentError):
            return
        s = self.session
        if isinstance(exc, tuf_errors.ExpiredMetadataError):
            wrong = clock_problem(s.now, s.signed_times())
            if wrong is not None:
                raise ClockWrong(f"{self.what} looks expired ({exc}): {wrong}") from exc
        mapped = map_error(exc, self.what, s.source, s.fetcher.url)
        if mapped is not None:
            raise mapped from exc


def map_error(exc: BaseException, what: str, source: Source, url: str) -> AgentError | None:
    keep = "nothing was installed; the kiosk keeps its current pack"
    origin = source.name
    if isinstance(exc, tuf_errors.ExpiredMetadataError):
        fix = (
            "export the pack again (`bgk server export`) and import the new stick"
            if source.is_stick
            else "the server must re-sign it (is `bgk server run` running?)"
        )
        return MetadataExpired(
            f"{what} from {origin} has expired ({exc}): {fix}; "
            "the kiosk keeps showing its current pack (stale)"
        )
    if isinstance(exc, tuf_errors.BadVersionNumberError):
        return UntrustedMetadata(
            f"{what} from {origin} is older than what this kiosk already trusts "
            f"(rollback: {exc}); {keep}"
            + ("; export the pack again for a newer stick" if source.is_stick else "")
        )
    if isinstance(exc, tuf_errors.UnsignedMetadataError):
        return UntrustedMetadata(
            f"{what} from {origin} is not signed by the keys this kiosk trusts ({exc}); {keep}; "
            f"tell the DoIC: the files or keys of {origin} may have been tampered with"
        )
    if isinstance(exc, tuf_errors.LengthOrHashMismatchError):
        return BadDownload(
            f"{what} from {origin} does not match its signed hash or length ({exc}); {keep}"
        )
    if isinstance(exc, tuf_errors.DownloadLengthMismatchError):
        unsigned = _unsigned_length(url.rsplit("/", 1)[-1], origin)
        if unsigned is not None:  # no signed length: ngclient's cap for the role
            return BadDownload(f"{unsigned} (damaged or hostile); {keep}")
        return BadDownload(f"{what}: {origin} sent more data than the signed length; {keep}")
    if isinstance(exc, tuf_errors.RepositoryError):
        return UntrustedMetadata(f"{what} from {origin} failed verification ({exc}); {keep}")
    if isinstance(exc, tuf_errors.DownloadHTTPError) and source.is_stick:
        return BadDownload(
            f"{what} is not complete on the USB stick ({exc}); {keep}; "
            "make the stick again with `bgk server export`"
        )
    if isinstance(exc, tuf_errors.DownloadHTTPError):
        return ServerFailed(f"the server answered HTTP {exc.status_code} for {what}; will retry")
    if isinstance(exc, tuf_errors.DownloadError):
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, AgentError):
            return cause
        return ServerUnreachable(f"cannot download {what} from {origin}; will retry")
    if isinstance(exc, OSError):
        return DiskFailed(f"writing {what} to the kiosk's disk failed: {exc}")
    return None


def _unsigned_length(name: str, origin: str) -> str | None:
    """For metadata whose length no signed file states, the words about its cap."""
    config = UpdaterConfig()
    if name == "timestamp.json":
        cap, role = config.timestamp_max_length, "timestamp"
    elif name.endswith(".root.json"):
        cap, role = config.root_max_length, "root"
    else:
        return None
    return f"{name} from {origin} is larger than the {cap} bytes a {role} may be"
