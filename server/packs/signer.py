"""`bgk sign EVENT`: a publisher signs a signing event on their own machine.

The signer trusts only this tool and their key (tuf-on-ci's rule):

1. fetch the event: the proposed `publishers` metadata (exact bytes), the
   frozen sources and the build settings;
2. rebuild the pack locally from those sources (the build is reproducible)
   and refuse unless the manifest's SHA-256 and length equal what the
   metadata lists for the event's target: a server that built other bytes
   (or swapped a blob) is not signed for;
3. check the metadata changes nothing else than that pack (older versions of
   the same pack it covers may go) and show what is signed: pack, version,
   audience, pages changed per language, who asked and approved;
4. open the personal key with its passphrase (or the hardware token with its
   PIN: tokenkey.py), sign the metadata's canonical bytes, upload the signature.
"""

from __future__ import annotations

import base64
import hashlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from securesystemslib.signer import Signer
from tuf.api.metadata import Metadata, Targets

from kiosk.protocol.delivery import PackOffer
from kiosk.protocol.pack import Manifest, parse_manifest
from server.errors import RequestWrong
from server.packs.errors import PackError
from server.packs.signing_events import extract_source


class SignRefused(PackError, RequestWrong):
    """`bgk sign` will not sign: the words say why (a mismatch means: tell the DoIC)."""


@dataclass(frozen=True)
class Fetched:
    event: dict[str, Any]
    metadata: bytes
    previous: bytes | None
    source: bytes
    settings: bytes


class Client:
    """The server's signing API with a publisher's token."""

    def __init__(self, server: str, token: str, timeout: float = 60) -> None:
        self.base = server.rstrip("/") + "/api/v1/signing"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.timeout = timeout

    def _get(self, path: str) -> requests.Response:
        try:
            r = self.session.get(self.base + path, timeout=self.timeout)
        except requests.RequestException as exc:
            raise SignRefused(f"cannot reach the server ({exc}): check --server") from None
        if r.status_code != 200:
            raise SignRefused(f"the server answered {r.status_code}: {_error(r)}")
        return r

    def fetch(self, event_id: str) -> Fetched:
        body = self._get(f"/{event_id}").json()
        previous = body.get("previous_manifest")
        return Fetched(
            body["event"],
            base64.b64decode(body["metadata"]),
            None if previous is None else base64.b64decode(previous),
            self._get(f"/{event_id}/source.tar").content,
            self._get(f"/{event_id}/settings.toml").content,
        )

    def upload(self, event_id: str, keyid: str, sig: str) -> dict[str, Any]:
        try:
            r = self.session.post(
                f"{self.base}/{event_id}/signatures",
                json={"keyid": keyid, "sig": sig},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise SignRefused(f"cannot reach the server ({exc}): nothing was signed") from None
        if r.status_code != 200:
            raise SignRefused(f"the server refused the signature: {_error(r)}")
        result: dict[str, Any] = r.json()
        return result


def _error(r: requests.Response) -> str:
    try:
        return str(r.json().get("error") or r.json().get("detail") or r.text[:200])
    except ValueError:
        return r.text[:200]


def rebuild(fetched: Fetched, work: Path, font_cache: Path | None = None) -> bytes:
    """The manifest of the pack rebuilt here from the event's sources."""
    from datetime import date

    from server.packs.build import build_pack
    from server.publisher import load_settings

    src = extract_source(fetched.source, work / "src")
    (work / "settings.toml").write_bytes(fetched.settings)
    edition = date.fromisoformat(str(fetched.event["edition"]))
    build_pack(
        src, work / "built", version=int(fetched.event["version"]), today=edition,
        edition=edition, settings=load_settings(work / "settings.toml"), font_cache=font_cache,
    )  # fmt: skip
    return (work / "built" / "manifest.json").read_bytes()


def check_proposal(fetched: Fetched, manifest_bytes: bytes) -> PackOffer:
    """The event's target, after checking the metadata lists exactly our rebuild."""
    md: Metadata[Targets] = Metadata.from_bytes(fetched.metadata)
    event = fetched.event
    target = md.signed.targets.get(str(event["target"]))
    if target is None:
        raise SignRefused(f"the metadata does not list {event['target']}: not signed")
    digest = hashlib.sha256(manifest_bytes).hexdigest()
    if target.hashes.get("sha256") != digest or target.length != len(manifest_bytes):
        raise SignRefused(
            f"the server's build of {event['pack']} version {event['version']} differs from the "
            f"one rebuilt here from the same sources (server {target.hashes.get('sha256', '?')[:16]}"
            f", here {digest[:16]}): NOT signed; tell the DoIC (the server may be compromised)"
        )
    offer = PackOffer.from_target(
        target.path, target.length, target.hashes, target.unrecognized_fields.get("custom")
    )
    if offer is None or offer.pack != event["pack"] or offer.version != int(event["version"]):
        raise SignRefused(
            "the metadata's entry for the pack is not what the event says: not signed"
        )
    if sorted(offer.to) != sorted(event["to"]):
        raise SignRefused("the metadata's audience is not the event's: not signed")
    for path, other in md.signed.targets.items():
        if path == target.path:
            continue
        known = PackOffer.from_target(
            path, other.length, other.hashes, other.unrecognized_fields.get("custom")
        )
        if known is None or (known.pack == offer.pack and known.version >= offer.version):
            raise SignRefused(f"the metadata also lists {path}, which this event does not explain")
    return offer


def pages_changed(old: Manifest | None, new: Manifest) -> dict[str, list[str]]:
    """Per language, the pages whose text is new or changed (page ids)."""
    old_files = {f.path: f.sha256 for f in old.files} if old else {}
    new_files = {f.path: f.sha256 for f in new.files}
    old_docs = {(p.id, lang): doc for p in old.pages for lang, doc in p.docs.items()} if old else {}
    out: dict[str, list[str]] = {lang: [] for lang in new.languages}
    for page in new.pages:
        for lang, doc in page.docs.items():
            before = old_docs.get((page.id, lang))
            if before is None or old_files.get(before) != new_files.get(doc):
                out.setdefault(lang, []).append(page.id)
    return out


def summary(fetched: Fetched, offer: PackOffer, manifest_bytes: bytes) -> str:
    event = fetched.event
    new = parse_manifest(manifest_bytes)
    old = parse_manifest(fetched.previous) if fetched.previous else None
    changed = pages_changed(old, new)
    lines = [
        f"pack {offer.pack} version {offer.version} "
        f"(replaces {'version ' + str(old.version) if old else 'nothing: first version'})",
        f"for {', '.join(offer.to)}",
        f"asked by {event['requested_by']}; approved by "
        f"{', '.join(event.get('approved_by') or []) or 'nobody recorded'}",
        f"rebuilt here: manifest sha256 {offer.sha256} = the server's",
        "pages changed:",
    ]
    for lang, pages in changed.items():
        lines.append(f"  {lang}: {', '.join(pages) if pages else '(none)'}")
    signed = ", ".join(s["name"] for s in event.get("signatures", {}).values()) or "nobody yet"
    lines.append(f"signed so far by: {signed}")
    return "\n".join(lines)


def sign_event(
    client: Client,
    event_id: str,
    open_signer: Callable[[], Signer],
    *,
    confirm: Callable[[str], bool],
    say: Callable[[str], None],
    font_cache: Path | None = None,
) -> dict[str, Any]:
    fetched = client.fetch(event_id)
    if fetched.event.get("state") != "open":
        raise SignRefused(
            f"signing event {event_id} is {fetched.event.get('state')}: nothing to sign"
        )
    with tempfile.TemporaryDirectory(prefix="bgk-sign-") as tmp:
        say(f"rebuilding {fetched.event['pack']} version {fetched.event['version']} here ...")
        manifest_bytes = rebuild(fetched, Path(tmp), font_cache)
    offer = check_proposal(fetched, manifest_bytes)
    say(summary(fetched, offer, manifest_bytes))
    if not confirm("sign this?"):
        raise SignRefused("not signed (you said no)")
    signer = open_signer()  # the key file's passphrase or the token's PIN is asked now
    md: Metadata[Targets] = Metadata.from_bytes(fetched.metadata)
    signature = signer.sign(md.signed_bytes)
    return client.upload(event_id, signature.keyid, signature.signature)
