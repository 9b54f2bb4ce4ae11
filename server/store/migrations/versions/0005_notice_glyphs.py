"""notices: characters the kiosks could not draw, and overrides of the send check

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("commands") as batch:
        batch.add_column(sa.Column("missing_glyphs", sa.JSON, nullable=True))
        batch.add_column(sa.Column("sent_anyway", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("commands") as batch:
        batch.drop_column("sent_anyway")
        batch.drop_column("missing_glyphs")
