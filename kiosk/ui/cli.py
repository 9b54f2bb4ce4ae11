"""`bgk kiosk ui` and `bgk pack preview` (Kivy is imported only when they run)."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from kiosk.common.cli import Registry
from kiosk.protocol.errors import UsageError


def register(registry: Registry) -> None:
    p = registry.add(
        "kiosk ui",
        "the traveller's touch screen: plays the installed pack (fullscreen without a desktop)",
        _kiosk_ui,
    )
    p.add_argument("--config", type=Path, required=True, help="kiosk.toml")
    p.add_argument(
        "--windowed", action="store_true", help="a window even where fullscreen is configured"
    )
    p = registry.add(
        "pack preview",
        "draw pages exactly as the kiosk does, into PNG files (builds the pack first)",
        _pack_preview,
    )
    p.add_argument("src", type=Path, help="the pack's source folder, e.g. content_packs/lao-bao")
    p.add_argument("--lang", help="language of the page: vi, en, lo, th or zh")
    p.add_argument("--page", help="page id, e.g. welcome; home: the home screen with its tiles")
    p.add_argument(
        "--all", action="store_true", help="every page in every language (-o is a folder)"
    )
    p.add_argument("-o", "--out", type=Path, required=True, help="PNG file, or folder with --all")
    p.add_argument(
        "--size", default="1920x1080", help="screen size WIDTHxHEIGHT (default 1920x1080)"
    )
    p.add_argument(
        "--portrait", action="store_true", help="portrait screen: same as --size 1080x1920"
    )
    p.add_argument("--large-text", action="store_true", help="with the large-text toggle on")
    p.add_argument(
        "--scroll",
        action="store_true",
        help="also every further screenful of a long page (NAME-2.png, NAME-3.png, ...)",
    )
    p.add_argument(
        "--settings",
        type=Path,
        metavar="FILE",
        help="publisher and site URL for the build (see `bgk pack build --help`)",
    )
    p.add_argument(
        "--edition", metavar="YYYY-MM-DD", help="edition date for the build (bgk pack build)"
    )
    p.add_argument("--json", action="store_true", help="print the files written as JSON")


def parse_size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d{3,4})x(\d{3,4})", text.strip())
    if not m:
        raise UsageError(f"--size {text!r}: write WIDTHxHEIGHT, e.g. 1920x1080 or 1080x1920")
    width, height = int(m.group(1)), int(m.group(2))
    if not (320 <= width <= 4096 and 320 <= height <= 4096):
        raise UsageError(f"--size {text!r}: each side must be 320..4096 pixels")
    return width, height


def _kiosk_ui(args: argparse.Namespace) -> int:
    from kiosk.config import load_config
    from kiosk.ui.app import run_kiosk

    return run_kiosk(load_config(args.config), windowed=args.windowed)


def _pack_preview(args: argparse.Namespace) -> int:
    from kiosk.ui.preview import render

    size = (1080, 1920) if args.portrait else parse_size(args.size)
    if args.all:
        if args.lang or args.page:
            raise UsageError("--all draws every page and language: leave out --lang and --page")
        targets = None
    else:
        if not (args.lang and args.page):
            raise UsageError("say which page: --lang L --page P (or --all -o DIR)")
        targets = [(args.page, args.lang)]
    shots = render(
        args.src,
        targets,
        args.out,
        size=size,
        large_text=args.large_text,
        single=not args.all,
        scroll=args.scroll,
        build_args=[
            *(["--settings", str(args.settings)] if args.settings else []),
            *(["--edition", args.edition] if args.edition else []),
        ],
    )
    if args.json:
        print(
            json.dumps(
                {
                    "ok": True,
                    "size": list(size),
                    "files": [{"page": s.page, "lang": s.lang, "path": str(s.path)} for s in shots],
                },
                ensure_ascii=False,
            )
        )
    else:
        for shot in shots:
            print(shot.path)
        print(f"{len(shots)} page(s) drawn at {size[0]}x{size[1]}")
    return 0
