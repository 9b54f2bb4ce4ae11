"""The QR code of a kiosk page (issue 16): drawn as the kiosk draws it (`bgk pack
preview`), read by a real decoder (zbarimg) to the same page in the same language
on the pack's web copy; no QR code without a site URL; nothing in it about the
kiosk. Pictures are saved in test-artifacts/ui/."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from uikit import ARTIFACTS

REPO = Path(__file__).resolve().parents[2]
MINI = REPO / "tests" / "fixtures" / "packs" / "mini"
BGK = [sys.executable, "-m", "kiosk.cli"]
SITE = "https://kiosk.example.vn/p"


def zbar(png: Path) -> list[str]:
    if shutil.which("zbarimg") is None:
        pytest.fail("zbarimg is missing: apt-get install zbar-tools (scripts/lib/setup.sh)")
    done = subprocess.run(["zbarimg", "-q", "--raw", str(png)], capture_output=True, text=True)
    return done.stdout.split()


def preview(tmp: Path, out: Path, *more: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    cmd = [*BGK, "pack", "preview", str(MINI), "-o", str(out), "--edition", "2026-12-02", *more]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr


def test_each_page_shows_a_qr_code_to_itself_on_the_web_copy(tmp_path: Path) -> None:
    settings = tmp_path / "server.toml"
    settings.write_text(
        f'[publisher]\nname_vi = "Sở A"\nname_en = "A"\n\n[site]\nurl = "{SITE}/"\n',
        encoding="utf-8",
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    wide = tmp_path / "wide"
    preview(tmp_path, wide, "--all", "--settings", str(settings))
    for lang in ("vi", "en", "lo", "th", "zh"):
        for page in ("welcome", "help"):
            # landscape: in the right margin, seen without scrolling
            assert zbar(wide / f"{page}-{lang}.png") == [f"{SITE}/mini/{lang}/{page}.html"]
    shutil.copy(wide / "help-th.png", ARTIFACTS / "qr-help-th.png")
    tall = tmp_path / "tall.png"
    preview(tmp_path, tall, "--lang", "zh", "--page", "help", "--portrait", "--settings",
            str(settings))  # fmt: skip
    # portrait: too narrow for the margin, at the end of the page
    assert zbar(tall) == [f"{SITE}/mini/zh/help.html"]
    shutil.copy(tall, ARTIFACTS / "qr-help-zh-portrait.png")


def test_no_site_url_no_qr_code(tmp_path: Path) -> None:
    png = tmp_path / "plain.png"
    preview(tmp_path, png, "--lang", "lo", "--page", "welcome")
    assert zbar(png) == []
