"""One simulated kiosk's sync over HTTP: the requests a real agent makes (python-tuf
in kiosk/agent/tufclient.py, then kiosk/agent/download.py), in the same order:

    /tuf/<N+1>.root.json          the root rotation probe (404 while there is none)
    /tuf/timestamp.json
    /tuf/<v>.snapshot.json        the version the timestamp names
    /tuf/<v>.<role>.json          each targets role the snapshot lists
    /tuf/targets/packs/<id>/<sha256>.<v>.manifest.json   when a newer version is offered
    /blobs/sha256/<hex>           each file of the manifest the kiosk does not have

The manifest and every blob are checked against the sha256 the targets list
and the manifest give; signatures are not (this is a load tool against our own
server, not a kiosk: the agent verifies them with python-tuf). A sync that does
not get to a verified pack raises requests.RequestException (the network, an
HTTP error) or ValueError (bytes that are not what was signed, unreadable
metadata): the simulated kiosk tries again later.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from kiosk.protocol.delivery import BLOB_PATH, TARGETS_PATH, TUF_PATH, PackOffer

#: what a failed sync raises (KeyError, TypeError: metadata without the expected fields)
SYNC_ERRORS = (requests.RequestException, ValueError, KeyError, TypeError)


@dataclass(frozen=True)
class Installed:
    version: int
    sha256: str
    #: sha256 of every file of the pack
    blobs: frozenset[str]


class Delivery:
    """GETs against the server's base URL; `on_request` is told of each response."""

    def __init__(
        self, base_url: str, root_version: int, on_request: Callable[[], None] = lambda: None
    ) -> None:
        self.base = base_url.rstrip("/")
        self.root_version = root_version
        self.on_request = on_request

    def get(self, session: requests.Session, path: str, *, missing_ok: bool = False) -> bytes:
        r = session.get(self.base + path, timeout=30)
        self.on_request()
        if r.status_code == 404 and missing_ok:
            return b""
        r.raise_for_status()
        return r.content

    def meta(self, session: requests.Session, name: str) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.get(session, TUF_PATH + name))["signed"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{name}: not TUF metadata ({exc})") from None
        return data

    def offers(self, session: requests.Session) -> list[PackOffer]:
        """The metadata walk of a refresh: what the repository offers."""
        self.get(session, f"{TUF_PATH}{self.root_version + 1}.root.json", missing_ok=True)
        timestamp = self.meta(session, "timestamp.json")
        snapshot = self.meta(
            session, f"{timestamp['meta']['snapshot.json']['version']}.snapshot.json"
        )
        found: list[PackOffer] = []
        for name, info in sorted(snapshot["meta"].items()):
            role = self.meta(session, f"{info['version']}.{name}")
            for path, target in role.get("targets", {}).items():
                offer = PackOffer.from_target(
                    path, target["length"], target["hashes"], target.get("custom")
                )
                if offer is not None:
                    found.append(offer)
        return found

    def sync(
        self, session: requests.Session, gate: str, pack: str, installed: Installed | None
    ) -> Installed | None:
        """A sync cycle: the newest offer of `pack` for `gate`, downloaded when newer
        than `installed`; returns what is installed afterwards."""
        mine = [o for o in self.offers(session) if o.pack == pack and o.addressed_to([gate])]
        offer = max(mine, key=lambda o: o.seq, default=None)
        if offer is None or (installed is not None and offer.version <= installed.version):
            return installed
        folder, _, name = offer.path.rpartition("/")
        manifest = self.get(session, f"{TARGETS_PATH}{folder}/{offer.sha256}.{name}")
        if hashlib.sha256(manifest).hexdigest() != offer.sha256:
            raise ValueError(f"{offer.path}: not the manifest the targets list")
        try:
            files = {str(f["sha256"]) for f in json.loads(manifest)["files"]}
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{offer.path}: unreadable manifest ({exc})") from None
        have = installed.blobs if installed is not None else frozenset()
        for digest in sorted(files - have):
            blob = self.get(session, BLOB_PATH + digest)
            if hashlib.sha256(blob).hexdigest() != digest:
                raise ValueError(f"blob {digest}: wrong bytes")
        return Installed(offer.version, offer.sha256, frozenset(files))


def root_version(session: requests.Session, base_url: str) -> int:
    """The newest root the repository serves (N.root.json up to the first 404)."""
    n = 1
    while session.get(f"{base_url.rstrip('/')}{TUF_PATH}{n + 1}.root.json", timeout=30).ok:
        n += 1
    return n
