"""The reviews table on SQLite and PostgreSQL (migration 0021): the moves of its table,
an illegal move raises a named error and changes nothing, two publishers deciding at
once cannot both win, comments stay in order."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from server.packs import reviews

COMMIT = "a" * 40


def new(store: Any, pack: str = "lao-bao") -> int:
    return reviews.create(store, pack, COMMIT, ("lao-bao", "quang-tri"), by="bien", note="mới",
                          now=1000.0)  # fmt: skip


def test_the_moves_of_a_review(store: Any) -> None:
    rid = new(store)
    r = reviews.get(store, rid)
    assert (r.state, r.audience, r.requested_by, r.findings, r.comments) == (
        "building", ("lao-bao", "quang-tri"), "bien", [], ())  # fmt: skip
    r = reviews.move(store, rid, "requested", now=1001.0, version=4, manifest_sha256="b" * 64,
                     edition="2026-12-02", built_at=1001.0)  # fmt: skip
    assert (r.state, r.version, r.manifest_sha256) == ("requested", 4, "b" * 64)
    reviews.add_comment(store, rid, "phat", "Số 115?", now=1002.0)
    r = reviews.move(store, rid, "approved", by="phat", now=1003.0, comment="Được",
                     decided_by="phat", decided_at=1003.0, signing_event="lao-bao-review-1")  # fmt: skip
    assert [(c.author, c.kind, c.text) for c in r.comments] == [
        ("phat", "comment", "Số 115?"), ("phat", "approve", "Được")]  # fmt: skip
    assert reviews.by_event(store, "lao-bao-review-1") == r
    assert reviews.published_commit(store, "lao-bao", "b" * 64) is None  # not published yet
    reviews.move(store, rid, "published", now=1004.0, published_by="signed: an, chi",
                 published_at=1004.0)  # fmt: skip
    assert reviews.published_commit(store, "lao-bao", "b" * 64) == COMMIT
    assert [x.id for x in reviews.listing(store, "lao-bao")] == [rid]
    assert reviews.listing(store, "cha-lo") == []


@pytest.mark.parametrize(
    ("path", "wanted"),
    [(["failed"], "requested"), (["requested", "rejected"], "approved"),
     (["requested", "approved", "published"], "rejected"), ([], "approved"),
     (["requested"], "published")],
)  # fmt: skip
def test_an_illegal_move_raises_a_named_error_and_changes_nothing(
    store: Any, path: list[str], wanted: str
) -> None:
    rid = new(store)
    for state in path:
        reviews.move(store, rid, state, now=1.0)
    before = reviews.get(store, rid)
    with pytest.raises(reviews.IllegalMove, match=f"cannot become {wanted}") as caught:
        reviews.move(store, rid, wanted, by="phat", now=2.0, comment="x", decided_by="phat")
    assert caught.value.state == before.state
    assert reviews.get(store, rid) == before  # nothing changed, no comment recorded
    for state, allowed in reviews.MOVES.items():
        assert set(allowed) <= set(reviews.STATES) and state in reviews.STATES


def test_two_publishers_deciding_at_once_cannot_both_win(store: Any) -> None:
    rid = new(store)
    reviews.move(store, rid, "requested", now=1.0)
    won: list[str] = []
    lost: list[str] = []
    start = threading.Barrier(2)

    def decide(wanted: str) -> None:
        start.wait()
        try:
            reviews.move(store, rid, wanted, by=wanted, now=2.0, comment="", decided_by=wanted)
            won.append(wanted)
        except reviews.IllegalMove:
            lost.append(wanted)

    threads = [threading.Thread(target=decide, args=(w,)) for w in ("approved", "rejected")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(won) == 1 and len(lost) == 1
    final = reviews.get(store, rid)
    assert final.state == won[0] and final.decided_by == won[0]
    assert len(final.comments) == 1


def test_unknown_review_and_empty_comment_are_refused_in_words(store: Any) -> None:
    with pytest.raises(reviews.NoSuchReview, match="no review 42"):
        reviews.get(store, 42)
    rid = new(store)
    with pytest.raises(reviews.ReviewError, match="comment first"):
        reviews.add_comment(store, rid, "phat", "   ", now=1.0)
