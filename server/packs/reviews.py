"""Reviews: a draft version frozen and built, waiting for a publisher's decision.

    building ──> requested ──> approved ──> published
        │            │
        └> failed    └> rejected (back to editing: the editor requests again)

`building` is the build of the frozen version (server/workspace/review_build.py);
this module sits in server.packs (not server.workspace) because `bgk server publish
--review N` (publish_cli.py) moves a review too, and packs never import the workspace.
`failed` keeps lint's findings or the build's error. Every move goes through
`move` and its table (like kiosk/agent/state.py): an illegal one raises
`IllegalMove` and changes nothing. Rows live in the `reviews` and
`review_comments` tables (server/store/schema.py); the build in
DATA/reviews/<id>/ (source/ = the frozen files, pack/ = the built pack).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, insert, select, update

from server.errors import Conflict, Forbidden, NotFound, RequestWrong
from server.packs.errors import PackError
from server.store import Store
from server.store.schema import review_comments, reviews

STATES: Final = ("building", "failed", "requested", "approved", "rejected", "published")

#: state -> the states it may move to
MOVES: Final[dict[str, tuple[str, ...]]] = {
    "building": ("requested", "failed"),
    "failed": (),
    "requested": ("approved", "rejected"),
    "approved": ("published",),
    "rejected": (),
    "published": (),
}

#: the folder of the review builds, under the server data folder
REVIEWS_DIR: Final = "reviews"


class ReviewError(PackError, RequestWrong):
    """A review request or decision that cannot be done."""


class NoSuchReview(NotFound, ReviewError):
    pass


class IllegalMove(ReviewError, Conflict):
    """The review is not in a state that allows this (e.g. approving a rejected one)."""

    def __init__(self, review_id: int, state: str, wanted: str) -> None:
        allowed = ", ".join(MOVES[state]) or "nothing (it is closed)"
        super().__init__(
            f"review {review_id} is {state}: it cannot become {wanted} (from {state} it can "
            f"become {allowed}); request publication again for a new review"
        )
        self.state, self.wanted = state, wanted


class SelfApproval(ReviewError, Forbidden):
    """Two-person policy: who requested a review does not approve it."""


class ReviewBuildChanged(ReviewError):
    """The review's build on the server is not the one that was reviewed (its manifest
    hash differs): nothing is published."""


@dataclass(frozen=True)
class Comment:
    at: float
    author: str
    kind: str
    text: str


@dataclass(frozen=True)
class Review:
    id: int
    pack: str
    commit: str
    state: str
    audience: tuple[str, ...]
    note: str
    requested_by: str
    requested_at: float
    version: int | None
    edition: str | None
    manifest_sha256: str | None
    findings: list[dict[str, Any]]
    error: str
    built_at: float | None
    decided_by: str | None
    decided_at: float | None
    signing_event: str | None
    published_by: str | None
    published_at: float | None
    comments: tuple[Comment, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "comments"}
        d["audience"] = list(self.audience)
        d["comments"] = [c.__dict__ for c in self.comments]
        return d


def check_move(review_id: int, state: str, wanted: str) -> None:
    if wanted not in MOVES.get(state, ()):
        raise IllegalMove(review_id, state, wanted)


def review_dir(data: Path, review_id: int) -> Path:
    return data / REVIEWS_DIR / str(int(review_id))


def create(
    store: Store, pack: str, commit: str, audience: Sequence[str], *, by: str, note: str,
    now: float,
) -> int:  # fmt: skip
    """A new review in `building` (the build starts next)."""
    with store.engine.begin() as conn:
        row = conn.execute(
            insert(reviews).values(
                pack=pack,
                commit=commit,
                state="building",
                audience=json.dumps(list(audience)),
                note=note,
                requested_by=by,
                requested_at=now,
                findings="[]",
                error="",
            )
        )
        key = row.inserted_primary_key
        assert key is not None
        return int(key[0])


def get(store: Store, review_id: int) -> Review:
    with store.engine.connect() as conn:
        return _get(conn, review_id)


def _get(conn: Connection, review_id: int) -> Review:
    row = conn.execute(select(reviews).where(reviews.c.id == review_id)).mappings().first()
    if row is None:
        raise NoSuchReview(f"no review {review_id}: the workspace's reviews page lists them")
    said = conn.execute(
        select(review_comments)
        .where(review_comments.c.review_id == review_id)
        .order_by(review_comments.c.id)
    ).mappings()
    return _review(row, tuple(Comment(c["at"], c["author"], c["kind"], c["text"]) for c in said))


def _review(row: Any, comments: tuple[Comment, ...] = ()) -> Review:
    return Review(
        row["id"],
        row["pack"],
        row["commit"],
        row["state"],
        tuple(json.loads(row["audience"])),
        row["note"],
        row["requested_by"],
        row["requested_at"],
        row["version"],
        row["edition"],
        row["manifest_sha256"],
        json.loads(row["findings"]),
        row["error"],
        row["built_at"],
        row["decided_by"],
        row["decided_at"],
        row["signing_event"],
        row["published_by"],
        row["published_at"],
        comments,
    )


def listing(store: Store, pack: str | None = None, limit: int = 100) -> list[Review]:
    query = select(reviews).order_by(reviews.c.id.desc()).limit(limit)
    if pack is not None:
        query = query.where(reviews.c.pack == pack)
    with store.engine.connect() as conn:
        return [_review(row) for row in conn.execute(query).mappings()]


def move(
    store: Store, review_id: int, wanted: str, *, by: str | None = None, now: float,
    comment: str | None = None, **values: Any,
) -> Review:  # fmt: skip
    """Move a review to `wanted` (checked against MOVES, under a row-level compare-and-set:
    two publishers deciding at once cannot both win), with `values` set and an optional
    comment recorded as the decision's words."""
    with store.engine.begin() as conn:
        current = _get(conn, review_id)
        check_move(review_id, current.state, wanted)
        done = conn.execute(
            update(reviews)
            .where(reviews.c.id == review_id, reviews.c.state == current.state)
            .values(state=wanted, **values)
        )
        if done.rowcount != 1:  # someone moved it meanwhile
            raise IllegalMove(review_id, _get(conn, review_id).state, wanted)
        if comment is not None and by is not None:
            kind = {"approved": "approve", "rejected": "reject"}.get(wanted, "comment")
            _comment(conn, review_id, by, kind, comment, now)
        return _get(conn, review_id)


def add_comment(store: Store, review_id: int, by: str, text: str, *, now: float) -> Review:
    text = text.strip()
    if not text:
        raise ReviewError("write the comment first: it is empty")
    with store.engine.begin() as conn:
        _get(conn, review_id)
        _comment(conn, review_id, by, "comment", text, now)
        return _get(conn, review_id)


def _comment(conn: Connection, review_id: int, by: str, kind: str, text: str, now: float) -> None:
    conn.execute(insert(review_comments).values(
        review_id=review_id, at=now, author=by, kind=kind, text=text))  # fmt: skip


def published_commit(store: Store, pack: str, manifest_sha256: str) -> str | None:
    """The draft version of a published review whose build is this manifest, if any
    (the "before" of a later review's previews)."""
    with store.engine.connect() as conn:
        row = conn.execute(
            select(reviews.c.commit)
            .where(
                reviews.c.pack == pack,
                reviews.c.manifest_sha256 == manifest_sha256,
                reviews.c.state == "published",
            )
            .order_by(reviews.c.id.desc())
            .limit(1)
        ).first()
    return None if row is None else str(row[0])


def by_event(store: Store, event_id: str) -> Review | None:
    with store.engine.connect() as conn:
        row = conn.execute(select(reviews.c.id).where(reviews.c.signing_event == event_id)).first()
        return None if row is None else _get(conn, int(row[0]))
