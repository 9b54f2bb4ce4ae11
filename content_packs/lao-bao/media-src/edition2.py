"""Pictures added in edition 2 of the Lao Bao pack: the pictograms of the new
pages (practical information, money, phones, transport, health, the gate area,
contact), the flags of Myanmar and Thailand for the corridor map, and the plan
of the gate area.

No words in any picture: numbers in circles, explained in the page text of
each language (so a screen reader reads them too). The plan is an
illustration, not a survey: it shows the order of things a traveller meets,
not their real places.
"""

from __future__ import annotations

from drawkit import INK, MEDIA, TILE, WHITE, Pen, finish, flag_laos, flag_vietnam, hexc, star_points
from icons import GLYPHS, g_box, g_bus, g_health, g_passport
from PIL import Image, ImageDraw

TILE.update(
    {
        "practical": (124, 58, 237),
        "money": (161, 98, 7),
        "phones": (2, 132, 199),
        "transport": (15, 118, 110),
        "gate-map": (30, 64, 175),
        "contact": (13, 148, 136),
    }
)
TILE["health"] = (21, 128, 61)


def g_suitcase(pen: Pen, c):
    pen.rrect(196, 96, 316, 150, 20, outline=WHITE, width=22)
    pen.rrect(88, 146, 424, 420, 36, fill=WHITE)
    pen.rect(88, 238, 424, 256, fill=c)
    pen.rrect(236, 222, 276, 272, 8, fill=c)


def g_coins(pen: Pen, c):
    # a banknote behind a stack of coins
    pen.rrect(72, 110, 376, 290, 22, fill=WHITE)
    pen.circle(224, 200, 52, outline=c, width=14)
    pen.rect(96, 136, 124, 264, fill=c)
    pen.rect(324, 136, 352, 264, fill=c)
    for i in range(4):
        y = 408 - i * 44
        pen.ellipse(336, y, 104, 34, fill=c)
        pen.ellipse(336, y - 8, 96, 28, fill=WHITE)


def g_sim(pen: Pen, c):
    pen.poly([(140, 80), (320, 80), (380, 140), (380, 432), (140, 432)], fill=WHITE)
    pen.rrect(190, 200, 330, 360, 16, fill=c)
    for x in (236, 284):
        pen.rect(x - 4, 200, x + 4, 360, fill=WHITE)
    pen.rect(190, 276, 330, 284, fill=WHITE)


def g_envelope(pen: Pen, c):
    pen.rrect(72, 136, 440, 392, 24, fill=WHITE)
    pen.line([(92, 156), (256, 282), (420, 156)], fill=c, width=22, joint="curve")
    pen.line([(92, 372), (210, 262)], fill=c, width=14)
    pen.line([(420, 372), (302, 262)], fill=c, width=14)


def g_lifebuoy(pen: Pen, c):
    """Search and rescue (112): a lifebuoy."""
    pen.circle(256, 256, 178, fill=WHITE)
    pen.circle(256, 256, 84, fill=c)
    for angle in (45, 135, 225, 315):
        import math

        x = 256 + 132 * math.cos(math.radians(angle))
        y = 256 + 132 * math.sin(math.radians(angle))
        pen.circle(x, y, 30, fill=c)


def g_plan(pen: Pen, c):
    pen.rrect(72, 80, 440, 432, 24, fill=WHITE)
    pen.rect(72, 236, 440, 284, fill=c)
    for x in range(96, 430, 56):
        pen.rect(x, 256, x + 28, 264, fill=WHITE)
    pen.rrect(128, 128, 240, 212, 10, fill=c)
    pen.rrect(272, 308, 384, 392, 10, fill=c)
    pen.circle(184, 170, 22, fill=WHITE)
    pen.circle(328, 350, 22, fill=WHITE)


GLYPHS.update(
    {
        "practical": g_suitcase,
        "money": g_coins,
        "phones": g_sim,
        "transport": g_bus,
        "gate-map": g_plan,
        "contact": g_envelope,
        "health": g_health,
    }
)


def flag_thailand(pen: Pen, x, y, w):
    h = w * 2 / 3
    bands = [hexc("a51931"), WHITE, hexc("2d2a4a"), hexc("2d2a4a"), WHITE, hexc("a51931")]
    for i, colour in enumerate(bands):
        pen.rect(x, y + h * i / 6, x + w, y + h * (i + 1) / 6 + 0.5, fill=colour)


def flag_myanmar(pen: Pen, x, y, w):
    h = w * 2 / 3
    for i, colour in enumerate((hexc("fecb00"), hexc("34b233"), hexc("ea2839"))):
        pen.rect(x, y + h * i / 3, x + w, y + h * (i + 1) / 3 + 0.5, fill=colour)
    pen.poly(star_points(x + w / 2, y + h * 0.55, h * 0.42), fill=WHITE)


def badge(pen: Pen, x, y, number: int, r=30):
    pen.circle(x, y, r + 6, fill=WHITE)
    pen.circle(x, y, r, fill=INK)
    pen.text(x, y + 2, str(number), round(r * 1.2), WHITE, bold=True, anchor="mm")


# --- the gate area: a plan, not to scale ------------------------------------------


def make_gate_plan() -> None:
    W, H, s = 1800, 1000, 2
    img = Image.new("RGB", (W * s, H * s), WHITE)
    pen = Pen(ImageDraw.Draw(img), k=s)
    pen.rect(0, 0, W, H, fill=hexc("eef2e6"))
    # Viet Nam to the right (east), Laos to the left (west); the border between
    border_x = 600
    pen.rect(0, 0, border_x, H, fill=hexc("e8ecf3"))
    for y in range(0, H, 36):
        pen.line([(border_x, y), (border_x, y + 18)], fill=hexc("7c3aed"), width=6)
    flag_laos(pen, 40, 40, 120)
    flag_vietnam(pen, W - 160, 40, 120)
    # Road 9: two lanes, east-west
    ry = 520
    pen.rect(0, ry - 70, W, ry + 70, fill=hexc("64748b"))
    for x in range(0, W, 90):
        pen.rect(x + 20, ry - 4, x + 60, ry + 4, fill=WHITE)
    # the Vietnamese control: a canopy over the lanes and the terminal beside it
    cx0, cx1 = 900, 1240
    pen.rect(cx0, ry - 110, cx1, ry + 110, fill=hexc("b91c1c"))
    pen.rect(cx0 + 14, ry - 96, cx1 - 14, ry + 96, fill=hexc("94a3b8"))
    for x in range(cx0 + 30, cx1 - 20, 70):
        pen.rect(x, ry - 70, x + 40, ry + 70, fill=hexc("64748b"))
    pen.rrect(cx0 - 20, 130, cx1 + 20, 360, 18, fill=WHITE, outline=INK, width=5)
    # the Lao control at Dansavanh, across the border
    pen.rect(220, ry - 110, 460, ry + 110, fill=hexc("1e3a8a"))
    pen.rect(234, ry - 96, 446, ry + 96, fill=hexc("94a3b8"))
    pen.rrect(200, 130, 480, 360, 18, fill=WHITE, outline=INK, width=5)
    # parking on the Vietnamese side
    pen.rrect(1380, 640, 1760, 900, 18, fill=hexc("cbd5e1"))
    for x in range(1410, 1740, 66):
        pen.rect(x, 660, x + 8, 740, fill=WHITE)
        pen.rect(x, 800, x + 8, 880, fill=WHITE)
    pen.rect(1540, 590, 1600, 640, fill=hexc("cbd5e1"))
    # the way through on foot: from the parking, through the terminal, to the border
    walk = [(1560, 650), (1560, 400), (1300, 400), (1070, 400), (760, 400), (600, 400), (340, 400)]
    for (ax, ay), (bx, by) in zip(walk, walk[1:], strict=False):
        steps = max(1, int(((bx - ax) ** 2 + (by - ay) ** 2) ** 0.5 // 40))
        for i in range(steps):
            t0, t1 = i / steps, (i + 0.5) / steps
            pen.line(
                [(ax + (bx - ax) * t0, ay + (by - ay) * t0), (ax + (bx - ax) * t1, ay + (by - ay) * t1)],
                fill=hexc("f59e0b"),
                width=12,
                round_caps=True,
            )
    pen.poly([(300, 400), (340, 372), (340, 428)], fill=hexc("f59e0b"))
    # pictograms inside the Vietnamese terminal: passport, customs, health
    for x, glyph, colour in (
        (1000, g_passport, TILE["procedures"]),
        (1110, g_box, TILE["customs"]),
        (1220, g_health, TILE["health"]),
    ):
        pen.circle(x - 40, 245, 52, fill=colour)
        glyph(pen.sub(x - 40 - 256 * 0.17, 245 - 256 * 0.17, 0.17), colour)
    pen.circle(340, 245, 52, fill=TILE["procedures"])
    g_passport(pen.sub(340 - 256 * 0.17, 245 - 256 * 0.17, 0.17), TILE["procedures"])
    pen.circle(1500, 770, 52, fill=TILE["vehicles"])
    g_bus(pen.sub(1500 - 256 * 0.17, 770 - 256 * 0.17, 0.17), TILE["vehicles"])
    # the numbers the page text explains
    for number, (x, y) in enumerate(
        [(1640, 600), (920, 170), (1070, 170), (1180, 170), (640, 470), (430, 170), (90, 600)],
        start=1,
    ):
        badge(pen, x, y, number)
    # the way on, to the west and to the east
    pen.poly([(20, 660), (70, 630), (70, 690)], fill=INK)
    pen.rect(70, 652, 170, 668, fill=INK)
    finish(img, (W, H), MEDIA / "map-gate.png", colors=64)
