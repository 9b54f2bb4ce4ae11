"""Who may read the server's data folder.

nginx (user www-data) serves the kiosks' files straight from DATA/tuf/ and
DATA/blobs/ (deploy/nginx/bgk-delivery.conf). The installer makes DATA
`bgk:www-data 0750`, so www-data may pass through it; tuf/ and blobs/ are
public by nature (every kiosk downloads them) and stay world-readable. All
else in DATA (fleet.db, server.toml, keys/, mqtt/, ...) is the service's
alone: `secure_data_dir` takes the "others" permissions off every other
entry. `bgk server init`, `bgk server run` (at every start) and `bgk server
restore` call it, so a file made with a loose umask never stays readable.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: the entries of DATA that nginx serves
PUBLIC = frozenset({"tuf", "blobs"})


def secure_data_dir(data: Path) -> list[Path]:
    """Close every entry of DATA but tuf/ and blobs/ to others; what changed."""
    changed = []
    try:
        entries = list(data.iterdir())
    except FileNotFoundError:
        return []
    for entry in entries:
        if entry.name in PUBLIC or entry.is_symlink():
            continue
        mode = stat.S_IMODE(entry.lstat().st_mode)
        if mode & 0o007:
            os.chmod(entry, mode & ~0o007)
            changed.append(entry)
    return changed
