"""The attract loop: the pack's pictures and videos, and "touch to start" in every
language in turn.

The loop runs for most of a kiosk's life, so it holds one picture, fitted to
the part of the screen it is drawn in, and two only while one fades into
the next: the next picture is decoded and fitted in a background thread
just before its fade (kiosk.ui.pictures), and the one faded out is let go.
Leaving the screen lets go of both and stops the timers.

A video of the loop (kiosk/ui/video.py) comes in as its poster, then plays
muted to its end, and the loop goes on with the next picture; a loop that is
one video plays it over and over. One video plays at a time; leaving the
screen (a traveller's touch) ends its decoder.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from kivy.animation import Animation
from kivy.clock import Clock, mainthread
from kivy.properties import NumericProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.protocol.pack import Tokens
from kiosk.ui import theme as colours
from kiosk.ui.content import LoadedPack
from kiosk.ui.pictures import Pixels, decode, upload
from kiosk.ui.video import Player

log = logging.getLogger(__name__)

#: seconds each language's line stays, and each picture
LINE_SECONDS = 3.0
PICTURE_SECONDS = 9.0
FADE_SECONDS = 1.2
#: height of the band of text under the picture, in design pixels
BAND = 340


class AttractScreen(Screen):  # type: ignore[misc]
    #: the window's clear colour while this screen shows (no full-screen fill of its own)
    background = colours.NAVY
    fontbook: Any = ObjectProperty(None, allownone=True)
    theme: Any = ObjectProperty(None)
    title: Any = ObjectProperty(())
    touch_line: Any = ObjectProperty(())
    #: index of the language shown now, and that language
    step: Any = NumericProperty(0)
    lang: Any = StringProperty("")
    #: seconds each language's line stays: LINE_SECONDS, or an urgent notice's reading
    #: pace while its languages take turns with the loop's (kiosk.ui.notice)
    line_seconds: Any = NumericProperty(LINE_SECONDS)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lines: list[tuple[Tokens, Tokens]] = []
        self._langs: list[str] = []
        self._line_event: Any = None
        #: the pictures' files, and the index of the one shown
        self.sources: list[str] = []
        self._picture = 0
        self._swapped = False
        self._events: list[Any] = []
        #: changes whenever what is shown starts over: a late decode is then dropped
        self._generation = 0
        self._decoding = False
        self._running = False
        #: video file -> its poster file, for the loop's videos
        self.posters: dict[str, str] = {}
        self.player: Player | None = None

    def show(self, pack: LoadedPack, fontbook: Any, theme: Any) -> None:
        self.fontbook = fontbook
        self.theme = theme
        self._langs = list(pack.manifest.languages)
        self._lines = [(pack.title(lang), pack.ui("touch_to_start", lang)) for lang in self._langs]
        self.sources = [str(pack.paths[rel]) for rel in pack.manifest.attract]
        self.posters = {
            str(pack.paths[rel]): str(pack.paths[video.poster])
            for rel, video in pack.manifest.videos.items()
            if rel in pack.manifest.attract
        }
        self._close_player()
        self._generation += 1
        self._picture = 0
        front, back = self._images()
        Animation.cancel_all(front)
        Animation.cancel_all(back)
        back.texture = None
        front.texture = self._first_picture()
        front.opacity = 1
        back.opacity = 0
        self.step = 0
        self._show_step()

    def picture_box(self) -> tuple[float, float]:
        """The part of the screen the pictures are drawn in (above the band)."""
        theme = self.theme
        if theme is None:
            return (1920.0, 1080.0 - BAND)
        return (float(theme.width), float(theme.height - theme.px(BAND)))

    @property
    def running(self) -> bool:
        """The loop is on screen: its timers run."""
        return self._running

    def textures(self) -> list[Any]:
        """The picture textures held now (one, two while fading)."""
        return [image.texture for image in self._images() if image.texture is not None]

    def _first_picture(self) -> Any:
        for path in self.sources:
            try:
                return upload(decode(self.posters.get(path, path), self.picture_box(), exact=True))
            except (OSError, ValueError) as exc:
                log.error("cannot show attract picture %s: %s", path, exc)
        return None

    def _show_step(self) -> None:
        if self._lines:
            index = int(self.step) % len(self._lines)
            self.title, self.touch_line = self._lines[index]
            self.lang = self._langs[index]

    def next_line(self, *_args: Any) -> None:
        self.step = (int(self.step) + 1) % max(1, len(self._lines))
        self._show_step()

    def _line_turn(self, *_args: Any) -> None:
        """The next language, and the turn after it at the pace asked for then."""
        self.next_line()
        if self._running:
            self._line_event = Clock.schedule_once(self._line_turn, float(self.line_seconds))

    def next_picture(self, *_args: Any) -> None:
        """Decode the next picture (a video's poster) in the background; it fades in
        when it is ready. Not while a video plays: its end moves the loop on."""
        if len(self.sources) < 2 or self._decoding or not self._running or self.player:
            return
        index = (self._picture + 1) % len(self.sources)
        self._decoding = True
        path = self.sources[index]
        threading.Thread(
            target=self._decode,
            args=(self._generation, index, self.posters.get(path, path), self.picture_box()),
            name="attract-picture",
            daemon=True,
        ).start()

    def _decode(self, generation: int, index: int, path: str, box: tuple[float, float]) -> None:
        try:
            pixels: Pixels | None = decode(path, box, exact=True)
        except Exception as exc:  # any failure: the picture on screen stays
            log.error("cannot show attract picture %s: %s", path, exc)
            pixels = None
        self._decoded(generation, index, pixels)

    @mainthread  # type: ignore[untyped-decorator]
    def _decoded(self, generation: int, index: int, pixels: Pixels | None) -> None:
        self._decoding = False
        if pixels is None or generation != self._generation or not self._running:
            return
        self._picture = index
        front, back = self._images()
        Animation.cancel_all(front)
        Animation.cancel_all(back)
        back.texture = upload(pixels)
        back.opacity = 0
        fade_in = Animation(opacity=1, d=FADE_SECONDS)
        fade_in.bind(on_complete=lambda *_a: self._faded_out(generation, front))
        if self.sources[index] in self.posters:
            fade_in.bind(on_complete=lambda *_a: self._play(generation, index))
        fade_in.start(back)
        Animation(opacity=0, d=FADE_SECONDS).start(front)
        self._swapped = not self._swapped  # the faded-in picture is the front one now

    def _faded_out(self, generation: int, image: Any) -> None:
        """The picture that faded out is not needed any more."""
        if generation == self._generation and image is not self._images()[0]:
            image.texture = None

    def _play(self, generation: int, index: int) -> None:
        """The video whose poster is on screen plays, muted; it loops when it is the
        whole loop, else its end brings the next picture."""
        if generation != self._generation or not self._running or self.player is not None:
            return
        player = Player(self.sources[index], muted=True, loop=len(self.sources) == 1)
        self.player = player
        image = self._images()[0]

        def frame(*_args: Any) -> None:
            if self.player is player and player.texture is not None:
                image.texture = player.texture
                image.canvas.ask_update()

        def ended(*_args: Any) -> None:
            if self.player is player and len(self.sources) > 1:
                Clock.schedule_once(lambda _dt: self._video_ended(player))

        player.core.bind(on_frame=frame, on_eos=ended)
        player.play()

    def _video_ended(self, player: Player) -> None:
        if self.player is not player:
            return
        # its last frame stays on screen (the image holds the texture) until the next
        # picture has faded in
        self._close_player()
        self.next_picture()

    def _close_player(self) -> None:
        player, self.player = self.player, None
        if player is not None:
            player.close()

    def _images(self) -> tuple[Any, Any]:
        a, b = self.ids.picture_a, self.ids.picture_b
        return (b, a) if self._swapped else (a, b)

    def on_enter(self, *_args: Any) -> None:
        self._stop()
        self._running = True
        self._events = [Clock.schedule_interval(self.next_picture, PICTURE_SECONDS)]
        if self.sources and self.sources[self._picture] in self.posters:
            self._play(self._generation, self._picture)
        self._line_event = Clock.schedule_once(self._line_turn, float(self.line_seconds))

    def on_leave(self, *_args: Any) -> None:
        """A traveller started: the pictures and lines go (pages need the memory), the
        timers stop."""
        self._stop()
        self._running = False
        self._generation += 1
        self._close_player()
        for image in self._images():
            Animation.cancel_all(image)
            image.texture = None
        self.title, self.touch_line = (), ()

    def _stop(self) -> None:
        for event in self._events:
            event.cancel()
        self._events = []
        if self._line_event is not None:
            self._line_event.cancel()
            self._line_event = None
