"""Setting Kivy up before it is imported: environment, window, input.

Kivy reads its environment when first imported and opens the window when
`kivy.core.window` is first imported, so `setup_kivy` must run before any
other module of kiosk.ui that imports kivy.

Raspberry Pi without a desktop (Raspberry Pi OS Lite): no X server, SDL2
draws straight on the screen through KMS/DRM. `kiosk_display_env` sets

    SDL_VIDEODRIVER=kmsdrm   SDL2's KMS/DRM video driver (Kivy's aarch64 wheel has it)
    KIVY_WINDOW=sdl2         Kivy's SDL2 window provider
    KIVY_GL_BACKEND=sdl2     GL functions through SDL (GLES of the Pi's V3D driver)

when neither DISPLAY nor WAYLAND_DISPLAY is set; the user running the UI
must be in the `video`, `render` and `input` groups. With a desktop (or
Xvfb) a normal window is used.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import os
import tempfile
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class WindowSetup:
    width: int = 1920
    height: int = 1080
    fullscreen: bool = False
    #: draw turned by this many degrees (a screen mounted on its side)
    rotation: int = 0
    #: a window nobody sees (previews on a desktop)
    hidden: bool = False
    show_cursor: bool = True
    #: frames per second at most (the attract loop's fades)
    max_fps: int = 60


def has_desktop(environ: MutableMapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def kiosk_display_env(environ: MutableMapping[str, str] | None = None) -> bool:
    """On a machine without a desktop, draw through KMS/DRM; True when it does."""
    env = os.environ if environ is None else environ
    if has_desktop(env):
        return False
    env.setdefault("SDL_VIDEODRIVER", "kmsdrm")
    env.setdefault("KIVY_WINDOW", "sdl2")
    env.setdefault("KIVY_GL_BACKEND", "sdl2")
    return True


#: samples per pixel of the window (see setup_kivy)
MULTISAMPLES = 0

#: glibc: allocations from this size up get their own mapping, given back on free
MMAP_THRESHOLD = 256 * 1024
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def return_freed_memory() -> bool:
    """Make glibc give large freed blocks (text and picture textures: without a GPU,
    Mesa keeps them in our memory) back to the system instead of keeping them for
    reuse: a kiosk that runs for months must not grow to its worst page. Linux only."""
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    ok = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    return bool(mallopt(_M_TRIM_THRESHOLD, 2 * MMAP_THRESHOLD) == 1 and ok)


def collect_garbage() -> None:
    """A full collection (~50-100 ms with a pack's worth of objects): the widgets of
    the screen just left hold textures and form reference cycles, so they are freed
    only by the collector. The UI runs it when a new screen is up and nobody is
    touching: otherwise Python runs it by itself in the middle of a page switch."""
    gc.collect()


def return_free_pages() -> None:
    """Give the free pages inside the heap back to the system (glibc's malloc_trim):
    a page switch frees many small blocks between live ones, which no threshold
    returns."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


def setup_kivy(window: WindowSetup, kivy_home: Path | None = None) -> None:
    """Environment and Config for Kivy; call before importing anything of Kivy."""
    return_freed_memory()
    home = kivy_home or Path(tempfile.mkdtemp(prefix="bgk-kivy-"))
    os.environ["KIVY_NO_ARGS"] = "1"  # our command line is not Kivy's
    os.environ["KIVY_NO_CONFIG"] = "1"  # never read or write ~/.kivy/config.ini
    os.environ["KIVY_NO_FILELOG"] = "1"
    os.environ["KIVY_HOME"] = str(home)
    os.environ["KIVY_LOG_MODE"] = "PYTHON"  # Kivy logs through `logging` like the rest
    # pack videos play through ffpyplayer (FFmpeg in the wheel, frames drawn as GL
    # textures, so it works on KMS/DRM without X): see kiosk/ui/video.py
    os.environ.setdefault("KIVY_VIDEO", "ffpyplayer")
    # Kivy sets its logger to INFO when imported: keep to the program's level instead
    threshold = logging.getLogger().getEffectiveLevel()
    logging.getLogger("kivy").addFilter(lambda record: record.levelno >= threshold)
    from kivy.config import Config

    Config.set("kivy", "exit_on_escape", "0")
    Config.set("kivy", "log_enable", "0")
    Config.set("graphics", "width", str(window.width))
    Config.set("graphics", "height", str(window.height))
    Config.set("graphics", "fullscreen", "auto" if window.fullscreen else "0")
    Config.set("graphics", "borderless", "1" if window.fullscreen else "0")
    Config.set("graphics", "rotation", str(window.rotation))
    Config.set("graphics", "show_cursor", "1" if window.show_cursor else "0")
    Config.set("graphics", "maxfps", str(window.max_fps))
    # No multisampled window (Kivy asks for 2 samples by default). Mesa gives 4:
    # colour and depth/stencil for 4 samples a pixel, 71 MB at 1920x1080 without a
    # GPU (in our memory) and as much of a Pi's CMA pool with one; yet the kiosk's
    # flat shapes came out just as jagged with it (measured) and text never uses it.
    Config.set("graphics", "multisamples", str(MULTISAMPLES))
    Config.set("graphics", "resizable", "0" if window.fullscreen else "1")
    if window.hidden:
        Config.set("graphics", "window_state", "hidden")
    # one touch per finger: no red dots from right clicks, no multitouch emulation
    Config.set("input", "mouse", "mouse,disable_multitouch")
