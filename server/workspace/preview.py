"""The kiosk's own drawing of a draft page, as PNG, cached by content: the
version's tree, the page, the language, the screen and the text size.

The drawing is done by a long-lived worker process (preview_worker.py: the
draft built with what a build keeps between versions, then the real Kivy
screens of `bgk pack preview`, kept open on their own Xvfb). The server never
imports the kiosk UI (DESIGN §3): it runs it. One request at a time; a worker
that dies or takes longer than its timeout is killed with everything it
started, the caller gets a PreviewFailed saying so, and the next preview starts
a new one. `preview_png` keeps its signature (the review step calls it)."""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from kiosk.common.files import atomic_write
from server.workspace.drafts import DraftError, DraftStore

#: a first preview starts Kivy and builds the whole pack: allow for a slow machine
COLD_TIMEOUT_S = 240.0
#: later ones rebuild what changed and draw one page
WARM_TIMEOUT_S = 90.0


class PreviewFailed(DraftError):
    """The page could not be drawn. `code` (the editor's words for it):
    preview-build (the draft does not build: its findings), preview-draw,
    preview-crashed, preview-timeout, preview-busy."""

    def __init__(self, message: str, code: str = "preview-draw",
                 findings: list[dict[str, Any]] | None = None) -> None:  # fmt: skip
        super().__init__(message)
        self.code = code
        self.findings = findings or []


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


class PreviewWorker:
    """The worker process and the pipe to it; start() is lazy, stop() ends it all."""

    def __init__(self, work: Path | None = None) -> None:
        self.work = work or Path(tempfile.gettempdir()) / f"bgk-preview-{os.getpid()}"
        self.proc: subprocess.Popen[str] | None = None
        self._answers: queue.Queue[str] = queue.Queue()
        self._lock = threading.Lock()
        #: requests answered by the running process (0: the next one is cold)
        self.served = 0
        #: a request is on its way (tests wait for it to kill the worker mid-drawing)
        self.busy = threading.Event()
        #: the worker's last answer (its build_s and seconds of drawing: the bench reads them)
        self.last: dict[str, Any] = {}

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    def _start(self) -> subprocess.Popen[str]:
        self.work.mkdir(parents=True, exist_ok=True)
        log = open(self.work.with_name(self.work.name + ".log"), "a", encoding="utf-8")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "server.workspace.preview_worker", str(self.work)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
            encoding="utf-8", start_new_session=True,  # its own group: killed as one
        )  # fmt: skip
        log.close()
        answers: queue.Queue[str] = queue.Queue()
        assert proc.stdout is not None
        threading.Thread(target=_pump, args=(proc.stdout, answers), daemon=True).start()
        self.proc, self._answers, self.served = proc, answers, 0
        return proc

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        # one at a time; a queue behind a slow drawing never waits without end either
        if not self._lock.acquire(timeout=COLD_TIMEOUT_S):
            raise PreviewFailed("the preview worker is busy with other pages: try again",
                                "preview-busy")  # fmt: skip
        try:
            return self._ask(request)
        finally:
            self._lock.release()

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        proc = self.proc if self.proc is not None and self.pid is not None else self._start()
        timeout = WARM_TIMEOUT_S if self.served else COLD_TIMEOUT_S
        assert proc.stdin is not None
        try:
            proc.stdin.write(json.dumps(request) + "\n")
            proc.stdin.flush()
            self.busy.set()
            line = self._answers.get(timeout=timeout)
        except queue.Empty:
            self._kill()
            raise PreviewFailed(f"drawing took over {timeout:.0f} s and was stopped",
                                "preview-timeout") from None  # fmt: skip
        except OSError:
            line = ""
        finally:
            self.busy.clear()
        if not line:
            status = self._kill()
            raise PreviewFailed(f"the preview worker stopped while drawing (exit status "
                                f"{status}); it starts again with the next preview",
                                "preview-crashed")  # fmt: skip
        self.served += 1
        answer: dict[str, Any] = json.loads(line)
        self.last = answer
        return answer

    def _kill(self) -> int | None:
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        return proc.wait()

    def stop(self) -> None:
        with self._lock:
            proc = self.proc
            if proc is not None and proc.poll() is None and proc.stdin is not None:
                proc.stdin.close()  # it stops its drawer and leaves
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=15)
            self._kill()
            shutil.rmtree(self.work, ignore_errors=True)  # its builds; the log stays beside


def _pump(stream: IO[str], answers: queue.Queue[str]) -> None:
    for line in stream:
        answers.put(line)
    answers.put("")  # the end: the worker is gone


_worker: PreviewWorker | None = None
_worker_lock = threading.Lock()


def worker() -> PreviewWorker:
    """This process's preview worker (started at the first preview, stopped at exit)."""
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = PreviewWorker()
            atexit.register(_worker.stop)
        return _worker


def preview_png(
    drafts: DraftStore, pack: str, rev: str, page: str, lang: str, screen: Screen,
    *, using: PreviewWorker | None = None,
) -> tuple[bytes, bool]:  # fmt: skip
    """(PNG bytes, whether it came from the cache). `using`: a worker of one's own
    (tests, bench); by default this process's."""
    key = hashlib.sha256(
        f"{tree_of(drafts, pack, rev)}|{page}|{lang}|{screen.portrait}|{screen.large_text}".encode()
    ).hexdigest()
    cache = drafts.root / ".previews" / pack
    cached = cache / f"{key}.png"
    if cached.is_file():
        return cached.read_bytes(), True
    w = using or worker()
    with tempfile.TemporaryDirectory(prefix="bgk-preview-") as tmp:
        out = Path(tmp) / "page.png"
        answer = w.ask({"drafts": str(drafts.root.resolve()), "pack": pack, "rev": rev,
                        "page": page, "lang": lang, "portrait": screen.portrait,
                        "large_text": screen.large_text, "out": str(out)})  # fmt: skip
        if not answer.get("ok") or not out.is_file():
            raise PreviewFailed(str(answer.get("error") or "no picture came back"),
                                str(answer.get("code") or "preview-draw"),
                                answer.get("findings"))  # fmt: skip
        data = out.read_bytes()
    atomic_write(cached, data)
    return data, False
