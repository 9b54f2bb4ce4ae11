"""Reads pip-audit's JSON report (scripts/audit): fails on a vulnerability with a fix.

    python scripts/lib/audit.py REPORT.json PIP_AUDIT_EXIT_STATUS

Exit 1: a locked package has a known vulnerability fixed in a newer version.
Exit 0: none; or no vulnerability service could be asked (every package
skipped) - then it says so, and exits 1 only with BGK_AUDIT_REQUIRED=1.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any


def verdict(report: dict[str, Any], required: bool) -> tuple[int, list[str]]:
    deps = report.get("dependencies", [])
    lines: list[str] = []
    fixable = []
    for dep in deps:
        for vuln in dep.get("vulns", []):
            fix = ", ".join(vuln.get("fix_versions") or []) or "no fix yet"
            lines.append(f"{dep['name']} {dep['version']}: {vuln['id']} (fixed in {fix})")
            if vuln.get("fix_versions"):
                fixable.append(dep["name"])
    skipped = [d for d in deps if d.get("skip_reason")]
    audited = len(deps) - len(skipped)
    if deps and not audited:
        lines.append(
            f"audit: none of the {len(deps)} locked packages could be audited: no vulnerability "
            "service answered (pip-audit asks https://pypi.org/pypi/NAME/VERSION/json, which "
            "this machine's PyPI access does not serve; api.osv.dev is not reachable either)"
        )
        return (1 if required else 0), lines
    lines.append(
        f"audit: {audited} locked packages audited ({len(skipped)} skipped), "
        f"{len(fixable)} with a fixable vulnerability"
    )
    return (1 if fixable else 0), lines


def main() -> int:
    path, status = Path(sys.argv[1]), int(sys.argv[2])
    try:
        report = json.loads(path.read_text())
    except (OSError, ValueError):
        print(f"audit: pip-audit gave no report (exit status {status})", file=sys.stderr)
        return 1
    code, lines = verdict(report, os.environ.get("BGK_AUDIT_REQUIRED") == "1")
    for line in lines:
        print(line, file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
