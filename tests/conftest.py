"""Suite-wide rules: a run in which no test passed is a failure, never a success."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("PYTHAINLP_READ_ONLY", "1")

_passed = 0


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    global _passed
    if report.when == "call" and report.passed:
        _passed += 1


#: the longest test files (minutes each), started first: the pytest-xdist workers take a
#: file at a time in collection order, so one of these picked up last would run alone
#: at the end of the run while the other worker idles
LONGEST_FIRST = (
    "integration/test_operator_path.py",
    "integration/test_demo.py",
    "integration/test_two_person.py",
    "ui/test_ui_memory.py",
    "faults/test_gate_netns.py",
    "integration/test_token_signer.py",
    "web/test_workspace_browser.py",
    "ui/test_ui_qr.py",
    "ui/test_ui_notice_glyphs.py",
    "integration/test_backup_restore.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0].removeprefix("tests/")
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: each file keeps its own order


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if exitstatus == 0 and _passed == 0:
        session.exitstatus = 1
        print("\nno test passed: treating this run as a failure")


#: the passphrase of every offline key the tests make (`bgk keys init`, init_keyset):
#: in a file named by BGK_PASSPHRASE_FILE, which `bgk` subprocesses inherit
TEST_PASSPHRASE = "test-passphrase-for-offline-keys"


@pytest.fixture(scope="session", autouse=True)
def key_passphrase_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from server.packs.keyfile import PASSPHRASE_ENV, write_passphrase_file

    path = tmp_path_factory.mktemp("passphrase") / "passphrase.txt"
    write_passphrase_file(path, TEST_PASSPHRASE)
    before = os.environ.get(PASSPHRASE_ENV)
    os.environ[PASSPHRASE_ENV] = str(path)
    yield path
    if before is None:
        os.environ.pop(PASSPHRASE_ENV, None)
    else:
        os.environ[PASSPHRASE_ENV] = before


REPO = Path(__file__).resolve().parent.parent
FIXTURE_PACKS = REPO / "tests" / "fixtures" / "packs"


@pytest.fixture(scope="session")
def font_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Subset fonts cached for the whole run (the Chinese face takes seconds).

    Laid out as `XDG_CACHE_HOME/bgk/fonts`, so `bgk` subprocesses run with
    XDG_CACHE_HOME=font_cache.parents[1] share it. The pytest-xdist workers of one
    run share one cache too (each entry is written to a temporary name and renamed,
    so two workers subsetting the same font at once both end with a whole file).
    """
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the run's folder, above each worker's own
    path = base / "xdg-cache" / "bgk" / "fonts"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def built_mini(tmp_path_factory: pytest.TempPathFactory, font_cache: Path) -> Path:
    """tests/fixtures/packs/mini built once per run: a folder with manifest.json + blobs."""
    from server.packs.build import build_pack

    out = tmp_path_factory.mktemp("built") / "mini"
    build_pack(FIXTURE_PACKS / "mini", out, font_cache=font_cache)
    return out


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this run, dropped afterwards.

    Uses the server named by BGK_TEST_POSTGRES_URL (scripts/test sets it when a
    local PostgreSQL answers); without one, PostgreSQL tests are skipped and
    say so — the SQLite variants always run.
    """
    import uuid

    base = os.environ.get("BGK_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("no PostgreSQL: set BGK_TEST_POSTGRES_URL (scripts/test does when one runs)")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"bgk_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(base).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL per database kind: SQLite always, PostgreSQL when reachable."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fleet.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Any]:
    """An empty fleet store at the latest schema, in its own database."""
    from fleetkit import own_database

    from server.store import open_store

    with own_database(store_url) as url:
        s = open_store(url)
        yield s
        s.dispose()
