"""Long fuzzing runs: the suite's Hypothesis and Schemathesis tests (tests/fuzz)
with many more cases, at random (a new seed each run).

    .venv/bin/python bench/fuzz.py [--examples 2000] [-k EXPR]

Prints how many cases ran per test and how long each took; pytest's own
report says which input failed (Hypothesis shrinks it and prints the seed to
reproduce with). The slow-loris and burst run longer in bench/flood.py.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=2000, help="cases per test (2000)")
    parser.add_argument("-k", default="not flood", help="pytest -k expression")
    args = parser.parse_args()
    print(f"load average before: {Path('/proc/loadavg').read_text().split()[:3]} (2 cores)")
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/fuzz", "-k", args.k, "-q", "-p", "no:cacheprovider",
         "--hypothesis-show-statistics", "--durations=0", "--timeout=0"],
        cwd=REPO,
        env={**os.environ, "BGK_FUZZ_EXAMPLES": str(args.examples)},
    )  # fmt: skip
    print(f"{args.examples} cases per test, {time.monotonic() - started:.0f} s in all")
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
