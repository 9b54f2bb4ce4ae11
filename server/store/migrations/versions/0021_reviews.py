"""reviews: a frozen, built draft version waiting for a publisher's decision (issue 13)

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("pack", sa.String(63), nullable=False),
        sa.Column("commit", sa.String(40), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("audience", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("requested_by", sa.String(100), nullable=False),
        sa.Column("requested_at", sa.Double, nullable=False),
        sa.Column("version", sa.Integer, nullable=True),
        sa.Column("edition", sa.String(10), nullable=True),
        sa.Column("manifest_sha256", sa.String(64), nullable=True),
        sa.Column("findings", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("built_at", sa.Double, nullable=True),
        sa.Column("decided_by", sa.String(100), nullable=True),
        sa.Column("decided_at", sa.Double, nullable=True),
        sa.Column("signing_event", sa.String(100), nullable=True),
        sa.Column("published_by", sa.String(200), nullable=True),
        sa.Column("published_at", sa.Double, nullable=True),
    )
    op.create_index("ix_reviews_pack_state", "reviews", ["pack", "state"])
    op.create_table(
        "review_comments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "review_id", sa.Integer, sa.ForeignKey("reviews.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("at", sa.Double, nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_index("ix_review_comments_review", "review_comments", ["review_id"])


def downgrade() -> None:
    op.drop_index("ix_review_comments_review", "review_comments")
    op.drop_table("review_comments")
    op.drop_index("ix_reviews_pack_state", "reviews")
    op.drop_table("reviews")
