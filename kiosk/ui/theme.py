"""Colours and sizes of the kiosk, for travellers standing at a 1080p touch screen.

Sizes are pixels on the short side of a 1080-pixel screen and scale with
the real screen (`Theme.for_size`). On a 21.5" 1080p panel a pixel is about
0.25 mm: every touch target is at least 96 px (24 mm) high, far above the
9 mm minimum, and body text is 34 px (46 px with the large-text toggle).
Colours follow the provincial DoIC style: deep navy and red with a yellow
accent, dark text on warm white (contrast ratio above 12:1).
"""

from __future__ import annotations

from dataclasses import dataclass

Rgba = tuple[float, float, float, float]


def _hex(code: str, alpha: float = 1.0) -> Rgba:
    code = code.lstrip("#")
    r, g, b = (int(code[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return (r, g, b, alpha)


NAVY = _hex("12294d")
NAVY_LIGHT = _hex("1d3d6e")
RED = _hex("a3171a")
YELLOW = _hex("f6c431")
PAPER = _hex("f7f4ec")
CARD = _hex("ffffff")
INK = _hex("16181d")
MUTED = _hex("4b505a")
LINK = _hex("0b4f9c")
WHITE = _hex("ffffff")
LINE = _hex("c9c3b3")
SHADE = _hex("000000", 0.55)

#: the short side the sizes below are designed for
DESIGN_SHORT_SIDE = 1080
#: how much larger text gets with the large-text toggle
LARGE_TEXT = 1.35


@dataclass(frozen=True)
class Theme:
    """Pixel sizes for one screen size and text size."""

    #: screen pixels per design pixel
    scale: float
    #: the large-text toggle is on
    large: bool = False
    #: the screen, in pixels
    width: float = 1920
    height: float = 1080

    @classmethod
    def for_size(cls, width: float, height: float, large: bool = False) -> Theme:
        short = max(1.0, min(width, height))
        return cls(scale=short / DESIGN_SHORT_SIDE, large=large, width=width, height=height)

    @property
    def portrait(self) -> bool:
        return self.height > self.width

    def px(self, design: float) -> float:
        return round(design * self.scale)

    def text(self, design: float) -> float:
        """A text size that grows with the large-text toggle."""
        return self.px(design * (LARGE_TEXT if self.large else 1.0))

    @property
    def body(self) -> float:
        return self.text(34)

    def heading(self, level: int) -> float:
        return self.text({1: 46, 2: 41, 3: 37}.get(level, 37))

    @property
    def page_title(self) -> float:
        return self.text(52)

    @property
    def caption(self) -> float:
        return self.text(29)

    @property
    def margin(self) -> float:
        return self.px(48)

    @property
    def bar_height(self) -> float:
        """The navigation bar: buttons 112 px high (28 mm)."""
        return self.px(128)

    @property
    def header_height(self) -> float:
        return self.px(150)

    @property
    def nav_text(self) -> float:
        return self.px(30)

    @property
    def tile_height(self) -> float:
        if self.portrait:  # narrow tiles: the icon above the title
            return self.px(300 if not self.large else 340)
        return self.px(230 if not self.large else 270)

    @property
    def tile_text(self) -> float:
        return self.text(38)

    @property
    def tile_columns(self) -> int:
        return 2 if self.portrait else 3

    def column_width(self, width: float) -> float:
        """Width of the text column of a page: the screen, but no wider than ~50 words."""
        return min(width - 2 * self.margin, self.px(1500))
