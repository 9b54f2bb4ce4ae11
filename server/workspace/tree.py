"""The page tree of a draft: add, remove and reorder pages. Each change edits
pack.toml's [[pages]] blocks as text (comments and the rest of the file stay as
they were) and the page folders, in one version."""

from __future__ import annotations

import json
import tomllib

from kiosk.protocol.pack import PAGE_ID
from server.workspace.drafts import DraftError, DraftStore

PACK_TOML = "pack.toml"


def _blocks(text: str) -> tuple[str, list[str]]:
    """(what comes before the first [[pages]], each [[pages]] block); a block runs
    to the next [[pages]] or to the next other table header."""
    lines = text.split("\n")
    starts = [i for i, ln in enumerate(lines) if ln.strip() == "[[pages]]"]
    if not starts:
        return text, []
    head = "\n".join(lines[: starts[0]])
    blocks: list[str] = []
    tail: list[str] = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        body = lines[start:end]
        for k in range(1, len(body)):  # another table inside: it belongs after the pages
            s = body[k].strip()
            if s.startswith("[") and s != "[[pages]]":
                tail += body[k:]
                body = body[:k]
                break
        blocks.append("\n".join(body).rstrip("\n"))
    if tail:
        head = head.rstrip("\n") + "\n\n" + "\n".join(tail).strip("\n") + "\n"
    return head, blocks


def _join(head: str, blocks: list[str]) -> str:
    return head.rstrip("\n") + "\n\n" + "\n\n".join(blocks) + "\n"


def _block_id(block: str) -> str:
    try:
        entry = tomllib.loads(block.replace("[[pages]]", "", 1))
    except tomllib.TOMLDecodeError:
        return ""
    value = entry.get("id")
    return value if isinstance(value, str) else ""


def _source(drafts: DraftStore, pack: str, rev: str) -> tuple[str, str]:
    data = drafts.read(pack, PACK_TOML, rev)
    if data is None:
        raise DraftError("the draft has no pack.toml")
    text = data.decode("utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DraftError(f"pack.toml is not valid TOML ({exc}): fix it first") from None
    declared = raw.get("source_language")
    langs = raw.get("languages") or []
    lang = declared or ("vi" if "vi" in langs else raw.get("default_language", "vi"))
    return text, str(lang)


def add_page(
    drafts: DraftStore, pack: str, page_id: str, title: str, *, base: str, author: str, now: float
) -> str:
    """A new top-level page at the end, with its source-language text (the title)."""
    if not PAGE_ID.match(page_id):
        raise DraftError(f"page id {page_id!r}: lowercase letters, digits and dashes")
    title = " ".join(title.split())
    if not title:
        raise DraftError("give the page a title")
    text, lang = _source(drafts, pack, base)
    head, blocks = _blocks(text)
    if page_id in {_block_id(b) for b in blocks}:
        raise DraftError(f"the pack already has a page {page_id!r}")
    blocks.append(f"[[pages]]\nid = {json.dumps(page_id)}")
    changes: dict[str, bytes | None] = {
        PACK_TOML: _join(head, blocks).encode("utf-8"),
        f"pages/{page_id}/{lang}.md": f"# {title}\n".encode(),
    }
    return drafts.save(pack, changes, author=author, message=f"Add page {page_id}", base=base,
                       now=now)  # fmt: skip


def remove_page(
    drafts: DraftStore, pack: str, page_id: str, *, base: str, author: str, now: float
) -> str:
    text, _ = _source(drafts, pack, base)
    head, blocks = _blocks(text)
    kept = [b for b in blocks if _block_id(b) != page_id]
    if len(kept) == len(blocks):
        raise DraftError(f"the pack has no page {page_id!r}")
    changes: dict[str, bytes | None] = {PACK_TOML: _join(head, kept).encode("utf-8")}
    for path in drafts.listing(pack, base):
        if path.startswith(f"pages/{page_id}/"):
            changes[path] = None
    return drafts.save(pack, changes, author=author, message=f"Remove page {page_id}", base=base,
                       now=now)  # fmt: skip


def move_page(
    drafts: DraftStore, pack: str, page_id: str, step: int, *, base: str, author: str, now: float
) -> str:
    """Move a page `step` places (-1: up, 1: down) in pack.toml's order."""
    text, _ = _source(drafts, pack, base)
    head, blocks = _blocks(text)
    ids = [_block_id(b) for b in blocks]
    if page_id not in ids:
        raise DraftError(f"the pack has no page {page_id!r}")
    i = ids.index(page_id)
    j = max(0, min(len(blocks) - 1, i + step))
    blocks.insert(j, blocks.pop(i))
    return drafts.save(pack, {PACK_TOML: _join(head, blocks).encode("utf-8")}, author=author,
                       message=f"Move page {page_id}", base=base, now=now)  # fmt: skip
