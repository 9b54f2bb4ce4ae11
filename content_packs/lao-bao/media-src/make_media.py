"""Draw the pictures of the Lao Bao sample pack with Pillow.

Run from the repository root:

    .venv/bin/python content_packs/lao-bao/media-src/make_media.py

It (re)writes every file under content_packs/lao-bao/media/. The output is
deterministic: the same PNG bytes on every run (no timestamps or other
metadata, fixed random seeds, fixed palettes).

drawkit.py holds the palette, the Pen and the PNG writer, icons.py the
pictograms; this file the larger pictures (steps, emergency numbers, map,
gate and bridge scenes). Everything is drawn from simple shapes; nothing is copied from
elsewhere. One picture serves all five languages, so pictures carry no words:
places are numbered (the page text of each language names them) and
countries shown by their flags. edition2.py draws the pictures added in
edition 2 (the gate-area plan, the new pictograms).
"""

from __future__ import annotations

import math
import random
from pathlib import Path

from drawkit import (
    INK,
    MEDIA,
    ROAD9_COLOUR,
    TILE,
    VN_RED,
    VN_YELLOW,
    WHITE,
    Pen,
    finish,
    flag_laos,
    flag_vietnam,
    hexc,
    star_points,
)
from edition2 import badge, flag_myanmar, flag_thailand, g_lifebuoy, make_gate_plan
from icons import (
    GLYPHS,
    g_box,
    g_bus,
    g_exit,
    g_flame,
    g_handshake,
    g_health,
    g_passport,
    g_police,
    make_icon,
)
from PIL import Image, ImageDraw

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
    W, H, s = 1800, 520, 2
    img = Image.new("RGB", (W * s, H * s), WHITE)
    pen = Pen(ImageDraw.Draw(img), k=s)
    pen.rect(0, 0, W, H, fill=(241, 245, 249))
    cards = [
        ("113", (30, 58, 138), g_police),
        ("114", (234, 88, 12), g_flame),
        ("115", (220, 38, 38), g_health),
        ("112", (3, 105, 161), g_lifebuoy),
    ]
    for i, (number, colour, glyph) in enumerate(cards):
        x0 = 30 + i * 440
        pen.rrect(x0, 40, x0 + 420, 480, 40, fill=colour)
        glyph(pen.sub(x0 + 210 - 256 * 0.42, 52, 0.42), colour)
        pen.text(x0 + 210, 368, number, 130, WHITE, bold=True, anchor="mm")
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
#: where each town's number stands, from its dot: (dx, dy, anchor of the old label)
LABELS = {
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
    # each country by its flag (no names: one picture serves all five languages)
    for flag, x in (
        (flag_myanmar, 232),
        (flag_thailand, 700),
        (flag_laos, 1240),
        (flag_vietnam, 1540),
    ):
        flag(pen, x - 45, y0 + 50, 90)
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
    # towns, numbered in the order of the road (the page text names them)
    numbered = [n for n in ROUTE if n != "Lao Bảo"]
    for name, (x, y) in PLACES.items():
        if name == "Lao Bảo":
            continue
        pen.circle(x, y, 13, fill=WHITE, outline=INK, width=5)
        dx, dy, _anchor = LABELS[name]
        badge(pen, x + dx * 0.9, y + dy * 1.1, numbered.index(name) + 1, r=22)
    # Lao Bao: a pin
    x, y = PLACES["Lao Bảo"]
    pen.poly([(x, y - 4), (x - 34, y - 70), (x + 34, y - 70)], fill=ROAD9_COLOUR)
    pen.circle(x, y - 92, 44, fill=ROAD9_COLOUR)
    pen.circle(x, y - 92, 18, fill=WHITE)
    pen.circle(x, y, 10, fill=INK)
    # north arrow
    nx, ny = 60, y1 - 120
    pen.poly([(nx, ny - 40), (nx + 20, ny + 20), (nx, ny + 8), (nx - 20, ny + 20)], fill=INK)


def make_map(path: Path, size: tuple[int, int], title: bool) -> None:
    W, H = 1920, 1080
    s = 2
    img = Image.new("RGB", (W * s, H * s), WHITE)
    pen = Pen(ImageDraw.Draw(img), k=s)
    if title:
        pen.rect(0, 0, W, 200, fill=(11, 79, 138))
        flag_vietnam(pen, 80, 52, 144)
        flag_laos(pen, W - 80 - 144, 52, 144)
        # the gate between the two flags: a pin, as on the map below
        pen.poly([(W / 2, 176), (W / 2 - 44, 96), (W / 2 + 44, 96)], fill=ROAD9_COLOUR)
        pen.circle(W / 2, 80, 56, fill=ROAD9_COLOUR)
        pen.circle(W / 2, 80, 22, fill=WHITE)
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
    pen.poly(star_points(960, 620, 16), fill=VN_YELLOW)
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
    pen.text(px, py - 96, "9", 44, WHITE, bold=True, anchor="mm")
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
    make_gate_plan()


if __name__ == "__main__":
    main()
