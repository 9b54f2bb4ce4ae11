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
        """Declare a command group such as `pack`, or `server user` inside the
        group `server` (idempotent)."""
        if name in self._groups:
            return
        words = name.split()
        if len(words) == 1:
            parser = self._top.add_parser(name, help=help, description=help)
        else:
            parent = " ".join(words[:-1])
            if parent not in self._groups:
                raise KeyError(f"declare group {parent!r} before {name!r}")
            parser = self._groups[parent].add_parser(words[-1], help=help, description=help)
        self._groups[name] = parser.add_subparsers(
            dest=f"{name.replace(' ', '_')}_command", metavar="COMMAND", required=True
        )

    def add(self, path: str, help: str, handler: Handler) -> argparse.ArgumentParser:
        """Add `bgk PATH` ("sim", "pack lint", "server user add"); returns its
        parser for arguments."""
        words = path.split()
        if not words:
            raise ValueError("a command needs a name")
        if len(words) == 1:
            parser = self._top.add_parser(words[0], help=help, description=help)
        else:
            group = " ".join(words[:-1])
            if group not in self._groups:
                raise KeyError(f"declare group {group!r} before adding {path!r}")
            parser = self._groups[group].add_parser(words[-1], help=help, description=help)
        parser.set_defaults(handler=handler)
        return parser
