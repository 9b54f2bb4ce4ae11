"""content_packs/README.md's workspace sections, their commands run as written
(paths and the server URL swapped for the test's): "Translations that fall
behind" and "The workspace on the server"."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from fastapi import FastAPI
from webkit import Site, serve

from server.web.accounts import create_token
from server.workspace.drafts import DraftStore

REPO = Path(__file__).resolve().parents[2]
README = REPO / "content_packs" / "README.md"


def section_commands(title: str) -> list[str]:
    """The commands of the ```sh blocks of one `## title` section."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    body = text[start : end if end > 0 else None]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", body, re.S):
        for line in block.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                commands.append(line)
    return commands


def run(line: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    if line.startswith("export "):
        _name, _, value = line.removeprefix("export ").partition("=")
        assert value == "bgk_...", line  # the README's placeholder for a token
        return subprocess.CompletedProcess(line, 0, "", "")
    words = shlex.split(line)
    assert words[0] == ".venv/bin/bgk", line
    return subprocess.run([sys.executable, "-m", "kiosk.cli", *words[1:]], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def test_translations_that_fall_behind_as_the_readme_says(tmp_path: Path) -> None:
    shutil.copytree(REPO / "content_packs" / "lao-bao", tmp_path / "content_packs" / "lao-bao")
    pack = tmp_path / "content_packs" / "lao-bao"
    vi = pack / "pages/welcome/vi.md"
    vi.write_text(vi.read_text("utf-8").replace("cách Đông Hà khoảng 80 km", "cách Đông Hà 80 km"))
    lint = [sys.executable, "-m", "kiosk.cli", "pack", "lint", str(pack)]
    before = subprocess.run(lint, capture_output=True, text=True, timeout=300)
    stale = [line for line in before.stdout.splitlines() if "[stale-translation]" in line]
    assert sorted(line.split(":")[0].rsplit("/", 1)[1] for line in stale) == [
        "en.md", "lo.md", "th.md", "zh.md"
    ]  # fmt: skip
    assert all(": warning: source paragraph 5 (pages/welcome/vi.md:10) changed:" in line
               for line in stale)  # fmt: skip
    commands = section_commands("Translations that fall behind")
    assert [c.split()[2] for c in commands] == ["translated", "translated"]
    env = dict(os.environ)
    first = run(commands[0], tmp_path, env)  # --page welcome --lang en
    assert first.returncode == 0, first.stderr
    after = subprocess.run(lint, capture_output=True, text=True, timeout=300).stdout
    assert "welcome/en.md" not in after and "welcome/lo.md" in after
    assert run(commands[1], tmp_path, env).returncode == 0
    after = subprocess.run(lint, capture_output=True, text=True, timeout=300)
    assert "stale-translation" not in after.stdout and after.returncode == 0


def test_the_workspace_on_the_server_as_the_readme_says(
    app: FastAPI, site: Site, tmp_path: Path
) -> None:
    site.user("ana", "editor")
    (tmp_path / "content_packs").mkdir()
    shutil.copytree(REPO / "content_packs" / "lao-bao", tmp_path / "content_packs" / "lao-bao")
    (tmp_path / "srv").symlink_to(site.cfg.data)
    env = {**os.environ, "BGK_TOKEN": create_token(site.store, "ana", now=1e9 * 2)}
    commands = section_commands("The workspace on the server")
    with serve(app) as url:
        for line in commands:
            line = line.replace("https://kiosk.example.vn", url)
            r = run(line, tmp_path, env)
            assert r.returncode == 0, (line, r.stderr)
            if " pull " in line:  # the README's "... edit the files ..."
                en = tmp_path / "my-lao-bao" / "pages/welcome/en.md"
                en.write_text(en.read_text("utf-8").replace("Opening hours", "Gate hours"))
    drafts = DraftStore(site.cfg.data / "workspace")
    log = drafts.history("lao-bao")
    assert (log[0].author, log[0].message) == ("ana", "Giờ làm việc mới")
    assert b"## Gate hours" in (drafts.read("lao-bao", "pages/welcome/en.md") or b"")
