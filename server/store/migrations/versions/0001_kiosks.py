"""kiosk registry

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kiosks",
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("gate", sa.String(63), nullable=False),
        sa.Column("groups", sa.JSON, nullable=False),
        sa.Column("enrolled_at", sa.Double, nullable=False),
        sa.Column("revoked_at", sa.Double, nullable=True),
    )
    op.create_index("ix_kiosks_gate", "kiosks", ["gate"])


def downgrade() -> None:
    op.drop_index("ix_kiosks_gate", "kiosks")
    op.drop_table("kiosks")
