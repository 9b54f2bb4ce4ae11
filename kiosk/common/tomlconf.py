"""Typed reading of TOML configuration, with errors that name file, section and key;
and a value written as TOML (server.toml edited in place, a kiosk bundle's kiosk.toml).

Shared by kiosk.config and server.config (pure: no I/O; paths are resolved
against a base directory given by the caller).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kiosk.protocol.errors import UsageError


class TomlReader:
    """Typed access to a TOML table with errors that name the file, section and key."""

    def __init__(self, raw: dict[str, Any], where: str, base: Path) -> None:
        self.raw, self.where, self.base = raw, where, base

    def _get(self, section: str, key: str) -> Any:
        table = self.raw.get(section, {})
        if not isinstance(table, dict):
            raise UsageError(f"{self.where}: [{section}] must be a table")
        return table.get(key)

    def _bad(self, section: str, key: str, want: str) -> UsageError:
        return UsageError(f"{self.where}: [{section}] {key} must be {want}")

    def text(self, section: str, key: str, default: str | None = None) -> str:
        value = self._get(section, key)
        if value is None:
            if default is None:
                raise UsageError(f"{self.where}: [{section}] {key} is missing")
            return default
        if not isinstance(value, str):
            raise self._bad(section, key, "a string")
        return str(value)

    def opt_str(self, section: str, key: str) -> str | None:
        value = self._get(section, key)
        if value is not None and not isinstance(value, str):
            raise self._bad(section, key, "a string")
        return value

    def strings(self, section: str, key: str, default: list[str]) -> list[str]:
        value = self._get(section, key)
        if value is None:
            return default
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._bad(section, key, "a list of strings")
        return value

    def num(self, section: str, key: str, default: float, low: float, high: float) -> float:
        value = self._get(section, key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._bad(section, key, "a number")
        if not low <= value <= high:
            raise self._bad(section, key, f"between {low} and {high}")
        return float(value)

    def flag(self, section: str, key: str, default: bool) -> bool:
        value = self._get(section, key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self._bad(section, key, "true or false")
        return value

    def choice(self, section: str, key: str, default: str, options: tuple[str, ...]) -> str:
        value = self.text(section, key, default)
        if value not in options:
            raise self._bad(section, key, "one of " + ", ".join(options))
        return value

    def path(self, section: str, key: str, default: Path | None = None) -> Path | None:
        value = self._get(section, key)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self._bad(section, key, "a path string")
        path = Path(value)
        return path if path.is_absolute() else self.base / path

    def req_path(self, section: str, key: str) -> Path:
        path = self.path(section, key)
        if path is None:
            raise UsageError(f"{self.where}: [{section}] {key} is missing")
        return path


def toml_value(value: Any) -> str:
    """`value` (a bool, number, string or list of them) as it is written in TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)
