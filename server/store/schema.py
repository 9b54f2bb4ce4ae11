"""Tables of the fleet store. Times are epoch seconds (UTC) as floats.

Each change here comes with a migration in server/store/migrations/versions.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Double, MetaData, String, Table

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
