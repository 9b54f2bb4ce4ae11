"""Living with the agent: pack switches without a restart, a broken pack that never
takes the screen, honest health, urgent notices, screenshots on request."""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from uikit import Kiosk, copy_built, install

from kiosk.agent.layout import Layout
from kiosk.local import Notice
from kiosk.protocol.pack import BLOB_DIR, MANIFEST_NAME, parse_manifest


@pytest.fixture
def kiosk(window: Any, built_mini: Path, tmp_path: Path) -> Iterator[Kiosk]:
    install(tmp_path / "state", built_mini, "mini-1")
    k = Kiosk(window, tmp_path / "state", tmp_path / "work")
    yield k
    k.close()


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def switch_and_wait(kiosk: Kiosk, version: int) -> None:
    """The agent switched `current`: the UI notices and shows the new pack."""
    kiosk.link.check_pack()
    kiosk.wait(
        lambda: kiosk.ui.pack is not None and kiosk.ui.pack.version == version,
        f"version {version} on screen",
    )


def everything_drawn(kiosk: Kiosk, at_least: int = 6) -> None:
    """The frame after the switch shows a whole screen: every text is laid out."""
    texts = kiosk.texts()
    assert len(texts) >= at_least
    for widget in texts:
        if widget.tokens:
            assert widget.lines and widget.height > 0, f"{widget.tokens[:2]} not laid out"


def test_a_new_pack_replaces_the_page_on_screen_without_a_restart(
    kiosk: Kiosk, mini_v2: Path, mini_v3: Path
) -> None:
    ui = kiosk.ui
    ui.touched()
    ui.choose_language("en")
    ui.open_page("welcome")
    kiosk.frames()
    root_before = ui.root
    assert "Version two" not in kiosk.shown_text()

    install(kiosk.channel.state_dir, mini_v2, "mini-2")
    switch_and_wait(kiosk, 2)
    everything_drawn(kiosk)  # checked in the very frame of the switch
    assert ui.screen_name == "page:welcome" and ui.lang == "en"
    assert "Version two welcomes you" in kiosk.shown_text()
    assert ui.root is root_before  # same process, same window, no restart
    health = kiosk.channel.read_health()  # written at once by the switch
    assert health is not None
    assert (health.pack_id, health.pack_version, health.ok) == ("mini", 2, True)

    ui.open_page("help")
    kiosk.frames()
    install(kiosk.channel.state_dir, mini_v3, "mini-3")  # version 3 has no help page
    switch_and_wait(kiosk, 3)
    everything_drawn(kiosk)
    assert ui.screen_name == "home"
    assert "tile:help" not in {getattr(w, "name", "") for w in kiosk.walk()}
    assert kiosk.health().pack_version == 3


def test_a_damaged_pack_never_takes_the_screen_and_health_says_why(
    kiosk: Kiosk, mini_v2: Path, tmp_path: Path
) -> None:
    ui = kiosk.ui
    ui.touched()
    ui.choose_language("vi")
    ui.open_page("welcome")
    kiosk.frames()
    shown = kiosk.shown_text()

    placed = install(kiosk.channel.state_dir, mini_v2, "mini-2-damaged", switch=False)
    page = placed / "pages" / "welcome" / "vi.json"
    data = page.read_bytes()
    page.unlink()  # the installed file is a hard link into the blob store: replace it
    page.write_bytes(data.replace(b"Ch", b"XX", 1))  # same length, other bytes
    Layout(kiosk.channel.state_dir).switch("mini-2-damaged")

    kiosk.link.check_pack()
    kiosk.wait(lambda: ui.error is not None, "the load to fail")
    kiosk.frames()
    assert ui.pack is not None and ui.pack.version == 1  # the old pack stays on screen
    assert ui.screen_name == "page:welcome" and kiosk.shown_text() == shown
    health = kiosk.channel.read_health()
    assert health is not None and health.ok is False
    assert (health.pack_id, health.pack_version) == ("mini", 2)  # the one that failed
    assert "pages/welcome/vi.json does not match its hash" in (health.error or "")

    kiosk.link.check_pack()  # the same broken pack is not loaded again and again
    assert kiosk.link._loading is None

    Layout(kiosk.channel.state_dir).switch("mini-1")  # the agent reverts
    kiosk.link.check_pack()
    health = kiosk.channel.read_health()
    assert health is not None
    assert (health.pack_version, health.ok, health.error) == (1, True, None)


def test_a_pack_whose_font_cannot_be_opened_keeps_the_old_one(
    kiosk: Kiosk, mini_v2: Path, tmp_path: Path
) -> None:
    """Hashes match (the builder made a mistake), but the font is no font: drawing fails."""
    bad = copy_built(mini_v2, tmp_path / "bad-font")
    manifest = parse_manifest((bad / MANIFEST_NAME).read_bytes())
    garbage = b"this is not a font" * 100
    digest = hashlib.sha256(garbage).hexdigest()
    (bad / BLOB_DIR / digest).write_bytes(garbage)
    files = tuple(
        f.model_copy(update={"sha256": digest, "length": len(garbage)})
        if f.path == "fonts/Thai-Regular.ttf"
        else f
        for f in manifest.files
    )
    (bad / MANIFEST_NAME).write_bytes(manifest.model_copy(update={"files": files}).to_bytes())
    install(kiosk.channel.state_dir, bad, "mini-2-badfont")

    kiosk.link.check_pack()
    kiosk.wait(lambda: kiosk.ui.error is not None, "drawing to fail")
    assert kiosk.ui.pack is not None and kiosk.ui.pack.version == 1
    assert kiosk.ui.screen_name == "attract"
    everything_drawn(kiosk, at_least=2)
    health = kiosk.health()
    assert (health.pack_version, health.ok) == (2, False)
    assert "cannot be drawn" in (health.error or "")


def test_without_a_pack_a_calm_preparing_screen_then_the_first_pack(
    window: Any, built_mini: Path, tmp_path: Path
) -> None:
    k = Kiosk(window, tmp_path / "state", tmp_path / "work")
    try:
        assert k.ui.screen_name == "preparing"
        health = k.health()
        assert (health.pack_id, health.screen, health.ok) == (None, "preparing", True)
        k.tap_at(900, 500)  # touching does nothing but note the touch
        assert k.ui.screen_name == "preparing"
        install(tmp_path / "state", built_mini, "mini-1")
        switch_and_wait(k, 1)
        assert k.ui.screen_name == "attract"
        assert k.health().pack_id == "mini"
    finally:
        k.close()


def test_an_urgent_notice_shows_in_the_travellers_language_and_expires(kiosk: Kiosk) -> None:
    ui = kiosk.ui
    notice = Notice(
        id="n1",
        text={"vi": "Cửa khẩu đóng lúc 17:00 hôm nay", "en": "The gate closes at 17:00 today"},
        expires=kiosk.time.now + 600,
    )
    kiosk.channel.write_notice(notice)
    kiosk.link.poll()
    kiosk.frames()
    overlay = ui.overlay
    # nobody chose a language: both of the notice's languages at once
    assert overlay.parent is not None and overlay.stacked
    assert [lang for lang, _w in overlay.bodies] == ["vi", "en"]
    assert "17:00" in kiosk.shown_text() and "Thông báo khẩn" in kiosk.shown_text()
    kiosk.screenshot("notice-attract-vi")

    kiosk.tap_at(100, 100)  # outside the card: the notice keeps the touch
    assert ui.screen_name == "attract"

    ui.touched()
    ui.choose_language("en")
    kiosk.frames()
    assert overlay.lang == "en" and "The gate closes" in kiosk.shown_text()
    ui.show_language()
    ui.choose_language("lo")  # not written in Lao: Vietnamese, marked as a fallback
    kiosk.frames()
    assert overlay.lang == "vi" and overlay.fallback

    kiosk.tap(kiosk.find("close"))
    assert overlay.parent is None
    kiosk.link.poll()  # still valid, but this traveller closed it
    assert overlay.parent is None

    kiosk.channel.write_notice(Notice(id="n2", text={"th": "ด่านปิด 17:00"}, expires=notice.expires))
    kiosk.link.poll()
    kiosk.frames()
    assert overlay.parent is not None and overlay.lang == "th"  # the only language it has

    kiosk.time.advance(601)
    kiosk.link.poll()
    kiosk.frames()
    assert overlay.parent is None
    assert "ด่านปิด" not in kiosk.shown_text()


def test_the_agent_gets_a_screenshot_when_it_asks(kiosk: Kiosk) -> None:
    kiosk.ui.touched()
    kiosk.ui.choose_language("zh")
    kiosk.frames()
    kiosk.channel.request("shot-1", {"op": "screenshot"})
    kiosk.channel.request("shot-2", {"op": "screenshot", "max_width": 960})
    kiosk.link.poll()
    shots = kiosk.channel.screenshots_dir
    assert png_size(shots / "shot-1.png") == (1920, 1080)
    assert png_size(shots / "shot-2.png") == (960, 540)
    assert kiosk.channel.pending_requests() == []
    assert sorted(p.name for p in shots.iterdir()) == ["shot-1.png", "shot-2.png"]


def test_health_reports_what_the_agent_needs(kiosk: Kiosk) -> None:
    raw = json.loads(kiosk.channel.health_path.read_text())
    assert set(raw) == {
        "ts",
        "pid",
        "pack_id",
        "pack_version",
        "screen",
        "lang",
        "last_touch",
        "ok",
        "error",
    }
    assert raw["ts"] == kiosk.time.now and raw["last_touch"] is None
