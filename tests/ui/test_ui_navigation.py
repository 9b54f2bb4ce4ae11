"""A traveller's way through the kiosk, by touches on the real screen.

attract -> language -> home -> page -> link -> back -> home -> idle -> attract,
with the health report and the anonymous session record the agent receives.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from uikit import Kiosk, install


@pytest.fixture
def kiosk(window: Any, built_mini: Path, tmp_path: Path) -> Iterator[Kiosk]:
    install(tmp_path / "state", built_mini, "mini-1")
    k = Kiosk(window, tmp_path / "state", tmp_path / "work", idle_timeout_s=60)
    yield k
    k.close()


def test_a_traveller_goes_through_the_pages_and_the_kiosk_resets_when_left(kiosk: Kiosk) -> None:
    ui = kiosk.ui
    assert ui.screen_name == "attract"
    assert kiosk.health().screen == "attract" and kiosk.health().ok

    kiosk.tap_at(960, 700)  # anywhere on the attract loop
    assert ui.screen_name == "language"
    kiosk.tap(kiosk.find("lang:lo"))
    assert ui.screen_name == "home" and ui.lang == "lo"
    assert "ຊຸດທົດລອງ" in kiosk.shown_text()  # the pack title, in Lao

    kiosk.tap(kiosk.find("tile:welcome"))
    assert ui.screen_name == "page:welcome"
    assert "ຍິນດີຕ້ອນຮັບ" in kiosk.shown_text()
    health = kiosk.health()
    assert (health.screen, health.lang, health.pack_id, health.pack_version) == (
        "page:welcome",
        "lo",
        "mini",
        1,
    )
    assert health.last_touch == pytest.approx(kiosk.time.now)

    # the link in the paragraph ("ການຊ່ວຍເຫຼືອ" -> help), touched where it is drawn
    link_text = next(w for w in kiosk.texts() if any(t.l == "help" for t in w.tokens))
    _line, _run, _font, x, y, w, h = next(d for d in link_text.drawn if d[1].link == "help")
    kiosk.tap_at(*link_text.to_window(link_text.x + x + w / 2, link_text.y + y + h / 2))
    assert ui.screen_name == "page:help"
    assert "ສອບຖາມ" in kiosk.shown_text()

    kiosk.tap(kiosk.find("back"))
    assert ui.screen_name == "page:welcome"
    kiosk.tap(kiosk.find("child:help"))  # the sub-page card under "In this section"
    assert ui.screen_name == "page:help"
    kiosk.tap(kiosk.find("home"))
    assert ui.screen_name == "home"

    kiosk.tap(kiosk.find("large_text"))
    assert ui.large_text and kiosk.find("large_text").active
    kiosk.tap(kiosk.find("language"))
    kiosk.tap(kiosk.find("lang:en"))
    assert ui.lang == "en" and "Test pack" in kiosk.shown_text()

    # left alone: nothing happens before the timeout, everything resets after it
    kiosk.time.advance(59)
    ui.check_idle()
    assert ui.screen_name == "home"
    kiosk.time.advance(2)
    ui.check_idle()
    kiosk.frames()
    assert ui.screen_name == "attract"
    assert ui.lang is None and not ui.large_text
    assert kiosk.health().lang is None

    sessions = sorted(kiosk.channel.sessions_dir.glob("*.json"))
    assert len(sessions) == 1
    record = json.loads(sessions[0].read_text())
    assert set(record) == {"started", "seconds", "languages", "pages"}  # nothing personal
    assert record["languages"] == ["lo", "en"]
    assert record["pages"] == ["welcome", "help", "help"]
    # from the first touch to the last one, not counting the idle minute
    assert 5 < record["seconds"] < 30


def test_back_walks_back_through_home_and_language_to_the_attract_loop(kiosk: Kiosk) -> None:
    kiosk.tap_at(500, 500)
    kiosk.tap(kiosk.find("lang:th"))
    kiosk.tap(kiosk.find("tile:welcome"))
    screens = [kiosk.ui.screen_name]
    for _ in range(2):
        kiosk.tap(kiosk.find("back"))
        screens.append(kiosk.ui.screen_name)
    assert screens == ["page:welcome", "home", "language"]


def test_a_touch_reported_twice_by_two_input_drivers_counts_once(kiosk: Kiosk) -> None:
    from kivy.base import EventLoop
    from uikit import _Finger

    kiosk.tap_at(500, 500)
    kiosk.tap(kiosk.find("lang:vi"))
    tile = kiosk.find("tile:welcome")
    x, y = tile.to_window(*tile.center)
    first, second = _Finger(x, y, kiosk.window), _Finger(x + 3, y, kiosk.window)
    for etype in ("begin", "end"):
        EventLoop.post_dispatch_input(etype, first)
        EventLoop.post_dispatch_input(etype, second)  # same instant, same place
    kiosk.frames()
    assert kiosk.ui.screen_name == "page:welcome"
    assert kiosk.ui.history.stack == ["welcome"]
