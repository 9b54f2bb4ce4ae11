"""Drawing kit of the Lao Bao pack's pictures: palette, the Pen that draws at
supersampled scale, shape helpers, flags, and `finish` (downsample, quantise,
write deterministic PNG bytes). Used by icons.py and make_media.py."""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).resolve().parent
MEDIA = HERE.parent / "media"
FONT_DIR = Path("/usr/share/fonts/truetype/noto")
FONT_REGULAR = FONT_DIR / "NotoSans-Regular.ttf"
FONT_BOLD = FONT_DIR / "NotoSans-Bold.ttf"

# --- colours -----------------------------------------------------------------

WHITE = (255, 255, 255)
INK = (24, 32, 48)
GREY = (107, 114, 128)
LIGHT = (243, 244, 246)
VN_RED = (218, 37, 29)
VN_YELLOW = (255, 255, 0)
LA_RED = (206, 17, 38)
LA_BLUE = (0, 40, 104)
ROAD9_COLOUR = (220, 38, 38)

TILE = {
    "welcome": (11, 79, 138),
    "procedures": (30, 58, 138),
    "people": (48, 86, 168),
    "vehicles": (15, 118, 110),
    "customs": (146, 64, 14),
    "prohibited": (194, 65, 12),
    "friendship": (190, 18, 60),
    "history": (77, 91, 42),
    "relics": (87, 83, 78),
    "tourism": (21, 128, 61),
    "emergency": (220, 38, 38),
    "about": (3, 105, 161),
    "health": (21, 128, 61),
    "exit": (11, 79, 138),
}


def hexc(value: str) -> tuple[int, int, int]:
    value = value.lstrip("#")
    return tuple(int(value[i : i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]


# --- drawing helpers ---------------------------------------------------------


class Pen:
    """Draws in design units: (x, y) -> (ox + x*k, oy + y*k) device pixels."""

    def __init__(self, draw: ImageDraw.ImageDraw, ox: float = 0, oy: float = 0, k: float = 1):
        self.d = draw
        self.ox, self.oy, self.k = ox, oy, k

    def sub(self, x: float, y: float, scale: float) -> Pen:
        """A pen for a nested drawing placed at design (x, y), scaled."""
        return Pen(self.d, self.ox + x * self.k, self.oy + y * self.k, self.k * scale)

    def p(self, x: float, y: float) -> tuple[float, float]:
        return (self.ox + x * self.k, self.oy + y * self.k)

    def w(self, width: float) -> int:
        return max(1, round(width * self.k))

    def rect(self, x0, y0, x1, y1, fill=None, outline=None, width=0):
        self.d.rectangle(
            [self.p(x0, y0), self.p(x1, y1)],
            fill=fill,
            outline=outline,
            width=self.w(width) if outline else 0,
        )

    def rrect(self, x0, y0, x1, y1, r, fill=None, outline=None, width=0, corners=None):
        self.d.rounded_rectangle(
            [self.p(x0, y0), self.p(x1, y1)],
            radius=r * self.k,
            fill=fill,
            outline=outline,
            width=self.w(width) if outline else 0,
            corners=corners,
        )

    def circle(self, cx, cy, r, fill=None, outline=None, width=0):
        self.ellipse(cx, cy, r, r, fill, outline, width)

    def ellipse(self, cx, cy, rx, ry, fill=None, outline=None, width=0):
        self.d.ellipse(
            [self.p(cx - rx, cy - ry), self.p(cx + rx, cy + ry)],
            fill=fill,
            outline=outline,
            width=self.w(width) if outline else 0,
        )

    def poly(self, pts, fill=None, outline=None, width=0):
        self.d.polygon(
            [self.p(x, y) for x, y in pts],
            fill=fill,
            outline=outline,
            width=self.w(width) if outline else 0,
        )

    def line(self, pts, fill, width, joint="curve", round_caps=False):
        dev = [self.p(x, y) for x, y in pts]
        self.d.line(dev, fill=fill, width=self.w(width), joint=joint)
        if round_caps:
            r = self.w(width) / 2
            for x, y in (dev[0], dev[-1]):
                self.d.ellipse([x - r, y - r, x + r, y + r], fill=fill)

    def arc(self, cx, cy, r, start, end, fill, width):
        self.d.arc(
            [self.p(cx - r, cy - r), self.p(cx + r, cy + r)],
            start,
            end,
            fill=fill,
            width=self.w(width),
        )

    def text(self, x, y, s, size, fill, bold=False, anchor="la"):
        font = ImageFont.truetype(
            str(FONT_BOLD if bold else FONT_REGULAR), max(1, round(size * self.k))
        )
        self.d.text(self.p(x, y), s, font=font, fill=fill, anchor=anchor)

    def text_halo(self, x, y, s, size, fill, halo, bold=False, anchor="la", halo_w=4):
        font = ImageFont.truetype(
            str(FONT_BOLD if bold else FONT_REGULAR), max(1, round(size * self.k))
        )
        self.d.text(
            self.p(x, y),
            s,
            font=font,
            fill=fill,
            anchor=anchor,
            stroke_width=self.w(halo_w),
            stroke_fill=halo,
        )


def star_points(cx, cy, r_out, rotation=-90.0):
    r_in = r_out * math.cos(math.radians(72)) / math.cos(math.radians(36))
    pts = []
    for i in range(10):
        r = r_out if i % 2 == 0 else r_in
        a = math.radians(rotation + i * 36)
        pts.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    return pts


def rotated_rect(cx, cy, length, thick, angle_deg):
    a = math.radians(angle_deg)
    dx, dy = math.cos(a), math.sin(a)
    nx, ny = -dy, dx
    hl, ht = length / 2, thick / 2
    return [
        (cx - dx * hl - nx * ht, cy - dy * hl - ny * ht),
        (cx + dx * hl - nx * ht, cy + dy * hl - ny * ht),
        (cx + dx * hl + nx * ht, cy + dy * hl + ny * ht),
        (cx - dx * hl + nx * ht, cy - dy * hl + ny * ht),
    ]


def finish(img: Image.Image, size: tuple[int, int], path: Path, colors: int) -> None:
    """Downsample the supersampled drawing, reduce the palette, save without metadata.

    The flat fills (the most frequent colours) go into the palette exactly, so
    that flags keep their true colours; the rest of the palette is a median cut
    of what remains (the anti-aliased edges).
    """
    small = img.resize(size, Image.Resampling.LANCZOS)
    if small.mode == "RGBA":
        out = small.quantize(
            colors=colors, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
        )
    else:
        small = small.convert("RGB")
        counts = small.getcolors(maxcolors=size[0] * size[1]) or []
        counts.sort(key=lambda item: (-item[0], item[1]))
        n_keys = colors // 2
        keys = [rgb for count, rgb in counts[:n_keys] if count >= 200]
        rest = small.quantize(
            colors=colors - len(keys), method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        )
        flat = [v for rgb in keys for v in rgb]
        flat += rest.getpalette()[: 3 * (colors - len(keys))]
        palette = Image.new("P", (1, 1))
        palette.putpalette(flat + [0] * (768 - len(flat)))
        out = small.quantize(palette=palette, dither=Image.Dither.NONE)
    path.parent.mkdir(parents=True, exist_ok=True)
    out.info.clear()
    out.save(path, format="PNG", optimize=True)


# --- flags (drawn to their official proportions) -----------------------------


def flag_vietnam(pen: Pen, x, y, w):
    """Red field, yellow five-pointed star in the centre; height 2/3 of the length,
    distance from the star's centre to a point 1/5 of the length."""
    h = w * 2 / 3
    pen.rect(x, y, x + w, y + h, fill=VN_RED)
    pen.poly(star_points(x + w / 2, y + h / 2, w / 5), fill=VN_YELLOW)


def flag_laos(pen: Pen, x, y, w):
    """Red, blue (double height), red; a white disc 4/5 the blue band's height."""
    h = w * 2 / 3
    pen.rect(x, y, x + w, y + h, fill=LA_RED)
    pen.rect(x, y + h / 4, x + w, y + 3 * h / 4, fill=LA_BLUE)
    pen.circle(x + w / 2, y + h / 2, 0.4 * h / 2, fill=WHITE)
