"""The built pack: manifest, per-page documents and per-language strings.

A built pack is a directory with `manifest.json` and blobs named by their
SHA-256 (`blobs/sha256/<hex>`). The manifest lists every file of the pack
by logical path (`pages/welcome/lo.json`, `media/map.png`,
`fonts/Laoo-Regular.ttf`) with its hash and length; an installed pack on a
kiosk holds the same files at their logical paths.

Text in page documents is already segmented into tokens: a token is the
smallest piece the UI may put on a line (a word, with its trailing space),
in one script, so that

* the UI picks the font (and HarfBuzz script tag) per token, which is how
  a Lao line with a Latin phone number is drawn right, and
* lines break only between tokens, which is how Thai and Lao wrap between
  words (Kivy alone breaks inside them).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import (
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from kiosk.protocol.errors import ProtocolError
from kiosk.protocol.jsonfmt import canonical_json
from kiosk.protocol.languages import LANGUAGES, SCRIPTS
from kiosk.protocol.packbase import Model, valid_path, valid_sha
from kiosk.protocol.packbase import Token as Token
from kiosk.protocol.packbase import Tokens as Tokens
from kiosk.protocol.packvideo import Video as Video
from kiosk.protocol.packvideo import VideoEntry as VideoEntry
from kiosk.protocol.paths import check_pack_path

MANIFEST_SCHEMA: Final = 1
PAGE_SCHEMA: Final = 1
MANIFEST_NAME = "manifest.json"
#: where a built pack (and the server's blob store) keeps files by content: BLOB_DIR/<sha256 hex>
BLOB_DIR = "blobs/sha256"

PACK_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
PAGE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")

#: a manifest larger than this is refused before parsing
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
#: a pack may hold at most this many files
MAX_FILES = 20_000


class FileEntry(Model):
    path: str
    sha256: str
    length: Annotated[int, Field(ge=0)]

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        return valid_path(v)

    @field_validator("sha256")
    @classmethod
    def _sha(cls, v: str) -> str:
        return valid_sha(v)


class FontFiles(Model):
    regular: str
    bold: str

    @field_validator("regular", "bold")
    @classmethod
    def _path(cls, v: str) -> str:
        return valid_path(v)


class PageEntry(Model):
    """One page of the tree. Top-level pages (no parent) are the home tiles."""

    id: str
    parent: str | None = None
    #: plain title per language (the dashboard's and the reports' label)
    title: dict[str, str]
    #: page document per language (`pages/<id>/<lang>.json`)
    docs: dict[str, str]
    icon: str | None = None
    #: shown from this day (Asia/Ho_Chi_Minh), inclusive
    valid_from: date | None = None
    #: shown until this day (Asia/Ho_Chi_Minh), inclusive
    valid_until: date | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not PAGE_ID.match(v):
            raise ValueError(f"bad page id {v!r}")
        return v

    @field_validator("icon")
    @classmethod
    def _icon(cls, v: str | None) -> str | None:
        return None if v is None else valid_path(v)

    @field_validator("docs")
    @classmethod
    def _docs(cls, v: dict[str, str]) -> dict[str, str]:
        for path in v.values():
            valid_path(path)
        return v

    def visible_on(self, day: date) -> bool:
        """Whether the page is inside its validity window on `day`."""
        if self.valid_from is not None and day < self.valid_from:
            return False
        return not (self.valid_until is not None and day > self.valid_until)


class Manifest(Model):
    schema_version: Literal[1] = Field(alias="schema")
    id: str
    version: Annotated[int, Field(ge=1)]
    title: dict[str, str]
    languages: tuple[str, ...]
    default_language: str
    pages: tuple[PageEntry, ...]
    #: script -> font files (regular, bold)
    fonts: dict[str, FontFiles]
    #: per language: `i18n/<lang>.json` (segmented pack title, page titles, UI strings)
    strings: dict[str, str]
    #: images (and videos, see `videos`) cycled by the attract loop
    attract: tuple[str, ...] = ()
    files: tuple[FileEntry, ...]
    #: every video of the pack by path (left out of the JSON when empty, so packs
    #: without video keep the manifest they had)
    videos: dict[str, VideoEntry] = Field(default_factory=dict)

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not PACK_ID.match(v):
            raise ValueError(f"bad pack id {v!r}")
        return v

    @field_validator("attract")
    @classmethod
    def _attract(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for path in v:
            valid_path(path)
        return v

    @field_validator("videos")
    @classmethod
    def _videos(cls, v: dict[str, VideoEntry]) -> dict[str, VideoEntry]:
        for path in v:
            valid_path(path)
        return v

    @model_serializer(mode="wrap")
    def _compact(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if not data.get("videos"):
            data.pop("videos", None)
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Manifest:
        if not self.languages or len(set(self.languages)) != len(self.languages):
            raise ValueError("languages must be a non-empty list without repeats")
        for lang in self.languages:
            if lang not in LANGUAGES:
                raise ValueError(f"unknown language {lang!r}")
        if self.default_language not in self.languages:
            raise ValueError("default_language is not one of languages")
        for script in self.fonts:
            if script not in SCRIPTS:
                raise ValueError(f"unknown script {script!r}")
        if len(self.files) > MAX_FILES:
            raise ValueError(f"more than {MAX_FILES} files")
        paths = [f.path for f in self.files]
        if paths != sorted(set(paths)):
            raise ValueError("files must be sorted by path, without repeats")
        known = set(paths) | {MANIFEST_NAME}
        ids = [p.id for p in self.pages]
        if len(set(ids)) != len(ids):
            raise ValueError("page ids repeat")
        referenced: list[str] = list(self.strings.values()) + list(self.attract)
        for font in self.fonts.values():
            referenced += [font.regular, font.bold]
        for page in self.pages:
            if page.parent is not None and page.parent not in ids:
                raise ValueError(f"page {page.id!r} has unknown parent {page.parent!r}")
            referenced += list(page.docs.values())
            if page.icon:
                referenced.append(page.icon)
        for path, video in self.videos.items():
            referenced += [path, video.poster, *video.captions.values()]
        missing = sorted(set(referenced) - known)
        if missing:
            raise ValueError(f"files referenced but not listed: {missing[:5]}")
        return self

    def file(self, path: str) -> FileEntry:
        for entry in self.files:
            if entry.path == path:
                return entry
        raise KeyError(path)

    @property
    def total_bytes(self) -> int:
        return sum(f.length for f in self.files)

    def top_pages(self) -> tuple[PageEntry, ...]:
        return tuple(p for p in self.pages if p.parent is None)

    def children(self, page_id: str) -> tuple[PageEntry, ...]:
        return tuple(p for p in self.pages if p.parent == page_id)

    def to_bytes(self) -> bytes:
        return canonical_json(self.model_dump(mode="json", by_alias=True))


def parse_manifest(data: bytes) -> Manifest:
    """Parse and validate manifest bytes; raise ProtocolError with the reason."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise ProtocolError(f"manifest is {len(data)} bytes, more than {MAX_MANIFEST_BYTES}")
    try:
        return Manifest.model_validate_json(data)
    except ValueError as exc:
        raise ProtocolError(f"invalid pack manifest: {_first_error(exc)}") from exc


# --- page documents -----------------------------------------------------------


class Heading(Model):
    type: Literal["heading"] = "heading"
    level: Annotated[int, Field(ge=1, le=3)]
    text: Tokens


class Paragraph(Model):
    type: Literal["paragraph"] = "paragraph"
    text: Tokens


class ListBlock(Model):
    type: Literal["list"] = "list"
    ordered: bool = False
    items: tuple[Tokens, ...]


class Image(Model):
    type: Literal["image"] = "image"
    src: str
    width: Annotated[int, Field(ge=1)]
    height: Annotated[int, Field(ge=1)]
    #: caption shown under the image (may be empty)
    caption: Tokens = ()

    @field_validator("src")
    @classmethod
    def _src(cls, v: str) -> str:
        return valid_path(v)


Block = Annotated[Heading | Paragraph | ListBlock | Image | Video, Field(discriminator="type")]


class PageDoc(Model):
    """One page in one language, as the UI draws it."""

    schema_version: Literal[1] = Field(alias="schema")
    page: str
    lang: str
    title: Tokens
    blocks: tuple[Block, ...]

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    def to_bytes(self) -> bytes:
        return canonical_json(self.model_dump(mode="json", by_alias=True))


class Strings(Model):
    """Per-language strings of a pack, segmented: pack title, page titles, UI labels."""

    schema_version: Literal[1] = Field(alias="schema")
    lang: str
    pack_title: Tokens
    pages: dict[str, Tokens]
    ui: dict[str, Tokens]

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    def to_bytes(self) -> bytes:
        return canonical_json(self.model_dump(mode="json", by_alias=True))


def parse_page(data: bytes) -> PageDoc:
    try:
        return PageDoc.model_validate_json(data)
    except ValueError as exc:
        raise ProtocolError(f"invalid page document: {_first_error(exc)}") from exc


def parse_strings(data: bytes) -> Strings:
    try:
        return Strings.model_validate_json(data)
    except ValueError as exc:
        raise ProtocolError(f"invalid strings document: {_first_error(exc)}") from exc


def plain_text(tokens: Tokens) -> str:
    return "".join(tok.t for tok in tokens)


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
    return str(exc)


def pack_file(root: Path, manifest: Manifest, rel: str) -> Path:
    """Where a pack file lives under `root`: at its logical path (an installed
    pack) or, in a freshly built pack, as `blobs/sha256/<hex>`."""
    direct = root / check_pack_path(rel)
    if direct.is_file():
        return direct
    return root / BLOB_DIR / manifest.file(rel).sha256
