"""The window's only child, and the clocks the UI runs on."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from kivy.uix.floatlayout import FloatLayout


class _Toucher(Protocol):
    time: TimeSource

    def touched(self) -> bool: ...


#: two touches closer than this (s, px) are one finger seen by two input drivers
_DUPLICATE_S = 0.08
_DUPLICATE_PX = 30


@dataclass(frozen=True)
class TimeSource:
    """Epoch seconds for records, monotonic seconds for intervals."""

    wall: Callable[[], float] = field(default=time.time)
    mono: Callable[[], float] = field(default=time.monotonic)


class RootView(FloatLayout):  # type: ignore[misc]
    """The window's only child: the screens, and the notice overlay above them."""

    def __init__(self, ui: _Toucher, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ui = ui
        self._last_down: tuple[float, float, float] | None = None

    def on_touch_down(self, touch: Any) -> bool:
        now = self.ui.time.mono()
        x, y = touch.pos
        last = self._last_down
        self._last_down = (now, x, y)
        if (
            last is not None
            and now - last[0] < _DUPLICATE_S
            and abs(x - last[1]) < _DUPLICATE_PX
            and abs(y - last[2]) < _DUPLICATE_PX
        ):
            return True  # the same finger reported twice (SDL and the kernel's touch driver)
        if self.ui.touched():
            return True
        return bool(super().on_touch_down(touch))
