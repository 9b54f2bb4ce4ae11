"""README.md's rollout-window command, run as written on a fresh server data folder:
the setting lands in server.toml and in what the server announces; a value out of
bounds is refused with a message saying what to do, and server.toml stays as it was."""

from __future__ import annotations

import shlex
from pathlib import Path

from fleetkit import bgk

from server.config import load_server_config
from server.fleet.announce import read_announce

REPO = Path(__file__).resolve().parents[2]


def readme_command() -> list[str]:
    lines = [
        line.strip()
        for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines()
        if "fleet.announce_jitter_s=" in line and line.strip().startswith(".venv/bin/bgk ")
    ]
    assert len(lines) == 1, lines
    return shlex.split(lines[0])[1:]  # without .venv/bin/bgk


def test_the_readme_sets_the_window_that_the_server_announces(tmp_path: Path) -> None:
    from server.datadir import init_data_dir
    from server.packs.keys import init_keyset
    from server.packs.signing import utcnow

    init_keyset(tmp_path / "keys")
    data = tmp_path / "srv"
    init_data_dir(data, tmp_path / "keys", "http://127.0.0.1:9", utcnow)
    assert load_server_config(data).fleet.announce_jitter_s == 300.0  # the default
    args = [str(data) if a == "srv/" else a for a in readme_command()]
    out = bgk(*args)
    assert out.returncode == 0, out.stderr
    cfg = load_server_config(data)
    assert cfg.fleet.announce_jitter_s == 600.0
    announce = read_announce(cfg)
    assert announce is not None and announce.jitter_s == 600.0

    before = (data / "server.toml").read_bytes()
    bad = bgk("server", "config", "--data", str(data), "--set", "fleet.announce_jitter_s=7200")
    assert bad.returncode != 0
    assert "announce_jitter_s" in bad.stderr and "between 0" in bad.stderr
    assert (data / "server.toml").read_bytes() == before
