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

The pack's fonts are subsets: a bold face may lack a glyph the shaper needs
(HarfBuzz draws Thai ำ and Lao ຳ as two glyphs, ํ + า and ໍ + າ, which the
text itself never names). `covers` reads the font's character map, and text
the bold face cannot draw is drawn with the regular face of its script,
which the builder fills with the script's whole block.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kivy.core.text import Label as CoreLabel
from kivy.graphics.texture import Texture

from kiosk.protocol.languages import SCRIPT_SHAPING_TAG
from kiosk.ui.system_fonts import find_system_fonts

log = logging.getLogger(__name__)

#: textures kept for reuse, in bytes of pixels (the screen's own are extra)
TEXTURE_BUDGET = 8 * 1024 * 1024
#: bytes a pixel of a text texture (luminance + alpha)
TEXT_PIXEL_BYTES = 2
_MEASURE_ENTRIES = 20_000
#: characters HarfBuzz's Thai and Lao shapers split in two (hb-ot-shaper-thai)
SPLIT_BY_SHAPER = {"\u0e33": "\u0e4d\u0e32", "\u0eb3": "\u0ecd\u0eb2"}

FontKey = tuple[str, bool]


class FontBook:
    """The fonts of one pack (or the system's) by (script, bold)."""

    def __init__(self, fonts: Mapping[FontKey, Path]) -> None:
        if not fonts:
            raise ValueError("a font book needs at least one font")
        self._fonts = {key: str(path) for key, path in fonts.items()}
        self._labels: dict[tuple[str, float], CoreLabel] = {}
        self._widths: dict[tuple[str, str, float], float] = {}
        self._metrics: dict[tuple[str, float], tuple[float, float]] = {}
        self._textures: OrderedDict[tuple[str, str, float], Texture] = OrderedDict()
        self._texture_bytes = 0
        self._cmaps: dict[str, frozenset[int] | None] = {}

    @property
    def scripts(self) -> set[str]:
        return {script for script, _bold in self._fonts}

    def font_file(self, script: str, bold: bool) -> str:
        """The font drawing `script`: bold falls back to regular, a missing script to Latin."""
        for key in ((script, bold), (script, not bold), ("Latn", bold), ("Latn", not bold)):
            if key in self._fonts:
                return self._fonts[key]
        return next(iter(self._fonts.values()))

    def covers(self, text: str, script: str, bold: bool) -> bool:
        """Whether the font for (script, bold) has every glyph drawing `text` needs."""
        chars = self._cmap(self.font_file(script, bold))
        if chars is None:
            return True  # unknown: draw and hope
        return all(ord(c) in chars for ch in text for c in SPLIT_BY_SHAPER.get(ch, ch))

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

    def _label(self, script: str, bold: bool, size: float) -> CoreLabel:
        font = self.font_file(script, bold)
        key = (font, size)
        label = self._labels.get(key)
        if label is None:
            label = CoreLabel(
                text="",
                font_name=font,
                font_size=size,
                font_script_name=self.script_tag(script),
                color=(1, 1, 1, 1),
            )
            label.text = " "
            _render(label)  # the shared font object takes the script's tag now
            label.text = ""
            self._labels[key] = label
        label.options["font_script_name"] = self.script_tag(script)
        return label

    def measure(self, text: str, script: str, bold: bool, size: float) -> float:
        font = self.font_file(script, bold)
        key = (font, text, size)
        width = self._widths.get(key)
        if width is None:
            if len(self._widths) > _MEASURE_ENTRIES:
                self._widths.clear()
            width = float(self._label(script, bold, size).get_extents(text)[0])
            self._widths[key] = width
        return width

    def metrics(self, script: str, bold: bool, size: float) -> tuple[float, float]:
        """(ascent, descent) in pixels, both positive."""
        font = self.font_file(script, bold)
        key = (font, size)
        found = self._metrics.get(key)
        if found is None:
            label = self._label(script, bold, size)
            found = (float(label.get_ascent()), abs(float(label.get_descent())))
            self._metrics[key] = found
        return found

    def texture(self, text: str, script: str, bold: bool, size: float) -> Texture:
        font = self.font_file(script, bold)
        key = (font, text, size)
        tex = self._textures.get(key)
        if tex is not None:
            self._textures.move_to_end(key)
            return tex
        self._label(script, bold, size)  # the font object has its tag before measuring
        label = CoreLabel(
            text=text,
            font_name=font,
            font_size=size,
            font_script_name=self.script_tag(script),
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


def pack_fontbook(fonts: Mapping[FontKey, Path | None], size: float) -> FontBook:
    """A font book from a pack's fonts (missing entries are left out), every font opened
    at `size` (one the screens use): a font that cannot be read fails here."""
    book = FontBook({key: path for key, path in fonts.items() if path is not None})
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
    return FontBook(fonts)
