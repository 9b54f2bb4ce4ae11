"""Tables of the fleet store. Times are epoch seconds (UTC) as floats.

Each change here comes with a migration in server/store/migrations/versions.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    text,
)

metadata = MetaData()

#: every enrolled kiosk; revoked kiosks stay (history) with revoked_at set
kiosks = Table(
    "kiosks",
    metadata,
    Column("id", String(63), primary_key=True),
    Column("gate", String(63), nullable=False, index=True),
    Column("groups", JSON, nullable=False, default=list),
    Column("enrolled_at", Double, nullable=False),
    Column("revoked_at", Double, nullable=True),
)

# --- the MQTT fleet link (migration 0002) -------------------------------------

#: each kiosk's MQTT password, as Mosquitto's PBKDF2-SHA512 hash (never the password)
mqtt_credentials = Table(
    "mqtt_credentials",
    metadata,
    Column("kiosk_id", String(63), primary_key=True),
    Column("pw_hash", String(200), nullable=False),
    Column("issued_at", Double, nullable=False),
)

#: the latest known state of each kiosk (one row per kiosk that ever spoke)
kiosk_state = Table(
    "kiosk_state",
    metadata,
    Column("kiosk_id", String(63), primary_key=True),
    #: online | stale | offline (derived by server.fleet.state)
    Column("state", String(8), nullable=False),
    Column("state_since", Double, nullable=False),
    Column("reason", String(40), nullable=True),
    #: from the retained status / LWT
    Column("online", Boolean, nullable=True),
    Column("boot_id", String(64), nullable=True),
    Column("status_at", Double, nullable=True),
    #: from the last heartbeat: server receive time, kiosk time, seq, period
    Column("hb_at", Double, nullable=True),
    Column("hb_ts", Double, nullable=True),
    Column("hb_seq", BigInteger, nullable=True),
    #: boot of the last heartbeat (its seq counts within that boot)
    Column("hb_boot", String(64), nullable=True),
    Column("period", Double, nullable=True),
    Column("uptime", Double, nullable=True),
    Column("pack_id", String(63), nullable=True),
    Column("pack_version", Integer, nullable=True),
    Column("pack_hash", String(64), nullable=True),
    Column("ui_alive", Boolean, nullable=True),
    Column("ui_screen", String(80), nullable=True),
    Column("ui_last_touch", Double, nullable=True),
    Column("temp", Double, nullable=True),
    Column("disk_free", BigInteger, nullable=True),
    Column("time_floor", Double, nullable=True),
    Column("stale", Boolean, nullable=True),
    Column("agent", String(200), nullable=True),
    #: gate sharing (the heartbeat's optional `share`): bytes this kiosk served to its
    #: gate since its agent started; its last download's bytes from the gate's kiosks
    #: and from the server
    Column("share_served", BigInteger, nullable=True),
    Column("share_peer", BigInteger, nullable=True),
    Column("share_server", BigInteger, nullable=True),
    #: the last pack the kiosk rejected or rolled back, until it installs one
    Column("rejected_pack", String(63), nullable=True),
    Column("rejected_version", Integer, nullable=True),
    Column("rejected_at", Double, nullable=True),
    Column("rejected_reason", String(300), nullable=True),
    Column("event_at", Double, nullable=True),
)

#: heartbeat history; idempotent on (kiosk, boot, seq) since QoS 1 redelivers
heartbeats = Table(
    "heartbeats",
    metadata,
    Column("kiosk_id", String(63), nullable=False),
    Column("boot_id", String(64), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("ts", Double, nullable=False),
    Column("received_at", Double, nullable=False),
    Column("pack_id", String(63), nullable=True),
    Column("pack_version", Integer, nullable=True),
    Column("ui_alive", Boolean, nullable=False),
    Column("temp", Double, nullable=True),
    Column("disk_free", BigInteger, nullable=True),
    Column("stale", Boolean, nullable=False),
    PrimaryKeyConstraint("kiosk_id", "boot_id", "seq", name="pk_heartbeats"),
    Index("ix_heartbeats_received_at", "received_at"),
)

#: events from the kiosks' disk outboxes; idempotent on (kiosk, outbox, seq)
kiosk_events = Table(
    "kiosk_events",
    metadata,
    Column("kiosk_id", String(63), nullable=False),
    Column("outbox_id", String(64), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("ts", Double, nullable=False),
    Column("received_at", Double, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("data", JSON, nullable=False),
    PrimaryKeyConstraint("kiosk_id", "outbox_id", "seq", name="pk_kiosk_events"),
    Index("ix_kiosk_events_received_at", "received_at"),
    Index("ix_kiosk_events_kiosk_ts", "kiosk_id", "ts"),
)

#: state changes (online/stale/offline) per kiosk: uptime reports
presence = Table(
    "presence",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kiosk_id", String(63), nullable=False),
    Column("at", Double, nullable=False),
    Column("state", String(8), nullable=False),
    Column("reason", String(40), nullable=True),
    Index("ix_presence_kiosk_at", "kiosk_id", "at"),
)

#: alerts: open while closed_at is NULL; at most one open per (kiosk, kind)
alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kiosk_id", String(63), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("opened_at", Double, nullable=False),
    Column("closed_at", Double, nullable=True),
    Column("detail", String(300), nullable=True),
    Index(
        "ux_alerts_open",
        "kiosk_id",
        "kind",
        unique=True,
        sqlite_where=text("closed_at IS NULL"),
        postgresql_where=text("closed_at IS NULL"),
    ),
    Index("ix_alerts_opened_at", "opened_at"),
)

#: commands sent to kiosks and their acknowledgements
commands = Table(
    "commands",
    metadata,
    Column("cmd_id", String(64), primary_key=True),
    Column("kiosk_id", String(63), nullable=False, index=True),
    Column("op", String(16), nullable=False),
    Column("args", JSON, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("created_by", String(100), nullable=True),
    Column("exp", Double, nullable=False),
    #: the signed payload published on bgk/v1/kiosk/{id}/cmd
    Column("payload", LargeBinary, nullable=False),
    #: queued | sent | accepted | done | failed | expired
    Column("state", String(10), nullable=False, index=True),
    Column("sent_at", Double, nullable=True),
    Column("acked_at", Double, nullable=True),
    Column("reason", String(500), nullable=True),
    #: a notice's done-ack: per language, characters the kiosk could not draw
    #: (migration 0005; None: the kiosk did not say)
    Column("missing_glyphs", JSON, nullable=True),
    #: a notice sent despite the check before sending: per language, the characters
    #: this kiosk's fonts lack that the sender accepted (who: created_by)
    Column("sent_anyway", JSON, nullable=True),
)

#: screenshots received from kiosks (the JPEG files live under DATA/screenshots/)
screenshots = Table(
    "screenshots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kiosk_id", String(63), nullable=False),
    Column("cmd_id", String(64), nullable=False),
    Column("taken_at", Double, nullable=False),
    Column("received_at", Double, nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("screen", String(80), nullable=True),
    #: relative to the server data directory
    Column("path", String(300), nullable=False),
    Column("size", Integer, nullable=False),
    Index("ix_screenshots_kiosk_received", "kiosk_id", "received_at"),
)

# --- accounts of the dashboard and API (migration 0003) ------------------------

#: people who use the dashboard or the API; disabled accounts stay (audit)
users = Table(
    "users",
    metadata,
    Column("name", String(64), primary_key=True),
    #: viewer | publisher | admin
    Column("role", String(10), nullable=False),
    #: scrypt$N$r$p$salt$hash (base64), never the password
    Column("pw_hash", String(200), nullable=False),
    Column("created_at", Double, nullable=False),
    Column("disabled_at", Double, nullable=True),
)

#: bearer tokens for the JSON API; only their SHA-256 is kept
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    #: the first characters of the token, to tell tokens apart in lists
    Column("prefix", String(12), nullable=False, unique=True),
    Column("user_name", String(64), nullable=False, index=True),
    Column("label", String(100), nullable=True),
    Column("created_at", Double, nullable=False),
    Column("last_used_at", Double, nullable=True),
    Column("revoked_at", Double, nullable=True),
)

#: signed-in dashboard sessions; only the SHA-256 of the cookie is kept
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("session_hash", String(64), primary_key=True),
    Column("user_name", String(64), nullable=False, index=True),
    #: the form token that proves a POST came from our own page
    Column("csrf", String(64), nullable=False),
    Column("created_at", Double, nullable=False),
    Column("expires_at", Double, nullable=False, index=True),
)

# --- reports (migration 0004) -------------------------------------------------

#: every successful publication (TUF targets keep only the current versions):
#: `bgk server publish` and the API's widen write a row (server.packs.publications)
pack_publications = Table(
    "pack_publications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pack", String(63), nullable=False),
    Column("version", Integer, nullable=False),
    #: gates and groups, or ["all"], after this publication
    Column("audience", JSON, nullable=False),
    Column("published_at", Double, nullable=False),
    #: the account (API, dashboard) or the system user (CLI) who published
    Column("published_by", String(100), nullable=True),
    #: of the signed manifest (the TUF target)
    Column("sha256", String(64), nullable=False),
    #: the same version published to more gates or groups (not new content)
    Column("widened", Boolean, nullable=False),
    Index("ix_pack_publications_published_at", "published_at"),
)

# --- scale-out (migration 0006) ---------------------------------------------------

#: leases: what only one server process may do at a time (server.fleet.lease)
leases = Table(
    "leases",
    metadata,
    Column("name", String(63), primary_key=True),
    #: "host pid start-time nonce" of the process holding it
    Column("holder", String(200), nullable=False),
    #: grows by one each time the lease changes hands (a fencing number)
    Column("term", BigInteger, nullable=False),
    #: when this holder took it, and when it lapses unless renewed (database clock)
    Column("since", Double, nullable=False),
    Column("expires_at", Double, nullable=False),
)

#: wrong passwords at sign-in, per user name and per client address (server.web.auth):
#: shared by every server process; rows older than the lock window are deleted
login_failures = Table(
    "login_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False),
    Column("at", Double, nullable=False),
    Index("ix_login_failures_key_at", "key", "at"),
)


# --- audit log (migration 0020, issue 14) ---------------------------------------

#: every state-changing action, hash-chained (server.audit.log): each entry's hash
#: covers its own fields and the previous entry's hash; seq has no gaps
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    #: epoch seconds from the server's clock (the injected `now`)
    Column("at", Double, nullable=False),
    #: account name, "NAME (CLI)" for a system user, "kiosk:ID", "server"
    Column("actor", String(100), nullable=False),
    #: dotted verb, e.g. notice.sent, kiosk.enrolled, pack.published
    Column("action", String(40), nullable=False),
    #: what it acted on, e.g. "kiosk:lb-01", "pack:lao-bao@3"
    Column("object", String(200), nullable=False),
    #: canonical JSON (sorted keys, no spaces): exactly the text that was hashed
    Column("details", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_actor", "actor"),
)


# --- reviews (migration 0021, issue 13) -----------------------------------------

#: a draft version frozen and built for a publisher's decision (server.workspace.reviews):
#: building -> requested | failed; requested -> approved | rejected; approved -> published
reviews = Table(
    "reviews",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pack", String(63), nullable=False),
    #: the draft version (git commit id) frozen for the review
    Column("commit", String(40), nullable=False),
    Column("state", String(12), nullable=False),
    #: JSON list of gates/groups, or ["all"] (as `bgk server publish --to`)
    Column("audience", Text, nullable=False),
    #: the requester's words for the publisher
    Column("note", Text, nullable=False),
    Column("requested_by", String(100), nullable=False),
    Column("requested_at", Double, nullable=False),
    #: the pack version the build carries, its edition day (ISO) and manifest hash
    Column("version", Integer, nullable=True),
    Column("edition", String(10), nullable=True),
    Column("manifest_sha256", String(64), nullable=True),
    #: JSON list of lint findings of the frozen version (a failed request shows them)
    Column("findings", Text, nullable=False),
    #: why the build failed ("" otherwise)
    Column("error", Text, nullable=False),
    Column("built_at", Double, nullable=True),
    #: who approved or rejected, and when
    Column("decided_by", String(100), nullable=True),
    Column("decided_at", Double, nullable=True),
    #: two-person policy: the signing event made on approval (server.packs.signing_events)
    Column("signing_event", String(100), nullable=True),
    Column("published_by", String(200), nullable=True),
    Column("published_at", Double, nullable=True),
    Index("ix_reviews_pack_state", "pack", "state"),
)

#: what publishers (and editors) said on a review; approvals and rejections too
review_comments = Table(
    "review_comments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("review_id", Integer, ForeignKey("reviews.id", ondelete="CASCADE"), nullable=False),
    Column("at", Double, nullable=False),
    Column("author", String(100), nullable=False),
    #: comment | approve | reject
    Column("kind", String(12), nullable=False),
    Column("text", Text, nullable=False),
    Index("ix_review_comments_review", "review_id"),
)
