"""The attract loop: the pack's pictures, and "touch to start" in every language in turn."""

from __future__ import annotations

from typing import Any

from kivy.animation import Animation
from kivy.clock import Clock
from kivy.core.image import Image as CoreImage
from kivy.properties import ListProperty, NumericProperty, ObjectProperty
from kivy.uix.screenmanager import Screen

from kiosk.protocol.pack import Tokens
from kiosk.ui import theme as colours
from kiosk.ui.content import LoadedPack

#: seconds each language's line stays, and each picture
LINE_SECONDS = 3.0
PICTURE_SECONDS = 9.0
FADE_SECONDS = 1.2


class AttractScreen(Screen):  # type: ignore[misc]
    #: the window's clear colour while this screen shows (no full-screen fill of its own)
    background = colours.NAVY
    fontbook: Any = ObjectProperty(None, allownone=True)
    theme: Any = ObjectProperty(None)
    title: Any = ObjectProperty(())
    touch_line: Any = ObjectProperty(())
    pictures: Any = ListProperty()
    #: index of the language shown now
    step: Any = NumericProperty(0)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lines: list[tuple[Tokens, Tokens]] = []
        self._picture = 0
        self._swapped = False
        self._events: list[Any] = []

    def show(self, pack: LoadedPack, fontbook: Any, theme: Any) -> None:
        self.fontbook = fontbook
        self.theme = theme
        self._lines = [
            (pack.title(lang), pack.ui("touch_to_start", lang)) for lang in pack.manifest.languages
        ]
        # decoded here and kept while the loop runs (it shows them over and over);
        # let go when a traveller starts, so pages have the memory
        self.pictures = [
            CoreImage(str(pack.paths[rel]), nocache=True).texture for rel in pack.manifest.attract
        ]
        self._picture = 0
        front, back = self._images()
        Animation.cancel_all(front)
        Animation.cancel_all(back)
        front.texture = self.pictures[0] if self.pictures else None
        front.opacity = 1
        back.opacity = 0
        self.step = 0
        self._show_step()

    def _show_step(self) -> None:
        if self._lines:
            self.title, self.touch_line = self._lines[int(self.step) % len(self._lines)]

    def next_line(self, *_args: Any) -> None:
        self.step = (int(self.step) + 1) % max(1, len(self._lines))
        self._show_step()

    def next_picture(self, *_args: Any) -> None:
        if len(self.pictures) < 2:
            return
        self._picture = (self._picture + 1) % len(self.pictures)
        front, back = self._images()
        back.texture = self.pictures[self._picture]
        back.opacity = 0
        Animation.cancel_all(front)
        Animation.cancel_all(back)
        Animation(opacity=1, d=FADE_SECONDS).start(back)
        Animation(opacity=0, d=FADE_SECONDS).start(front)
        self._swapped = not self._swapped  # the faded-in picture is the front one now

    def _images(self) -> tuple[Any, Any]:
        a, b = self.ids.picture_a, self.ids.picture_b
        return (b, a) if self._swapped else (a, b)

    def on_enter(self, *_args: Any) -> None:
        self._stop()
        self._events = [
            Clock.schedule_interval(self.next_line, LINE_SECONDS),
            Clock.schedule_interval(self.next_picture, PICTURE_SECONDS),
        ]

    def on_leave(self, *_args: Any) -> None:
        self._stop()
        for image in self._images():
            Animation.cancel_all(image)
            image.texture = None
        self.pictures = []

    def _stop(self) -> None:
        for event in self._events:
            event.cancel()
        self._events = []
