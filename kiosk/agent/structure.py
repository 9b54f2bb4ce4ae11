"""The structural check of an installed pack (the health check when no UI runs).

Every file of the manifest present at its path, a regular file of the
right length, and the same file (inode) as the verified blob of its hash
in the store, so nothing is re-read; a file that is not (a store cleaned
by hand) is re-hashed instead. The manifest must be the signed one.
"""

from __future__ import annotations

import hashlib
import os
import stat

from kiosk.agent.download import verify_file
from kiosk.agent.layout import Layout
from kiosk.agent.state import PackRef
from kiosk.protocol.errors import ProtocolError
from kiosk.protocol.pack import MANIFEST_NAME, parse_manifest


def describe_pack(layout: Layout, name: str) -> PackRef | None:
    """What an installed pack folder holds (None when it is not a valid pack)."""
    try:
        data = (layout.pack_dir(name) / MANIFEST_NAME).read_bytes()
        manifest = parse_manifest(data)
    except (OSError, ProtocolError):
        return None
    return PackRef(manifest.id, manifest.version, name, hashlib.sha256(data).hexdigest())


def structural_problem(layout: Layout, ref: PackRef) -> str | None:
    folder = layout.pack_dir(ref.name)
    try:
        data = (folder / MANIFEST_NAME).read_bytes()
    except OSError:
        return "its manifest is missing"
    if hashlib.sha256(data).hexdigest() != ref.sha256:
        return "its manifest is not the signed one"
    try:
        manifest = parse_manifest(data)
    except ProtocolError as exc:
        return str(exc)
    for entry in manifest.files:
        path = folder / entry.path
        try:
            st = os.lstat(path)
        except OSError:
            return f"{entry.path} is missing"
        if not stat.S_ISREG(st.st_mode) or st.st_size != entry.length:
            return f"{entry.path} is not a file of {entry.length} bytes"
        try:
            blob = os.lstat(layout.blob(entry.sha256))
            same = (blob.st_ino, blob.st_dev) == (st.st_ino, st.st_dev)
        except OSError:
            same = False
        if not same and not verify_file(path, entry.sha256, entry.length):
            return f"{entry.path} does not match its hash"
    return None
