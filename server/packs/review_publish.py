"""`bgk server publish --review N`: publish exactly the build a publisher approved.

One-person policy only (two-person: approving opened a signing event, and the
publishers' `bgk sign` publishes it). The review's build (DATA/reviews/N/pack)
is taken only if its manifest's SHA-256 is the one recorded when it was built
and reviewed; a manifest changed since is refused and nothing is published. The
manifest bytes checked are the very bytes published (copied aside first, so the
file cannot change between the check and the use); every blob is verified
against that manifest while it is copied (publish.copy_blobs).
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from kiosk.common.files import atomic_write
from kiosk.protocol.pack import BLOB_DIR, MANIFEST_NAME
from server.config import ServerConfig
from server.packs import reviews
from server.packs.publish import PublishRefused, PublishResult, publish_pack
from server.packs.repo import TufRepository
from server.store import Store


def approved_build(
    config: ServerConfig, store: Store, review_id: int
) -> tuple[reviews.Review, bytes]:
    """The approved review and its manifest bytes, checked against the recorded hash."""
    review = reviews.get(store, review_id)
    if review.state != "approved":
        raise reviews.IllegalMove(review_id, review.state, "published")
    if review.signing_event:
        raise PublishRefused(
            f"review {review_id} is published by the publishers' signatures: each runs "
            f"`bgk sign {review.signing_event} --server URL --key NAME.pem`"
        )
    built = reviews.review_dir(config.data, review_id) / "pack"
    try:
        data = (built / MANIFEST_NAME).read_bytes()
    except FileNotFoundError:
        raise reviews.ReviewBuildChanged(
            f"review {review_id}: its build is gone from {built}: request publication again"
        ) from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != review.manifest_sha256:
        raise reviews.ReviewBuildChanged(
            f"review {review_id}: the build on the server is not the one that was approved "
            f"(manifest SHA-256 {digest[:16]}…, approved {str(review.manifest_sha256)[:16]}…): "
            "refused, nothing published. Someone changed it: check the server, then request "
            "publication again"
        )
    return review, data


def publish_review(
    config: ServerConfig, store: Store, repo: TufRepository, review_id: int,
    now: Callable[[], datetime], *, by: str,
) -> PublishResult:  # fmt: skip
    review, data = approved_build(config, store, review_id)
    built = reviews.review_dir(config.data, review_id) / "pack"
    with tempfile.TemporaryDirectory(prefix="bgk-review-") as tmp:
        checked = Path(tmp)
        atomic_write(checked / MANIFEST_NAME, data)
        (checked / BLOB_DIR).parent.mkdir(parents=True)
        (checked / BLOB_DIR).symlink_to((built / BLOB_DIR).resolve(), target_is_directory=True)
        result = publish_pack(repo, config.blob_dir, checked, review.audience, now)
    at = now().timestamp()
    reviews.move(store, review_id, "published", now=at, published_by=by[:200], published_at=at)
    return result
