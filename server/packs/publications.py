"""The log of pack publications, for the Article 26 reports.

TUF targets hold only the current versions (an older one is dropped when a
newer one covers its audience), so every successful publication is also
written here: by `bgk server publish` and by the API's widen, through
`record_publication`, after `publish_pack` returned. `publish_pack` itself
stays free of the fleet store.
"""

from __future__ import annotations

import datetime as dt
import getpass
import time

from server.audit import log as audit
from server.packs.publish import PublishResult
from server.store import Store
from server.store.schema import pack_publications


def published_epoch(iso: str) -> float:
    """The publication time the signed targets carry ("2026-11-03T08:00:00Z"), in
    epoch seconds; now when it is missing or unreadable."""
    try:
        when = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return time.time()
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def cli_user() -> str:
    """Who runs a command on the server (the system account), for the log."""
    try:
        return f"{getpass.getuser()} (CLI)"
    except (KeyError, OSError):
        return "CLI"


def record_publication(store: Store, result: PublishResult, by: str | None) -> None:
    """One row of pack_publications for a publication that succeeded."""
    p = result.pack
    with store.engine.begin() as conn:
        conn.execute(
            pack_publications.insert().values(
                pack=p.pack,
                version=p.version,
                audience=list(p.to),
                published_at=published_epoch(p.published),
                published_by=(by or None) and by[:100],
                sha256=p.sha256,
                widened=result.widened,
            )
        )
        details = {
            "to": list(p.to),
            "sha256": p.sha256,
            "widened": result.widened,
            "timestamp_version": result.timestamp_version,
        }
        audit.append(
            store,
            by or "system",
            "pack.published",
            f"pack:{p.pack}@{p.version}",
            details,
            now=published_epoch(p.published),
            conn=conn,
        )
