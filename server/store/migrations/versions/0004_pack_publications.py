"""reports: the log of pack publications

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pack_publications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("pack", sa.String(63), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("audience", sa.JSON, nullable=False),
        sa.Column("published_at", sa.Double, nullable=False),
        sa.Column("published_by", sa.String(100), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("widened", sa.Boolean, nullable=False),
    )
    op.create_index("ix_pack_publications_published_at", "pack_publications", ["published_at"])


def downgrade() -> None:
    op.drop_index("ix_pack_publications_published_at", "pack_publications")
    op.drop_table("pack_publications")
