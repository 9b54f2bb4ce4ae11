"""A draft version frozen and built: what a review will show and a publisher will
sign. The sources are exactly one stored version (its commit id), the build is
`bgk pack build`'s (reproducible: the same version, settings and edition date
give the same manifest bytes), and the manifest's SHA-256 names the result, so
whoever rebuilds or publishes it later can check they have the same pack.

A review's build is one (review_build.py): "Request publication" freezes a
version with `build_version`, and `bgk server publish --review N` or the
review's signing event checks the manifest hash before anything goes out.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from server.packs.build import build_pack
from server.publisher import Settings
from server.workspace.drafts import DraftStore


@dataclass(frozen=True)
class FrozenBuild:
    pack: str
    #: the draft version (git commit id) the sources are
    commit: str
    #: a copy of that version's files (a content_packs/<pack>/ folder)
    source: Path
    #: the built pack (manifest.json + blobs)
    built: Path
    #: SHA-256 of the built manifest.json's bytes
    manifest_sha256: str
    edition: date


def build_version(
    drafts: DraftStore,
    pack: str,
    commit: str,
    out: Path,
    *,
    edition: date,
    settings: Settings | None = None,
    version: int | None = None,
    font_cache: Path | None = None,
) -> FrozenBuild:
    """Copy version `commit` of `pack` to out/source and build it into out/pack."""
    checkout = drafts.checkout(pack, commit)
    source, built = out / "source", out / "pack"
    if source.exists():
        shutil.rmtree(source)
    shutil.copytree(checkout, source)
    build_pack(source, built, version=version, today=edition, font_cache=font_cache,
               settings=settings, edition=edition)  # fmt: skip
    digest = hashlib.sha256((built / "manifest.json").read_bytes()).hexdigest()
    return FrozenBuild(pack, commit, source, built, digest, edition)
