"""Fonts by script, text measuring and text textures (Kivy's SDL2_ttf with HarfBuzz).

Kivy has no font fallback and shapes with one script per label, so the UI
never hands Kivy mixed text: every run of a line (kiosk.ui.layout) is one
script, drawn with that script's font and HarfBuzz script tag
(`font_script_name`: 'Thai' and 'Laoo' place the marks of น้ำ / ນ້ຳ right;
the default 'Latn' does not). Kivy sets the tag on the (cached, shared)
font object when it renders, but measures with whatever tag the object had
last: so a font file is only ever used with its own script's tag, and each
font size is rendered once (a space) before it measures anything, so that
its widths and textures always agree.

Textures are white and tinted by the canvas colour, so one texture serves
every colour. Kivy renders text as RGBA, four bytes a pixel of which only
the coverage (alpha) differs; the UI keeps luminance+alpha textures, two
bytes a pixel, which draw the same (white where the text covers). Without a
GPU they live in the UI's own memory, on a Pi in the GPU's. They are kept
in a small LRU by a budget of bytes, which makes going back to a page
already seen cheap.

Kivy has no font fallback either, so the book does it per character: a
run's text is cut into segments, each grapheme cluster going to the first
font of the run's chain that has every character of it (the run's font,
its regular face, the Latin faces, then the pack's symbol fallback fonts:
arrows, ⚠, ①, emoji; kiosk.protocol.glyphs). Each segment is measured and
drawn with its own font, on the run's baseline. Runs whose font has all
their characters (nearly all) are one segment, found with one look-up per
character in the font's character map.

The pack's fonts are subsets: a bold face may lack a glyph the shaper needs
(HarfBuzz draws Thai ำ and Lao ຳ as two glyphs, ํ + า and ໍ + າ, which the
text itself never names). `covers` reads the font's character map, and text
the bold face cannot draw is drawn with the regular face of its script,
which the builder fills with the script's whole block.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kivy.core.text import Label as CoreLabel
from kivy.graphics.texture import Texture

from kiosk.protocol.glyphs import drawable
from kiosk.protocol.languages import SCRIPT_SHAPING_TAG
from kiosk.ui.layout import clusters
from kiosk.ui.system_fonts import find_system_fallbacks, find_system_fonts

log = logging.getLogger(__name__)

#: textures kept for reuse, in bytes of pixels (the screen's own are extra)
TEXTURE_BUDGET = 8 * 1024 * 1024
#: bytes a pixel of a text texture (luminance + alpha)
TEXT_PIXEL_BYTES = 2
_MEASURE_ENTRIES = 20_000
#: characters HarfBuzz's Thai and Lao shapers split in two (hb-ot-shaper-thai)
SPLIT_BY_SHAPER = {"\u0e33": "\u0e4d\u0e32", "\u0eb3": "\u0ecd\u0eb2"}

FontKey = tuple[str, bool]
_SPLIT = str.maketrans(SPLIT_BY_SHAPER)


#: HarfBuzz script tag of the symbol fallback fonts (symbols are script Common)
FALLBACK_TAG = "Zyyy"
_SEGMENT_ENTRIES = 20_000

#: a piece of a run drawn with one font: (text, font file)
Segment = tuple[str, str]


class FontBook:
    """The fonts of one pack (or the system's) by (script, bold), and the symbol
    fallback fonts tried, in order, for characters a run's own font lacks."""

    def __init__(self, fonts: Mapping[FontKey, Path], fallbacks: Sequence[Path] = ()) -> None:
        if not fonts:
            raise ValueError("a font book needs at least one font")
        self._fonts = {key: str(path) for key, path in fonts.items()}
        #: shaping tag per font file: a file is only ever used with one tag
        self._tags: dict[str, str] = {}
        for (script, _bold), font in sorted(self._fonts.items(), key=lambda kv: kv[0][0] != "Latn"):
            self._tags.setdefault(font, SCRIPT_SHAPING_TAG.get(script, "Latn"))
        self._fallbacks = [str(p) for p in fallbacks if str(p) not in self._tags]
        for font in self._fallbacks:
            self._tags.setdefault(font, FALLBACK_TAG)
        self._labels: dict[tuple[str, float], CoreLabel] = {}
        self._widths: dict[tuple[str, str, float], float] = {}
        self._metrics: dict[tuple[str, float], tuple[float, float]] = {}
        self._textures: OrderedDict[tuple[str, str, float], Texture] = OrderedDict()
        self._texture_bytes = 0
        self._cmaps: dict[str, frozenset[int] | None] = {}
        self._segments: dict[tuple[str, str, bool], tuple[Segment, ...]] = {}

    @property
    def scripts(self) -> set[str]:
        return {script for script, _bold in self._fonts}

    @property
    def fallbacks(self) -> list[str]:
        return list(self._fallbacks)

    def font_file(self, script: str, bold: bool) -> str:
        """The font drawing `script`: bold falls back to regular, a missing script to Latin."""
        for key in ((script, bold), (script, not bold), ("Latn", bold), ("Latn", not bold)):
            if key in self._fonts:
                return self._fonts[key]
        return next(iter(self._fonts.values()))

    def chain(self, script: str, bold: bool) -> tuple[str, ...]:
        """The fonts tried for a character of a `script` run, in order: the run's font,
        its regular face, the Latin faces, then the symbol fallbacks."""
        first = [self.font_file(script, bold), self.font_file(script, False)]
        latin = [self.font_file("Latn", bold), self.font_file("Latn", False)]
        return tuple(dict.fromkeys(first + latin + self._fallbacks))

    def covers(self, text: str, script: str, bold: bool) -> bool:
        """Whether the font for (script, bold) has every glyph drawing `text` needs."""
        return self._has(self.font_file(script, bold), text)

    def _has(self, font: str, text: str) -> bool:
        chars = self._cmap(font)
        if chars is None:  # unknown: a script's own font draws and hopes, a fallback does not
            return font not in self._fallbacks
        return chars.issuperset(map(ord, text.translate(_SPLIT)))

    def segments(self, text: str, script: str, bold: bool) -> tuple[Segment, ...]:
        """`text` of a `script` run as drawn: characters never drawn left out
        (kiosk.protocol.glyphs), each grapheme cluster with the first font of the
        chain that has all of it (none has it: the run's own font, a box)."""
        key = (text, script, bold)
        found = self._segments.get(key)
        if found is not None:
            return found
        primary = self.font_file(script, bold)
        shown = text
        out: list[Segment] = []
        if self._has(primary, text) or self._has(primary, shown := drawable(text)):
            out = [(shown, primary)] if shown else []
        else:
            chain = self.chain(script, bold)
            for cluster in clusters(shown):
                if cluster.isspace() and out and self._has(out[-1][1], cluster):
                    font = out[-1][1]
                else:
                    font = next((f for f in chain if self._has(f, cluster)), primary)
                if out and out[-1][1] == font:
                    out[-1] = (out[-1][0] + cluster, font)
                else:
                    out.append((cluster, font))
        if len(self._segments) > _SEGMENT_ENTRIES:
            self._segments.clear()
        self._segments[key] = found = tuple(out)
        return found

    def missing(self, text: str, script: str, bold: bool) -> list[str]:
        """Characters of `text` no font of the chain draws (each would be a box)."""
        chain = self.chain(script, bold)
        return [
            ch
            for ch in drawable(text)
            if not ch.isspace() and not any(self._has(f, ch) for f in chain)
        ]

    def _cmap(self, font: str) -> frozenset[int] | None:
        if font not in self._cmaps:
            try:
                self._cmaps[font] = character_map(font)
            except Exception as exc:  # no fontTools, or an unreadable font: no fallback
                log.warning("cannot read the character map of %s: %s", font, exc)
                self._cmaps[font] = None
        return self._cmaps[font]

    def script_tag(self, script: str) -> str:
        return SCRIPT_SHAPING_TAG.get(script, "Latn")

    def _label(self, font: str, size: float) -> CoreLabel:
        key = (font, size)
        label = self._labels.get(key)
        if label is None:
            label = CoreLabel(
                text="",
                font_name=font,
                font_size=size,
                font_script_name=self._tags.get(font, "Latn"),
                color=(1, 1, 1, 1),
            )
            label.text = " "
            _render(label)  # the shared font object takes the font's tag now
            label.text = ""
            self._labels[key] = label
        return label

    def measure(self, text: str, script: str, bold: bool, size: float) -> float:
        """Width of `text` drawn as a `script` run (its segments side by side)."""
        return sum(
            self.font_width(seg, font, size) for seg, font in self.segments(text, script, bold)
        )

    def font_width(self, text: str, font: str, size: float) -> float:
        key = (font, text, size)
        width = self._widths.get(key)
        if width is None:
            if len(self._widths) > _MEASURE_ENTRIES:
                self._widths.clear()
            width = float(self._label(font, size).get_extents(text)[0])
            self._widths[key] = width
        return width

    def metrics(self, script: str, bold: bool, size: float) -> tuple[float, float]:
        """(ascent, descent) in pixels, both positive, of the font of (script, bold)."""
        return self.font_metrics(self.font_file(script, bold), size)

    def font_metrics(self, font: str, size: float) -> tuple[float, float]:
        key = (font, size)
        found = self._metrics.get(key)
        if found is None:
            label = self._label(font, size)
            found = (float(label.get_ascent()), abs(float(label.get_descent())))
            self._metrics[key] = found
        return found

    def texture(self, text: str, script: str, bold: bool, size: float) -> Texture:
        """`text` in the font of (script, bold) alone (no fallback: Latin digits of a
        list number); runs of a text are drawn by segments (font_texture)."""
        return self.font_texture(text, self.font_file(script, bold), size)

    def font_texture(self, text: str, font: str, size: float) -> Texture:
        key = (font, text, size)
        tex = self._textures.get(key)
        if tex is not None:
            self._textures.move_to_end(key)
            return tex
        self._label(font, size)  # the font object has its tag before measuring
        label = CoreLabel(
            text=text,
            font_name=font,
            font_size=size,
            font_script_name=self._tags.get(font, "Latn"),
            color=(1, 1, 1, 1),
        )
        tex = coverage_texture(label)
        self._textures[key] = tex
        self._texture_bytes += tex.width * tex.height * TEXT_PIXEL_BYTES
        while self._texture_bytes > TEXTURE_BUDGET and len(self._textures) > 1:
            _old_key, old = self._textures.popitem(last=False)
            self._texture_bytes -= old.width * old.height * TEXT_PIXEL_BYTES
        return tex

    @property
    def texture_bytes(self) -> int:
        """Bytes of pixels of the text textures kept for reuse."""
        return self._texture_bytes

    @property
    def font_sizes(self) -> set[tuple[str, float]]:
        """(font file, size) of every font size measured with (each one Kivy opens)."""
        return set(self._labels)

    @property
    def textures_kept(self) -> int:
        return len(self._textures)

    def kept_textures(self) -> list[Texture]:
        return list(self._textures.values())

    def kept_texts(self) -> list[str]:
        """The pieces of text whose textures are kept for reuse."""
        return [text for _font, text, _size in self._textures]

    def forget_textures(self) -> None:
        """Keep no texture for reuse (those on screen stay until their widgets go)."""
        self._textures.clear()
        self._texture_bytes = 0


class _Capture:
    """Stands in for a label's texture while Kivy renders it: keeps the pixels."""

    data: Any = None

    def blit_data(self, data: Any) -> None:
        self.data = data


def _render(label: CoreLabel) -> tuple[int, int, bytes] | None:
    """Lay out and render `label`: (width, height, RGBA rows top first), None for no text.

    Kivy's label makes a delayed RGBA texture and fills it when first drawn; here it
    renders into a stand-in instead, so that texture is never filled nor sent."""
    label.refresh()
    width, height = (int(v) for v in label.size)
    if width <= 1 or height <= 1:
        return None
    capture = _Capture()
    label.texture = capture
    label.render(real=True)
    if capture.data is None:
        raise ValueError(f"no pixels for {label.text!r}")
    return width, height, capture.data.data


def coverage_texture(label: CoreLabel) -> Texture:
    """The text of `label` (white) as a luminance+alpha texture."""
    rendered = _render(label)
    if rendered is None:
        return label.texture  # Kivy's shared 1-pixel texture for no text
    width, height, rgba = rendered
    pixels = width * height
    coverage = bytearray(b"\xff") * (2 * pixels)
    coverage[1::2] = rgba[3 : 4 * pixels : 4]
    tex = Texture.create(size=(width, height), colorfmt="luminance_alpha")
    tex.blit_buffer(coverage, colorfmt="luminance_alpha", bufferfmt="ubyte")
    tex.flip_vertical()  # rows as Kivy's label gives them: top first
    return tex


def character_map(font: str) -> frozenset[int]:
    """The characters `font` has a glyph for (fontTools reads its cmap table).

    Glyph names are not needed, so the font gets plain numbered ones: fontTools then
    reads neither the 'post' nor the 'CFF ' table for them (a third of the time, and
    a fifth of the memory, the glyph name list and CFF reader left unloaded)."""
    from fontTools.ttLib import TTFont

    with TTFont(font, lazy=True) as opened:
        opened.setGlyphOrder([f"g{i}" for i in range(opened["maxp"].numGlyphs)])
        return frozenset(opened.getBestCmap())


def pack_fontbook(
    fonts: Mapping[FontKey, Path | None], size: float, fallbacks: Sequence[Path] = ()
) -> FontBook:
    """A font book from a pack's fonts (missing entries are left out), every script
    font opened at `size` (one the screens use): a font that cannot be read fails
    here. The fallback fonts are opened only when a text needs one of them."""
    book = FontBook({key: path for key, path in fonts.items() if path is not None}, fallbacks)
    for script in book.scripts:
        for bold in (False, True):
            book.metrics(script, bold, size)
    return book


def system_fontbook(cache_dir: Path) -> FontBook:
    """The machine's fonts (kiosk.ui.system_fonts), or Kivy's own Latin font without any."""
    fonts = find_system_fonts(cache_dir)
    if not fonts:
        from kivy.core.text import DEFAULT_FONT, LabelBase

        fonts = {("Latn", False): Path(LabelBase._fonts[DEFAULT_FONT][0])}
    return FontBook(fonts, find_system_fallbacks())
