"""Canonical JSON: the same data always gives the same bytes.

Used for every document we hash or sign (manifests, page documents), so
that a rebuild of unchanged sources gives byte-identical files.
"""

from __future__ import annotations

import json
from typing import Any


def canonical_json(data: Any) -> bytes:
    """Sorted keys, no insignificant spaces, UTF-8 (not \\u escapes), final newline."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return (text + "\n").encode("utf-8")
