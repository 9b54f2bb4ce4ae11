"""Bulk statements for the ingest's hot path: compiled once, fed plain tuples.

SQLAlchemy's per-row parameter processing cost more than SQLite's own work
for a heartbeat (measured: ~25 µs of ~50 µs per message), so on SQLite the
statement runs through the DBAPI's executemany. On PostgreSQL a whole batch
is one statement, `INSERT ... SELECT * FROM unnest(<one array per column>)`:
psycopg's per-row executemany pipeline managed ~15k rows/s here, arrays
several times that. Rows carry only strings, numbers, booleans and None.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, Connection, Double, Engine, Integer, String, Table
from sqlalchemy.sql.dml import Insert

_PG_ARRAY = (
    (Boolean, "bool[]"),
    (BigInteger, "int8[]"),
    (Integer, "int4[]"),
    (Double, "float8[]"),
    (String, "text[]"),
)


def _pg_array_type(table: Table, column: str) -> str:
    kind = table.c[column].type
    for sa_type, array in _PG_ARRAY:
        if isinstance(kind, sa_type):
            return array
    raise TypeError(f"{table.name}.{column}: no bulk array type for {kind!r}")


class BulkInsert:
    def __init__(self, engine: Engine, stmt: Insert, columns: tuple[str, ...]) -> None:
        compiled = stmt.compile(dialect=engine.dialect, column_keys=list(columns))
        self.columns = columns
        self.unnest = engine.dialect.name == "postgresql"
        if self.unnest:
            table = stmt.table
            assert isinstance(table, Table)
            text = str(compiled)
            conflict = text[text.index(" ON CONFLICT") :] if " ON CONFLICT" in text else ""
            quoted = ", ".join(engine.dialect.identifier_preparer.quote(c) for c in columns)
            arrays = ", ".join(f"%b::{_pg_array_type(table, c)}" for c in columns)
            self.sql = (
                f"INSERT INTO {table.name} ({quoted}) SELECT * FROM unnest({arrays}){conflict}"
            )
            return
        self.sql = str(compiled)
        order = tuple(compiled.positiontup or ())
        if not compiled.positional or order != columns:
            raise ValueError(f"bulk rows must follow the table's column order: {order}")

    def run(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        """Execute for every row (tuples in `columns` order)."""
        if not rows:
            return
        if self.unnest:
            conn.exec_driver_sql(self.sql, tuple(list(col) for col in zip(*rows, strict=True)))
        else:
            conn.exec_driver_sql(self.sql, rows)
