"""What changed between two versions of a draft: file by file, text as a line diff."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from server.workspace.drafts import DraftStore

_TEXT = (".md", ".toml", ".txt")
MAX_DIFF_LINES = 2000


@dataclass(frozen=True)
class FileChange:
    path: str
    #: added | removed | changed
    kind: str
    #: unified diff of a text file ("" for pictures and other files)
    diff: str
    #: size in bytes before and after (None when absent)
    before: int | None
    after: int | None


def diff(drafts: DraftStore, pack: str, a: str, b: str) -> list[FileChange]:
    """Files that differ from version `a` to version `b`, by path."""
    old, new = drafts.listing(pack, a), drafts.listing(pack, b)
    out: list[FileChange] = []
    for path in sorted(set(old) | set(new)):
        if old.get(path) == new.get(path):
            continue
        before = drafts.blob(pack, old[path]) if path in old else None
        after = drafts.blob(pack, new[path]) if path in new else None
        kind = "added" if before is None else "removed" if after is None else "changed"
        text = ""
        if path.endswith(_TEXT):
            lines = difflib.unified_diff(
                _lines(before), _lines(after), f"a/{path}", f"b/{path}", lineterm=""
            )
            text = "\n".join(list(lines)[:MAX_DIFF_LINES])
        out.append(FileChange(path, kind, text, _size(before), _size(after)))
    return out


def _lines(data: bytes | None) -> list[str]:
    return [] if data is None else data.decode("utf-8", "replace").split("\n")


def _size(data: bytes | None) -> int | None:
    return None if data is None else len(data)
