"""The pack the UI plays, read completely before it is shown.

`load_pack` reads a pack (installed: files at logical paths under the
`current` symlink; freshly built: blobs named by SHA-256) and checks every
file's length and hash and every document, so that a pack that would fail
half-way through a traveller's session is refused before it replaces the
one on screen. It runs in a background thread: no Kivy here.

Fonts and pictures are handed to Kivy by file name, and Kivy picks the
loader by the extension and caches by the name. So each one is reached
through a link named `<sha256>.<ext>` in a folder of the UI process: a new
pack with a changed font never gets the old one from Kivy's caches, and a
blob without extension still loads. The links of each pack live in their
own sub-folder (`<link_dir>/<pack key>/`), so removing an old pack never
leaves the one on screen with a dangling link.

Page documents are all parsed and checked once, then kept as the bytes they
were read as (an eighteenth of the size of the parsed models) and parsed
again when a page is drawn, the last few kept parsed (`PageDocs`): memory
grows with the pages a traveller opens, not with the size of the pack.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePosixPath

from kiosk.protocol.errors import ProtocolError
from kiosk.protocol.glyphs import FALLBACK_FONT_DIR
from kiosk.protocol.pack import (
    MANIFEST_NAME,
    MAX_MANIFEST_BYTES,
    Image,
    Manifest,
    PageDoc,
    PageEntry,
    Strings,
    Token,
    Tokens,
    pack_file,
    parse_manifest,
    parse_page,
    parse_strings,
)
from kiosk.ui.errors import PackLoadError

_CHUNK = 1 << 20


#: page documents kept parsed (the pages a traveller goes back and forth between)
PARSED_DOCS = 6


class PageDocs(Mapping[tuple[str, str], PageDoc]):
    """(page id, language) -> PageDoc, from document bytes already checked by `load_pack`;
    the `keep` most recently used are kept parsed."""

    def __init__(self, data: Mapping[tuple[str, str], bytes], keep: int = PARSED_DOCS) -> None:
        self._data = dict(data)
        self._keep = max(1, keep)
        self._parsed: OrderedDict[tuple[str, str], PageDoc] = OrderedDict()

    def __getitem__(self, key: tuple[str, str]) -> PageDoc:
        doc = self._parsed.get(key)
        if doc is not None:
            self._parsed.move_to_end(key)
            return doc
        doc = parse_page(self._data[key])
        self._parsed[key] = doc
        while len(self._parsed) > self._keep:
            self._parsed.popitem(last=False)
        return doc

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    @property
    def parsed(self) -> int:
        """How many documents are held parsed now."""
        return len(self._parsed)


@dataclass(frozen=True)
class LoadedPack:
    root: Path
    manifest: Manifest
    strings: Mapping[str, Strings]
    docs: PageDocs
    #: logical path -> a name Kivy can open (fonts, pictures)
    paths: Mapping[str, Path]
    #: what `current` pointed to when this was read (see pack_identity)
    identity: str
    #: the folder of this pack's links (see the module's docstring)
    link_dir: Path

    @property
    def id(self) -> str:
        return self.manifest.id

    @property
    def version(self) -> int:
        return self.manifest.version

    def language(self, lang: str | None) -> str:
        """`lang` when the pack has it, else the pack's default language."""
        if lang in self.manifest.languages:
            return str(lang)
        return self.manifest.default_language

    def page(self, page_id: str) -> PageEntry | None:
        for page in self.manifest.pages:
            if page.id == page_id:
                return page
        return None

    def visible(self, day: date) -> list[PageEntry]:
        """Pages shown on `day`: inside their window, and so is every parent."""
        by_id = {p.id: p for p in self.manifest.pages}
        out = []
        for page in self.manifest.pages:
            node: PageEntry | None = page
            ok = True
            while node is not None:
                if not node.visible_on(day):
                    ok = False
                    break
                node = by_id.get(node.parent) if node.parent else None
            if ok:
                out.append(page)
        return out

    def doc(self, page_id: str, lang: str) -> PageDoc:
        return self.docs[(page_id, self.language(lang))]

    def ui(self, key: str, lang: str) -> Tokens:
        strings = self.strings[self.language(lang)]
        return strings.ui.get(key, ())

    def title(self, lang: str) -> Tokens:
        return self.strings[self.language(lang)].pack_title

    def page_title(self, page_id: str, lang: str) -> Tokens:
        return self.strings[self.language(lang)].pages.get(page_id, ())

    def qr(self, page_id: str, lang: str) -> Path | None:
        """The picture of the QR code leading to this page on the pack's web copy
        (None: the pack was built without a site URL)."""
        return self.paths.get(f"qr/{page_id}/{self.language(lang)}.png")

    def font(self, script: str, bold: bool) -> Path | None:
        files = self.manifest.fonts.get(script)
        if files is None:
            return None
        return self.paths[files.bold if bold else files.regular]

    def fallback_fonts(self) -> list[Path]:
        """The pack's symbol fallback fonts, in the order they are tried
        (kiosk.protocol.glyphs; packs built before them have none)."""
        return [self.paths[f.path] for f in self.manifest.files if _fallback_font(f.path)]


def pack_identity(root: Path) -> str | None:
    """What `root` (e.g. the `current` symlink) holds now; None when there is no pack.

    Changes when the agent switches the symlink or a pack is rebuilt in place.
    """
    try:
        real = root.resolve(strict=True)
        st = (real / MANIFEST_NAME).stat()
    except (OSError, RuntimeError):
        return None
    return f"{real}|{st.st_ino}|{st.st_size}|{st.st_mtime_ns}"


def load_pack(root: Path, link_dir: Path, *, verify: bool = True) -> LoadedPack:
    """Read and check the whole pack under `root`; raise PackLoadError saying why not."""
    identity = pack_identity(root)
    if identity is None:
        raise PackLoadError(f"no pack at {root} (no readable {MANIFEST_NAME})")
    real = root.resolve()
    try:
        data = _read(real / MANIFEST_NAME, MAX_MANIFEST_BYTES + 1)
        manifest = parse_manifest(data)
    except (OSError, ProtocolError) as exc:
        raise PackLoadError(f"pack at {root}: {exc}") from None
    files: dict[str, Path] = {}
    for entry in manifest.files:
        try:
            path = pack_file(real, manifest, entry.path)
            st = path.stat()
        except OSError:
            raise _fail(manifest, f"{entry.path} is missing") from None
        if st.st_size != entry.length:
            raise _fail(
                manifest, f"{entry.path} has {st.st_size} bytes, the manifest says {entry.length}"
            )
        if verify and _sha256(path) != entry.sha256:
            raise _fail(manifest, f"{entry.path} does not match its hash")
        files[entry.path] = path
    try:
        strings = {
            lang: parse_strings(files[rel].read_bytes()) for lang, rel in manifest.strings.items()
        }
        drawn: set[str] = {"Latn"}
        pictures: set[str] = set(manifest.attract) | {p.icon for p in manifest.pages if p.icon}
        doc_data: dict[tuple[str, str], bytes] = {}
        for page in manifest.pages:
            for lang, rel in page.docs.items():
                data = files[rel].read_bytes()
                doc = parse_page(data)  # every document is checked now, kept as bytes
                drawn |= {tok.s for tok in _doc_tokens(doc)}
                pictures |= {b.src for b in doc.blocks if isinstance(b, Image)}
                doc_data[(page.id, lang)] = data
    except (OSError, ProtocolError) as exc:
        raise _fail(manifest, f"{exc}") from None
    for lang in manifest.languages:
        if lang not in strings:
            raise _fail(manifest, f"no strings for language {lang}")
    for s in strings.values():
        drawn |= {tok.s for tok in _strings_tokens(s)}
    missing_fonts = sorted(drawn - set(manifest.fonts))
    if missing_fonts:
        raise _fail(manifest, f"no font for script(s) {', '.join(missing_fonts)}")
    # QR codes of the pages to their web copy (server/packs/qr.py), when the pack has them
    pictures |= {e.path for e in manifest.files if e.path.startswith("qr/")}
    unknown = sorted(p for p in pictures if p not in files)
    if unknown:
        raise _fail(manifest, f"pictures not in the pack: {', '.join(unknown[:3])}")
    kivy_names = {f.regular for f in manifest.fonts.values()}
    kivy_names |= {f.bold for f in manifest.fonts.values()} | pictures
    kivy_names |= {rel for rel in files if _fallback_font(rel)}
    own_dir = link_dir / hashlib.sha256(identity.encode()).hexdigest()[:16]
    try:
        paths = {
            rel: _link(own_dir, manifest.file(rel).sha256, rel, files[rel]) for rel in kivy_names
        }
    except OSError as exc:
        raise _fail(manifest, f"cannot prepare files for display: {exc}") from None
    return LoadedPack(real, manifest, strings, PageDocs(doc_data), paths, identity, own_dir)


def _fallback_font(rel: str) -> bool:
    return rel.startswith(FALLBACK_FONT_DIR) and rel.endswith((".ttf", ".otf"))


def _fail(manifest: Manifest, message: str) -> PackLoadError:
    return PackLoadError(
        f"pack {manifest.id} v{manifest.version}: {message}", (manifest.id, manifest.version)
    )


def _doc_tokens(doc: PageDoc) -> list[Token]:
    out: list[Token] = list(doc.title)
    for block in doc.blocks:
        if block.type == "list":
            for item in block.items:
                out.extend(item)
        elif block.type == "image":
            out.extend(block.caption)
        else:
            out.extend(block.text)
    return out


def _strings_tokens(strings: Strings) -> list[Token]:
    out: list[Token] = list(strings.pack_title)
    for tokens in (*strings.pages.values(), *strings.ui.values()):
        out.extend(tokens)
    return out


def _read(path: Path, limit: int) -> bytes:
    with path.open("rb") as fh:
        data = fh.read(limit)
    if len(data) >= limit:
        raise PackLoadError(f"{path.name} is larger than {limit - 1} bytes")
    return data


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def forget_links(link_dir: Path, keep: Iterable[LoadedPack]) -> None:
    """Remove the link folders of packs that are no longer on screen."""
    wanted = {pack.link_dir.name for pack in keep}
    if not link_dir.is_dir():
        return
    for sub in link_dir.iterdir():
        if sub.is_dir() and sub.name not in wanted:
            shutil.rmtree(sub, ignore_errors=True)


def _link(own_dir: Path, sha256: str, rel: str, target: Path) -> Path:
    suffix = PurePosixPath(rel).suffix.lower()
    link = own_dir / f"{sha256}{suffix}"
    own_dir.mkdir(parents=True, exist_ok=True)
    tmp = own_dir / f".{sha256}.{os.getpid()}.tmp"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    os.symlink(target.resolve(), tmp)
    os.replace(tmp, link)
    return link
