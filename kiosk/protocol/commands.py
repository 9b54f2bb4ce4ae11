"""How the parts of the project add their subcommands to the one `bgk` command.

Each part exposes `register(registry)` as a `bgk.commands` entry point
(see pyproject.toml). Registration only declares arguments; handlers import
their heavy modules (kivy, fastapi, ...) when they run, so `bgk --help` stays
fast and a kiosk without the server's dependencies still works.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

Handler = Callable[[argparse.Namespace], int]


class Registry:
    """Collects `bgk GROUP NAME` and `bgk NAME` subcommands from several parts."""

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self._top = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
        self._groups: dict[str, argparse._SubParsersAction[argparse.ArgumentParser]] = {}

    def group(self, name: str, help: str) -> None:
        """Declare a command group such as `pack` or `server` (idempotent)."""
        if name in self._groups:
            return
        parser = self._top.add_parser(name, help=help, description=help)
        self._groups[name] = parser.add_subparsers(
            dest=f"{name}_command", metavar="COMMAND", required=True
        )

    def add(self, path: str, help: str, handler: Handler) -> argparse.ArgumentParser:
        """Add `bgk PATH` ("sim" or "pack lint"); returns its parser for arguments."""
        words = path.split()
        if len(words) == 1:
            parser = self._top.add_parser(words[0], help=help, description=help)
        elif len(words) == 2:
            if words[0] not in self._groups:
                raise KeyError(f"declare group {words[0]!r} before adding {path!r}")
            parser = self._groups[words[0]].add_parser(words[1], help=help, description=help)
        else:
            raise ValueError(f"commands have one or two words, not {path!r}")
        parser.set_defaults(handler=handler)
        return parser
