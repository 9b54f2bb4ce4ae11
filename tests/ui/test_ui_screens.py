"""Every screen in landscape and portrait 1080p: it fits, its targets are finger-sized,
and a picture of it is saved in test-artifacts/ui/ for a person to look at."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from uikit import Kiosk, install

from kiosk.local import Notice

SIZES = {"landscape": (1920, 1080), "portrait": (1080, 1920)}
#: 9 mm on a 21.5" 1080p panel (0.25 mm per pixel) is 36 px; we want far more
MIN_TARGET_PX = 80
MIN_BODY_PX = 28


@pytest.fixture(params=["landscape", "portrait"])
def sample(request: Any, window: Any, built_sample: Path, tmp_path: Path) -> Iterator[Kiosk]:
    window.size = SIZES[request.param]
    install(tmp_path / "state", built_sample, "lao-bao-1")
    k = Kiosk(window, tmp_path / "state", tmp_path / "work")
    k.orientation = request.param  # type: ignore[attr-defined]
    yield k
    k.close()
    window.size = SIZES["landscape"]


def check_screen(kiosk: Kiosk, where: str) -> None:
    """What a traveller sees fits the screen and can be touched."""
    width, height = kiosk.window.size
    for text in kiosk.texts():
        assert not any(line.split for line in text.lines), f"{where}: a word was cut: {text.tokens}"
        left, _bottom = text.to_window(text.x, text.y)
        wrap = text.wrap_width or text.width
        assert text.text_width <= wrap + 1, f"{where}: text wider than its box"
        if text.lines:
            assert left >= -1 and left + text.text_width <= width + 1, f"{where}: text off screen"
    targets = [w for w in kiosk.walk() if hasattr(w, "state") and getattr(w, "name", "")]
    for target in targets:
        _x, y = target.to_window(target.x, target.y)
        visible = y >= 0 and y + target.height <= height + 1
        if visible:
            assert min(target.width, target.height) >= MIN_TARGET_PX, f"{where}: {target.name}"


def body_texts(kiosk: Kiosk) -> list[Any]:
    """The texts of the page body (not the header or the navigation bar)."""
    holder = kiosk.ui.page.ids.holder
    texts = [w for w in kiosk.texts() if w in set(holder.walk(restrict=True))]
    assert texts
    return texts


def test_every_screen_fits_and_is_saved(sample: Kiosk) -> None:
    ui = sample.ui
    o = sample.orientation  # type: ignore[attr-defined]
    check_screen(sample, "attract")
    sample.screenshot(f"{o}-attract")

    sample.tap_at(500, 500)
    check_screen(sample, "language")
    sample.screenshot(f"{o}-language")
    assert len([n for n in ("vi", "en", "lo", "th", "zh") if sample.find(f"lang:{n}")]) == 5

    for lang in ("vi", "en", "lo", "th", "zh"):
        ui.choose_language(lang)
        sample.frames()
        check_screen(sample, f"home/{lang}")
        sample.screenshot(f"{o}-home-{lang}")
        ui.open_page("procedures")
        sample.frames()
        check_screen(sample, f"procedures/{lang}")
        sample.screenshot(f"{o}-page-procedures-{lang}")
        assert min(t.drawn_size for t in body_texts(sample)) >= MIN_BODY_PX
        ui.show_language()
    tiles = ui.home.ids.tiles
    assert tiles.cols == (2 if o == "portrait" else 3)

    ui.choose_language("lo")
    ui.open_page("welcome")
    sample.frames()
    bar = ui.page.ids.bar
    assert bar.y == 0 and len(bar.children) == 4  # back, home, language, large text
    sample.tap(sample.find("large_text"))
    check_screen(sample, "welcome/lo large")
    sample.screenshot(f"{o}-page-welcome-lo-large")
    assert min(t.drawn_size for t in body_texts(sample)) >= MIN_BODY_PX * 1.35

    sample.channel.write_notice(
        Notice(
            id="n",
            text={
                "lo": "ດ່ານປິດເວລາ 17:00 ມື້ນີ້ ຍ້ອນສະພາບອາກາດບໍ່ດີ. ກະລຸນາກັບມາມື້ອື່ນ.",
                "vi": "Cửa khẩu đóng lúc 17:00 hôm nay vì thời tiết xấu.",
            },
            expires=sample.time.now + 300,
        )
    )
    sample.link.poll()
    sample.frames()
    check_screen(sample, "notice/lo")
    sample.screenshot(f"{o}-notice-lo")


@pytest.mark.parametrize("lang", ["vi", "en", "lo", "th", "zh"])
def test_a_page_with_pictures_in_every_language(
    window: Any, built_sample: Path, tmp_path: Path, lang: str
) -> None:
    install(tmp_path / "state", built_sample, "lao-bao-1")
    k = Kiosk(window, tmp_path / "state", tmp_path / "work")
    try:
        k.ui.preview_page("welcome", lang)
        k.frames()
        check_screen(k, f"welcome/{lang}")
        k.screenshot(f"landscape-page-welcome-{lang}")
        pictures = [w for w in k.walk() if type(w).__name__ == "Picture"]
        assert pictures and all(p.texture is not None for p in pictures)
        column = k.ui.theme.column_width(1920)
        assert all(p.width <= column + 1 for p in pictures)
    finally:
        k.close()


def test_preparing_screen(window: Any, tmp_path: Path) -> None:
    for orientation, size in SIZES.items():
        window.size = size
        k = Kiosk(window, tmp_path / orientation, tmp_path / "work")
        try:
            check_screen(k, "preparing")
            k.screenshot(f"{orientation}-preparing")
        finally:
            k.close()
    window.size = SIZES["landscape"]
