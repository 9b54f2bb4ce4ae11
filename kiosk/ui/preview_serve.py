"""A long-lived `bgk pack preview`: Kivy started once, pages drawn on request.

    python -m kiosk.ui.preview_serve WORK_DIR

The server's preview worker (server/workspace/preview_worker.py) runs this and
sends one JSON request a line on stdin; each answer is one JSON line on stdout:

    {"pack": BUILT_PACK_DIR, "page": "welcome", "lang": "vi",
     "size": [1920, 1080], "large_text": false, "out": PNG_PATH}
    -> {"ok": true, "seconds": 0.31}  or  {"ok": false, "error": "..."}

The window, its Xvfb (big enough for both orientations) and the UI are kept
between requests; a pack is loaded again only when its folder or manifest
changes. The drawing is the one of `bgk pack preview` (kiosk.ui.preview), so
a page comes out the same. End of input ends it; anything Kivy prints goes to
stderr (stdout carries only the answers).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import IO, Any

from kiosk.protocol.errors import BgkError
from kiosk.ui.content import pack_identity
from kiosk.ui.env import WindowSetup, setup_kivy
from kiosk.ui.preview import check_target, display_for, open_ui, shoot, show_pack

#: the display: both 1920x1080 and 1080x1920 fit
SIDE = 1920


def _sizes(raw: object) -> tuple[int, int]:
    if (
        not isinstance(raw, list)
        or len(raw) != 2
        or not all(isinstance(v, int) and 320 <= v <= SIDE for v in raw)
    ):
        raise BgkError(f"size {raw!r}: two whole numbers 320..{SIDE}")
    return raw[0], raw[1]


class Drawer:
    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir
        self.ui: Any = None
        self.size: tuple[int, int] | None = None
        self.loaded: str | None = None

    def draw(self, req: dict[str, Any]) -> None:
        from kivy.base import EventLoop
        from kivy.core.window import Window

        size = _sizes(req.get("size"))
        pack, out = Path(str(req["pack"])), Path(str(req["out"]))
        page, lang = str(req["page"]), str(req["lang"])
        if self.ui is None:
            self.ui = open_ui(self.work_dir / "ui", size)
            self.size = size
        if size != self.size:
            Window.size = size
            self.size = size
            for _ in range(3):
                EventLoop.idle()
        identity = pack_identity(pack)
        if identity is None:
            raise BgkError(f"no built pack at {pack}")
        if identity != self.loaded:
            self.loaded = None
            show_pack(self.ui, pack)
            self.loaded = identity
        check_target(self.ui, page, lang)
        shoot(self.ui, page, lang, out, large_text=bool(req.get("large_text")))


def serve(requests: IO[str], answers: IO[str], work_dir: Path) -> None:
    drawer = Drawer(work_dir)
    for line in requests:
        if not line.strip():
            continue
        started = time.monotonic()
        try:
            req = json.loads(line)
            if not isinstance(req, dict):
                raise BgkError("a request is a JSON object")
            drawer.draw(req)
            answer: dict[str, Any] = {"ok": True}
        except Exception as exc:  # every failure is answered; the next request may work
            drawer.loaded = None
            answer = {"ok": False, "error": str(exc) or type(exc).__name__}
        answer["seconds"] = round(time.monotonic() - started, 3)
        answers.write(json.dumps(answer, ensure_ascii=False) + "\n")
        answers.flush()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m kiosk.ui.preview_serve WORK_DIR", file=sys.stderr)
        return 2
    work_dir = Path(argv[0])
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # Kivy's own printing must not mix with the answers
    sys.stdout = sys.stderr
    with display_for(SIDE, SIDE) as hidden:
        setup_kivy(WindowSetup(SIDE, SIDE, hidden=hidden), kivy_home=work_dir / "kivy")
        serve(sys.stdin, answers, work_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
