"""Suite-wide rules: a run in which no test passed is a failure, never a success."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("PYTHAINLP_READ_ONLY", "1")

_passed = 0


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    global _passed
    if report.when == "call" and report.passed:
        _passed += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if exitstatus == 0 and _passed == 0:
        session.exitstatus = 1
        print("\nno test passed: treating this run as a failure")


REPO = Path(__file__).resolve().parent.parent
FIXTURE_PACKS = REPO / "tests" / "fixtures" / "packs"


@pytest.fixture(scope="session")
def font_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Subset fonts cached for the whole run (the Chinese face takes seconds)."""
    return tmp_path_factory.mktemp("font-cache")


@pytest.fixture(scope="session")
def built_mini(tmp_path_factory: pytest.TempPathFactory, font_cache: Path) -> Path:
    """tests/fixtures/packs/mini built once per run: a folder with manifest.json + blobs."""
    from server.packs.build import build_pack

    out = tmp_path_factory.mktemp("built") / "mini"
    build_pack(FIXTURE_PACKS / "mini", out, font_cache=font_cache)
    return out
