"""Checks for relative paths named inside packs (manifests, page documents).

A path in a pack is data from the network: before any file is written or
read under it, it must be proven to stay inside the pack directory.
"""

from __future__ import annotations

import re
import stat
import unicodedata

from kiosk.protocol.errors import ProtocolError

_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
MAX_PATH_LENGTH = 512


def check_pack_path(path: str) -> str:
    """Return `path` if it is a safe relative POSIX path, else raise ProtocolError.

    Refused: empty, absolute, backslashes, `.`/`..` segments, empty segments,
    characters outside [A-Za-z0-9._-], segments starting with a dot or dash,
    non-NFC text, longer than MAX_PATH_LENGTH.
    """
    if not path or len(path) > MAX_PATH_LENGTH:
        raise ProtocolError(f"unsafe path in pack: {path!r} (empty or too long)")
    if unicodedata.normalize("NFC", path) != path:
        raise ProtocolError(f"unsafe path in pack: {path!r} (not NFC)")
    if path.startswith("/") or "\\" in path or "\x00" in path:
        raise ProtocolError(f"unsafe path in pack: {path!r} (absolute or backslash)")
    for segment in path.split("/"):
        if segment in ("", ".", "..") or not _SEGMENT.match(segment):
            raise ProtocolError(f"unsafe path in pack: {path!r} (bad segment {segment!r})")
    return path


SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


def check_sha256(value: str) -> str:
    """Return `value` if it is a lowercase hex SHA-256, else raise ProtocolError."""
    if not SHA256_HEX.match(value):
        raise ProtocolError(f"not a sha256 hex digest: {value!r}")
    return value


def special_file(mode: int) -> str | None:
    """What a file that is not a regular file is, in words (None for a regular file):
    a named pipe, device or socket blocks or never ends when read."""
    for test, kind in (
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISLNK, "a symbolic link"),
    ):
        if test(mode):
            return kind
    return None if stat.S_ISREG(mode) else "not a regular file"
