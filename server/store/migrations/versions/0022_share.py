"""gate sharing's counters from the heartbeat in kiosk_state (issue 17)

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

COLUMNS = ("share_served", "share_peer", "share_server")


def upgrade() -> None:
    with op.batch_alter_table("kiosk_state") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, sa.BigInteger, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("kiosk_state") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
