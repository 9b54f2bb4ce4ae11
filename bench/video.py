"""Pack video playback in the kiosk UI, on a private Xvfb this script starts.

Builds the mini test pack with a generated 1080p video (ffmpeg's test source,
made here: nothing copied) through the real `bgk pack build` (H.264 High,
1080p30), opens its page in the real UI and plays the video to its end
`--loops` times, drawing frames as fast as the machine allows. Prints, per
play-through and overall:

* frames shown per second, and frames dropped (the video's frames minus those
  shown: the decoder runs on its own thread, the UI shows the newest frame at
  each of its frames);
* CPU per shown frame on the UI's main thread (our code and Kivy's: layout,
  captions, texture upload, draw calls), and of the whole process (FFmpeg's
  decoder threads included);
* resident memory (RSS): baseline with the page and its poster, the peak while
  playing, after each play-through (bounded: it must not grow loop by loop), and
  the ratio to the baseline.

    .venv/bin/python bench/video.py [--loops 5] [--seconds 10] [--size 1920x1080]
                                    [--video 1920x1080]

Without a GPU, Mesa's llvmpipe converts each frame from YUV to RGB (Kivy's
shader) and draws it on the CPU; that, not decoding, bounds the frame rate here
(`--video 960x540` shows how it scales with the frame's pixels). A Pi's GPU
does both.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.videokit import make_video, write_captions  # noqa: E402

MINI = REPO / "tests" / "fixtures" / "packs" / "mini"


def build(tmp: Path, seconds: float, frame_size: str) -> Path:
    src = tmp / "src" / "mini"
    shutil.copytree(MINI, src)
    video = make_video(
        src / "media" / "tour.mkv", seconds=seconds, size=frame_size, rate=30, codec="mpeg4"
    )
    write_captions(video)
    for page in (src / "pages" / "help").glob("*.md"):
        title, _, rest = page.read_text().partition("\n")
        page.write_text(f"{title}\n\n![Tour](media/tour.mkv)\n{rest}")
    out = tmp / "built"
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp / "cache"))
    cmd = [sys.executable, "-m", "kiosk.cli", "pack", "build", str(src), "-o", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    return out


def memory_kib() -> dict[str, int]:
    """Resident memory of this process, KiB: VmRSS, VmHWM (peak)."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def start_kivy(size: tuple[int, int], home: Path) -> Any:
    """Kivy as the kiosk runs it: frames capped at the kiosk's 60 per second (drawing
    uncapped would take the CPU the decoder needs)."""
    from kiosk.ui.env import WindowSetup, setup_kivy

    setup_kivy(WindowSetup(*size), kivy_home=home)
    from kivy.base import EventLoop

    EventLoop.ensure_window()
    from kivy.core.window import Window

    Window.size = size
    return Window


def frame(_window: Any) -> None:
    from kivy.base import EventLoop

    EventLoop.idle()


def decode_baseline(pack: Path) -> float:
    """Frames per second FFmpeg's command line decodes the same file at, on one thread."""
    from kiosk.protocol.pack import BLOB_DIR, parse_manifest

    manifest = parse_manifest((pack / "manifest.json").read_bytes())
    video = pack / BLOB_DIR / manifest.file("media/tour.mp4").sha256
    started = time.perf_counter()
    subprocess.run(
        ["ffmpeg", "-v", "error", "-threads", "1", "-i", str(video), "-f", "null", "-"],
        check=True,
    )
    return (
        manifest.videos["media/tour.mp4"].duration_ms / 1000 * 30 / (time.perf_counter() - started)
    )


def play(pack: Path, size: tuple[int, int], loops: int, work: Path) -> dict[str, Any]:
    window = start_kivy(size, work / "kivy")
    from kiosk.config import UiConfig
    from kiosk.ui.controller import KioskUi
    from kiosk.ui.video import VideoView

    ui = KioskUi(pack, UiConfig(), work / "ui")
    window.add_widget(ui.root)
    ui.load_now()
    ui.preview_page("help", "en")
    for _ in range(10):
        frame(window)
    view = next(w for w in ui.page.walk(restrict=True) if isinstance(w, VideoView))
    baseline = memory_kib()["VmRSS"]
    runs = []
    for _ in range(loops):
        view.play()
        player = view.player
        assert player is not None
        started, thread0, cpu0 = time.perf_counter(), time.thread_time(), cpu_s()
        peak = 0
        duration = 0.0
        while view.playback == "playing":
            frame(window)
            duration = max(duration, player.duration)
            peak = max(peak, memory_kib()["VmRSS"]) if player.frames % 15 == 0 else peak
        wall = time.perf_counter() - started
        shown = player.frames
        expected = round(duration * 30)
        runs.append(
            {
                "wall": wall,
                "shown": shown,
                "expected": expected,
                "main_ms": (time.thread_time() - thread0) * 1000 / max(1, shown),
                "process_ms": (cpu_s() - cpu0) * 1000 / max(1, shown),
                "peak": peak,
                "after": memory_kib()["VmRSS"],
            }
        )
        for _ in range(5):
            frame(window)
    ui.stop()
    return {"baseline": baseline, "runs": runs, "width": view.width, "height": view.height}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--loops", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--size", default="1920x1080", help="the window")
    parser.add_argument("--video", default="1920x1080", help="the source video's frame size")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    from kiosk.ui.xvfb import Xvfb

    side = max(width, height)
    with tempfile.TemporaryDirectory() as tmp_name, Xvfb(side, side) as display:
        os.environ["DISPLAY"] = display
        tmp = Path(tmp_name)
        pack = build(tmp, args.seconds, args.video)
        baseline_fps = decode_baseline(pack)
        r = play(pack, (width, height), args.loops, tmp)
    mib = 1024.0
    print(
        f"video playback in a {width}x{height} window on Xvfb (Mesa llvmpipe: no GPU), "
        f"{args.seconds:.0f} s {args.video} 30 fps video built to H.264, drawn "
        f"{r['width']:.0f}x{r['height']:.0f}, {args.loops} play-throughs; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(
        f"baseline: FFmpeg decodes the file at {baseline_fps:.0f} frames/s on one thread "
        f"({baseline_fps / 30:.1f}x real time); RSS with the page and its poster "
        f"{r['baseline'] / mib:.0f} MiB"
    )
    for number, run in enumerate(r["runs"], start=1):
        fps = run["shown"] / run["wall"]
        print(
            f"  loop {number}: {fps:5.1f} frames/s shown, "
            f"{max(0, run['expected'] - run['shown'])} of {run['expected']} dropped, "
            f"main thread {run['main_ms']:.1f} ms/frame, process {run['process_ms']:.1f} "
            f"ms/frame, RSS peak {run['peak'] / mib:.0f} MiB, after {run['after'] / mib:.0f} MiB"
        )
    runs = r["runs"]
    print(
        f"median: {statistics.median(x['shown'] / x['wall'] for x in runs):.1f} frames/s, "
        f"main thread {statistics.median(x['main_ms'] for x in runs):.1f} ms/frame; "
        f"RSS peak {max(x['peak'] for x in runs) / r['baseline']:.2f}x the baseline; "
        f"after loop {len(runs)} vs after loop 1: "
        f"{(runs[-1]['after'] - runs[0]['after']) / mib:+.1f} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
