"""How fast and how big the kiosk UI is, on a private Xvfb this script starts.

Prints:
* cold start: from spawning a fresh process to the first frame of the attract
  loop with the sample pack (import Kivy, open the window, load and check the
  pack, draw), median of several runs;
* page switch: from the call that opens a page to the end of the frame that
  shows it, over many switches 0.4 s apart (first visits of each page and
  language, then visits again), median and p95, and the part of it that is
  our code and Kivy's on the CPU; baseline in the same run: the same page
  drawn again unchanged, and the ratio;
* attract loop: frames per second while pictures cross-fade, and the slowest
  frame;
* resident memory (RSS, and its peak) with Kivy's empty window (the baseline),
  with the pack on the attract loop, after every page in every language, and
  after the idle reset back to the attract loop; what the UI's caches keep
  (text and picture textures, fonts open).

    .venv/bin/python bench/ui.py [--switches 180] [--cold-runs 3] [--size 1920x1080]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "content_packs" / "lao-bao"
#: time between two page switches (the UI tidies its memory in such pauses)
READ_S = 0.4


def build_sample(out: Path) -> Path:
    cmd = [sys.executable, "-m", "kiosk.cli", "pack", "build", str(SAMPLE), "-o", str(out)]
    subprocess.run(cmd, check=True, capture_output=True)
    return out


def memory_kib() -> dict[str, int]:
    """Resident memory of this process, KiB: VmRSS, VmHWM (peak), RssAnon, RssFile."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"):
            fields[key] = int(value.split()[0])
    return fields


def frame(window: Any) -> tuple[float, float]:
    """One frame as EventLoop.idle() draws it, timed in two parts: (prepare, present).

    prepare = clock callbacks and layout, then the draw calls issued (our code and
    Kivy's, on the CPU); present = the swap, where Mesa's llvmpipe (no GPU on this
    machine) rasterises the frame in software and Xvfb receives it. On a Pi the
    GPU does the second part.
    """
    from kivy.base import EventLoop
    from kivy.clock import Clock
    from kivy.lang import Builder

    started = time.perf_counter()
    Clock.tick()
    EventLoop.dispatch_input()
    Builder.sync()
    Clock.tick_draw()
    Builder.sync()
    window.dispatch("on_draw")
    drawn = time.perf_counter()
    window.dispatch("on_flip")
    return drawn - started, time.perf_counter() - drawn


def start_kivy(size: tuple[int, int], home: Path) -> Any:
    from kiosk.ui.env import WindowSetup, setup_kivy

    setup_kivy(WindowSetup(*size, max_fps=0), kivy_home=home)  # measure work, not the cap
    from kivy.base import EventLoop

    EventLoop.ensure_window()
    from kivy.core.window import Window

    Window.size = size
    return Window


def child_cold(pack: Path, size: tuple[int, int], spawned: float) -> None:
    """In a fresh process: time to the first frame of the attract loop."""
    with tempfile.TemporaryDirectory() as tmp:
        window = start_kivy(size, Path(tmp) / "kivy")
        from kivy.base import EventLoop

        from kiosk.config import UiConfig
        from kiosk.ui.controller import KioskUi

        ui = KioskUi(pack, UiConfig(), Path(tmp) / "work")
        window.add_widget(ui.root)
        ui.load_now()
        EventLoop.idle()
        first_frame = time.monotonic()
        assert ui.screen_name == "attract", ui.error
        print(json.dumps({"cold_s": first_frame - spawned}))


def cold_start(pack: Path, size: tuple[int, int], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        spawned = time.monotonic()  # CLOCK_MONOTONIC: the same clock in the child
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child-cold",
                str(pack),
                "--size",
                f"{size[0]}x{size[1]}",
                "--spawned",
                repr(spawned),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        times.append(json.loads(out.stdout.strip().splitlines()[-1])["cold_s"])
    return times


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def settle() -> None:
    """A traveller reads (or the kiosk waits): frames go on, the UI tidies its memory."""
    from kivy.base import EventLoop

    settled = time.monotonic() + 3.0
    while time.monotonic() < settled:
        EventLoop.idle()
        time.sleep(0.02)


def in_process(pack: Path, size: tuple[int, int], switches: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        window = start_kivy(size, Path(tmp) / "kivy")
        from kivy.base import EventLoop
        from kivy.clock import Clock

        from kiosk.config import UiConfig
        from kiosk.ui.controller import KioskUi

        for _ in range(3):
            EventLoop.idle()
        memory_window = memory_kib()  # baseline: Kivy with an empty window
        ui = KioskUi(pack, UiConfig(), Path(tmp) / "work")
        window.add_widget(ui.root)
        ui.load_now()
        assert ui.pack is not None, ui.error
        for _ in range(5):
            EventLoop.idle()
        memory_loaded = memory_kib()

        # baseline: the page on screen drawn again, nothing changed
        ui.touched()
        ui.choose_language("vi")
        ui.open_page("welcome")
        for _ in range(3):
            EventLoop.idle()
        redraw = []
        for _ in range(30):
            window.canvas.ask_update()
            redraw.append(sum(frame(window)))

        # attract loop: cross-fades back to back, every frame drawn
        ui.show_attract()
        frame_times = []
        fade = Clock.schedule_interval(ui.attract.next_picture, 1.5)
        ui.attract.next_picture()
        started = time.perf_counter()
        while time.perf_counter() - started < 8.0:
            window.canvas.ask_update()
            frame_times.append(sum(frame(window)))
        fade.cancel()

        # page switches: every page in every language, first visits then again
        ui.touched()
        assert ui.pack is not None
        targets = [
            (p.id, lang) for lang in ui.pack.manifest.languages for p in ui.pack.manifest.pages
        ]
        per_pass: list[int] = []
        first: list[tuple[float, float]] = []
        again: list[tuple[float, float]] = []
        for n in range(switches):
            page, lang = targets[n % len(targets)]
            if ui.lang != lang:
                ui.choose_language(lang)
                EventLoop.idle()
            started = time.perf_counter()
            ui.open_page(page)
            _layout_and_draw, present = frame(window)
            prepare = time.perf_counter() - started - present  # open_page + layout + draw
            assert ui.screen_name == f"page:{page}"
            (first if n < len(targets) else again).append((prepare, present))
            if (n + 1) % len(targets) == 0:
                per_pass.append(memory_kib()["VmRSS"])
            reading = time.monotonic() + READ_S  # a quick traveller glances at the page
            while time.monotonic() < reading:
                EventLoop.idle()
                time.sleep(0.01)
        settle()
        memory_pages = memory_kib()
        book = ui.fontbook
        assert book is not None
        kept = {
            "text_textures": (book.textures_kept, book.texture_bytes),
            "pictures": (ui.pictures.kept, ui.pictures.kept_bytes),
            "font_sizes": len(book.font_sizes),
        }
        ui.show_attract()  # nobody touched for the idle timeout
        settle()
        return {
            "redraw": redraw,
            "frames": frame_times,
            "first": first,
            "again": again,
            "memory": memory_pages,
            "memory_reset": memory_kib(),
            "kept": kept,
            "memory_loaded": memory_loaded,
            "memory_window": memory_window,
            "per_pass": per_pass,
        }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--switches", type=int, default=180)
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--child-cold", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--spawned", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    size = (width, height)
    if args.child_cold:
        child_cold(args.child_cold, size, args.spawned)
        return 0

    from kiosk.ui.xvfb import Xvfb

    with tempfile.TemporaryDirectory() as tmp, Xvfb(max(size), max(size)) as display:
        os.environ["DISPLAY"] = display
        pack = build_sample(Path(tmp) / "lao-bao")
        cold = cold_start(pack, size, args.cold_runs)
        r = in_process(pack, size, args.switches)

    ms = 1000.0
    print(f"kiosk UI at {width}x{height} on Xvfb (Mesa llvmpipe: no GPU), sample pack lao-bao")
    print(
        f"cold start to first frame: median {statistics.median(cold):.2f} s "
        f"(runs: {', '.join(f'{c:.2f}' for c in cold)})"
    )
    redraw = statistics.median(r["redraw"]) * ms
    print(f"baseline, a page drawn again unchanged: median {redraw:.1f} ms")
    everything = r["first"] + r["again"]
    for name, values in (
        ("page switch, all", everything),
        ("  first visit of a page+language", r["first"]),
        ("  visited again", r["again"]),
    ):
        total = [a + b for a, b in values]
        prepare = [a for a, _b in values]
        med = statistics.median(total) * ms
        print(
            f"{name}: median {med:.1f} ms, p95 {percentile(total, 0.95) * ms:.1f} ms "
            f"({len(values)} switches; {med / redraw:.1f}x the baseline); of which building, "
            f"layout and draw calls: median {statistics.median(prepare) * ms:.1f} ms, "
            f"p95 {percentile(prepare, 0.95) * ms:.1f} ms"
        )
    frames = r["frames"]
    print(
        f"attract loop with cross-fades, every frame drawn: {len(frames) / sum(frames):.1f} "
        f"frames/s, slowest frame {max(frames) * ms:.1f} ms (the kiosk caps at 60)"
    )
    print(
        "resident memory after each round of every page in every language: "
        + ", ".join(f"{kib / 1024:.0f}" for kib in r["per_pass"])
        + " MB (steady: nothing leaks per switch)"
    )
    for name, m in (
        ("Kivy, empty window (baseline)", r["memory_window"]),
        ("sample pack loaded, attract loop", r["memory_loaded"]),
        ("after the page switches, settled", r["memory"]),
        ("after the idle reset to the attract loop", r["memory_reset"]),
    ):
        print(
            f"resident memory, {name}: {m['VmRSS'] / 1024:.0f} MB "
            f"(anonymous {m['RssAnon'] / 1024:.0f} MB, files {m['RssFile'] / 1024:.0f} MB; "
            f"peak {m['VmHWM'] / 1024:.0f} MB)"
        )
    kept = r["kept"]
    mib = 1024 * 1024
    print(
        "kept by the UI after the page switches: text textures "
        f"{kept['text_textures'][0]} ({kept['text_textures'][1] / mib:.1f} MB), pictures "
        f"{kept['pictures'][0]} ({kept['pictures'][1] / mib:.1f} MB), font sizes measured "
        f"{kept['font_sizes']} (Kivy keeps at most 64 open)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
