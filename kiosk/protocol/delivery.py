"""The pack delivery contract between the server's TUF repository and kiosks.

URLs under the server's base URL:

    {url}/tuf/N.root.json, {url}/tuf/timestamp.json, {url}/tuf/N.snapshot.json,
    {url}/tuf/N.targets.json                 TUF metadata (consistent snapshots)
    {url}/tuf/targets/packs/<id>/<sha256>.<version>.manifest.json   pack manifests
    {url}/blobs/sha256/<hex>                 pack files, by content

Each published pack version is one TUF target, `packs/<id>/<version>.manifest.json`,
whose `custom` field says which pack, which version, for whom (`to`: gates,
groups or "all") and in which order it was published (`seq`). A kiosk plays
the pack with the highest `seq` among those addressed to its gate, one of
its groups, or all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

TUF_PATH: Final = "/tuf/"
TARGETS_PATH: Final = "/tuf/targets/"
BLOB_PATH: Final = "/blobs/sha256/"
#: signed field of timestamp metadata: when the server signed it (UTC, ISO 8601).
#: Kiosks keep the newest one as their time floor (a Pi without RTC boots in 1970).
ISSUED_FIELD: Final = "x-bgk-issued"
#: signed field of timestamp metadata made for a USB stick (`bgk server export`, UTC,
#: ISO 8601): it lives longer than the server's. Kiosks accept it only from a stick,
#: never over the network, so a copy of a stick cannot freeze networked kiosks.
EXPORT_FIELD: Final = "x-bgk-export"
#: publishing to everyone
AUDIENCE_ALL: Final = "all"
TARGET_PATH: Final = re.compile(r"^packs/([a-z0-9][a-z0-9-]{0,62})/([1-9][0-9]*)\.manifest\.json$")


def target_path(pack: str, version: int) -> str:
    return f"packs/{pack}/{version}.manifest.json"


@dataclass(frozen=True)
class PackOffer:
    """One published pack version, as the signed targets metadata lists it."""

    path: str
    pack: str
    version: int
    to: tuple[str, ...]
    seq: int
    sha256: str
    length: int
    published: str = ""

    @classmethod
    def from_target(
        cls, path: str, length: int, hashes: Mapping[str, str], custom: Any
    ) -> PackOffer | None:
        """None when the target is not a pack manifest of this contract."""
        m = TARGET_PATH.match(path)
        if m is None or not isinstance(custom, dict):
            return None
        try:
            offer = cls(
                path=path,
                pack=str(custom["pack"]),
                version=int(custom["version"]),
                to=tuple(str(t) for t in custom["to"]),
                seq=int(custom["seq"]),
                sha256=str(hashes["sha256"]),
                length=int(length),
                published=str(custom.get("published", "")),
            )
        except (KeyError, TypeError, ValueError):
            return None
        if offer.pack != m.group(1) or offer.version != int(m.group(2)):
            return None
        return offer

    def addressed_to(self, names: Iterable[str]) -> bool:
        return AUDIENCE_ALL in self.to or bool(set(self.to) & set(names))
