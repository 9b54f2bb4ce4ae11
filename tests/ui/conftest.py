"""The UI tests' window: Kivy in a real window on a private Xvfb, one per test run.

Xvfb (24-bit colour, 1920x1920 so that both 1920x1080 and 1080x1920 fit)
is started on a display number it picks itself; Kivy is set up before its
first import. Screenshots go to test-artifacts/ui/ for a person to look at.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "content_packs" / "lao-bao"
FIXTURE_MINI = REPO / "tests" / "fixtures" / "packs" / "mini"


@pytest.fixture(scope="session")
def window(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if shutil.which("Xvfb") is None:
        pytest.fail(
            "Xvfb is missing: the UI tests draw in a real window on Xvfb; "
            "apt-get install xvfb xauth libgl1-mesa-dri (scripts/test installs it as root)"
        )
    from kiosk.ui.env import WindowSetup, setup_kivy
    from kiosk.ui.xvfb import Xvfb

    xvfb = Xvfb(1920, 1920)
    previous = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = xvfb.start()
    try:
        setup_kivy(WindowSetup(1920, 1080), kivy_home=tmp_path_factory.mktemp("kivy-home"))
        from kivy.base import EventLoop

        EventLoop.ensure_window()
        from kivy.core.window import Window

        assert Window is not None, "Kivy could not open a window on Xvfb"
        Window.size = (1920, 1080)
        yield Window
        Window.close()
    finally:
        xvfb.stop()
        if previous is None:
            os.environ.pop("DISPLAY", None)
        else:
            os.environ["DISPLAY"] = previous


@pytest.fixture(scope="session")
def built_sample(tmp_path_factory: pytest.TempPathFactory, font_cache: Path) -> Path:
    """content_packs/lao-bao built once per run (the sample pack every kiosk will play)."""
    from server.packs.build import build_pack

    out = tmp_path_factory.mktemp("built") / "lao-bao"
    build_pack(SAMPLE, out, font_cache=font_cache)
    return out


@pytest.fixture(scope="session")
def mini_v2(tmp_path_factory: pytest.TempPathFactory, font_cache: Path) -> Path:
    """The mini pack, version 2: the English welcome page says so."""
    from server.packs.build import build_pack

    src = tmp_path_factory.mktemp("src") / "mini"
    shutil.copytree(FIXTURE_MINI, src)
    page = src / "pages" / "welcome" / "en.md"
    page.write_text(page.read_text().replace("Welcome to the", "Version two welcomes you to the"))
    out = tmp_path_factory.mktemp("built") / "mini-v2"
    build_pack(src, out, version=2, font_cache=font_cache)
    return out


@pytest.fixture(scope="session")
def mini_v3(tmp_path_factory: pytest.TempPathFactory, font_cache: Path) -> Path:
    """The mini pack, version 3: the help page is gone (and the links to it)."""
    import re

    from server.packs.build import build_pack

    src = tmp_path_factory.mktemp("src") / "mini"
    shutil.copytree(FIXTURE_MINI, src)
    shutil.rmtree(src / "pages" / "help")
    toml = (src / "pack.toml").read_text()
    (src / "pack.toml").write_text(toml[: toml.index('[[pages]]\nid = "help"')])
    for page in (src / "pages" / "welcome").glob("*.md"):
        page.write_text(re.sub(r"\[([^\]]*)\]\(page:help\)", r"\1", page.read_text()))
    out = tmp_path_factory.mktemp("built") / "mini-v3"
    build_pack(src, out, version=3, font_cache=font_cache)
    return out
