""" "Request publication": a draft version frozen, linted and built for review.

    request(...)      a new review in `building`, audited; the caller starts the build
    build_review(...) lint the frozen version (errors: the review fails with the findings),
                      then build it reproducibly (freeze.build_version) with the server's
                      [publisher]/[site] settings, the next pack version and the edition day
                      of the request; the review becomes `requested` with its manifest hash
    start_build(...)  build_review in a thread: the web loop never waits for a build

DATA/reviews/<id>/settings.toml   the settings the build used (a signing event uses the same)
DATA/reviews/<id>/source/         the frozen files of the version
DATA/reviews/<id>/pack/           the built pack (manifest.json + blobs)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path

from kiosk.common.files import atomic_write
from kiosk.common.vietnam import VIETNAM, vietnam_today
from kiosk.protocol.errors import BgkError, ProtocolError
from server.audit import log as audit
from server.config import ServerConfig
from server.packs import reviews
from server.packs.fonts import default_cache_dir
from server.packs.lint import lint_pack
from server.packs.publish import check_audience
from server.publisher import Settings, load_settings, publisher_tables
from server.store import Store
from server.workspace.drafts import DraftStore
from server.workspace.freeze import build_version

log = logging.getLogger(__name__)


def request(
    store: Store, drafts: DraftStore, pack: str, commit: str | None, to: Sequence[str], *,
    by: str, note: str, now: float,
) -> int:  # fmt: skip
    """Freeze `commit` (default: the newest version) of `pack` for review; its id."""
    audience = check_audience(to)
    version = commit or drafts.head(pack)
    drafts.version(pack, version)  # NoSuchPack / NoSuchVersion before anything is written
    review_id = reviews.create(store, pack, version, audience, by=by, note=note.strip(), now=now)
    audit.append(store, by, "review.requested", f"review:{review_id}",
                 {"pack": pack, "commit": version, "to": list(audience)}, now=now)  # fmt: skip
    return review_id


def server_settings(config: ServerConfig, folder: Path) -> Settings:
    """The [publisher] and [site] the server builds with, written beside the build."""
    text = publisher_tables(config.publisher, config.site_url)
    atomic_write(folder / "settings.toml", text.encode("utf-8"))
    return load_settings(folder / "settings.toml")


def next_version(config: ServerConfig, pack: str, wanted: int) -> int:
    """pack.toml's version, or one above the newest published version of the pack."""
    from server.packs.delegation import published_offers
    from server.packs.signing import open_repository

    offers = published_offers(open_repository(config))
    newest = max((o.version for o in offers if o.pack == pack), default=0)
    return max(wanted, newest + 1)


def build_review(
    config: ServerConfig, store: Store, drafts: DraftStore, review_id: int,
    now: Callable[[], float], *, font_cache: Path | None = None,
) -> reviews.Review:  # fmt: skip
    """Lint and build a review in `building`; it ends `requested` or `failed`. Subset
    fonts are kept in `font_cache` (default: `bgk pack build`'s, ~/.cache/bgk/fonts):
    without a cache a build of the sample takes minutes instead of seconds."""
    review = reviews.get(store, review_id)
    folder = reviews.review_dir(config.data, review_id)
    folder.mkdir(parents=True, exist_ok=True)
    edition = vietnam_today(datetime.fromtimestamp(review.requested_at, VIETNAM))
    try:
        settings = server_settings(config, folder)
        checkout = drafts.checkout(review.pack, review.commit)
        lint = lint_pack(checkout, today=edition, settings=settings, edition=edition)
        findings = [f.as_dict() for f in lint.findings.sorted()]
        if not lint.ok:
            errors = [f for f in lint.findings.sorted() if f.level == "error"]
            shown = "; ".join(str(f) for f in errors[:3])
            return _fail(store, review, now, findings,
                         f"`bgk pack lint` finds {len(errors)} error(s): {shown}. Fix them in "
                         "the editor and request publication again")  # fmt: skip
        version = next_version(config, review.pack, lint.source.version)
        frozen = build_version(drafts, review.pack, review.commit, folder, edition=edition,
                               settings=settings, version=version,
                               font_cache=font_cache or default_cache_dir())  # fmt: skip
    except (BgkError, ProtocolError, OSError) as exc:
        return _fail(store, review, now, [], f"the build failed: {exc}")
    at = now()
    done = reviews.move(store, review_id, "requested", now=at, version=version,
                        edition=edition.isoformat(), manifest_sha256=frozen.manifest_sha256,
                        findings=_json(findings), built_at=at)  # fmt: skip
    audit.append(store, "server", "review.built", f"review:{review_id}",
                 {"pack": review.pack, "version": version,
                  "manifest_sha256": frozen.manifest_sha256}, now=at)  # fmt: skip
    return done


def _fail(
    store: Store, review: reviews.Review, now: Callable[[], float],
    findings: list[dict[str, object]], error: str,
) -> reviews.Review:  # fmt: skip
    at = now()
    done = reviews.move(store, review.id, "failed", now=at, findings=_json(findings),
                        error=error, built_at=at)  # fmt: skip
    audit.append(store, "server", "review.failed", f"review:{review.id}",
                 {"pack": review.pack, "error": error[:500]}, now=at)  # fmt: skip
    return done


def _json(findings: list[dict[str, object]]) -> str:
    import json

    return json.dumps(findings, ensure_ascii=False)


def start_build(
    config: ServerConfig, store: Store, drafts: DraftStore, review_id: int,
    now: Callable[[], float], *, font_cache: Path | None = None,
) -> threading.Thread:  # fmt: skip
    """build_review in a thread (one build at a time per process: builds are CPU-bound)."""

    def run() -> None:
        with _one_build:
            try:
                build_review(config, store, drafts, review_id, now, font_cache=font_cache)
            except Exception:  # the thread's end: the review must not stay `building`
                log.exception("review %s: the build crashed", review_id)
                try:
                    _fail(store, reviews.get(store, review_id), now, [],
                          "the build crashed: the server's log says why")  # fmt: skip
                except Exception:
                    log.exception("review %s: could not record the failure", review_id)

    thread = threading.Thread(target=run, name=f"review-build-{review_id}", daemon=True)
    thread.start()
    return thread


_one_build = threading.Lock()

#: a review still `building` this long after its request, with no build running here, was
#: left by a server that stopped (a build takes about a minute; another server process
#: of a scaled-out deployment may be building it meanwhile, hence the margin)
ORPHAN_AFTER_S = 3600


def settle_orphan(
    store: Store, review: reviews.Review, running: bool, now: Callable[[], float]
) -> reviews.Review:
    """A review left `building` by a server that stopped fails, saying what to do."""
    if review.state != "building" or running or now() - review.requested_at < ORPHAN_AFTER_S:
        return review
    try:
        return _fail(store, review, now, [], "the server stopped during the build: request "
                     "publication again")  # fmt: skip
    except reviews.IllegalMove:  # it ended meanwhile
        return reviews.get(store, review.id)


def edition_of(review: reviews.Review) -> date | None:
    return None if review.edition is None else date.fromisoformat(review.edition)
