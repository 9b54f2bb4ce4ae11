"""The kiosk's own drawing of a draft page, as PNG: `bgk pack preview` (the real
Kivy screens, on a private Xvfb it starts) in a worker process, one at a time,
cached by content: the version's tree, the page, the language, the screen and
the text size. The server never imports the kiosk UI (DESIGN §3): it runs it."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from kiosk.common.files import atomic_write
from server.workspace.drafts import DraftError, DraftStore

#: a cold preview builds the pack and starts Kivy: allow for a slow machine
TIMEOUT_S = 240
_one_at_a_time = threading.Lock()


class PreviewFailed(DraftError):
    pass


@dataclass(frozen=True)
class Screen:
    portrait: bool = False
    large_text: bool = False

    def args(self) -> list[str]:
        return [*(["--portrait"] if self.portrait else []),
                *(["--large-text"] if self.large_text else [])]  # fmt: skip


def tree_of(drafts: DraftStore, pack: str, rev: str) -> str:
    """A content id of a version: the same files give the same id."""
    listing = drafts.listing(pack, rev)
    h = hashlib.sha256()
    for path in sorted(listing):
        h.update(f"{path}\0{listing[path]}\n".encode())
    return h.hexdigest()


def preview_png(
    drafts: DraftStore, pack: str, rev: str, page: str, lang: str, screen: Screen
) -> tuple[bytes, bool]:
    """(PNG bytes, whether it came from the cache)."""
    key = hashlib.sha256(
        f"{tree_of(drafts, pack, rev)}|{page}|{lang}|{screen.portrait}|{screen.large_text}".encode()
    ).hexdigest()
    cache = drafts.root / ".previews" / pack
    cached = cache / f"{key}.png"
    if cached.is_file():
        return cached.read_bytes(), True
    with _one_at_a_time:
        if cached.is_file():
            return cached.read_bytes(), True
        data = _render(drafts.checkout(pack, rev), page, lang, screen)
        atomic_write(cached, data)
    return data, False


def _render(src: Path, page: str, lang: str, screen: Screen) -> bytes:
    with tempfile.TemporaryDirectory(prefix="bgk-preview-") as tmp:
        out = Path(tmp) / "page.png"
        cmd = [sys.executable, "-m", "kiosk.cli", "pack", "preview", str(src), "--lang", lang,
               "--page", page, "-o", str(out), *screen.args()]  # fmt: skip
        env = {**os.environ, "SOURCE_DATE_EPOCH": "946684800"}  # one edition date: cacheable
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, env=env)
        except subprocess.TimeoutExpired:
            raise PreviewFailed(f"drawing took over {TIMEOUT_S} s") from None
        if proc.returncode != 0 or not out.is_file():
            lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
            raise PreviewFailed(lines[-1] if lines else f"exit status {proc.returncode}")
        return out.read_bytes()
