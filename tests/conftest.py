"""Suite-wide rules: a run in which no test passed is a failure, never a success."""

from __future__ import annotations

import os

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
