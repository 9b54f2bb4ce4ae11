"""Draw the pictures of the Lao Bao sample pack with Pillow.

Run from the repository root:

    .venv/bin/python content_packs/lao-bao/media-src/make_media.py

It (re)writes every file under content_packs/lao-bao/media/. The output is
deterministic: the same PNG bytes on every run (no timestamps or other
metadata, fixed random seeds, fixed palettes).

Everything is drawn here from simple shapes; nothing is copied from
elsewhere. One picture serves all five languages, so pictures carry no words:
only Latin place names and numbers, in Noto Sans.
"""

from __future__ import annotations

import math
import random
from itertools import pairwise
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


# --- pictograms: white glyphs in a 512 x 512 design box ----------------------


def g_gate(pen: Pen, c):
    pen.poly([(84, 176), (256, 100), (428, 176)], fill=WHITE)
    pen.rect(100, 170, 412, 214, fill=WHITE)
    pen.rect(124, 214, 178, 410, fill=WHITE)
    pen.rect(334, 214, 388, 410, fill=WHITE)
    pen.rect(80, 410, 432, 432, fill=WHITE)
    # the boom barrier, striped
    pen.rect(178, 296, 334, 326, fill=WHITE)
    for i in range(4):
        x = 190 + i * 38
        pen.rect(x, 300, x + 18, 322, fill=c)
    pen.rect(226, 128, 286, 150, fill=c)


def g_passport(pen: Pen, c):
    pen.rrect(146, 78, 366, 434, 26, fill=WHITE)
    pen.rect(146, 78, 170, 434, fill=WHITE)
    pen.circle(256, 226, 78, outline=c, width=14)
    pen.ellipse(256, 226, 32, 78, outline=c, width=12)
    pen.rect(178, 220, 334, 232, fill=c)
    pen.rect(196, 180, 316, 190, fill=c)
    pen.rect(196, 262, 316, 272, fill=c)
    pen.rrect(196, 350, 316, 370, 8, fill=c)
    pen.rrect(216, 386, 296, 400, 6, fill=c)


def g_person(pen: Pen, c):
    pen.circle(226, 150, 62, fill=WHITE)
    pen.rrect(120, 232, 332, 440, 86, fill=WHITE, corners=(True, True, False, False))
    # a passport in hand
    pen.rrect(286, 270, 406, 440, 16, fill=c)
    pen.rrect(300, 284, 392, 426, 10, fill=WHITE)
    pen.circle(346, 340, 28, outline=c, width=8)
    pen.rect(318, 386, 374, 396, fill=c)


def g_car(pen: Pen, c):
    pen.poly([(150, 250), (196, 168), (324, 168), (382, 250)], fill=WHITE)
    pen.rrect(84, 240, 428, 348, 34, fill=WHITE)
    pen.poly([(178, 240), (210, 186), (250, 186), (250, 240)], fill=c)
    pen.poly([(266, 240), (266, 186), (314, 186), (350, 240)], fill=c)
    for cx in (170, 342):
        pen.circle(cx, 348, 56, fill=c)
        pen.circle(cx, 348, 42, fill=WHITE)
        pen.circle(cx, 348, 14, fill=c)
    pen.rrect(394, 266, 420, 290, 6, fill=c)
    pen.rect(84, 392, 428, 404, fill=WHITE)


def g_box(pen: Pen, c):
    top = [(256, 96), (412, 172), (256, 248), (100, 172)]
    left = [(100, 172), (256, 248), (256, 424), (100, 348)]
    right = [(412, 172), (412, 348), (256, 424), (256, 248)]
    for face in (top, left, right):
        pen.poly(face, fill=WHITE)
    pen.line([(100, 172), (256, 248), (412, 172)], fill=c, width=12)
    pen.line([(256, 248), (256, 424)], fill=c, width=12)
    # tape across the lid and down the front
    pen.poly([(162, 142), (190, 128), (346, 204), (318, 218)], fill=c)
    pen.poly([(318, 218), (346, 204), (346, 262), (318, 276)], fill=c)
    # a tick label on the left face
    pen.line([(140, 300), (170, 330), (222, 282)], fill=c, width=16, joint="curve")


def g_prohibited(pen: Pen, c):
    # a paw print (wild animals), crossed out
    pen.ellipse(256, 300, 66, 56, fill=WHITE)
    for cx, cy in ((176, 222), (222, 170), (290, 170), (336, 222)):
        pen.ellipse(cx, cy, 28, 36, fill=WHITE)
    pen.circle(256, 256, 180, outline=WHITE, width=34)
    slash = rotated_rect(256, 256, 350, 34, 45)
    pen.poly(rotated_rect(256, 256, 330, 64, 45), fill=c)
    pen.poly(slash, fill=WHITE)


def g_handshake(pen: Pen, c):
    # two sleeves rising from the lower corners, the clasped hands in the middle
    pen = pen.sub(0, -50, 1)
    pen.poly([(36, 352), (128, 254), (196, 318), (104, 418)], fill=WHITE)
    pen.poly([(476, 352), (384, 254), (316, 318), (408, 418)], fill=WHITE)
    pen.poly(
        [
            (140, 262),
            (206, 200),
            (306, 200),
            (372, 262),
            (316, 318),
            (276, 346),
            (226, 346),
            (196, 318),
        ],
        fill=WHITE,
    )
    # cuffs
    pen.line([(124, 250), (200, 322)], fill=c, width=16)
    pen.line([(388, 250), (312, 322)], fill=c, width=16)
    # the thumb on top, and the fingers wrapped underneath
    pen.line([(196, 262), (236, 232), (292, 226)], fill=c, width=11, round_caps=True)
    for x in (226, 256, 286):
        pen.line([(x - 8, 346), (x + 4, 300)], fill=c, width=10, round_caps=True)
    pen.line([(306, 300), (336, 274)], fill=c, width=10, round_caps=True)


def g_bridge(pen: Pen, c):
    # the flag tower and its flag
    pen.rect(112, 96, 126, 300, fill=WHITE)
    pen.poly([(126, 100), (238, 108), (238, 176), (126, 168)], fill=WHITE)
    pen.poly(star_points(182, 138, 22), fill=c)
    # the truss bridge
    pen.rect(60, 298, 452, 322, fill=WHITE)
    pen.line([(150, 298), (176, 232), (452, 232)], fill=WHITE, width=14)
    xs = [176, 230, 284, 338, 392, 446]
    for x in xs:
        pen.line([(x, 232), (x, 298)], fill=WHITE, width=10)
    for a, b in pairwise(xs):
        pen.line([(a, 298), (b, 232)], fill=WHITE, width=8)
    for x in (200, 320, 430):
        pen.rect(x - 12, 322, x + 12, 372, fill=WHITE)
    # water
    for y in (392, 430):
        pts = [(60 + i * 8, y + 10 * math.sin(i * 8 / 64 * 2 * math.pi)) for i in range(50)]
        pen.line(pts, fill=WHITE, width=12, round_caps=True)


def g_monument(pen: Pen, c):
    pen.poly([(256, 64), (292, 110), (304, 350), (208, 350), (220, 110)], fill=WHITE)
    pen.poly(star_points(256, 160, 30), fill=c)
    pen.rect(168, 350, 344, 384, fill=WHITE)
    pen.rect(128, 396, 384, 430, fill=WHITE)
    # an incense bowl with three sticks
    pen.poly([(222, 356), (290, 356), (280, 380), (232, 380)], fill=c)
    for x in (244, 256, 268):
        pen.line([(x, 356), (x, 314)], fill=c, width=5)


def g_map(pen: Pen, c):
    panels = [
        [(84, 214), (192, 180), (192, 420), (84, 454)],
        [(192, 180), (320, 214), (320, 454), (192, 420)],
        [(320, 214), (428, 180), (428, 420), (320, 454)],
    ]
    for panel in panels:
        pen.poly(panel, fill=WHITE)
    pen.line([(192, 180), (192, 420)], fill=c, width=8)
    pen.line([(320, 214), (320, 454)], fill=c, width=8)
    # a dashed route
    route = [(110, 400), (160, 352), (220, 370), (270, 320), (330, 344)]
    for a, b in pairwise(route):
        mx, my = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
        pen.line([a, (mx, my)], fill=c, width=12, round_caps=True)
    # the pin
    pen.poly([(300, 320), (240, 186), (360, 186)], fill=c)
    pen.circle(300, 160, 86, fill=c)
    pen.poly([(300, 300), (254, 196), (346, 196)], fill=WHITE)
    pen.circle(300, 160, 70, fill=WHITE)
    pen.circle(300, 160, 28, fill=c)


def g_phone_cross(pen: Pen, c):
    pen.rrect(160, 72, 352, 440, 34, fill=WHITE)
    pen.rrect(182, 122, 330, 372, 10, fill=c)
    pen.rect(236, 176, 276, 318, fill=WHITE)
    pen.rect(185, 227, 327, 267, fill=WHITE)
    pen.circle(256, 406, 16, fill=c)
    pen.rrect(226, 92, 286, 104, 6, fill=c)
    for r in (56, 96):
        pen.arc(352, 150, r, -60, 20, fill=WHITE, width=16)


def g_info(pen: Pen, c):
    pen.circle(256, 256, 176, outline=WHITE, width=30)
    pen.circle(256, 160, 30, fill=WHITE)
    pen.rrect(226, 214, 286, 370, 12, fill=WHITE)
    pen.rrect(200, 214, 286, 240, 8, fill=WHITE)
    pen.rrect(200, 350, 312, 376, 8, fill=WHITE)


def g_health(pen: Pen, c):
    pen.poly([(256, 70), (410, 128), (398, 280), (256, 444), (114, 280), (102, 128)], fill=WHITE)
    pen.rect(226, 170, 286, 350, fill=c)
    pen.rect(166, 230, 346, 290, fill=c)


def g_exit(pen: Pen, c):
    # a raised barrier, and the way on
    pen.rect(96, 200, 136, 420, fill=WHITE)
    pen.rect(70, 410, 162, 432, fill=WHITE)
    angle = -55
    dx, dy = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    px, py, length = 116, 214, 210
    pen.poly(
        rotated_rect(px + dx * length / 2, py + dy * length / 2, length, 30, angle), fill=WHITE
    )
    for t in (0.35, 0.7):
        pen.poly(rotated_rect(px + dx * length * t, py + dy * length * t, 22, 32, angle), fill=c)
    pen.circle(px, py, 26, fill=WHITE)
    pen.poly(
        [(196, 284), (330, 284), (330, 224), (444, 316), (330, 408), (330, 348), (196, 348)],
        fill=WHITE,
    )


def g_police(pen: Pen, c):
    pen.poly([(256, 60), (420, 120), (404, 290), (256, 452), (108, 290), (92, 120)], fill=WHITE)
    pen.poly(star_points(256, 236, 96), fill=c)


def _bezier(p0, p1, p2, n=16):
    return [
        (
            (1 - t) ** 2 * p0[0] + 2 * (1 - t) * t * p1[0] + t * t * p2[0],
            (1 - t) ** 2 * p0[1] + 2 * (1 - t) * t * p1[1] + t * t * p2[1],
        )
        for t in (i / n for i in range(n + 1))
    ]


def _flame_outline(cx, base, w, h):
    """A flame: a round bottom and two curved sides meeting in a point."""
    left = _bezier((cx - w, base - w), (cx - w * 1.05, base - h * 0.62), (cx + w * 0.08, base - h))
    right = _bezier((cx + w * 0.08, base - h), (cx + w * 0.95, base - h * 0.55), (cx + w, base - w))
    bottom = [
        (cx + w * math.cos(a), base - w + w * math.sin(a))
        for a in (math.radians(d) for d in range(0, 181, 10))
    ]
    return left + right + bottom


def g_flame(pen: Pen, c):
    pen.poly(_flame_outline(168, 440, 70, 250), fill=WHITE)
    pen.poly([(352 - (x - 168), y) for x, y in _flame_outline(168, 440, 70, 250)], fill=WHITE)
    pen.poly(_flame_outline(256, 440, 120, 380), fill=WHITE)
    pen.poly(_flame_outline(262, 430, 58, 170), fill=c)


def g_bus(pen: Pen, c):
    pen.rrect(86, 140, 426, 360, 30, fill=WHITE)
    for x in (108, 188, 268, 348):
        pen.rrect(x, 168, x + 62, 238, 8, fill=c)
    pen.rect(86, 262, 426, 274, fill=c)
    for cx in (160, 352):
        pen.circle(cx, 362, 52, fill=c)
        pen.circle(cx, 362, 38, fill=WHITE)
        pen.circle(cx, 362, 12, fill=c)
    pen.rect(70, 404, 442, 416, fill=WHITE)


GLYPHS = {
    "welcome": g_gate,
    "procedures": g_passport,
    "people": g_person,
    "vehicles": g_car,
    "customs": g_box,
    "prohibited": g_prohibited,
    "friendship": g_handshake,
    "history": g_bridge,
    "relics": g_monument,
    "tourism": g_map,
    "emergency": g_phone_cross,
    "about": g_info,
}


def make_icon(name: str) -> None:
    s = 4
    img = Image.new("RGBA", (512 * s, 512 * s), (0, 0, 0, 0))
    pen = Pen(ImageDraw.Draw(img), k=s)
    colour = TILE[name]
    pen.rrect(8, 8, 504, 504, 96, fill=(*colour, 255))
    GLYPHS[name](pen, colour)
    finish(img, (512, 512), MEDIA / "icons" / f"{name}.png", colors=32)


# --- the crossing steps -------------------------------------------------------


def make_steps() -> None:
    W, H, s = 1920, 420, 2
    cy = 210
    img = Image.new("RGB", (W * s, H * s), WHITE)
    pen = Pen(ImageDraw.Draw(img), k=s)
    pen.rect(0, 0, W, H, fill=(241, 245, 249))
    # the road every step stands on
    pen.rect(0, cy - 32, W, cy + 32, fill=(203, 213, 225))
    for x in range(0, W, 80):
        pen.rect(x + 10, cy - 4, x + 50, cy + 4, fill=WHITE)
    steps = [
        (g_bus, TILE["vehicles"]),
        (g_passport, TILE["procedures"]),
        (g_box, TILE["customs"]),
        (g_health, TILE["health"]),
        (g_exit, TILE["exit"]),
    ]
    xs = [200 + i * 380 for i in range(5)]
    for i, ((glyph, colour), cx) in enumerate(zip(steps, xs, strict=True)):
        pen.circle(cx, cy, 150, fill=WHITE)
        pen.circle(cx, cy, 138, fill=colour)
        glyph(pen.sub(cx - 256 * 0.42, cy - 256 * 0.42, 0.42), colour)
        # the number badge
        bx, by = cx - 104, cy - 112
        pen.circle(bx, by, 46, fill=WHITE)
        pen.circle(bx, by, 38, fill=INK)
        pen.text(bx, by + 2, str(i + 1), 50, WHITE, bold=True, anchor="mm")
        if i < 4:
            ax = cx + 190
            pen.poly(
                [(ax - 22, cy - 32), (ax + 22, cy), (ax - 22, cy + 32), (ax - 8, cy)], fill=INK
            )
    finish(img, (W, H), MEDIA / "crossing-steps.png", colors=64)


# --- emergency numbers ---------------------------------------------------------


def make_emergency() -> None:
    W, H, s = 1800, 640, 2
    img = Image.new("RGB", (W * s, H * s), WHITE)
    pen = Pen(ImageDraw.Draw(img), k=s)
    pen.rect(0, 0, W, H, fill=(241, 245, 249))
    cards = [
        ("113", (30, 58, 138), g_police),
        ("114", (234, 88, 12), g_flame),
        ("115", (220, 38, 38), g_health),
    ]
    for i, (number, colour, glyph) in enumerate(cards):
        x0 = 40 + i * 580
        pen.rrect(x0, 60, x0 + 540, 580, 48, fill=colour)
        glyph(pen.sub(x0 + 270 - 256 * 0.52, 70, 0.52), colour)
        pen.text(x0 + 270, 440, number, 170, WHITE, bold=True, anchor="mm")
    finish(img, (W, H), MEDIA / "emergency.png", colors=48)


# --- friendship: the two flags and a handshake ---------------------------------


def make_friendship() -> None:
    W, H, s = 1800, 720, 2
    img = Image.new("RGB", (W * s, H * s), WHITE)
    pen = Pen(ImageDraw.Draw(img), k=s)
    pen.rect(0, 0, W, H, fill=(248, 250, 252))
    fw = 600
    fy = (H - fw * 2 / 3) / 2
    flag_vietnam(pen, 80, fy, fw)
    flag_laos(pen, W - 80 - fw, fy, fw)
    pen.circle(W / 2, H / 2, 190, fill=WHITE)
    pen.circle(W / 2, H / 2, 176, fill=TILE["friendship"])
    g_handshake(pen.sub(W / 2 - 256 * 0.62, H / 2 - 256 * 0.62, 0.62), TILE["friendship"])
    pen.text(W / 2, H / 2 + 210, "1962  ·  1977", 44, INK, bold=True, anchor="mt")
    finish(img, (W, H), MEDIA / "friendship.png", colors=48)


# --- the East-West Economic Corridor ------------------------------------------------

# Schematic positions on a 1920-wide design; y follows latitude (exaggerated),
# x is stretched around the Viet Nam - Laos border so that the gate stands out.
PLACES = {
    "Mawlamyine": (160, 605),
    "Myawaddy": (318, 507),
    "Mae Sot": (392, 493),
    "Phitsanulok": (590, 450),
    "Khon Kaen": (820, 626),
    "Mukdahan": (1010, 584),
    "Savannakhet": (1110, 574),
    "Dansavanh": (1368, 546),
    "Lao Bảo": (1452, 546),
    "Khe Sanh": (1540, 536),
    "Đông Hà": (1660, 450),
    "Huế": (1730, 619),
    "Đà Nẵng": (1856, 800),
}
ROUTE = [
    "Mawlamyine",
    "Myawaddy",
    "Mae Sot",
    "Phitsanulok",
    "Khon Kaen",
    "Mukdahan",
    "Savannakhet",
    "Dansavanh",
    "Lao Bảo",
    "Khe Sanh",
    "Đông Hà",
    "Huế",
    "Đà Nẵng",
]
ROAD9_SEGMENTS = [
    ("Savannakhet", "Dansavanh"),
    ("Dansavanh", "Lao Bảo"),
    ("Lao Bảo", "Khe Sanh"),
    ("Khe Sanh", "Đông Hà"),
]


def _wiggle(a, b, seed, amp=10, n=6):
    rnd = random.Random(seed)
    pts = [a]
    for i in range(1, n):
        t = i / n
        pts.append(
            (
                a[0] + (b[0] - a[0]) * t + rnd.uniform(-amp, amp) * 0.3,
                a[1] + (b[1] - a[1]) * t + rnd.uniform(-amp, amp),
            )
        )
    pts.append(b)
    return pts


def draw_map(pen: Pen, W: int, y0: int, y1: int) -> None:
    sea = (160, 205, 235)
    land = (250, 246, 232)
    pen.rect(0, y0, W, y1, fill=land)
    # seas: the Gulf of Martaban to the west, the coast of central Viet Nam to the east
    west = [
        (0, y0),
        (96, y0),
        (108, 360),
        (116, 470),
        (124, 600),
        (112, 720),
        (96, 860),
        (84, y1),
        (0, y1),
    ]
    east = [
        (1650, y0),
        (1690, 360),
        (1716, 460),
        (1770, 590),
        (1852, 720),
        (1880, 800),
        (1920, 860),
        (W, y0),
    ]
    pen.poly([(x, max(y0, min(y1, y))) for x, y in west], fill=sea)
    pen.poly([(x, max(y0, min(y1, y))) for x, y in east], fill=sea)
    # country names, large and pale
    for name, x in (("MYANMAR", 232), ("THAILAND", 700), ("LAOS", 1240), ("VIET NAM", 1540)):
        pen.text(
            x,
            y0 + 80,
            name,
            36 if name == "MYANMAR" else 44,
            (196, 190, 170),
            bold=True,
            anchor="mm",
        )
    # borders (schematic): the Moei river, the Mekong, the Viet Nam - Laos line
    river = (96, 160, 220)
    pen.line(_wiggle((355, y0), (355, y1), 3, 14, 12), fill=river, width=5)
    pen.line(_wiggle((1062, y0), (1060, y1), 7, 26, 12), fill=river, width=12)
    for y in range(y0 + 4, y1, 28):
        pen.line(
            [(1410 + 10 * math.sin(y / 60), y), (1410 + 10 * math.sin((y + 14) / 60), y + 14)],
            fill=(150, 120, 150),
            width=5,
        )
    for y in range(y0 + 4, y1, 28):
        pen.line([(355, y), (355, y + 14)], fill=(150, 120, 150), width=4)
    # the corridor
    pts = [PLACES[n] for n in ROUTE]
    pen.line(pts, fill=(255, 255, 255), width=26, joint="curve")
    pen.line(pts, fill=(71, 85, 105), width=14, joint="curve")
    for a, b in ROAD9_SEGMENTS:
        pen.line(
            [PLACES[a], PLACES[b]], fill=ROAD9_COLOUR, width=22, joint="curve", round_caps=True
        )
    # the Second Thai-Lao Friendship Bridge over the Mekong
    (ax, ay), (bx, by) = PLACES["Mukdahan"], PLACES["Savannakhet"]
    t = (1061 - ax) / (bx - ax)
    my = ay + (by - ay) * t
    for dy in (-22, 22):
        pen.line([(1040, my + dy - 2), (1082, my + dy + 2)], fill=INK, width=6, round_caps=True)
    # Road 9 shields, one in Laos and one in Viet Nam
    for x, y in ((1236, 560), (1600, 493)):
        pen.rrect(x - 34, y - 30, x + 34, y + 30, 10, fill=WHITE, outline=ROAD9_COLOUR, width=6)
        pen.text(x, y + 1, "9", 40, ROAD9_COLOUR, bold=True, anchor="mm")
    # towns
    labels = {
        "Mawlamyine": (0, 40, "mt"),
        "Myawaddy": (-6, -26, "rb"),
        "Mae Sot": (6, -26, "lb"),
        "Phitsanulok": (0, -28, "mb"),
        "Khon Kaen": (0, 34, "mt"),
        "Mukdahan": (-8, 34, "rt"),
        "Savannakhet": (8, 30, "lt"),
        "Dansavanh": (-10, -26, "rb"),
        "Khe Sanh": (10, 28, "lt"),
        "Đông Hà": (0, -28, "mb"),
        "Huế": (18, 0, "lm"),
        "Đà Nẵng": (-18, 0, "rm"),
    }
    for name, (x, y) in PLACES.items():
        if name == "Lao Bảo":
            continue
        pen.circle(x, y, 13, fill=WHITE, outline=INK, width=5)
        dx, dy, anchor = labels[name]
        pen.text_halo(x + dx, y + dy, name, 30, INK, land, bold=False, anchor=anchor, halo_w=5)
    # Lao Bao: a pin
    x, y = PLACES["Lao Bảo"]
    pen.poly([(x, y - 4), (x - 34, y - 70), (x + 34, y - 70)], fill=ROAD9_COLOUR)
    pen.circle(x, y - 92, 44, fill=ROAD9_COLOUR)
    pen.circle(x, y - 92, 18, fill=WHITE)
    pen.circle(x, y, 10, fill=INK)
    pen.text_halo(x + 6, y + 40, "Lao Bảo", 40, INK, land, bold=True, anchor="mt", halo_w=6)
    # north arrow
    nx, ny = 60, y1 - 120
    pen.poly([(nx, ny - 40), (nx + 20, ny + 20), (nx, ny + 8), (nx - 20, ny + 20)], fill=INK)
    pen.text(nx, ny + 30, "N", 30, INK, bold=True, anchor="mt")


def make_map(path: Path, size: tuple[int, int], title: bool) -> None:
    W, H = 1920, 1080
    s = 2
    img = Image.new("RGB", (W * s, H * s), WHITE)
    pen = Pen(ImageDraw.Draw(img), k=s)
    if title:
        pen.rect(0, 0, W, 200, fill=(11, 79, 138))
        flag_vietnam(pen, 80, 52, 144)
        flag_laos(pen, W - 80 - 144, 52, 144)
        pen.text(W / 2, 100, "Lao Bảo  ·  Dansavanh", 84, WHITE, bold=True, anchor="mm")
        draw_map(pen.sub(0, 200 - 170, 1), W, 170, 1050)
    else:
        draw_map(pen.sub(0, -60, 1), W, 60, 1140)
    finish(img, size, path, colors=128)


# --- the gate scene -------------------------------------------------------------------


def sky(pen: Pen, W, y0, y1, top, bottom, bands=10):
    for i in range(bands):
        t = i / (bands - 1)
        colour = tuple(round(top[j] + (bottom[j] - top[j]) * t) for j in range(3))
        ya = y0 + (y1 - y0) * i / bands
        yb = y0 + (y1 - y0) * (i + 1) / bands + 1
        pen.rect(0, ya, W, yb, fill=colour)


def mountains(pen: Pen, W, base, height, colour, seed, step=60):
    rnd = random.Random(seed)
    pts = [(0, base + 400)]
    y = base - height * 0.5
    for x in range(0, W + step, step):
        y = min(base - 20, max(base - height, y + rnd.uniform(-height * 0.35, height * 0.35)))
        pts.append((x, y))
    pts.append((W, base + 400))
    pen.poly(pts, fill=colour)


def tree(pen: Pen, x, y, r, leaf, trunk=(92, 64, 51)):
    pen.rect(x - r * 0.12, y - r * 0.4, x + r * 0.12, y + r * 0.9, fill=trunk)
    pen.circle(x, y - r * 0.6, r, fill=leaf)
    pen.circle(x - r * 0.55, y - r * 0.25, r * 0.7, fill=leaf)
    pen.circle(x + r * 0.55, y - r * 0.25, r * 0.7, fill=leaf)


def make_gate_scene() -> None:
    W, H, s = 1920, 1080, 2
    img = Image.new("RGB", (W * s, H * s), WHITE)
    pen = Pen(ImageDraw.Draw(img), k=s)
    sky(pen, W, 0, 700, hexc("4f9bd9"), hexc("fde7b0"), bands=28)
    pen.circle(1500, 300, 150, fill=hexc("fff1c9"))
    pen.circle(1500, 300, 110, fill=hexc("ffd27a"))
    mountains(pen, W, 560, 260, hexc("8fb3c9"), seed=11, step=80)
    mountains(pen, W, 640, 200, hexc("5f9474"), seed=12, step=70)
    mountains(pen, W, 700, 120, hexc("3f7553"), seed=13, step=60)
    pen.rect(0, 680, W, H, fill=hexc("6aa35a"))
    # the road, in perspective
    vx = 960
    pen.poly([(300, H), (1620, H), (1010, 680), (910, 680)], fill=hexc("5b6472"))
    pen.poly([(270, H), (300, H), (910, 680), (904, 680)], fill=hexc("e5e7eb"))
    pen.poly([(1620, H), (1650, H), (1016, 680), (1010, 680)], fill=hexc("e5e7eb"))
    for i in range(7):
        t0, t1 = i / 7, (i + 0.5) / 7
        ya, yb = 680 + (H - 680) * t0**1.6, 680 + (H - 680) * t1**1.6
        wa, wb = 2 + 12 * t0**1.6, 2 + 12 * t1**1.6
        pen.poly([(vx - wa, ya), (vx + wa, ya), (vx + wb, yb), (vx - wb, yb)], fill=WHITE)
    # the gate: a wide canopy over the lanes, a central block with a tiered roof
    pen.rect(520, 560, 1400, 600, fill=hexc("f3f4f6"))
    pen.rect(520, 600, 1400, 640, fill=hexc("b91c1c"))
    pen.text(960, 620, "LAO BẢO", 34, WHITE, bold=True, anchor="mm")
    for x in (560, 700, 840, 1080, 1220, 1360):
        pen.rect(x - 10, 640, x + 10, 740, fill=hexc("e5e7eb"))
    for x in (610, 1250):
        pen.rect(x, 690, x + 60, 740, fill=hexc("f8fafc"))
        pen.rect(x + 8, 700, x + 52, 720, fill=hexc("93c5fd"))
    pen.rect(860, 430, 1060, 560, fill=hexc("f8fafc"))
    for i in range(4):
        pen.rect(880 + i * 46, 452, 910 + i * 46, 540, fill=hexc("93c5fd"))
    pen.poly([(830, 440), (960, 372), (1090, 440)], fill=hexc("b91c1c"))
    pen.poly([(880, 392), (960, 340), (1040, 392)], fill=hexc("b91c1c"))
    pen.rect(948, 300, 954, 342, fill=hexc("4b5563"))
    pen.poly([(954, 300), (1000, 304), (1000, 332), (954, 328)], fill=VN_RED)
    pen.poly(star_points(976, 316, 9), fill=VN_YELLOW)
    # the two flags at the roadside
    pen.rect(330, 520, 340, 860, fill=hexc("d1d5db"))
    flag_vietnam(pen, 340, 522, 150)
    pen.rect(1490, 520, 1500, 860, fill=hexc("d1d5db"))
    flag_laos(pen, 1500, 522, 150)
    # a road-side kilometre post of National Road 9
    px, py = 1730, 870
    pen.rrect(
        px - 60, py - 150, px + 60, py + 60, 50, fill=WHITE, corners=(True, True, False, False)
    )
    pen.rrect(
        px - 60,
        py - 150,
        px + 60,
        py - 60,
        50,
        fill=hexc("dc2626"),
        corners=(True, True, False, False),
    )
    pen.text(px, py - 96, "QL9", 40, WHITE, bold=True, anchor="mm")
    pen.text(px, py - 10, "Lao Bảo", 26, INK, bold=True, anchor="mm")
    pen.rect(px - 70, py + 60, px + 70, py + 80, fill=hexc("9ca3af"))
    # trees
    rnd = random.Random(21)
    for x, y, r in (
        (120, 900, 90),
        (250, 760, 60),
        (1860, 640, 60),
        (1560, 980, 80),
        (80, 720, 50),
    ):
        tree(pen, x, y, r, hexc(rnd.choice(["2f6b3f", "3a7d4a", "25593a"])))
    finish(img, (W, H), MEDIA / "attract-gate.png", colors=128)


# --- Hien Luong bridge over the Ben Hai river ---------------------------------------


def make_bridge_scene() -> None:
    W, H, s = 1920, 1080, 2
    img = Image.new("RGB", (W * s, H * s), WHITE)
    pen = Pen(ImageDraw.Draw(img), k=s)
    sky(pen, W, 0, 600, hexc("7fb3e0"), hexc("fbe3c4"), bands=24)
    mountains(pen, W, 540, 90, hexc("9bb8a8"), seed=31, step=90)
    # the tree line upstream
    pen.rect(0, 520, W, 600, fill=hexc("4f8a5b"))
    rnd = random.Random(32)
    x = 0.0
    while x < W:
        r = rnd.uniform(18, 34)
        pen.circle(x, 530, r, fill=hexc("3f7550"))
        x += r * 1.4
    # the river
    sky(pen, W, 600, H, hexc("6fa6c8"), hexc("2f6f95"), bands=10)
    rnd = random.Random(33)
    for _ in range(40):
        y = rnd.uniform(690, 1060)
        x = rnd.uniform(300, 1560)
        w = rnd.uniform(40, 140)
        pen.line([(x, y), (x + w, y)], fill=hexc("a9cde3"), width=4, round_caps=True)
    # the two banks
    pen.poly([(0, 596), (330, 596), (420, 700), (520, H), (0, H)], fill=hexc("5c8d4f"))
    pen.poly([(0, 760), (330, 740), (450, 900), (520, H), (0, H)], fill=hexc("4b7a41"))
    pen.poly([(W, 596), (1590, 596), (1500, 700), (1400, H), (W, H)], fill=hexc("5c8d4f"))
    pen.poly([(W, 760), (1590, 740), (1470, 900), (1400, H), (W, H)], fill=hexc("4b7a41"))
    # the bridge: a low steel truss on piers, from bank to bank
    deck_y = 580
    x0, x1 = 300, 1620
    for px in range(520, 1460, 180):
        pen.rect(px - 16, deck_y + 20, px + 16, deck_y + 120, fill=hexc("6b7280"))
        pen.rect(px - 16, deck_y + 126, px + 16, deck_y + 160, fill=hexc("4b6f8a"))
    pen.rect(x0 - 40, deck_y, x1 + 40, deck_y + 22, fill=hexc("374151"))
    top = deck_y - 74
    step = 60
    pen.line([(x0, top), (x1, top)], fill=hexc("475569"), width=10)
    for x in range(x0, x1 + 1, step):
        pen.line([(x, top), (x, deck_y)], fill=hexc("475569"), width=6)
    for x in range(x0, x1, step):
        pen.line([(x, deck_y), (x + step, top)], fill=hexc("475569"), width=5)
    # the flag tower on the near bank
    pen.rect(150, 110, 162, 600, fill=hexc("e5e7eb"))
    pen.rect(126, 590, 186, 620, fill=hexc("d1d5db"))
    pen.rect(100, 616, 212, 640, fill=hexc("cbd5e1"))
    fx, fy, fw = 162, 116, 300
    wave = [(fx + fw * i / 20, fy + 14 * math.sin(i / 20 * 2 * math.pi)) for i in range(21)]
    bottom = [(x, y + fw * 2 / 3) for x, y in reversed(wave)]
    pen.poly(wave + bottom, fill=VN_RED)
    pen.poly(star_points(fx + fw / 2, fy + fw / 3 + 4, fw / 5), fill=VN_YELLOW)
    # caption: place names only
    pen.text_halo(
        960,
        960,
        "Hiền Lương  ·  Bến Hải",
        60,
        WHITE,
        hexc("1f3b52"),
        bold=True,
        anchor="mm",
        halo_w=6,
    )
    pen.text_halo(960, 1036, "17°N", 40, WHITE, hexc("1f3b52"), bold=True, anchor="mm", halo_w=5)
    finish(img, (W, H), MEDIA / "attract-bridge.png", colors=128)


def main() -> None:
    for name in GLYPHS:
        make_icon(name)
    make_steps()
    make_emergency()
    make_friendship()
    make_map(MEDIA / "attract-map.png", (1920, 1080), title=True)
    make_map(MEDIA / "map-corridor.png", (1600, 900), title=False)
    make_gate_scene()
    make_bridge_scene()


if __name__ == "__main__":
    main()
