"""`bgk pack preview`: pages drawn exactly as the kiosk draws them, into PNG files.

The sources are built with `bgk pack build` run as a separate process (the
kiosk side never imports the server; the build reuses the subset-font cache
~/.cache/bgk/fonts), then the very same screens the kiosk shows render each
page offscreen: on a machine with a desktop in a hidden window, elsewhere on
a private Xvfb started for the run (`apt-get install xvfb` if missing).
Pages outside their validity window are drawn too: editors check them
before they go live. The page id `home` draws the home screen (the tiles a
traveller sees after choosing a language), unless the pack has a page of
that name.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.ui.env import WindowSetup, has_desktop, setup_kivy
from kiosk.ui.errors import PreviewError
from kiosk.ui.xvfb import Xvfb

#: frames drawn before a capture (layout settles within one)
SETTLE_FRAMES = 3
#: the page id that means the home screen
HOME = "home"


@dataclass(frozen=True)
class Shot:
    page: str
    lang: str
    path: Path


def build_source(src: Path, out: Path, more: list[str] | None = None) -> None:
    """Run `bgk pack build SRC -o OUT [more]` in its own process; PreviewError if it fails."""
    cmd = [sys.executable, "-m", "kiosk.cli", "pack", "build", str(src), "-o", str(out), "--json"]
    cmd += more or []
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
        reason = lines[-1] if lines else f"exit status {proc.returncode}"
        if "invalid choice" in reason and "build" in reason:
            reason = "`bgk pack build` is not installed here: pip install 'bgk[server]'"
        raise PreviewError(f"cannot build {src}: {reason}")
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise PreviewError(f"cannot build {src}: unexpected output of pack build") from None
    if not result.get("ok"):
        raise PreviewError(f"cannot build {src}: {result.get('error')}")


@contextmanager
def display_for(width: int, height: int) -> Iterator[bool]:
    """A display to draw on; yields True when the window must stay hidden (a desktop)."""
    if has_desktop():
        yield True
        return
    with Xvfb(width, height) as display:
        os.environ["DISPLAY"] = display
        os.environ.pop("SDL_VIDEODRIVER", None)
        yield False


def render(
    src: Path,
    targets: list[tuple[str, str]] | None,
    out: Path,
    *,
    size: tuple[int, int] = (1920, 1080),
    large_text: bool = False,
    single: bool = False,
    scroll: bool = False,
    build_args: list[str] | None = None,
) -> list[Shot]:
    """Build `src` and draw each (page, lang) of `targets` (None = every page and language).

    `single`: `out` is the PNG file of the one target; else a folder of <page>-<lang>.png.
    `scroll`: also each further screenful of a long page, as the traveller scrolls
    (<name>-2.png, <name>-3.png, ...). `build_args`: more options of `bgk pack build`
    (--settings, --edition).
    """
    width, height = size
    with tempfile.TemporaryDirectory(prefix="bgk-preview-") as tmp_name:
        tmp = Path(tmp_name)
        build_source(src, tmp / "pack", build_args)
        with display_for(width, height) as hidden:
            setup_kivy(WindowSetup(width, height, hidden=hidden), kivy_home=tmp / "kivy")
            return _draw(tmp, targets, out, size, large_text, single, scroll)


def _draw(
    tmp: Path,
    targets: list[tuple[str, str]] | None,
    out: Path,
    size: tuple[int, int],
    large_text: bool,
    single: bool,
    scroll: bool,
) -> list[Shot]:
    ui = open_ui(tmp / "ui", size)
    show_pack(ui, tmp / "pack")
    assert ui.pack is not None
    manifest = ui.pack.manifest
    home_is_page = ui.pack.page(HOME) is not None
    wanted = targets or [
        *([] if home_is_page else [(HOME, lang) for lang in manifest.languages]),
        *[(p.id, lang) for p in manifest.pages for lang in manifest.languages],
    ]
    for page_id, lang in wanted:
        check_target(ui, page_id, lang)
    if not single:
        out.mkdir(parents=True, exist_ok=True)
    shots = []
    for page_id, lang in wanted:
        path = out if single else out / f"{page_id}-{lang}.png"
        shots += shoot(ui, page_id, lang, path, large_text=large_text, scroll=scroll)
    return shots


def open_ui(work_dir: Path, size: tuple[int, int]) -> Any:
    """The kiosk's UI (no pack yet) in the window, sized `size`: a KioskUi."""
    from kivy.base import EventLoop
    from kivy.core.window import Window

    from kiosk.config import UiConfig
    from kiosk.ui.controller import KioskUi

    EventLoop.ensure_window()
    if Window is None:
        raise PreviewError("no window could be opened for drawing (is Xvfb working?)")
    Window.size = size
    ui = KioskUi(None, UiConfig(), work_dir)
    Window.add_widget(ui.root)
    return ui


def show_pack(ui: Any, pack: Path) -> None:
    """Load the built pack at `pack` into `ui`; PreviewError if it cannot be shown."""
    ui.pack_root = pack
    ui.load_now()
    if ui.pack is None or ui.error:
        raise PreviewError(f"the built pack cannot be shown: {ui.error}")


def check_target(ui: Any, page_id: str, lang: str) -> None:
    """PreviewError unless the pack on `ui` has that page (or home) and language."""
    manifest = ui.pack.manifest
    if ui.pack.page(page_id) is None and page_id != HOME:
        known = ", ".join([HOME, *(p.id for p in manifest.pages)])
        raise PreviewError(f"the pack has no page {page_id!r} (it has: {known})")
    if lang not in manifest.languages:
        raise PreviewError(
            f"the pack has no language {lang!r} (it has: {', '.join(manifest.languages)})"
        )


def shoot(
    ui: Any, page_id: str, lang: str, path: Path, *, large_text: bool, scroll: bool = False
) -> list[Shot]:
    """Draw one page (or home) of the pack on `ui` into the PNG `path` (and, with
    `scroll`, each further screenful beside it)."""
    from kivy.base import EventLoop

    if page_id == HOME and ui.pack.page(HOME) is None:
        ui.preview_home(lang, large_text=large_text)
    else:
        ui.preview_page(page_id, lang, large_text=large_text)
    for _ in range(SETTLE_FRAMES):
        EventLoop.idle()
    path.parent.mkdir(parents=True, exist_ok=True)
    ui.capture(path)
    shots = [Shot(page_id, lang, path)]
    if scroll and ui.screen == "page":
        for number, at in enumerate(_screenfuls(ui.page.ids.scroll), start=2):
            ui.page.ids.scroll.scroll_y = at
            for _ in range(SETTLE_FRAMES):
                EventLoop.idle()
            further = path.with_name(f"{path.stem}-{number}{path.suffix}")
            ui.capture(further)
            shots.append(Shot(page_id, lang, further))
    return shots


def _screenfuls(view: Any) -> list[float]:
    """scroll_y of each further screenful of a ScrollView (1 = top, 0 = bottom)."""
    content = float(view.children[0].height) if view.children else 0.0
    hidden = content - float(view.height)
    if hidden <= 1:
        return []
    step = float(view.height) * 0.9  # a line of overlap, as a reader expects
    stops, offset = [], step
    while offset < hidden:
        stops.append(1 - offset / hidden)
        offset += step
    return [*stops, 0.0]
