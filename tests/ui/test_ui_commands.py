"""The two commands, run as their users run them: `bgk pack preview` and `bgk kiosk ui`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops
from uikit import ARTIFACTS, Kiosk, install

from kiosk.local import Channel

REPO = Path(__file__).resolve().parents[2]
MINI = REPO / "tests" / "fixtures" / "packs" / "mini"
BGK = [sys.executable, "-m", "kiosk.cli"]
DEADLINE_S = 60.0


def no_display_env() -> dict[str, str]:
    """A machine without a desktop: preview must start its own Xvfb."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["PYTHAINLP_READ_ONLY"] = "1"
    return env


def test_preview_draws_every_page_and_language_in_portrait(tmp_path: Path) -> None:
    out = tmp_path / "previews"
    proc = subprocess.run(
        [*BGK, "pack", "preview", str(MINI), "--all", "-o", str(out), "--portrait", "--json"],
        capture_output=True,
        text=True,
        env=no_display_env(),
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    names = sorted(Path(f["path"]).name for f in result["files"])
    assert names == sorted(
        f"{p}-{lang}.png"
        for p in ("home", "welcome", "help")
        for lang in ("vi", "en", "lo", "th", "zh")
    )
    for name in names:
        with Image.open(out / name) as img:
            assert img.size == (1080, 1920)
            assert len(img.convert("RGB").getcolors(1 << 20) or ()) > 10  # not a blank page


@pytest.mark.parametrize(("page", "lang"), [("welcome", "lo"), ("home", "th")])
def test_preview_is_exactly_what_the_kiosk_draws(
    window: Any, built_mini: Path, tmp_path: Path, page: str, lang: str
) -> None:
    """A page, and `--page home`: the tiles a traveller sees after choosing a
    language (an editor checks a new tile before publishing)."""
    png = tmp_path / f"{page}-{lang}.png"
    proc = subprocess.run(
        [*BGK, "pack", "preview", str(MINI), "--lang", lang, "--page", page, "-o", str(png)],
        capture_output=True,
        text=True,
        env=no_display_env(),
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    install(tmp_path / "state", built_mini, "mini-1")
    k = Kiosk(window, tmp_path / "state", tmp_path / "work")
    try:
        if page == "home":  # where a traveller lands after choosing the language
            k.ui.choose_language(lang)
            assert k.ui.screen == "home"
        else:
            k.ui.preview_page(page, lang)
        kiosk_png = k.screenshot(f"kiosk-{page}-{lang}")
    finally:
        k.close()
    with Image.open(png) as a, Image.open(kiosk_png) as b:
        assert a.size == b.size == (1920, 1080)
        diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB"))
        assert diff.getbbox() is None, f"preview and kiosk differ in {diff.getbbox()}"


def test_preview_says_what_is_wrong(tmp_path: Path) -> None:
    cases = [
        (["--lang", "lo", "--page", "nope"], "the pack has no page 'nope'"),
        (["--lang", "lo"], "say which page"),
        (["--all", "--page", "help"], "leave out --lang and --page"),
        (["--all", "--size", "big"], "write WIDTHxHEIGHT"),
    ]
    for args, message in cases:
        proc = subprocess.run(
            [*BGK, "pack", "preview", str(MINI), *args, "-o", str(tmp_path / "x")],
            capture_output=True,
            text=True,
            env=no_display_env(),
            timeout=300,
            check=False,
        )
        assert proc.returncode != 0
        assert message in proc.stderr, proc.stderr
        assert proc.stderr.count("\n") == 1  # one clear line


def wait_for(condition: Any, what: str) -> Any:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_kiosk_ui_service_plays_the_pack_answers_the_agent_and_stops_cleanly(
    window: Any, built_mini: Path, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    install(state, built_mini, "mini-1")
    (tmp_path / "root.json").write_text("{}")
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'[kiosk]\nid = "k1"\ngate = "lao-bao"\nstate_dir = "{state}"\n'
        '[server]\nurl = "http://127.0.0.1:9"\ntrusted_root = "root.json"\n'
        "[ui]\nidle_timeout_s = 30\n"
    )
    env = dict(os.environ)  # the test's Xvfb: a machine with a display
    proc = subprocess.Popen(
        [*BGK, "kiosk", "ui", "--config", str(config)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    channel = Channel(state)
    try:
        health = wait_for(channel.read_health, "the first health report")
        assert (health.pack_id, health.pack_version, health.screen, health.ok) == (
            "mini",
            1,
            "attract",
            True,
        )
        assert health.pid == proc.pid
        channel.request("r1", {"op": "screenshot"})
        shot = channel.screenshots_dir / "r1.png"
        wait_for(shot.exists, "the screenshot")
        with Image.open(shot) as img:
            assert img.size == (1280, 720)  # the window on a desktop
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "service-window-attract.png").write_bytes(shot.read_bytes())
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    last = channel.read_health()
    assert last is not None and last.pid == proc.pid and last.ok


def test_preview_scrolls_through_a_long_page(tmp_path: Path) -> None:
    png = tmp_path / "welcome.png"
    proc = subprocess.run(
        [
            *BGK,
            "pack",
            "preview",
            str(MINI),
            "--lang",
            "en",
            "--page",
            "welcome",
            "-o",
            str(png),
            "--size",
            "1280x720",
            "--large-text",
            "--scroll",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=no_display_env(),
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    files = [Path(f["path"]) for f in json.loads(proc.stdout)["files"]]
    assert files[0] == png and len(files) >= 2
    assert files[1].name == "welcome-2.png"
    pictures = [Image.open(f).convert("RGB") for f in files]
    assert all(p.size == (1280, 720) for p in pictures)
    assert ImageChops.difference(pictures[0], pictures[-1]).getbbox() is not None  # scrolled
