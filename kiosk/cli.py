"""`bgk`: the one command line of the project.

The parts register their subcommands through the `bgk.commands` entry point
group, so that this module never imports the server (a kiosk may not even
have the server's dependencies installed).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from importlib.metadata import entry_points

from kiosk.protocol.commands import Registry
from kiosk.protocol.errors import BgkError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bgk",
        description="Border-gate information kiosks: packs, server, kiosks.",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)"
    )
    registry = Registry(parser)
    for ep in sorted(entry_points(group="bgk.commands"), key=lambda e: e.name):
        try:
            register = ep.load()
        except ImportError as exc:  # a part whose extra is not installed
            logging.getLogger("bgk").debug("commands of %s unavailable: %s", ep.name, exc)
            continue
        register(registry)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    if os.environ.get("BGK_LOG"):
        level = getattr(logging, os.environ["BGK_LOG"].upper(), level)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        code: int = args.handler(args)
        return code
    except BgkError as exc:
        print(f"bgk: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
