"""`bgk server config --set section.key=value`: change server.toml in place.

server.toml is sections of `key = value` lines with comments (written by `bgk
server init`, explained in server/config.py). A setting is replaced on its line,
or added at the end of its section, or its section is added at the end; every
other line, comment included, stays as it was. The result is checked with
load_server_config before it replaces the file (atomically); a value equal to
the current one changes nothing, so the installer can set its settings on
every run.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any

from kiosk.common.files import atomic_write
from kiosk.common.tomlconf import toml_value
from kiosk.protocol.errors import UsageError
from server.config import SERVER_TOML, load_server_config

SECTION = re.compile(r"^\s*\[([A-Za-z0-9_.-]+)\]\s*(#.*)?$")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def parse_assignment(text: str) -> tuple[str, str, Any]:
    """'mqtt.url=mqtt://127.0.0.1:1883' -> ("mqtt", "url", "mqtt://..."). A value
    that reads as JSON (a list, a number, true/false) is that; else a string."""
    target, sep, raw = text.partition("=")
    section, dot, key = target.strip().partition(".")
    if not (sep and dot and NAME.match(section) and NAME.match(key)):
        raise UsageError(
            f"--set {text!r}: write SECTION.KEY=VALUE, e.g. mqtt.url=mqtt://127.0.0.1:1883"
        )
    raw = raw.strip()
    value: Any = raw
    if raw[:1] in "[0123456789" or raw in ("true", "false"):
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
    return section, key, value


def set_settings(
    data: Path, settings: list[tuple[str, str, Any]], *, dry_run: bool = False
) -> list[str]:
    """Apply the settings to DATA/server.toml; returns 'section.key' of each change."""
    path = data / SERVER_TOML
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{data} is not a server data folder (no {SERVER_TOML})") from None
    current = tomllib.loads(text)
    lines = text.splitlines()
    changed = []
    for section, key, value in settings:
        if current.get(section, {}).get(key) == value:
            continue
        lines = _set_line(lines, section, key, f"{key} = {toml_value(value)}")
        current.setdefault(section, {})[key] = value
        changed.append(f"{section}.{key}")
    if changed and not dry_run:
        new = "\n".join(lines) + "\n"
        try:
            tomllib.loads(new)
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"the change would break {path}: {exc}") from None
        st = path.stat()
        owner = (st.st_uid, st.st_gid) if os.geteuid() == 0 else None  # stays bgk's file
        atomic_write(path, new.encode("utf-8"), mode=st.st_mode & 0o777, owner=owner)
        try:
            load_server_config(data)  # every value still valid
        except UsageError:
            atomic_write(path, text.encode("utf-8"), mode=st.st_mode & 0o777, owner=owner)
            raise
    return changed


def _set_line(lines: list[str], section: str, key: str, line: str) -> list[str]:
    start = end = None
    for i, text in enumerate(lines):
        m = SECTION.match(text)
        if m is None:
            continue
        if start is not None:
            end = i
            break
        if m.group(1) == section:
            start = i
    if start is None:
        while lines and not lines[-1].strip():
            lines = lines[:-1]
        return [*lines, "", f"[{section}]", line]
    stop = end if end is not None else len(lines)
    own = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for i in range(start + 1, stop):
        if own.match(lines[i]):
            return [*lines[:i], line, *lines[i + 1 :]]
    last = stop
    while last - 1 > start and not lines[last - 1].strip():
        last -= 1
    return [*lines[:last], line, *lines[last:]]
