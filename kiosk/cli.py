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

from kiosk.common.cli import Registry
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
    try:
        args = parser.parse_args(argv)
    except SystemExit:  # --help (or a usage error argparse printed): flush it here
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _pipe_closed()
        raise
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    if os.environ.get("BGK_LOG"):
        level = getattr(logging, os.environ["BGK_LOG"].upper(), level)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        code: int = args.handler(args)
        sys.stdout.flush()  # here, not at exit: a closed pipe is handled below
        return code
    except BgkError as exc:
        print(f"bgk: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _pipe_closed()


#: the exit status of a program stopped by SIGPIPE (128 + 13), as `yes | head` gives
PIPE_CLOSED = 141


def _pipe_closed() -> int:
    """The reader of our output went away (`bgk ... | head`): stop quietly.

    Python ignores SIGPIPE (so servers survive closed sockets) and raises
    BrokenPipeError instead; what is still buffered for stdout must not be
    flushed again at exit (a second error and a traceback)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is not a real file (tests capture it)
        pass
    return PIPE_CLOSED


if __name__ == "__main__":
    sys.exit(main())
