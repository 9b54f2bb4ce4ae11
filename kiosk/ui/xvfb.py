"""A private X server (Xvfb) for drawing without a screen: tests, benchmarks, previews.

Xvfb picks a free display number itself (`-displayfd`), so several can run
on one machine at once. 24-bit colour: pytest-xvfb's 16-bit default makes
text and pictures look wrong in screenshots.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import subprocess
import time
from types import TracebackType

from kiosk.ui.errors import DisplayError

START_TIMEOUT_S = 15.0


class Xvfb:
    """`with Xvfb(1920, 1920) as display:` -> ":N", the server stops on exit."""

    def __init__(self, width: int = 1920, height: int = 1920, depth: int = 24) -> None:
        self.screen = f"{width}x{height}x{depth}"
        self.process: subprocess.Popen[bytes] | None = None
        self.display: str | None = None

    def start(self) -> str:
        binary = shutil.which("Xvfb")
        if binary is None:
            raise DisplayError(
                "Xvfb is not installed: apt-get install xvfb xauth libgl1-mesa-dri "
                "(scripts/test installs it when run as root)"
            )
        read_fd, write_fd = os.pipe()
        try:
            self.process = subprocess.Popen(
                [
                    binary,
                    "-displayfd",
                    str(write_fd),
                    "-screen",
                    "0",
                    self.screen,
                    "-nolisten",
                    "tcp",
                    "-noreset",
                ],
                pass_fds=(write_fd,),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        finally:
            os.close(write_fd)
        try:
            number = _read_line(read_fd, START_TIMEOUT_S)
        finally:
            os.close(read_fd)
        if not number.isdigit():
            self.stop()
            raise DisplayError(f"Xvfb did not start (it said {number!r})")
        self.display = f":{number}"
        return self.display

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self.process = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _read_line(fd: int, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    data = b""
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _w, _x = select.select([fd], [], [], left)
        if not ready:
            break
        chunk = os.read(fd, 64)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").strip()
