"""`bgk pack site PACK -o DIR`: the pack as a static website travellers take away.

The same pages as the kiosk, in every language of the pack, from the built
(signed) pack — never from anything else — so the web copy says what the
kiosk says:

    DIR/index.html             each language's name, in its own language
    DIR/<lang>/index.html      the home: the top-level pages
    DIR/<lang>/<page>.html     a page (the QR code of a kiosk page leads here)
    DIR/media/…                the pack's pictures, sized for phones
    DIR/fonts/*.woff           the pack's own subset fonts, as web fonts
    DIR/site.css, offline.js, sw.js

Everything is relative: the folder works at the server's `/p/<pack>/`, on a
provincial portal, or from a disk. Nothing is loaded from elsewhere, no cookie
is set; once a page was read, its language reads offline (sw.js). Pages outside
their validity window on `day` are left out. Same pack and day: same bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Callable
from datetime import date
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont
from PIL import Image as PILImage

from kiosk.protocol.errors import ProtocolError
from kiosk.protocol.languages import ENDONYMS, LANG_SCRIPT
from kiosk.protocol.pack import (
    MANIFEST_NAME,
    Image,
    Manifest,
    PageDoc,
    Strings,
    Video,
    parse_manifest,
    parse_page,
    parse_strings,
    plain_text,
)
from server.errors import RequestWrong
from server.packs.errors import OutputError, PackError
from server.packs.fileio import swap_in_folder
from server.packs.site_html import SiteContext, chooser_html, home_html, page_html

STATIC = Path(__file__).resolve().parent / "site_static"
#: widest picture the site serves (a phone's screen at twice its CSS pixels)
PHONE_WIDTH = 960
PHONE_HEIGHT = 1400


class SiteError(PackError, RequestWrong):
    """The pack cannot be made into a site (not a built pack, a broken file)."""


Reader = Callable[[str], bytes]


def blob_reader(root: Path, manifest: Manifest, blob_dir: Path | None = None) -> Reader:
    """Read a pack file by logical path from a built pack (or a blob store)."""
    blobs = blob_dir if blob_dir is not None else root / "blobs" / "sha256"

    def read(rel: str) -> bytes:
        try:
            entry = manifest.file(rel)
        except KeyError:
            raise SiteError(f"{rel} is not in the pack's manifest") from None
        data = (blobs / entry.sha256).read_bytes()
        if hashlib.sha256(data).hexdigest() != entry.sha256 or len(data) != entry.length:
            raise SiteError(f"{rel} does not match the manifest: rebuild or re-fetch the pack")
        return data

    return read


def read_manifest(root: Path) -> Manifest:
    path = root / MANIFEST_NAME
    if not path.is_file():
        raise SiteError(
            f"{root} is not a built pack (no {MANIFEST_NAME}): give a `bgk pack build` output "
            "or a pack's source folder"
        )
    try:
        return parse_manifest(path.read_bytes())
    except ProtocolError as exc:
        raise SiteError(f"{root}: {exc}") from None


def visible_pages(manifest: Manifest, day: date) -> frozenset[str]:
    by_id = {p.id: p for p in manifest.pages}
    out = set()
    for page in manifest.pages:
        node = page
        while node.visible_on(day) and node.parent is not None:
            node = by_id[node.parent]
        if node.visible_on(day):
            out.add(page.id)
    return frozenset(out)


#: icons are drawn 48 CSS pixels wide: twice that for sharp phone screens
ICON_SIDE = 96


def phone_picture(
    data: bytes, box: tuple[int, int] = (PHONE_WIDTH, PHONE_HEIGHT)
) -> tuple[bytes, tuple[int, int]]:
    """A pack picture fitted into `box`, same format, no metadata."""
    with PILImage.open(io.BytesIO(data)) as img:
        img.load()
        kind = img.format or "PNG"
        scale = min(1.0, box[0] / img.width, box[1] / img.height)
        if scale >= 1.0:
            return data, img.size
        size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        alpha = "A" in img.getbands() or "transparency" in img.info
        rgb = img.convert("RGBA" if alpha else "RGB")
        small = rgb.resize(size, PILImage.Resampling.LANCZOS)
        buf = io.BytesIO()
        if kind == "JPEG":
            small.convert("RGB").save(buf, "JPEG", quality=82, optimize=True, progressive=True)
        else:
            if small.mode == "RGB":
                small = small.quantize(
                    colors=256, method=PILImage.Quantize.MEDIANCUT, dither=PILImage.Dither.NONE
                )
            small.save(buf, "PNG", optimize=True)
        return buf.getvalue(), size


def web_font(data: bytes) -> bytes:
    font = TTFont(io.BytesIO(data), recalcTimestamp=False)  # same font, same bytes
    font.flavor = "woff"
    buf = io.BytesIO()
    font.save(buf, reorderTables=True)
    return buf.getvalue()


def _font_css(manifest: Manifest, names: list[str]) -> str:
    rules = []
    for script in names:
        rules.append(
            f'@font-face {{ font-family: "bgk {script} names"; font-weight: 100 900; '
            f'font-display: swap; src: url("fonts/{script}-Names.woff") format("woff"); }}'
        )
    stack = ", ".join(['"bgk Latn"', *(f'"bgk {s} names"' for s in names), "sans-serif"])
    rules.append(f".langs a, .choose a {{ font-family: {stack}; }}")
    for script in sorted(manifest.fonts):
        for weight, name in ((400, "Regular"), (700, "Bold")):
            rules.append(
                f'@font-face {{ font-family: "bgk {script}"; font-weight: {weight}; '
                f'font-display: swap; src: url("fonts/{script}-{name}.woff") format("woff"); }}'
            )
    return "\n".join(rules) + "\n"


def subset_woff(data: bytes, text: str) -> bytes:
    """A web font of only the characters of `text`: the site's own text, or the language
    names and pack titles (a Lao reader's language switch must not download the whole
    Chinese font, which carries thousands of characters for urgent notices)."""
    font = TTFont(io.BytesIO(data), recalcTimestamp=False)
    options = subset.Options()
    options.layout_features = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    font.flavor = "woff"
    buf = io.BytesIO()
    font.save(buf, reorderTables=True)
    return buf.getvalue()


def style_files(
    manifest: Manifest,
    read: Reader,
    strings: dict[str, Strings] | None = None,
    text: str | None = None,
) -> dict[str, bytes]:
    """site.css with the pack's subset fonts as web fonts (fonts/<script>-<weight>.woff),
    cut down to the characters of `text` when given; with the strings, the small fonts
    of the language names (fonts/<script>-Names.woff)."""
    files: dict[str, bytes] = {}
    for script, pair in sorted(manifest.fonts.items()):
        for name, rel in (("Regular", pair.regular), ("Bold", pair.bold)):
            data = read(rel)
            woff = web_font(data) if text is None else subset_woff(data, text)
            files[f"fonts/{script}-{name}.woff"] = woff
    names: list[str] = []
    for lang in manifest.languages:
        script = LANG_SCRIPT[lang]
        if strings is None or script == "Latn" or script not in manifest.fonts:
            continue
        text = ENDONYMS[lang] + plain_text(strings[lang].pack_title)
        files[f"fonts/{script}-Names.woff"] = subset_woff(read(manifest.fonts[script].bold), text)
        names.append(script)
    css = _font_css(manifest, names) + (STATIC / "site.css").read_text(encoding="utf-8")
    files["site.css"] = css.encode("utf-8")
    return files


def site_files(manifest: Manifest, read: Reader, day: date) -> dict[str, bytes]:
    """Every file of the site by its path in the site folder."""
    strings = {lang: parse_strings(read(rel)) for lang, rel in manifest.strings.items()}
    docs: dict[tuple[str, str], PageDoc] = {}
    for page in manifest.pages:
        for lang, rel in page.docs.items():
            docs[(page.id, lang)] = parse_page(read(rel))
    visible = visible_pages(manifest, day)
    files: dict[str, bytes] = {}
    pictures: dict[str, tuple[int, int]] = {}
    used: dict[str, set[str]] = {lang: set() for lang in manifest.languages}
    for (page_id, lang), doc in docs.items():
        if page_id in visible:
            used[lang] |= {b.src for b in doc.blocks if isinstance(b, Image)}
            # a video is shown by its poster: phones over a border data plan get no video
            used[lang] |= {b.poster for b in doc.blocks if isinstance(b, Video)}
    icons = {p.icon for p in manifest.pages if p.icon and p.id in visible}
    for rel in sorted(set().union(*used.values()) | icons):
        box = (
            (ICON_SIDE, ICON_SIDE)
            if rel in icons and not any(rel in u for u in used.values())
            else (PHONE_WIDTH, PHONE_HEIGHT)
        )
        files[rel], pictures[rel] = phone_picture(read(rel), box)
    ctx = SiteContext(manifest, strings, visible, pictures)
    files["offline.js"] = (STATIC / "offline.js").read_bytes()
    files["favicon.svg"] = (STATIC / "favicon.svg").read_bytes()
    files["index.html"] = chooser_html(ctx).encode("utf-8")
    html: dict[str, list[str]] = {}
    for lang in manifest.languages:
        files[f"{lang}/index.html"] = home_html(ctx, lang).encode("utf-8")
        html[lang] = [f"{lang}/index.html"]
        for page in manifest.pages:
            if page.id in visible:
                path = f"{lang}/{page.id}.html"
                files[path] = page_html(ctx, page, docs[(page.id, lang)]).encode("utf-8")
                html[lang].append(path)
    # the fonts keep the characters the pages show (and the breadcrumb's separator)
    shown = {"›"} | {ch for rel, data in files.items() if rel.endswith(".html")
                     for ch in data.decode("utf-8")}  # fmt: skip
    fonts = style_files(manifest, read, strings, "".join(sorted(shown)))
    files |= fonts
    per_lang: dict[str, list[str]] = {}
    for lang, pages in html.items():
        # the fonts a reader of this language needs: Latin, its own, and the
        # small ones of the language names
        own = {"Latn", LANG_SCRIPT[lang]}
        needed = sorted(
            p
            for p in fonts
            if p.startswith("fonts/")
            and (p.endswith("-Names.woff") or p.split("/")[1].split("-")[0] in own)
        )
        per_lang[lang] = pages + sorted(used[lang] | icons) + needed
    shared = ["./", "index.html", "site.css", "offline.js", "favicon.svg"]
    sw = (STATIC / "sw.js").read_text(encoding="utf-8")
    sw = sw.replace("__PREFIX__", f"bgk-site-{manifest.id}-")
    sw = sw.replace("__VERSION__", f"v{manifest.version}-{day.isoformat()}")
    listing = json.dumps({"shared": shared, "languages": per_lang}, ensure_ascii=False, indent=1)
    files["sw.js"] = sw.replace("__FILES__", listing).encode("utf-8")
    return files


def write_site(out: Path, files: dict[str, bytes]) -> None:
    """Write into a fresh folder beside `out`, then swap it in (a reader never
    sees half a site). `out` must be new, empty, or an earlier site."""
    if out.exists() and not (out / "sw.js").is_file() and (not out.is_dir() or any(out.iterdir())):
        raise OutputError(f"{out} exists and is not a pack site: choose an empty or new folder")

    def fill(tmp: Path) -> None:
        for rel, data in sorted(files.items()):
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        for folder in (p for p in tmp.rglob("*") if p.is_dir()):
            os.chmod(folder, 0o755)

    swap_in_folder(out, fill)


def render_site(pack: Path, out: Path, day: date, blob_dir: Path | None = None) -> Manifest:
    """The built pack in `pack` (its blobs there, or in `blob_dir`) as a site in `out`."""
    manifest = read_manifest(pack)
    try:
        files = site_files(manifest, blob_reader(pack, manifest, blob_dir), day)
    except (OSError, ProtocolError) as exc:
        raise SiteError(f"cannot read the pack in {pack}: {exc}") from None
    write_site(out, files)
    return manifest
