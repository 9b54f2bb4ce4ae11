"""Pack videos in the real UI under Xvfb: a page's video plays on a tap, its frames
change, its captions come in the traveller's language, a tap pauses it, the idle
reset stops it; the attract loop plays its video muted and goes on after it.

The video is made at run time by ffmpeg's test source (tests/videokit.py) and
built into the mini pack by the real build.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from uikit import ARTIFACTS, Kiosk, install

from tests.videokit import CAPTION_WORDS, video_pack


@pytest.fixture(scope="module")
def built_video(tmp_path_factory: pytest.TempPathFactory, font_cache: Path) -> Path:
    from server.packs.build import build_pack

    src = video_pack(tmp_path_factory.mktemp("src") / "mini")
    out = tmp_path_factory.mktemp("built") / "mini-video"
    build_pack(src, out, font_cache=font_cache)
    return out


@pytest.fixture
def kiosk(window: Any, built_video: Path, tmp_path: Path) -> Iterator[Kiosk]:
    install(tmp_path / "state", built_video, "mini-1")
    k = Kiosk(window, tmp_path / "state", tmp_path / "work", idle_timeout_s=60)
    yield k
    k.close()


def decoder_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "Next frame" and t.is_alive())


def picture_of(widget: Any) -> str:
    """A hash of the pixels the widget draws now."""
    image = widget.export_as_image()
    return hashlib.sha256(bytes(image.texture.pixels)).hexdigest()


def open_video_page(kiosk: Kiosk, lang: str) -> Any:
    kiosk.tap_at(960, 600)  # the attract loop
    kiosk.tap(kiosk.find(f"lang:{lang}"))
    kiosk.tap(kiosk.find("tile:welcome"))
    view = kiosk.find("video:media/tour.mp4")
    screen = kiosk.ui.manager.current_screen
    screen.ids.scroll.scroll_to(view, animate=False)
    kiosk.frames(3)
    return view


def test_a_page_video_plays_with_captions_pauses_and_stops_on_idle(kiosk: Kiosk) -> None:
    view = open_video_page(kiosk, "lo")
    assert view.playback == "poster" and view.poster is not None and view.player is None
    poster = picture_of(view)
    kiosk.tap(view)
    assert view.playback == "playing"
    assert view.muted, "the pack did not ask for sound"
    kiosk.wait(lambda: view.frames >= 5, "the first frames")
    first = picture_of(view)
    # the captions (one a second) come with the video's own clock: on a loaded machine the
    # first may be over before the test looks, so it takes the first Lao one it sees
    lao = CAPTION_WORDS["lo"]
    kiosk.wait(lambda: view.caption_text in lao, "a Lao caption")
    shown = view.caption_text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    kiosk.ui.capture(ARTIFACTS / "video-page-lo.png")
    label = view._label
    fonts = {str(piece[2]) for piece in label.drawn}
    assert fonts == {str(kiosk.ui.pack.font("Laoo", False))}, "drawn with the pack's Lao font"
    kiosk.wait(
        lambda: view.caption_text in lao and lao.index(view.caption_text) > lao.index(shown),
        "the next Lao caption",
    )
    later = picture_of(view)
    assert len({poster, first, later}) == 3, "frames change over time"
    assert 0 < view.progress < 1
    kiosk.tap(view)
    assert view.playback == "paused"
    frames = view.frames
    time.sleep(0.5)
    kiosk.frames(10)
    assert view.frames == frames, "a paused video shows no new frames"
    kiosk.tap(view)
    kiosk.wait(lambda: view.frames > frames + 3, "playback after the pause")
    assert decoder_threads() == 1
    kiosk.time.advance(61)
    kiosk.ui.check_idle()
    assert kiosk.ui.screen_name == "page:welcome", "watching a video is not being idle"
    view.pause()  # the traveller pauses it and walks away
    kiosk.time.advance(61)
    kiosk.ui.check_idle()
    assert kiosk.ui.screen_name == "attract"
    assert view.player is None and view.playback == "poster"
    kiosk.wait(lambda: decoder_threads() == 0, "the page video's decoder to end")


def test_a_video_plays_to_its_end_and_returns_to_its_poster(kiosk: Kiosk) -> None:
    view = open_video_page(kiosk, "en")
    kiosk.tap(view)
    kiosk.wait(lambda: view.caption_text in CAPTION_WORDS["en"], "an English caption")
    kiosk.wait(lambda: view.playback == "poster", "the end of the 3-second video")
    assert view.player is None and view.progress == 0 and view.caption_text == ""


def test_the_attract_loop_plays_its_video_muted_then_goes_on(kiosk: Kiosk) -> None:
    ui = kiosk.ui
    assert ui.screen_name == "attract"
    attract = ui.attract
    kiosk.wait(lambda: attract.player is not None and attract.player.frames > 10, "the video")
    player = attract.player
    assert player is not None and player.core.volume == 0
    front = attract._images()[0]
    assert front.texture is player.texture
    kiosk.wait(lambda: attract.player is None, "the end of the attract video")
    kiosk.wait(lambda: attract._picture == 1, "the next picture of the loop")
    kiosk.wait(lambda: decoder_threads() == 0, "the attract video's decoder to end")


def test_a_touch_on_the_attract_video_stops_it(kiosk: Kiosk) -> None:
    attract = kiosk.ui.attract
    kiosk.wait(lambda: attract.player is not None and attract.player.frames > 3, "the video")
    kiosk.tap_at(960, 600)
    assert kiosk.ui.screen_name == "language"
    assert attract.player is None
    kiosk.wait(lambda: decoder_threads() == 0, "the attract video's decoder to end")


def test_pack_preview_shows_the_poster_with_a_play_mark(
    window: Any, tmp_path: Path, font_cache: Path
) -> None:
    import os
    import subprocess
    import sys

    from PIL import Image, ImageChops

    from server.packs.build import build_pack

    src = video_pack(tmp_path / "src" / "mini")
    for page in (src / "pages" / "help").glob("*.md"):
        title, _, rest = page.read_text().partition("\n")
        page.write_text(f"{title}\n\n![Tour](media/tour.mkv)\n{rest}")
    png = tmp_path / "help-en.png"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["XDG_CACHE_HOME"] = str(font_cache.parents[1])
    proc = subprocess.run(
        [sys.executable, "-m", "kiosk.cli", "pack", "preview", str(src), "--lang", "en",
         "--page", "help", "-o", str(png)],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    built = build_pack(src, tmp_path / "built", font_cache=font_cache)
    install(tmp_path / "state", built.out, "mini-1")
    k = Kiosk(window, tmp_path / "state", tmp_path / "work")
    try:
        k.ui.preview_page("help", "en")
        k.frames(5)
        view = k.find("video:media/tour.mp4")
        x, y = view.to_window(view.center_x, view.center_y)
        side = min(view.width, view.height) * 0.22
        kiosk_png = k.screenshot("video-preview-en")
        assert view.player is None, "a preview plays nothing"
    finally:
        k.close()
    with Image.open(png) as a, Image.open(kiosk_png) as b:
        shot = a.convert("RGB")
        diff = ImageChops.difference(shot, b.convert("RGB"))
        assert diff.getbbox() is None, f"preview and kiosk differ in {diff.getbbox()}"
    top = shot.height - y
    assert min(shot.getpixel((round(x), round(top)))) >= 225, "the white play triangle"
    disc = shot.getpixel((round(x - side * 0.42), round(top)))
    assert max(disc) <= 110, f"the dark disc around it: {disc}"
