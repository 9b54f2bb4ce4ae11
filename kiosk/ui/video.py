"""Pack videos on screen: a page's video (tap to play or pause, progress, captions)
and the attract loop's (muted, one after the other, looping).

Provider: Kivy's ffpyplayer video provider (KIVY_VIDEO=ffpyplayer, set by
kiosk.ui.env). ffpyplayer has wheels for x86_64 and aarch64 with FFmpeg
inside, and hands frames to Kivy as GL textures (YUV converted by a shader),
so it draws wherever Kivy draws — on a Raspberry Pi OS Lite kiosk that is
SDL2 on KMS/DRM, without X. Kivy's GStreamer provider is not in Kivy's pip
wheel (kivy.lib.gstplayer is not compiled there): it would need Kivy built
from source against the Pi's GStreamer on every kiosk, and GStreamer's
hardware sinks draw on a plane of their own, outside Kivy's scene (captions
and the notice banner could not be drawn over them). ffpyplayer decodes in
software with FFmpeg: the pack build's H.264 High <= 1080p30 (server/packs/
transcode.py) is within what a Pi 4's or Pi 5's cores decode; bench/video.py
measures frames and memory here.

Memory: a player holds one texture and FFmpeg's small frame queue; a page
plays one video at a time, and a video that stops (page left, idle reset,
another video tapped) is unloaded, its decoder thread ended and its texture
let go; the poster (a JPEG of the pack) is the only picture kept meanwhile.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from kivy.core.video import Video as CoreVideo
from kivy.graphics import Color, InstructionGroup, Rectangle, Triangle
from kivy.properties import (
    BooleanProperty,
    NumericProperty,
    ObjectProperty,
    OptionProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.floatlayout import FloatLayout

from kiosk.protocol.webvtt import CaptionError, CaptionTrack, parse_vtt
from kiosk.ui import theme
from kiosk.ui.plaintext import text_tokens
from kiosk.ui.textview import TokenText

log = logging.getLogger(__name__)

#: caption files larger than this are not read (the build writes a few KB)
MAX_CAPTION_BYTES = 1024 * 1024


class Player:
    """One video file playing: Kivy's core video, with frames counted."""

    def __init__(self, path: str, *, muted: bool, loop: bool) -> None:
        self.path = path
        self.core: Any = CoreVideo(filename=path, eos="loop" if loop else "stop")
        self.core.volume = 0.0 if muted else 1.0
        #: frames drawn since play (each new decoded frame shown once)
        self.frames = 0
        #: times the end was reached
        self.ends = 0
        self.core.bind(on_frame=self._frame, on_eos=self._eos)

    def _frame(self, *_args: Any) -> None:
        self.frames += 1

    def _eos(self, *_args: Any) -> None:
        self.ends += 1

    def play(self) -> None:
        self.core.play()

    def pause(self) -> None:
        self.core.pause()

    @property
    def texture(self) -> Any:
        return self.core.texture

    @property
    def position(self) -> float:
        return float(self.core.position or 0.0)

    @property
    def duration(self) -> float:
        return float(self.core.duration or 0.0)

    def close(self) -> None:
        """End the decoder thread and let go of the texture."""
        self.core.unbind(on_frame=self._frame, on_eos=self._eos)
        self.core.unload()


def read_captions(path: Path | None) -> CaptionTrack | None:
    if path is None:
        return None
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_CAPTION_BYTES + 1)
        if len(data) > MAX_CAPTION_BYTES:
            raise CaptionError(0, "too large")
        return CaptionTrack(parse_vtt(data.decode("utf-8")))
    except (OSError, UnicodeDecodeError, CaptionError) as exc:
        log.error("captions %s cannot be shown: %s", path, exc)
        return None


class VideoView(ButtonBehavior, FloatLayout):  # type: ignore[misc]
    """A video on a page: the poster with a play mark; a tap plays, a tap pauses.

    `playback` is "poster" (nothing loaded), "playing" or "paused". The bar at the
    bottom shows how far it has played; captions (the page's language) show
    over the lower part of the picture while it plays.
    """

    source: Any = StringProperty("")
    poster: Any = ObjectProperty(None, allownone=True)
    playback: Any = OptionProperty("poster", options=["poster", "playing", "paused"])
    muted: Any = BooleanProperty(True)
    lang: Any = StringProperty("en")
    fontbook: Any = ObjectProperty(None, allownone=True)
    caption_size: Any = NumericProperty(30)
    #: what the captions show now ("" none)
    caption_text: Any = StringProperty("")
    #: 0..1 of the video played
    progress: Any = NumericProperty(0.0)
    #: a name tests and health reports can find the video by
    name: Any = StringProperty("")

    __events__ = ("on_play",)

    def __init__(self, captions: CaptionTrack | None = None, **kwargs: Any) -> None:
        self._group = InstructionGroup()
        self.player: Player | None = None
        self.captions = captions
        self._shown: Any = None
        super().__init__(**kwargs)
        self.canvas.before.add(self._group)
        #: the captions' text, on screen only while there is a caption to show
        self._label = TokenText(
            fontbook=self.fontbook,
            font_size=self.caption_size,
            color=theme.WHITE,
            halign="center",
            size_hint=(None, None),
        )
        for name in ("pos", "size", "poster", "playback", "progress"):
            self.fbind(name, self._draw)
        self._draw()

    def on_play(self) -> None:
        """Fired when this video starts playing (the page pauses the others)."""

    def on_release(self) -> None:
        if self.playback == "playing":
            self.pause()
        else:
            self.play()

    def play(self) -> None:
        if self.player is None:
            self.player = Player(self.source, muted=self.muted, loop=False)
            self.player.core.bind(on_frame=self._frame, on_eos=self._ended)
        self.player.play()
        self.playback = "playing"
        self.dispatch("on_play")

    def pause(self) -> None:
        if self.player is not None and self.playback == "playing":
            self.player.pause()
            self.playback = "paused"

    def stop(self) -> None:
        """Back to the poster; the decoder and its frames go."""
        if self.player is not None:
            self.player.core.unbind(on_frame=self._frame, on_eos=self._ended)
            self.player.close()
            self.player = None
        self._shown = None
        self.playback = "poster"
        self.progress = 0.0
        self._set_caption("")

    @property
    def frames(self) -> int:
        return self.player.frames if self.player is not None else 0

    def _frame(self, *_args: Any) -> None:
        player = self.player
        if player is None:
            return
        self._shown = player.texture
        if player.duration > 0:
            self.progress = min(1.0, player.position / player.duration)
        if self.captions is not None:
            self._set_caption(self.captions.at(int(player.position * 1000)))
        self._draw()

    def _ended(self, *_args: Any) -> None:
        self.stop()

    def _set_caption(self, text: str) -> None:
        if text == self.caption_text:
            return
        self.caption_text = text
        label = self._label
        label.fontbook = self.fontbook
        label.font_size = self.caption_size
        label.width = label.wrap_width = max(100.0, self.width * 0.9)
        label.tokens = text_tokens(text, self.lang) if text else ()
        if text and label.parent is None:
            self.add_widget(label)
        elif not text and label.parent is not None:
            self.remove_widget(label)
        self._place_caption()

    def _place_caption(self) -> None:
        label = self._label
        label.x = self.x + (self.width - label.width) / 2
        label.y = self.y + self.height * 0.06

    def _draw(self, *_args: Any) -> None:
        g = self._group
        g.clear()
        g.add(Color(*theme.INK))
        g.add(Rectangle(pos=self.pos, size=self.size))
        texture = self._shown if self._shown is not None else self.poster
        if texture is not None:
            g.add(Color(1, 1, 1, 1))
            g.add(Rectangle(texture=texture, pos=self.pos, size=self.size))
        if self.caption_text:
            g.add(Color(0, 0, 0, 0.55))
            label = self._label
            pad = self.caption_size * 0.3
            g.add(Rectangle(pos=(self.x, label.y - pad), size=(self.width, label.height + 2 * pad)))
        if self.playback != "playing":
            self._play_mark(g)
        if self.playback != "poster":
            bar = max(4.0, self.height / 90)
            g.add(Color(0, 0, 0, 0.6))
            g.add(Rectangle(pos=self.pos, size=(self.width, bar)))
            g.add(Color(*theme.YELLOW))
            g.add(Rectangle(pos=self.pos, size=(self.width * float(self.progress), bar)))
        self._place_caption()

    def _play_mark(self, g: InstructionGroup) -> None:
        """A round dark disc with a white triangle: "this plays"."""
        from kivy.graphics import Ellipse

        side = min(self.width, self.height) * 0.22
        cx, cy = self.x + self.width / 2, self.y + self.height / 2
        g.add(Color(0, 0, 0, 0.6))
        g.add(Ellipse(pos=(cx - side / 2, cy - side / 2), size=(side, side)))
        g.add(Color(1, 1, 1, 0.95))
        r = side * 0.26
        g.add(Triangle(points=[cx - r * 0.7, cy - r, cx - r * 0.7, cy + r, cx + r, cy]))
