"""The fleet store: SQLAlchemy Core over SQLite (embedded default, WAL) or
PostgreSQL (several server processes). Schema changes are Alembic migrations
in server/store/migrations; `open_store` brings a database to the latest one.
"""

from server.store.engine import Store, open_store

__all__ = ["Store", "open_store"]
