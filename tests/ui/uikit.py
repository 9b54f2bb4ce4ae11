"""Helpers of the UI tests: a kiosk state folder installed like the agent does it,
a controllable clock, and a harness that runs the real KioskUi in the test window
and touches it like a finger (touch events through Kivy's input pipeline).

Kivy is imported inside functions only: the session fixture (conftest.py)
starts Xvfb and sets Kivy up before the first import.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.agent.layout import Layout
from kiosk.config import UiConfig
from kiosk.local import Channel
from kiosk.protocol.pack import BLOB_DIR, MANIFEST_NAME, parse_manifest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "ui"
WAIT_S = 30.0


@dataclass
class FakeTime:
    """Wall and monotonic clocks the test moves forward itself."""

    now: float = 1_790_000_000.0  # a day in September 2026, Vietnam time
    mono_now: float = 1000.0

    def wall(self) -> float:
        return self.now

    def mono(self) -> float:
        return self.mono_now

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.mono_now += seconds


def install(state_dir: Path, built: Path, name: str, *, switch: bool = True) -> Path:
    """Install a built pack with the agent's own file operations; switch `current` to it."""
    layout = Layout(state_dir)
    layout.ensure()
    data = (built / MANIFEST_NAME).read_bytes()
    manifest = parse_manifest(data)
    sources = {e.sha256: built / BLOB_DIR / e.sha256 for e in manifest.files}
    stage = layout.stage(name, manifest, data, sources, lambda _where: None)
    placed = layout.place(stage, name)
    if switch:
        layout.switch(name)
    return placed


def copy_built(built: Path, dest: Path) -> Path:
    shutil.copytree(built, dest)
    return dest


class Kiosk:
    """The real UI (KioskUi + AgentLink) in the test window, on a fake clock."""

    def __init__(
        self, window: Any, state_dir: Path, work_dir: Path, *, idle_timeout_s: float = 90.0
    ) -> None:
        from kiosk.ui.agentlink import AgentLink
        from kiosk.ui.controller import KioskUi
        from kiosk.ui.root import TimeSource

        self.window = window
        self.time = FakeTime()
        self.channel = Channel(state_dir)
        self.ui = KioskUi(
            self.channel.current,
            UiConfig(idle_timeout_s=idle_timeout_s),
            work_dir,
            TimeSource(wall=self.time.wall, mono=self.time.mono),
        )
        self.link = AgentLink(self.ui, self.channel)
        window.add_widget(self.ui.root)
        self.ui.load_now()
        self.link.write_health()
        self.frames()

    def close(self) -> None:
        self.ui.stop()
        self.window.remove_widget(self.ui.root)
        self.frames(1)

    # --- the event loop ------------------------------------------------------
    def frames(self, n: int = 3) -> None:
        from kivy.base import EventLoop

        for _ in range(n):
            EventLoop.idle()

    def wait(self, condition: Callable[[], Any], what: str) -> None:
        """Draw frames until `condition()` holds; fail after WAIT_S."""
        deadline = time.monotonic() + WAIT_S
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {WAIT_S:.0f} s waiting for {what}")
            self.frames(1)
            time.sleep(0.01)

    # --- fingers -------------------------------------------------------------
    def tap_at(self, x: float, y: float) -> None:
        """A finger down and up at window pixel (x, y), through Kivy's input pipeline."""
        from kivy.base import EventLoop

        self.time.advance(0.7)  # a person needs this long between two taps
        touch = _Finger(x, y, self.window)
        EventLoop.post_dispatch_input("begin", touch)
        self.frames(1)
        EventLoop.post_dispatch_input("end", touch)
        self.frames(2)

    def tap(self, widget: Any) -> None:
        assert widget.get_root_window() is not None, f"{widget} is not on screen"
        x, y = widget.to_window(widget.center_x, widget.center_y)
        self.tap_at(x, y)

    def find(self, name: str) -> Any:
        """The touch target called `name` (Tap.name) on screen now."""
        for widget in self.walk():
            if getattr(widget, "name", None) == name and hasattr(widget, "state"):
                return widget
        raise AssertionError(f"no {name!r} on screen {self.ui.screen_name}")

    def walk(self) -> Iterator[Any]:
        """Widgets on screen now: the notice (on top) first, then the screen on display."""
        tops = [self.ui.overlay] if self.ui.overlay.parent is not None else []
        for top in [*tops, self.ui.manager.current_screen]:
            yield from top.walk(restrict=True)

    def texts(self) -> list[Any]:
        """Every TokenText on screen now: the screen on display and the notice over it.

        (A screen being replaced stays attached, underneath, until the next frame.)"""
        from kiosk.ui.textview import TokenText

        return [w for w in self.walk() if isinstance(w, TokenText)]

    def shown_text(self) -> str:
        return "\n".join("".join(t.t for t in w.tokens) for w in self.texts())

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.frames(2)
        self.ui.capture(path)
        return path

    def health(self) -> Any:
        self.link.write_health()
        health = self.channel.read_health()
        assert health is not None
        return health


class _Finger:
    """A Kivy MotionEvent for one finger (built lazily: Kivy is imported by then)."""

    def __new__(cls, x: float, y: float, window: Any) -> Any:
        from kivy.input.motionevent import MotionEvent

        class Finger(MotionEvent):  # type: ignore[misc]
            def depack(self, args: dict[str, float]) -> None:
                self.sx, self.sy = args["x"], args["y"]
                self.profile = ["pos"]
                super().depack(args)

        position = {"x": x / (window.width - 1.0), "y": y / (window.height - 1.0)}
        return Finger("finger", id(position), position, is_touch=True, type_id="touch")
