"""The pack's pictograms (home tiles and crossing steps): white glyphs drawn
in a 512 x 512 design box on the tile colour of their section."""

from __future__ import annotations

import math
from itertools import pairwise

from drawkit import MEDIA, TILE, WHITE, Pen, finish, rotated_rect, star_points
from PIL import Image, ImageDraw

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
