"""What a review changes against the published version of its pack.

Both sides are built packs: the review's build (DATA/reviews/<id>/pack) and the
newest published version of the pack (its signed manifest in the TUF repository,
its files in the blob store). Comparing builds, not sources, shows exactly what
the kiosks would change, whoever published the old version and however: per page
and language the text (the page's title and blocks, as the kiosk draws them) line
by line; media files added, changed or removed. The "before" pictures of changed
pages need the published version's sources: known when it was published from an
earlier review (reviews.published_commit), else the page says so.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.protocol.errors import ProtocolError
from kiosk.protocol.pack import (
    BLOB_DIR,
    MANIFEST_NAME,
    Heading,
    Image,
    ListBlock,
    Manifest,
    Paragraph,
    parse_manifest,
    parse_page,
    plain_text,
)
from server.config import ServerConfig
from server.packs import reviews
from server.store import Store

#: media shown as thumbnails (the rest is listed by name)
PICTURES = (".png", ".jpg", ".jpeg")


@dataclass(frozen=True)
class Line:
    #: same | del | add
    kind: str
    text: str


@dataclass(frozen=True)
class PageChange:
    page: str
    lang: str
    #: added | removed | changed
    status: str
    title: str
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class MediaChange:
    path: str
    #: added | removed | changed
    status: str
    picture: bool


@dataclass
class ReviewDiff:
    #: the published version compared with (None: nothing published yet)
    base_version: int | None
    #: its draft version, when it came from a published review (before pictures)
    base_commit: str | None
    pages: list[PageChange] = field(default_factory=list)
    media: list[MediaChange] = field(default_factory=list)
    unchanged: int = 0


@dataclass(frozen=True)
class Side:
    manifest: Manifest
    folder: Path  # where blobs named by hash are

    def read(self, path: str) -> bytes:
        return (self.folder / self.manifest.file(path).sha256).read_bytes()


def published_side(config: ServerConfig, pack: str) -> tuple[Side, str] | None:
    """The newest published version of `pack` and its manifest's SHA-256."""
    from server.packs.delegation import published_offers
    from server.packs.publish import target_file_path
    from server.packs.signing import open_repository

    repo = open_repository(config)
    offers = [o for o in published_offers(repo) if o.pack == pack]
    if not offers:
        return None
    newest = max(offers, key=lambda o: o.version)
    data = target_file_path(repo.dir, newest.path, newest.sha256).read_bytes()
    return Side(parse_manifest(data), config.blob_dir), hashlib.sha256(data).hexdigest()


def review_side(config: ServerConfig, review_id: int) -> Side:
    built = reviews.review_dir(config.data, review_id) / "pack"
    manifest = parse_manifest((built / MANIFEST_NAME).read_bytes())
    return Side(manifest, built / BLOB_DIR)


def page_lines(data: bytes) -> tuple[str, list[str]]:
    """A page document as the title and one line per block (headings marked with #)."""
    doc = parse_page(data)
    lines: list[str] = []
    for block in doc.blocks:
        if isinstance(block, Heading):
            lines.append("#" * block.level + " " + plain_text(block.text))
        elif isinstance(block, Paragraph):
            lines.append(plain_text(block.text))
        elif isinstance(block, ListBlock):
            lines += [f"- {plain_text(item)}" for item in block.items]
        elif isinstance(block, Image):
            lines.append(f"[{block.src}] {plain_text(block.caption)}".rstrip())
        else:
            lines.append(f"[{block.src}]")
    return plain_text(doc.title), lines


def line_diff(old: list[str], new: list[str]) -> tuple[Line, ...]:
    out: list[Line] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            out += [Line("same", t) for t in old[a1:a2]]
        else:
            out += [Line("del", t) for t in old[a1:a2]]
            out += [Line("add", t) for t in new[b1:b2]]
    return tuple(out)


def _docs(m: Manifest) -> dict[tuple[str, str], str]:
    return {(p.id, lang): path for p in m.pages for lang, path in p.docs.items()}


def compare(config: ServerConfig, store: Store, review: reviews.Review) -> ReviewDiff:
    """The review's build against the newest published version of its pack."""
    new = review_side(config, review.id)
    old_found = published_side(config, review.pack)
    old = old_found[0] if old_found else None
    base_commit = reviews.published_commit(store, review.pack, old_found[1]) if old_found else None
    diff = ReviewDiff(None if old is None else old.manifest.version, base_commit)
    new_docs, old_docs = _docs(new.manifest), _docs(old.manifest) if old else {}
    order = [p.id for p in new.manifest.pages]
    keys = sorted(set(new_docs) | set(old_docs),
                  key=lambda k: (order.index(k[0]) if k[0] in order else len(order), k))  # fmt: skip
    for key in keys:
        page, lang = key
        a = old_docs.get(key)
        b = new_docs.get(key)
        if a and b and old and old.manifest.file(a).sha256 == new.manifest.file(b).sha256:
            diff.unchanged += 1
            continue
        try:
            old_title, old_lines = page_lines(old.read(a)) if (old and a) else ("", [])
            new_title, new_lines = page_lines(new.read(b)) if b else ("", [])
        except (OSError, ProtocolError, KeyError) as exc:
            old_title, old_lines, new_title, new_lines = "", [], "", [f"(unreadable: {exc})"]
        status = "added" if a is None else "removed" if b is None else "changed"
        lines = line_diff([f"# {old_title}", *old_lines] if a else [],
                          [f"# {new_title}", *new_lines] if b else [])  # fmt: skip
        diff.pages.append(PageChange(page, lang, status, new_title or old_title, lines))
    diff.media = media_changes(old.manifest if old else None, new.manifest)
    return diff


def media_changes(old: Manifest | None, new: Manifest) -> list[MediaChange]:
    def media(m: Manifest | None) -> dict[str, str]:
        if m is None:
            return {}
        return {f.path: f.sha256 for f in m.files if f.path.startswith("media/")}

    a, b = media(old), media(new)
    out = []
    for path in sorted(set(a) | set(b)):
        if a.get(path) == b.get(path):
            continue
        status = "added" if path not in a else "removed" if path not in b else "changed"
        out.append(MediaChange(path, status, path.lower().endswith(PICTURES)))
    return out


def media_bytes(config: ServerConfig, review: reviews.Review, path: str, side: str) -> bytes:
    """A media file of the review's build (after) or of the published version (before)."""
    if side == "after":
        return review_side(config, review.id).read(path)
    found = published_side(config, review.pack)
    if found is None:
        raise KeyError(path)
    return found[0].read(path)
