"""A publisher's decisions on a review: comment, reject (back to editing), approve.

Approving under the two-person policy (targets delegates the packs to the
publishers' keys) opens the signing event from the review: the frozen sources,
its audience, the approver, the same version and edition day, so the event's
build is byte for byte the reviewed one (checked: a different manifest refuses
the approval) and `bgk sign <pack>-review-<id>` signs what was reviewed. Under
the one-person policy the approved build waits for `bgk server publish --review N`.

Self-approval: refused under the two-person policy, where the point is that no
one person puts content on the kiosks (the requester would otherwise approve and
then be one of the two signers); allowed under the one-person policy, where the
holder of the offline targets key is the single gate anyway and a small office may
have one publisher who also writes.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from server.audit import log as audit
from server.config import ServerConfig
from server.packs import reviews
from server.packs.signing_events import SigningEvent, event_dir, load_event
from server.store import Store
from server.workspace.review_build import edition_of


def two_person(config: ServerConfig) -> bool:
    from server.packs.delegation import delegated
    from server.packs.signing import open_repository

    return delegated(open_repository(config)) is not None


def event_id_of(review: reviews.Review) -> str:
    return f"{review.pack}-review-{review.id}"


def comment(store: Store, review_id: int, by: str, text: str, *, now: float) -> reviews.Review:
    done = reviews.add_comment(store, review_id, by, text, now=now)
    audit.append(store, by, "review.commented", f"review:{review_id}",
                 {"pack": done.pack, "text": text.strip()[:500]}, now=now)  # fmt: skip
    return done


def reject(store: Store, review_id: int, by: str, why: str, *, now: float) -> reviews.Review:
    if not why.strip():
        raise reviews.ReviewError("say why it is rejected: the editors read it to fix the pack")
    done = reviews.move(store, review_id, "rejected", by=by, now=now, comment=why.strip(),
                        decided_by=by, decided_at=now)  # fmt: skip
    audit.append(store, by, "review.rejected", f"review:{review_id}",
                 {"pack": done.pack, "commit": done.commit, "why": why.strip()[:500]}, now=now)  # fmt: skip
    return done


def approve(
    config: ServerConfig, store: Store, review_id: int, by: str, words: str, *,
    now: float, clock: Callable[[], datetime], font_cache: Path | None = None,
) -> reviews.Review:  # fmt: skip
    review = reviews.get(store, review_id)
    reviews.check_move(review.id, review.state, "approved")
    event: SigningEvent | None = None
    if two_person(config):
        if by == review.requested_by:
            raise reviews.SelfApproval(
                f"{by} requested review {review_id}: under two-person publishing another "
                "publisher approves it"
            )
        event = _open_event(config, review, by, clock, font_cache)
    try:
        done = reviews.move(store, review_id, "approved", by=by, now=now, comment=words.strip(),
                            decided_by=by, decided_at=now,
                            signing_event=None if event is None else event.id)  # fmt: skip
    except reviews.ReviewError:
        if event is not None:  # someone decided first: the event must not stay open
            shutil.rmtree(event_dir(config, event.id), ignore_errors=True)
        raise
    details: dict[str, Any] = {"pack": done.pack, "version": done.version,
                               "manifest_sha256": done.manifest_sha256}  # fmt: skip
    if event is not None:
        details["signing_event"] = event.id
        audit.append(store, by, "signing.created", f"signing:{event.id}",
                     {"pack": event.pack, "version": event.version, "to": list(event.to),
                      "review": review_id}, now=now)  # fmt: skip
    audit.append(store, by, "review.approved", f"review:{review_id}", details, now=now)
    return done


def _open_event(
    config: ServerConfig, review: reviews.Review, by: str, clock: Callable[[], datetime],
    font_cache: Path | None,
) -> SigningEvent:  # fmt: skip
    from server.packs.fonts import default_cache_dir
    from server.packs.signing_events import create_signing_event

    source = reviews.review_dir(config.data, review.id) / "source"
    event = create_signing_event(
        config, source, review.audience, review.requested_by, clock, version=review.version,
        approved_by=(by,), font_cache=font_cache or default_cache_dir(),
        event_id=event_id_of(review),
        edition=edition_of(review),
    )  # fmt: skip
    if event.manifest_sha256 != review.manifest_sha256:
        shutil.rmtree(event_dir(config, event.id), ignore_errors=True)
        raise reviews.ReviewBuildChanged(
            f"review {review.id}: the signing build differs from the reviewed build (manifest "
            f"{event.manifest_sha256[:12]} instead of {str(review.manifest_sha256)[:12]}): the "
            "server's settings changed since the request; request publication again"
        )
    return event


def event_published(store: Store, config: ServerConfig, event_id: str, *, now: float) -> None:
    """The signing event of a review reached its threshold: the review is published."""
    review = reviews.by_event(store, event_id)
    if review is None or review.state != "approved":
        return
    event = load_event(config, event_id)
    names = ", ".join(s["name"] for s in event.signatures.values())
    done = reviews.move(store, review.id, "published", now=now,
                        published_by=f"signed: {names}"[:200],
                        published_at=event.published_at or now)  # fmt: skip
    audit.append(store, "server", "review.published", f"review:{review.id}",
                 {"pack": done.pack, "version": done.version, "signing_event": event_id,
                  "signed_by": names}, now=now)  # fmt: skip
