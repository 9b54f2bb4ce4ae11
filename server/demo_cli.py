"""`bgk demo`: everything on one machine (server/demo.py does it)."""

from __future__ import annotations

import argparse
from pathlib import Path

from kiosk.common.cli import Registry
from kiosk.protocol.errors import UsageError
from server.demo import SAMPLE_PACK, DemoOptions, run_demo


def register(registry: Registry) -> None:
    """`bgk demo` (registered by server/cli.py)."""
    p = registry.add("demo", "everything on one machine: broker, server, pack, kiosk, fleet", _cmd)
    p.add_argument(
        "--state-dir",
        type=Path,
        default=Path.home() / ".local/state/bgk/demo",
        help="folder for the demo's files (wiped at start; default ~/.local/state/bgk/demo)",
    )
    p.add_argument("--headless", action="store_true", help="no kiosk window, even with a display")
    p.add_argument("--kiosks", type=int, default=50, help="simulated kiosks (default 50)")
    p.add_argument("--pack", type=Path, default=SAMPLE_PACK, help="pack sources to publish")
    p.add_argument(
        "--duration",
        type=float,
        default=0.0,
        help="stop after this many seconds once ready (default: run until Ctrl-C)",
    )


def _cmd(args: argparse.Namespace) -> int:
    if not 0 <= args.kiosks <= 20000:
        raise UsageError("--kiosks must be between 0 and 20000")
    opts = DemoOptions(
        state_dir=args.state_dir.resolve(), headless=args.headless, sim_kiosks=args.kiosks,
        pack=args.pack.resolve(), duration=args.duration,
    )  # fmt: skip
    return run_demo(opts)
