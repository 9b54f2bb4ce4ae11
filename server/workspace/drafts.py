"""Pack drafts with history: one bare git repository per pack, DATA/workspace/<pack>.git.

The tree of every commit is exactly a `content_packs/<pack>/` folder, so
`git clone DATA/workspace/lao-bao.git` gives a folder that `bgk pack lint`
and `bgk pack build` take as it is, and a backup of DATA keeps the history.

Why dulwich (not pygit2): pure Python with wheels for every platform we run on
(no libgit2 to match on the server), it writes the standard git format any
`git` reads, and its ref update is a compare-and-swap (`set_if_equals`), which
is what a save needs to never overwrite someone else's save.

Every save is a commit by the signed-in person with their message, made on top
of the version they started from (`base`). When someone else saved meanwhile:
  - their changes touch other files: both are kept (the save goes on top of theirs);
  - they changed a file this save changes too: `Conflict`, nothing written; the
    caller shows both versions and the person decides.
Restore makes a new commit whose tree is an older one's: history only grows.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dulwich.objects import Blob, Commit, ObjectID, Tree
from dulwich.refs import Ref
from dulwich.repo import Repo

from kiosk.protocol.errors import ProtocolError
from kiosk.protocol.pack import PACK_ID
from kiosk.protocol.paths import check_pack_path
from server.errors import Conflict as ConflictError
from server.errors import NotFound, RequestWrong

BRANCH = Ref(b"refs/heads/main")
#: a file in a draft: text up to 1 MB (lint's limit), pictures up to 20 MB
MAX_FILE = 20 * 1024 * 1024
MAX_FILES = 5000
MAX_MESSAGE = 2000
_FILE_MODE = 0o100644
_DIR_MODE = stat.S_IFDIR
#: Vietnam's offset, for the commit times `git log` shows
_TZ = 7 * 3600
SKIP = re.compile(r"(^|/)(\.|__pycache__(/|$))")
_REV = re.compile(r"^[0-9a-f]{40}$")


class DraftError(RequestWrong):
    """A workspace request that cannot be done; the message says what to do."""


class NoSuchPack(NotFound, DraftError):
    pass


class NoSuchVersion(NotFound, DraftError):
    pass


class Conflict(DraftError, ConflictError):
    """Someone saved the same file since `base`: nothing was written."""

    def __init__(self, head: str, paths: list[str]) -> None:
        super().__init__(
            f"{', '.join(paths)} changed since you opened it (now version {head[:10]}): "
            "compare both versions, then save again on top of the new one"
        )
        self.head = head
        self.paths = paths


@dataclass(frozen=True)
class Version:
    id: str
    author: str
    message: str
    #: epoch seconds
    at: float
    parent: str | None


def _person(name: str) -> bytes:
    safe = re.sub(r"[<>\n]", "", name)[:64] or "unknown"
    return f"{safe} <{safe}@bgk>".encode()


def _author_name(raw: bytes) -> str:
    return raw.decode("utf-8", "replace").split(" <", 1)[0]


def check_path(rel: str) -> str:
    try:
        check_pack_path(rel)
    except ProtocolError:
        raise DraftError(
            f"{rel!r}: a file of a pack has a relative path of a-z 0-9 . _ - / only"
        ) from None
    return rel


class DraftStore:
    """The drafts of every pack under `root` (DATA/workspace)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()

    # --- repositories -------------------------------------------------------------

    def packs(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name[:-4] for p in self.root.glob("*.git") if p.is_dir())

    def path_of(self, pack: str) -> Path:
        if not PACK_ID.match(pack):
            raise NoSuchPack(f"pack id {pack!r}: lowercase letters, digits and dashes")
        return self.root / f"{pack}.git"

    def repo(self, pack: str) -> Repo:
        path = self.path_of(pack)
        if not (path / "HEAD").is_file():
            raise NoSuchPack(
                f"no draft of pack {pack!r}: `bgk pack import FOLDER --data DATA` brings one in"
            )
        return Repo(str(path))

    def head(self, pack: str) -> str:
        repo = self.repo(pack)
        try:
            return repo.refs[BRANCH].decode()
        except KeyError:
            raise NoSuchPack(f"pack {pack!r} has no saved version yet") from None
        finally:
            repo.close()

    # --- reading ------------------------------------------------------------------

    def _commit(self, repo: Repo, rev: str) -> Commit:
        if not _REV.match(rev):
            raise NoSuchVersion(f"{rev!r} is not a version id (40 hex digits)")
        try:
            obj = repo[rev.encode()]
        except KeyError:
            raise NoSuchVersion(f"no version {rev[:10]} in this pack") from None
        if not isinstance(obj, Commit):
            raise NoSuchVersion(f"{rev[:10]} is not a version")
        return obj

    def listing(self, pack: str, rev: str | None = None) -> dict[str, str]:
        """path -> blob id of every file of a version (default: the newest)."""
        repo = self.repo(pack)
        try:
            commit = self._commit(repo, rev or self.head(pack))
            return {
                e.path.decode(): e.sha.decode()
                for e in repo.object_store.iter_tree_contents(commit.tree)
            }
        finally:
            repo.close()

    def read(self, pack: str, path: str, rev: str | None = None) -> bytes | None:
        """A file of a version, or None when the version has no such file."""
        blob_id = self.listing(pack, rev).get(path)
        return None if blob_id is None else self.blob(pack, blob_id)

    def blob(self, pack: str, blob_id: str) -> bytes:
        repo = self.repo(pack)
        try:
            obj = repo[blob_id.encode()]
            assert isinstance(obj, Blob)
            return obj.as_raw_string()
        finally:
            repo.close()

    def version(self, pack: str, rev: str) -> Version:
        repo = self.repo(pack)
        try:
            return _version(self._commit(repo, rev))
        finally:
            repo.close()

    def history(self, pack: str, limit: int = 200) -> list[Version]:
        """Versions newest first (first parents)."""
        repo = self.repo(pack)
        try:
            out: list[Version] = []
            rev: str | None = self.head(pack)
            while rev is not None and len(out) < limit:
                version = _version(self._commit(repo, rev))
                out.append(version)
                rev = version.parent
            return out
        finally:
            repo.close()

    def checkout(self, pack: str, rev: str | None = None) -> Path:
        """A folder with the files of a version (cached per version; do not change it)."""
        rev = rev or self.head(pack)
        listing = self.listing(pack, rev)
        cache = self.root / ".checkouts" / pack
        folder = cache / rev
        if folder.is_dir():
            return folder
        cache.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=cache))
        repo = self.repo(pack)
        try:
            for rel, blob_id in listing.items():
                target = tmp / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                obj = repo[blob_id.encode()]
                assert isinstance(obj, Blob)
                target.write_bytes(obj.as_raw_string())
            try:
                os.rename(tmp, folder)
            except OSError:  # another request made it first
                shutil.rmtree(tmp, ignore_errors=True)
        finally:
            repo.close()
        self._trim(cache, keep=folder)
        return folder

    def _trim(self, cache: Path, keep: Path, most: int = 20) -> None:
        folders = sorted(
            (p for p in cache.iterdir() if p.is_dir() and p != keep),
            key=lambda p: p.stat().st_mtime,
        )
        for old in folders[: max(0, len(folders) - most + 1)]:
            shutil.rmtree(old, ignore_errors=True)

    # --- writing ------------------------------------------------------------------

    def create(self, pack: str) -> None:
        path = self.path_of(pack)
        if path.exists():
            raise DraftError(
                f"pack {pack!r} is already in the workspace: `bgk pack push` saves a new version"
            )
        self.root.mkdir(parents=True, exist_ok=True)
        Repo.init_bare(str(path), mkdir=True, default_branch=b"main").close()

    def save(
        self,
        pack: str,
        changes: Mapping[str, bytes | None],
        *,
        author: str,
        message: str,
        base: str | None,
        now: float,
        replace_all: bool = False,
    ) -> str:
        """Commit `changes` (path -> new content, None = remove) made on version `base`
        (None: the pack has no version yet). `replace_all`: the files are the whole
        tree (an import, a push). Returns the new version; raises Conflict."""
        message = message.strip()
        if not message:
            raise DraftError("say in a few words what you changed (the save message)")
        if len(message) > MAX_MESSAGE:
            raise DraftError(f"the save message has at most {MAX_MESSAGE} characters")
        for rel, data in changes.items():
            check_path(rel)
            if data is not None and len(data) > MAX_FILE:
                raise DraftError(f"{rel} is {len(data)} bytes; a file may have at most 20 MB")
        wanted = dict(changes)
        if replace_all and base is not None:  # only what differs from base: a 3-way merge
            before = self.listing(pack, base)
            wanted = {p: d for p, d in wanted.items()
                      if before.get(p) != Blob.from_string(d or b"").id.decode()}  # fmt: skip
            wanted.update({p: None for p in before if p not in changes})
            replace_all = False
        with self._lock:
            repo = self.repo(pack)
            try:
                return self._save(repo, pack, wanted, author, message, base, now, replace_all)
            finally:
                repo.close()

    def _save(
        self,
        repo: Repo,
        pack: str,
        changes: dict[str, bytes | None],
        author: str,
        message: str,
        base: str | None,
        now: float,
        replace_all: bool,
    ) -> str:
        head = repo.refs[BRANCH].decode() if BRANCH in repo.refs else None
        head_files = self.listing(pack, head) if head else {}
        if base != head:
            if base is None:
                raise Conflict(head or "", sorted(changes) or ["the pack"])
            base_files = self.listing(pack, base)
            moved = {p for p in set(base_files) | set(head_files)
                     if base_files.get(p) != head_files.get(p)}  # fmt: skip
            new_ids = {p: (None if d is None else Blob.from_string(d).id.decode())
                       for p, d in changes.items()}  # fmt: skip
            clash = sorted(p for p in moved if p in changes and new_ids[p] != head_files.get(p))
            if clash:
                raise Conflict(head or "", clash)
        files = {} if replace_all else dict(head_files)
        for rel, data in changes.items():
            if data is None:
                files.pop(rel, None)
            else:
                blob = Blob.from_string(data)
                repo.object_store.add_object(blob)
                files[rel] = blob.id.decode()
        if len(files) > MAX_FILES:
            raise DraftError(f"a pack may have at most {MAX_FILES} files")
        tree = _write_tree(repo, files)
        if head is not None and repo[head.encode()].tree == tree:  # type: ignore[attr-defined]
            return head  # nothing changed: no empty version
        commit = Commit()
        commit.tree = tree
        commit.parents = [ObjectID(head.encode())] if head else []
        commit.author = commit.committer = _person(author)
        commit.author_time = commit.commit_time = int(now)
        commit.author_timezone = commit.commit_timezone = _TZ
        commit.encoding = b"UTF-8"
        commit.message = message.encode("utf-8") + b"\n"
        repo.object_store.add_object(commit)
        old = ObjectID(head.encode()) if head else None
        if not repo.refs.set_if_equals(BRANCH, old, commit.id):
            raise Conflict(repo.refs[BRANCH].decode(), sorted(changes))
        return commit.id.decode()

    def restore(self, pack: str, rev: str, *, author: str, now: float) -> str:
        """A new version with the files of `rev`."""
        old = self.listing(pack, rev)
        head = self.head(pack)
        files = {p: self.blob(pack, b) for p, b in old.items()}
        return self.save(pack, files, author=author, base=head, now=now, replace_all=True,
                         message=f"Restore version {rev[:10]}")  # fmt: skip


def _version(commit: Commit) -> Version:
    return Version(
        commit.id.decode(),
        _author_name(commit.author),
        commit.message.decode("utf-8", "replace").strip(),
        float(commit.commit_time),
        commit.parents[0].decode() if commit.parents else None,
    )


def _write_tree(repo: Repo, files: Mapping[str, str]) -> ObjectID:
    """Nested trees for a flat path -> blob id map; returns the root tree's id."""
    children: dict[str, dict[str, str]] = {}
    tree = Tree()
    for rel, blob_id in files.items():
        head, _, rest = rel.partition("/")
        if rest:
            children.setdefault(head, {})[rest] = blob_id
        else:
            tree.add(head.encode(), _FILE_MODE, ObjectID(blob_id.encode()))
    for name, sub in children.items():
        tree.add(name.encode(), _DIR_MODE, _write_tree(repo, sub))
    repo.object_store.add_object(tree)
    return tree.id
