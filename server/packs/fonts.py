"""The fonts a pack carries: found on the build machine, subset with fontTools.

Per script, regular and bold: Noto Sans (Latin, Vietnamese), Noto Sans Lao,
Noto Sans Thai and the Simplified Chinese face of Noto Sans CJK (chosen by
name from the .ttc collection: its first face is Japanese and draws some
characters in Japanese forms). Debian: fonts-noto-core, fonts-noto-cjk.

Each font is cut down to what the pack needs plus a repertoire for urgent
notices, whose text arrives at run time:
* Latin: Basic Latin, Latin-1, Latin Extended-A/B, Vietnamese, and what the
  face has of punctuation, currency, letterlike symbols and number forms
  (№ ℃ ‰ ½ ₫ ₭);
* Thai and Lao: their whole Unicode blocks (the fonts are small);
* Chinese: the pack's characters plus the 3,755 common characters of
  GB 2312 level 1 (regular face only; bold carries the pack's text only).

Symbols no script font has (arrows, ⚠, ①, emoji) come from the fallback
chain of server.packs.symbols, subset with subset_font here
(`server.packs.symbols.fallback_fonts`).

Shaping needs more than the text's own characters: HarfBuzz draws Thai and
Lao SARA AM (ำ, ຳ) as NIKHAHIT + SARA AA, and may decompose other
characters, so every kept character brings its decomposition along.
"""

from __future__ import annotations

import hashlib
import io
import os
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

from server.packs.errors import FontMissingError

FONT_DIRS_ENV = "BGK_FONT_DIRS"
DEFAULT_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts")


@dataclass(frozen=True)
class FontSource:
    script: str
    weight: str  # "Regular" | "Bold"
    file_names: tuple[str, ...]
    #: for a collection: the face's full name
    face: str | None = None
    #: path in the pack, when not fonts/<script>-<weight>.<ext> (the fallback fonts)
    out: str | None = None
    #: the Debian package that brings it, when not the script's (DEBIAN_PACKAGE)
    package: str | None = None

    @property
    def out_name(self) -> str:
        if self.out is not None:
            return self.out
        ext = "otf" if self.script == "Hans" else "ttf"
        return f"fonts/{self.script}-{self.weight}.{ext}"


FONT_SOURCES: tuple[FontSource, ...] = (
    FontSource("Latn", "Regular", ("NotoSans-Regular.ttf",)),
    FontSource("Latn", "Bold", ("NotoSans-Bold.ttf",)),
    FontSource("Laoo", "Regular", ("NotoSansLao-Regular.ttf",)),
    FontSource("Laoo", "Bold", ("NotoSansLao-Bold.ttf",)),
    FontSource("Thai", "Regular", ("NotoSansThai-Regular.ttf",)),
    FontSource("Thai", "Bold", ("NotoSansThai-Bold.ttf",)),
    FontSource(
        "Hans",
        "Regular",
        ("NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf", "NotoSansSC-Regular.otf"),
        face="Noto Sans CJK SC",
    ),
    FontSource(
        "Hans",
        "Bold",
        ("NotoSansCJK-Bold.ttc", "NotoSansCJKsc-Bold.otf", "NotoSansSC-Bold.otf"),
        face="Noto Sans CJK SC Bold",
    ),
)

DEBIAN_PACKAGE = {
    "Latn": "fonts-noto-core",
    "Laoo": "fonts-noto-core",
    "Thai": "fonts-noto-core",
    "Hans": "fonts-noto-cjk",
}


def font_dirs() -> list[Path]:
    extra = os.environ.get(FONT_DIRS_ENV, "")
    dirs = [Path(p) for p in extra.split(os.pathsep) if p]
    return dirs + [Path(p) for p in DEFAULT_FONT_DIRS]


@cache
def _index(dirs: tuple[Path, ...]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for base in dirs:
        if not base.is_dir():
            continue
        for root, _dirs, files in os.walk(base):
            for name in files:
                found.setdefault(name, Path(root) / name)
    return found


def source(script: str, weight: str) -> FontSource:
    for src in FONT_SOURCES:
        if src.script == script and src.weight == weight:
            return src
    raise KeyError((script, weight))


def locate(src: FontSource) -> Path:
    index = _index(tuple(font_dirs()))
    for name in src.file_names:
        if name in index:
            return index[name]
    raise FontMissingError(
        f"no {src.script} {src.weight} font found (looked for {', '.join(src.file_names)}); "
        f"install the Debian package {src.package or DEBIAN_PACKAGE[src.script]} "
        f"or put the font in a folder named by ${FONT_DIRS_ENV}"
    )


def open_font(src: FontSource) -> TTFont:
    """The font as fontTools object, timestamps untouched (reproducible output)."""
    path = locate(src)
    if path.suffix.lower() in (".ttc", ".otc"):
        collection = TTCollection(str(path), lazy=True)
        for number, font in enumerate(collection.fonts):
            if font["name"].getDebugName(4) == src.face:
                return TTFont(
                    str(path), fontNumber=number, recalcTimestamp=False, recalcBBoxes=False
                )
        raise FontMissingError(f"{path} has no face named {src.face!r}")
    return TTFont(str(path), recalcTimestamp=False, recalcBBoxes=False)


def coverage(script: str) -> frozenset[int]:
    """Code points the script's regular font draws."""
    return coverage_of(source(script, "Regular"))


#: decompositions the HarfBuzz Thai/Lao shaper makes itself (not in Unicode's NFD)
SHAPER_DECOMPOSITIONS = {0x0E33: (0x0E4D, 0x0E32), 0x0EB3: (0x0ECD, 0x0EB2)}


def shaping_closure(chars: Iterable[int]) -> set[int]:
    """`chars` plus every character the shaper may draw them with."""
    out = set(chars)
    for cp in list(out):
        out.update(SHAPER_DECOMPOSITIONS.get(cp, ()))
        out.update(ord(c) for c in unicodedata.normalize("NFD", chr(cp)))
    return out


def font_chars(script: str, weight: str, text: Iterable[int]) -> set[int]:
    """What the pack's `script` font of `weight` keeps: its text, the notice
    repertoire (for bold Chinese only the text: the repertoire is large and
    notices are drawn in the regular face), and their shaping closure."""
    chars = set(text) | notice_repertoire(script, with_common_han=weight == "Regular")
    return shaping_closure(chars)


def notice_repertoire(script: str, *, with_common_han: bool = True) -> set[int]:
    """Characters kept for notices that arrive at run time."""
    ranges = {
        "Latn": [
            (0x20, 0x7E),
            (0xA0, 0x24F),
            (0x300, 0x323),
            (0x1EA0, 0x1EF9),
            (0x2000, 0x206F),
            (0x2070, 0x209F),
            (0x20A0, 0x20CF),
            (0x2100, 0x214F),
            (0x2150, 0x218F),
        ],
        "Thai": [(0x20, 0x20), (0x0E01, 0x0E5B)],
        "Laoo": [(0x20, 0x20), (0x0E81, 0x0EDF)],
        "Hans": [(0x20, 0x7E), (0x3000, 0x3011), (0xFF01, 0xFF5E)],
    }[script]
    chars = {cp for low, high in ranges for cp in range(low, high + 1)}
    if script == "Hans" and with_common_han:
        chars |= gb2312_level1()
    return chars


@cache
def gb2312_level1() -> frozenset[int]:
    """The 3,755 most common simplified characters (GB 2312 rows 16-55)."""
    chars: set[int] = set()
    for row in range(0xB0, 0xD8):
        for cell in range(0xA1, 0xFF):
            try:
                chars.add(ord(bytes((row, cell)).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return frozenset(chars)


#: bump when the subsetting options change, so cached subsets are not reused
SUBSET_RECIPE = "2"


def subset_font(src: FontSource, chars: Iterable[int], cache_dir: Path | None = None) -> bytes:
    """The font cut down to `chars` (plus what shaping needs), as bytes; deterministic.

    Subsetting the Chinese face takes seconds; with `cache_dir` the result is
    kept under a key made of the font file, the characters and the recipe,
    so rebuilding or previewing a pack whose text did not change is quick.
    """
    path = locate(src)
    wanted = sorted(cp for cp in set(chars) if cp in coverage_of(src))
    key = None
    if cache_dir is not None:
        stat = path.stat()
        h = hashlib.sha256(
            f"{SUBSET_RECIPE}|{path}|{stat.st_size}|{stat.st_mtime_ns}|{src.face}|".encode()
        )
        h.update(",".join(map(str, wanted)).encode())
        key = cache_dir / f"{src.script}-{src.weight}-{h.hexdigest()[:32]}"
        if key.is_file():
            return key.read_bytes()
    data = _subset(src, wanted)
    if key is not None:
        key.parent.mkdir(parents=True, exist_ok=True)
        tmp = key.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, key)
    return data


@cache
def coverage_of(src: FontSource) -> frozenset[int]:
    return frozenset(open_font(src).getBestCmap())


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bgk" / "fonts"


def _subset(src: FontSource, wanted: list[int]) -> bytes:
    font = open_font(src)
    options = subset.Options()
    options.layout_features = ["*"]  # keep every shaping feature (Thai/Lao marks)
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True  # tests compare drawn glyphs against .notdef
    options.hinting = False
    options.desubroutinize = False
    options.recalc_timestamp = False
    subsetter = subset.Subsetter(options=options)
    subsetter.populate(unicodes=wanted)
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()
