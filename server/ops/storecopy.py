"""A consistent copy of the fleet store while the server runs, and its way back.

SQLite: the online backup API (`sqlite3.Connection.backup`) copies a
consistent state while the server goes on writing (WAL), then gzip (the
store's rows compress several times).
PostgreSQL: `pg_dump --format=custom` (one consistent snapshot), loaded back
with `pg_restore` into an empty database. Passwords travel in PGPASSWORD,
never on a command line.
"""

from __future__ import annotations

import gzip
import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url

from kiosk.protocol.errors import UsageError
from server.errors import OperatorMustAct
from server.store.engine import make_engine

SQLITE_MEMBER = "store/fleet.sqlite.gz"
POSTGRES_MEMBER = "store/fleet.pgdump"


class StoreCopyError(OperatorMustAct):
    """The store could not be copied or loaded (the message says why)."""


def store_kind(url: str) -> str:
    backend = make_url(url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise UsageError(f"store URL {url!r}: use sqlite:///PATH or postgresql+psycopg://...")
    return backend


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database:
        raise UsageError(f"store URL {url!r} names no SQLite file")
    return Path(database)


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URI (no password) and the environment that carries the password."""
    parsed: URL = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise StoreCopyError(f"{name} is not installed: apt-get install postgresql-client")
    return path


def dump_store(url: str, dest: Path) -> str:
    """Copy the store to the file `dest`; returns the archive member name."""
    if store_kind(url) == "sqlite":
        src = sqlite_path(url)
        if not src.exists():
            raise StoreCopyError(f"the store {src} does not exist")
        copy = dest.with_name(dest.name + ".sqlite")
        with sqlite3.connect(src) as source, sqlite3.connect(copy) as target:
            source.backup(target)
        source.close()
        target.close()
        with copy.open("rb") as fin, gzip.open(dest, "wb", compresslevel=3) as fout:
            shutil.copyfileobj(fin, fout, 1024 * 1024)
        copy.unlink()
        return SQLITE_MEMBER
    uri, env = _libpq(url)
    done = subprocess.run(
        [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
         f"--file={dest}", f"--dbname={uri}"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise StoreCopyError(f"pg_dump failed: {done.stderr.strip()}")
    return POSTGRES_MEMBER


def store_is_empty(url: str) -> bool:
    """No tables yet (a new database, or no SQLite file)."""
    if store_kind(url) == "sqlite":
        path = sqlite_path(url)
        if not path.exists() or path.stat().st_size == 0:
            return True
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return not inspect(conn).get_table_names()
    finally:
        engine.dispose()


def load_store(url: str, member: str, file: Path) -> None:
    """Load a copy made by `dump_store` into the (empty) store at `url`."""
    kind = store_kind(url)
    want = SQLITE_MEMBER if kind == "sqlite" else POSTGRES_MEMBER
    if member != want:
        other = "SQLite" if member == SQLITE_MEMBER else "PostgreSQL"
        raise UsageError(
            f"the backup holds a {other} store but server.toml's [store] url is {kind}: restore "
            "it with the store it was made with, then move the data (pg_dump/sqlite3)"
        )
    if not store_is_empty(url):
        raise UsageError(f"the store {url} is not empty: restore into a new, empty database")
    if kind == "sqlite":
        target = sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.restoring")
        with tempfile.TemporaryDirectory(prefix="bgk-restore-") as scratch:
            plain = Path(scratch) / "fleet.sqlite"
            with gzip.open(file, "rb") as fin, plain.open("wb") as fout:
                shutil.copyfileobj(fin, fout, 1024 * 1024)
            with sqlite3.connect(plain) as source, sqlite3.connect(tmp) as copy:
                source.backup(copy)
            source.close()
            copy.close()
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
        return
    uri, env = _libpq(url)
    done = subprocess.run(
        [_tool("pg_restore"), "--no-owner", "--no-privileges", "--single-transaction",
         "--exit-on-error", f"--dbname={uri}", str(file)],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise StoreCopyError(f"pg_restore failed: {done.stderr.strip()}")
