"""A pack version's files in and out: read from a folder (`bgk pack import/push`),
and as one file to carry (`bgk pack pull/push`): a gzipped tar of its files, read back without trusting it (regular files only, pack paths only,
size and count capped while reading, never unpacked onto a disk as given)."""

from __future__ import annotations

import io
import os
import tarfile
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path

from kiosk.protocol.pack import PACK_ID
from server.workspace.drafts import MAX_FILE, MAX_FILES, SKIP, DraftError, check_path

#: a whole pack as sent over HTTP
MAX_ARCHIVE = 400 * 1024 * 1024


def pack_archive(files: Mapping[str, bytes]) -> bytes:
    """The files as tar.gz, the same bytes for the same files (sorted, no times)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for rel in sorted(files):
            data = files[rel]
            info = tarfile.TarInfo(rel)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def unpack_archive(data: bytes) -> dict[str, bytes]:
    """The files of an archive made by `pack_archive` (or `tar czf`); DraftError
    says what is wrong with anything else."""
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            for member in tar:
                if member.isdir():
                    continue
                name = member.name.removeprefix("./")
                if not member.isfile():
                    raise DraftError(f"{name}: only regular files can be sent (no links)")
                if member.size > MAX_FILE:
                    raise DraftError(
                        f"{name} is {member.size} bytes; a file may have at most 20 MB"
                    )
                if len(files) >= MAX_FILES:
                    raise DraftError(f"a pack may have at most {MAX_FILES} files")
                extracted = tar.extractfile(member)
                assert extracted is not None
                files[check_path(name)] = extracted.read(MAX_FILE + 1)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DraftError(f"not a readable tar.gz archive of a pack ({exc})") from None
    return files


def read_folder(folder: Path) -> dict[str, bytes]:
    """The files of a pack folder (hidden files and __pycache__ left out); a symlink
    or a special file is refused, as lint refuses it."""
    if not (folder / "pack.toml").is_file():
        raise DraftError(f"{folder} has no pack.toml: give a pack's folder (content_packs/<pack>)")
    files: dict[str, bytes] = {}
    for path in _walk(folder):
        rel = path.relative_to(folder).as_posix()
        if SKIP.search(rel):
            continue
        if path.is_symlink() or not path.is_file():
            raise DraftError(f"{rel} is a symlink or not a regular file: copy a real file in")
        files[check_path(rel)] = path.read_bytes()
    return files


def _walk(folder: Path) -> Iterator[Path]:
    for base, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        for name in sorted(names):
            yield Path(base) / name


def pack_id_of(files: Mapping[str, bytes]) -> str:
    try:
        raw = tomllib.loads(files["pack.toml"].decode("utf-8"))
    except (KeyError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DraftError(f"pack.toml cannot be read ({exc}): `bgk pack lint` says more") from None
    pack = raw.get("id")
    if not isinstance(pack, str) or not PACK_ID.match(pack):
        raise DraftError('pack.toml needs id = "<lowercase letters, digits, dashes>"')
    return pack
