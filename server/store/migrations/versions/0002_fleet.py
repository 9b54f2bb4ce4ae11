"""fleet link: MQTT credentials, kiosk state, heartbeat/event history, presence,
alerts, commands, screenshots

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mqtt_credentials",
        sa.Column("kiosk_id", sa.String(63), primary_key=True),
        sa.Column("pw_hash", sa.String(200), nullable=False),
        sa.Column("issued_at", sa.Double, nullable=False),
    )
    op.create_table(
        "kiosk_state",
        sa.Column("kiosk_id", sa.String(63), primary_key=True),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("state_since", sa.Double, nullable=False),
        sa.Column("reason", sa.String(40), nullable=True),
        sa.Column("online", sa.Boolean, nullable=True),
        sa.Column("boot_id", sa.String(64), nullable=True),
        sa.Column("status_at", sa.Double, nullable=True),
        sa.Column("hb_at", sa.Double, nullable=True),
        sa.Column("hb_ts", sa.Double, nullable=True),
        sa.Column("hb_seq", sa.BigInteger, nullable=True),
        sa.Column("hb_boot", sa.String(64), nullable=True),
        sa.Column("period", sa.Double, nullable=True),
        sa.Column("uptime", sa.Double, nullable=True),
        sa.Column("pack_id", sa.String(63), nullable=True),
        sa.Column("pack_version", sa.Integer, nullable=True),
        sa.Column("pack_hash", sa.String(64), nullable=True),
        sa.Column("ui_alive", sa.Boolean, nullable=True),
        sa.Column("ui_screen", sa.String(80), nullable=True),
        sa.Column("ui_last_touch", sa.Double, nullable=True),
        sa.Column("temp", sa.Double, nullable=True),
        sa.Column("disk_free", sa.BigInteger, nullable=True),
        sa.Column("time_floor", sa.Double, nullable=True),
        sa.Column("stale", sa.Boolean, nullable=True),
        sa.Column("agent", sa.String(200), nullable=True),
        sa.Column("rejected_pack", sa.String(63), nullable=True),
        sa.Column("rejected_version", sa.Integer, nullable=True),
        sa.Column("rejected_at", sa.Double, nullable=True),
        sa.Column("rejected_reason", sa.String(300), nullable=True),
        sa.Column("event_at", sa.Double, nullable=True),
    )
    op.create_table(
        "heartbeats",
        sa.Column("kiosk_id", sa.String(63), nullable=False),
        sa.Column("boot_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("ts", sa.Double, nullable=False),
        sa.Column("received_at", sa.Double, nullable=False),
        sa.Column("pack_id", sa.String(63), nullable=True),
        sa.Column("pack_version", sa.Integer, nullable=True),
        sa.Column("ui_alive", sa.Boolean, nullable=False),
        sa.Column("temp", sa.Double, nullable=True),
        sa.Column("disk_free", sa.BigInteger, nullable=True),
        sa.Column("stale", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("kiosk_id", "boot_id", "seq", name="pk_heartbeats"),
    )
    op.create_index("ix_heartbeats_received_at", "heartbeats", ["received_at"])
    op.create_table(
        "kiosk_events",
        sa.Column("kiosk_id", sa.String(63), nullable=False),
        sa.Column("outbox_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("ts", sa.Double, nullable=False),
        sa.Column("received_at", sa.Double, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("kiosk_id", "outbox_id", "seq", name="pk_kiosk_events"),
    )
    op.create_index("ix_kiosk_events_received_at", "kiosk_events", ["received_at"])
    op.create_index("ix_kiosk_events_kiosk_ts", "kiosk_events", ["kiosk_id", "ts"])
    op.create_table(
        "presence",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kiosk_id", sa.String(63), nullable=False),
        sa.Column("at", sa.Double, nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("reason", sa.String(40), nullable=True),
    )
    op.create_index("ix_presence_kiosk_at", "presence", ["kiosk_id", "at"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kiosk_id", sa.String(63), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("opened_at", sa.Double, nullable=False),
        sa.Column("closed_at", sa.Double, nullable=True),
        sa.Column("detail", sa.String(300), nullable=True),
    )
    op.create_index(
        "ux_alerts_open",
        "alerts",
        ["kiosk_id", "kind"],
        unique=True,
        sqlite_where=sa.text("closed_at IS NULL"),
        postgresql_where=sa.text("closed_at IS NULL"),
    )
    op.create_index("ix_alerts_opened_at", "alerts", ["opened_at"])
    op.create_table(
        "commands",
        sa.Column("cmd_id", sa.String(64), primary_key=True),
        sa.Column("kiosk_id", sa.String(63), nullable=False),
        sa.Column("op", sa.String(16), nullable=False),
        sa.Column("args", sa.JSON, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=True),
        sa.Column("exp", sa.Double, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("sent_at", sa.Double, nullable=True),
        sa.Column("acked_at", sa.Double, nullable=True),
        sa.Column("reason", sa.String(500), nullable=True),
    )
    op.create_index("ix_commands_kiosk_id", "commands", ["kiosk_id"])
    op.create_index("ix_commands_state", "commands", ["state"])
    op.create_table(
        "screenshots",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kiosk_id", sa.String(63), nullable=False),
        sa.Column("cmd_id", sa.String(64), nullable=False),
        sa.Column("taken_at", sa.Double, nullable=False),
        sa.Column("received_at", sa.Double, nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("screen", sa.String(80), nullable=True),
        sa.Column("path", sa.String(300), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
    )
    op.create_index("ix_screenshots_kiosk_received", "screenshots", ["kiosk_id", "received_at"])


def downgrade() -> None:
    for table in (
        "screenshots",
        "commands",
        "alerts",
        "presence",
        "kiosk_events",
        "heartbeats",
        "kiosk_state",
        "mqtt_credentials",
    ):
        op.drop_table(table)
