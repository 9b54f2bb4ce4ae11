"""`bgk demo`, the README's first command: everything comes up, and goes away."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.config import load_config
from kiosk.local import Channel


@pytest.mark.slow
def test_demo_comes_up_headless_and_stops_cleanly(tmp_path: Path, font_cache: Path) -> None:
    state = tmp_path / "demo"
    env = {"XDG_CACHE_HOME": str(font_cache.parents[1]), "PYTHAINLP_READ_ONLY": "1",
           "PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "HOME": str(tmp_path)}  # fmt: skip
    run = subprocess.run(
        [sys.executable, "-m", "kiosk.cli", "demo", "--headless", "--kiosks", "5",
         "--duration", "2", "--state-dir", str(state)],
        capture_output=True, text=True, env=env, timeout=240,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "The border-gate kiosk demo is running" in run.stdout
    info = json.loads((state / "demo.json").read_text(encoding="utf-8"))
    assert info["kiosk_ids"] == ["lb-01"] and info["simulated_kiosks"] == 5
    assert info["server_url"].startswith("http://127.0.0.1:")
    assert info["mqtt_url"].startswith("mqtt://127.0.0.1:")

    # The real kiosk installed the sample pack through TUF and committed it.
    config = load_config(Path(info["kiosk_configs"]["lb-01"]))
    current = Channel(config.kiosk.state_dir).current
    manifest = json.loads((current / "manifest.json").read_bytes())
    assert manifest["id"] == "lao-bao"

    # The server saw the fleet: the real kiosk and the simulated ones.
    fleet = subprocess.run(
        [sys.executable, "-m", "kiosk.cli", "server", "fleet", "--data", info["data_dir"], "--json"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert fleet.returncode == 0, fleet.stderr
    ids = {k["id"] for k in json.loads(fleet.stdout)}
    assert "lb-01" in ids and len(ids) == 6

    # Nothing it started is left running.
    left = subprocess.run(["pgrep", "-f", str(state)], capture_output=True, text=True)
    assert left.stdout.strip() == "", f"left running: {left.stdout}"
