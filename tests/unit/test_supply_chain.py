"""The supply chain: hashed lock files that match pyproject.toml, and the audit's
verdict on pip-audit's report (scripts/audit, scripts/lib/audit.py)."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts" / "lib"))

from audit import verdict  # noqa: E402


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def locked(extra: str) -> dict[str, str]:
    """{package: version} of requirements/EXTRA.lock, checking every pin has hashes."""
    text = (REPO / "requirements" / f"{extra}.lock").read_text()
    pins: dict[str, str] = {}
    for block in re.split(r"\n(?=[a-z0-9])", text):
        m = re.match(r"([a-z0-9][a-z0-9._-]*)==([^ ;\\\n]+)", block)
        if m is None:
            continue
        assert "--hash=sha256:" in block, f"{m.group(1)} is locked without a hash"
        pins[m.group(1).lower()] = m.group(2)
    return pins


@pytest.mark.parametrize("extra", ["server", "kiosk", "dev"])
def test_each_lock_pins_what_pyproject_asks_for(extra: str) -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = {
        _name(r) for r in [*project["dependencies"], *extras[extra]] if not r.startswith("bgk")
    }
    if extra == "dev":
        wanted |= {_name(r) for r in extras["server"] + extras["kiosk"]}
    pins = locked(extra)
    missing = sorted(wanted - set(pins))
    assert not missing, f"requirements/{extra}.lock lacks {missing}: run scripts/lock"


def report(*deps: dict[str, Any]) -> dict[str, Any]:
    return {"dependencies": list(deps), "fixes": []}


def test_audit_fails_on_a_vulnerability_with_a_fix() -> None:
    vuln = {"id": "PYSEC-2099-1", "fix_versions": ["2.99.1"], "aliases": [], "description": ""}
    code, lines = verdict(
        report({"name": "requests", "version": "2.0", "vulns": [vuln]}), required=False
    )
    assert code == 1 and "requests 2.0: PYSEC-2099-1 (fixed in 2.99.1)" in lines


def test_audit_names_but_does_not_fail_on_a_vulnerability_without_a_fix() -> None:
    vuln = {"id": "GHSA-x", "fix_versions": [], "aliases": [], "description": ""}
    code, lines = verdict(report({"name": "tuf", "version": "7", "vulns": [vuln]}), required=False)
    assert code == 0 and any("no fix yet" in line for line in lines)


def test_audit_says_when_nothing_could_be_audited() -> None:
    skipped = {"name": "tuf", "version": "7", "skip_reason": "Dependency not found on PyPI"}
    code, lines = verdict(report(skipped), required=False)
    assert code == 0 and "could be audited" in lines[-1]
    assert verdict(report(skipped), required=True)[0] == 1
