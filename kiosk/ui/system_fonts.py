"""The machine's own fonts, for a kiosk that has no pack yet.

A fresh kiosk shows "this kiosk is being prepared" in all five languages
before its first pack arrives, so it needs fonts the pack would otherwise
bring: the Noto fonts of Debian's fonts-noto-core and fonts-noto-cjk. The
Chinese font there is a collection (.ttc) whose first face is Japanese and
Kivy always opens the first face, so the Simplified Chinese face is copied
out of it once (fontTools, tables copied as they are) into a cache folder.
Its symbol fonts (Noto Sans Symbols, Symbols 2, Math; Symbola where
installed) are the fallback chain for a notice shown before a pack brings
its own. Whatever is missing is left out: the screen then shows fewer languages,
never a crash.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))

#: (script, bold) -> file names to look for, and the face to take from a collection
SYSTEM_FONTS: dict[tuple[str, bool], tuple[tuple[str, ...], str | None]] = {
    ("Latn", False): (("NotoSans-Regular.ttf",), None),
    ("Latn", True): (("NotoSans-Bold.ttf",), None),
    ("Laoo", False): (("NotoSansLao-Regular.ttf",), None),
    ("Laoo", True): (("NotoSansLao-Bold.ttf",), None),
    ("Thai", False): (("NotoSansThai-Regular.ttf",), None),
    ("Thai", True): (("NotoSansThai-Bold.ttf",), None),
    ("Hans", False): (
        ("NotoSansSC-Regular.otf", "NotoSansCJKsc-Regular.otf", "NotoSansCJK-Regular.ttc"),
        "Noto Sans CJK SC",
    ),
    ("Hans", True): (
        ("NotoSansSC-Bold.otf", "NotoSansCJKsc-Bold.otf", "NotoSansCJK-Bold.ttc"),
        "Noto Sans CJK SC Bold",
    ),
}

#: symbol fonts for characters no script font has (fonts-noto-core, fonts-symbola)
SYSTEM_FALLBACKS = (
    "NotoSansSymbols-Regular.ttf",
    "NotoSansSymbols2-Regular.ttf",
    "NotoSansMath-Regular.ttf",
    "Symbola_hint.ttf",
)


def find_system_fonts(
    cache_dir: Path, dirs: Iterable[Path] = FONT_DIRS
) -> dict[tuple[str, bool], Path]:
    """The system fonts found, by (script, bold); collections are unpacked into `cache_dir`."""
    index = _index(dirs)
    found: dict[tuple[str, bool], Path] = {}
    for key, (names, face) in SYSTEM_FONTS.items():
        for name in names:
            path = index.get(name)
            if path is None:
                continue
            if path.suffix.lower() in (".ttc", ".otc"):
                extracted = _face(path, face, cache_dir)
                if extracted is None:
                    continue
                path = extracted
            found[key] = path
            break
    return found


def find_system_fallbacks(dirs: Iterable[Path] = FONT_DIRS) -> list[Path]:
    """The machine's symbol fonts, in the order a pack's fallback chain has them."""
    index = _index(dirs)
    return [index[name] for name in SYSTEM_FALLBACKS if name in index]


def _index(dirs: Iterable[Path]) -> dict[str, Path]:
    index: dict[str, Path] = {}
    for base in dirs:
        if base.is_dir():
            for root, _dirs, files in os.walk(base):
                for name in files:
                    index.setdefault(name, Path(root) / name)
    return index


def _face(collection: Path, face: str | None, cache_dir: Path) -> Path | None:
    """The face named `face` of a font collection, as a font file of its own."""
    out = cache_dir / f"{collection.stem}-{(face or 'face').replace(' ', '')}.otf"
    if out.is_file() and out.stat().st_mtime_ns >= collection.stat().st_mtime_ns:
        return out
    try:
        from fontTools.ttLib import TTCollection, TTFont
    except ImportError:
        log.warning("fontTools is missing: cannot take %r out of %s", face, collection)
        return None
    try:
        names = [f["name"].getDebugName(4) for f in TTCollection(str(collection), lazy=True).fonts]
        number = names.index(face)
        font = TTFont(str(collection), fontNumber=number, lazy=True)
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        font.save(str(tmp), reorderTables=False)
        os.replace(tmp, out)
    except (OSError, ValueError, KeyError) as exc:
        log.warning("cannot take %r out of %s: %s", face, collection, exc)
        return None
    return out
