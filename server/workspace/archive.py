"""A pack version as one file to carry (`bgk pack pull/push`): a gzipped tar of
its files, read back without trusting it (regular files only, pack paths only,
size and count capped while reading, never unpacked onto a disk as given)."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping

from server.workspace.drafts import MAX_FILE, MAX_FILES, DraftError, check_path

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
