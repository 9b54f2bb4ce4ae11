"""The preview worker: a long-lived process that builds draft versions and has
the kiosk draw their pages.

    python -m server.workspace.preview_worker WORK_DIR

One JSON request a line on stdin, one JSON answer a line on stdout:

    {"drafts": DATA/workspace, "pack": "lao-bao", "rev": "<40 hex>", "page": "welcome",
     "lang": "vi", "portrait": false, "large_text": false, "out": PNG_PATH}
    -> {"ok": true, "build_s": 0.4, "draw_s": 0.6}
    or {"ok": false, "code": "preview-build", "error": "...", "findings": [...]}

It keeps what makes a build slow between requests (preview_build.py) and runs
the kiosk's drawer (`python -m kiosk.ui.preview_serve`: Kivy on its own Xvfb,
kept open) as its child: the server side never imports the kiosk UI (DESIGN §3).
A drawer that dies is started again at the next request. The worker leaves
(after answering) when its memory passes MAX_RSS_MB; its manager
(server/workspace/preview.py) starts a new one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

from server.packs.errors import PackSourceError
from server.packs.fonts import default_cache_dir
from server.packs.transcode import default_cache_dir as video_cache_dir
from server.workspace.drafts import DraftError, DraftStore
from server.workspace.preview_build import Builds, install

#: past this resident size (worker or drawer) it starts afresh
MAX_RSS_MB = 1500
LANDSCAPE = (1920, 1080)


def rss_mb(pid: int) -> float:
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class Drawer:
    """The kiosk's drawer process, started when first needed."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.proc: subprocess.Popen[str] | None = None

    def draw(self, req: dict[str, Any]) -> dict[str, Any]:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "kiosk.ui.preview_serve", str(self.work)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8",
            )  # fmt: skip
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(json.dumps(req) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except OSError:
            line = ""
        if not line:
            code = self.proc.wait()
            self.proc = None
            return {"ok": False, "code": "preview-crashed",
                    "error": f"the kiosk drawer stopped (exit status {code})"}  # fmt: skip
        answer: dict[str, Any] = json.loads(line)
        if not answer.get("ok"):
            answer["code"] = "preview-draw"
        if rss_mb(self.proc.pid) > MAX_RSS_MB:
            self.stop()
        return answer

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


def handle(req: dict[str, Any], builds: Builds, drawer: Drawer) -> dict[str, Any]:
    started = time.monotonic()
    drafts = DraftStore(Path(req["drafts"]))
    try:
        built = builds.built_pack(drafts, str(req["pack"]), str(req["rev"]))
    except PackSourceError as exc:
        return {"ok": False, "code": "preview-build", "error": str(exc),
                "findings": [f.as_dict() for f in exc.findings]}  # fmt: skip
    except DraftError as exc:
        return {"ok": False, "code": "preview-build", "error": str(exc), "findings": []}
    build_s = time.monotonic() - started
    width, height = LANDSCAPE
    answer = drawer.draw({
        "pack": str(built), "page": req["page"], "lang": req["lang"],
        "size": [height, width] if req.get("portrait") else [width, height],
        "large_text": bool(req.get("large_text")), "out": req["out"],
    })  # fmt: skip
    answer["build_s"] = round(build_s, 3)
    return answer


def serve(requests: IO[str], answers: IO[str], work: Path) -> None:
    install()
    cache = default_cache_dir()
    builds = Builds(work / "builds", cache, video_cache_dir())
    drawer = Drawer(work / "drawer")
    try:
        for line in requests:
            if not line.strip():
                continue
            try:
                answer = handle(json.loads(line), builds, drawer)
            except Exception as exc:  # every failure is answered; the next request may work
                answer = {
                    "ok": False,
                    "code": "preview-draw",
                    "error": f"{type(exc).__name__}: {exc}",
                }
            if not answer.get("ok"):  # the log beside the work folder says why
                print(
                    f"preview failed: {answer.get('code')}: {answer.get('error')}", file=sys.stderr
                )
            answers.write(json.dumps(answer, ensure_ascii=False) + "\n")
            answers.flush()
            if rss_mb(os.getpid()) > MAX_RSS_MB:
                break
    finally:
        drawer.stop()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m server.workspace.preview_worker WORK_DIR", file=sys.stderr)
        return 2
    work = Path(argv[0])
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # whatever a library prints must not mix with the answers
    sys.stdout = sys.stderr
    serve(sys.stdin, answers, work)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
