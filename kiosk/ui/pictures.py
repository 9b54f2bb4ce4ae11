"""Pack pictures as textures about the size they are drawn, kept within a byte budget.

Without a GPU every texture lives in the UI's own memory (Mesa's llvmpipe),
on a Raspberry Pi in the memory the GPU shares with it; a 1080p picture is
8 MB of pixels whichever way. So the UI decodes pictures itself (Pillow)
instead of through Kivy's image cache, which keeps every picture for a time
whatever its size, and:

* reduces a picture by a whole factor while it stays at least as large as it
  is drawn (a 512-pixel icon drawn 143 pixels wide becomes 171 pixels, an
  eleventh of the bytes, and looks better than the GPU shrinking it);
* keeps the textures of pictures no longer on screen while their pixels fit
  in `budget` bytes, least recently used dropped first (going back to a page
  is cheap, a long session does not pile pictures up); small ones (icons)
  have a budget of their own, so that a large picture never pushes the home
  screen's icons out;
* keeps no pixels on the CPU side once the texture is made.

`decode` is pure (no Kivy) and safe in a background thread: the attract
loop uses it to fit its next picture to the screen without holding up a
frame.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: bytes of pixels of pictures kept for reuse (those on screen are extra)
PICTURE_BUDGET = 16 * 1024 * 1024
#: pictures of at most this many bytes of pixels (icons) are kept in a budget of
#: their own, SMALL_BUDGET
SMALL_PICTURE = 256 * 1024
SMALL_BUDGET = 4 * 1024 * 1024
#: largest side decoded at all (the pack builder scales media for a 1080p screen)
MAX_SIDE = 4096


@dataclass(frozen=True)
class Pixels:
    """A decoded picture: RGBA rows, top row first."""

    width: int
    height: int
    rgba: bytes


def decode(
    path: str | Path, box: tuple[float, float] | None = None, *, exact: bool = False
) -> Pixels:
    """The picture at `path` as RGBA pixels; OSError/ValueError if it cannot be read.

    With `box` (width, height drawn): reduced by the largest whole factor that keeps
    it at least that large; with `exact`, scaled to fit the box exactly (slower: for
    a background thread).
    """
    from PIL import Image

    with Image.open(path) as opened:
        if max(opened.size) > MAX_SIDE:
            raise ValueError(f"{Path(path).name}: {opened.size} is larger than {MAX_SIDE} pixels")
        image = opened.convert("RGBA")
    if box is not None:
        width, height = image.size
        fit_w, fit_h = max(1.0, box[0]), max(1.0, box[1])
        if exact:
            scale = min(fit_w / width, fit_h / height)
            if scale < 1:
                size = (max(1, round(width * scale)), max(1, round(height * scale)))
                image = image.resize(size, Image.Resampling.BILINEAR)
        else:
            factor = int(min(width / fit_w, height / fit_h))
            if factor >= 2:
                image = image.reduce(factor)
    return Pixels(image.width, image.height, image.tobytes())


def upload(pixels: Pixels) -> Any:
    """A Kivy texture holding `pixels` (main thread: it talks to the GPU)."""
    from kivy.graphics.texture import Texture

    texture = Texture.create(size=(pixels.width, pixels.height), colorfmt="rgba")
    texture.blit_buffer(pixels.rgba, colorfmt="rgba", bufferfmt="ubyte")
    texture.flip_vertical()  # Pillow's rows go down, OpenGL's up
    return texture


_Key = tuple[str, int, int]


class _Kept:
    """Textures by key, least recently used first, within a budget of bytes of pixels."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.textures: OrderedDict[_Key, Any] = OrderedDict()
        self.bytes = 0

    def get(self, key: _Key) -> Any:
        texture = self.textures.get(key)
        if texture is not None:
            self.textures.move_to_end(key)
        return texture

    def add(self, key: _Key, texture: Any) -> None:
        self.textures[key] = texture
        self.bytes += texture_bytes(texture)
        while self.bytes > self.budget and len(self.textures) > 1:
            _key, old = self.textures.popitem(last=False)
            self.bytes -= texture_bytes(old)


class PictureBook:
    """Textures of one pack's pictures, by file and size drawn (main thread only)."""

    def __init__(self, budget: int = PICTURE_BUDGET, small_budget: int = SMALL_BUDGET) -> None:
        self._large = _Kept(budget)
        self._small = _Kept(small_budget)

    @property
    def kept_bytes(self) -> int:
        """Bytes of pixels of the textures kept for reuse."""
        return self._large.bytes + self._small.bytes

    @property
    def kept(self) -> int:
        return len(self._large.textures) + len(self._small.textures)

    def texture(self, path: str | Path, box: tuple[float, float] | None = None) -> Any:
        """The texture of the picture at `path` drawn in `box`; None if it cannot be read
        (the page is drawn without it and the reason logged)."""
        key = (str(path), round(box[0]) if box else 0, round(box[1]) if box else 0)
        texture = self._small.get(key) or self._large.get(key)
        if texture is not None:
            return texture
        try:
            pixels = decode(path, box)
        except (OSError, ValueError) as exc:
            log.error("cannot show picture %s: %s", path, exc)
            return None
        texture = upload(pixels)
        small = texture_bytes(texture) <= SMALL_PICTURE
        (self._small if small else self._large).add(key, texture)
        return texture

    def kept_textures(self) -> list[Any]:
        return [t for kept in (self._large, self._small) for t in kept.textures.values()]

    def clear(self) -> None:
        """Keep no texture for reuse (those on screen stay until their widgets go)."""
        for kept in (self._large, self._small):
            kept.textures.clear()
            kept.bytes = 0


def texture_bytes(texture: Any) -> int:
    """Bytes of pixels of a texture (RGBA)."""
    width, height = texture.size
    return int(width) * int(height) * 4
