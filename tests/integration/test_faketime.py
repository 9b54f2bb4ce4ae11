"""`scripts/test --faketime` (bgk_faketime in scripts/lib/setup.sh): the shifted
clock reaches every process the suite starts, @TIME is one offset for all of
them (a process started later does not restart at TIME), and timed waits
and sleeps still work (the monotonic clock is not faked)."""

from __future__ import annotations

import shlex
import subprocess
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = r"""
import datetime, subprocess, threading, time
print(datetime.datetime.now(datetime.UTC).timestamp())
started = time.monotonic()
threading.Event().wait(0.2)
time.sleep(0.1)  # Python 3.11 sleeps with clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)
print(time.monotonic() - started)
print(subprocess.run(["date", "-u", "+%s"], capture_output=True, text=True).stdout.strip())
"""


def test_the_shifted_clock_reaches_child_processes_and_timed_waits_still_end() -> None:
    script = (
        f'source "{REPO}/scripts/lib/setup.sh"\n'
        'bgk_faketime "@2027-12-31 16:59:30"\n'
        'date -u +%s\n'
        'sleep 1.5\n'
        f"exec python3 -c {shlex.quote(PROBE)}\n"
    )  # fmt: skip
    run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    shell, python, waited, child = (float(x) for x in run.stdout.split())
    target = datetime(2027, 12, 31, 16, 59, 30, tzinfo=UTC).timestamp()
    assert target <= shell < target + 20
    # one offset for all: the later process is later, not back at 16:59:30
    assert shell + 1.4 <= python < target + 40
    assert python - 1 <= child < target + 40
    assert 0.25 <= waited < 10  # a timed wait ends (it hangs with a faked monotonic clock)


def test_an_offset_and_a_bad_value() -> None:
    # the real clock, even when this suite itself runs under --faketime
    script = "real=$(env -u LD_PRELOAD date -u +%s); bgk_faketime +400d; echo $real $(date -u +%s)"
    ok = subprocess.run(
        ["bash", "-c", f'source "{REPO}/scripts/lib/setup.sh"; {script}'],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    real, shifted = (float(x) for x in ok.stdout.split())
    days = (shifted - real) / 86400
    assert ok.returncode == 0 and 399.9 < days < 400.1
    bad = subprocess.run(
        ["bash", "-c", f'source "{REPO}/scripts/lib/setup.sh"; bgk_faketime tomorrow'],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 2 and "--faketime takes +400d" in bad.stderr
