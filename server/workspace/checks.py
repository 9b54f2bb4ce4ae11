"""Lint of a draft: the same rules as `bgk pack lint`, on a stored version or on
files about to be saved (a push: refused when lint finds errors)."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from datetime import date
from pathlib import Path

from server.packs.findings import Finding
from server.packs.lint import LintResult, lint_pack
from server.publisher import Settings
from server.workspace.drafts import DraftError


class LintRefused(DraftError):
    """Files that fail lint: nothing was saved."""

    def __init__(self, findings: list[Finding]) -> None:
        errors = [f for f in findings if f.level == "error"]
        shown = "; ".join(str(f) for f in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(
            f"refused: `bgk pack lint` finds {len(errors)} error(s): {shown}{more}. "
            "Fix them and push again"
        )
        self.findings = findings


def lint_files(
    files: Mapping[str, bytes], *, today: date, settings: Settings | None = None
) -> LintResult:
    """Lint files not saved yet (written to a temporary folder)."""
    with tempfile.TemporaryDirectory(prefix="bgk-lint-") as tmp:
        root = Path(tmp) / "pack"
        for rel, data in files.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        root.mkdir(exist_ok=True)
        result = lint_pack(root, today=today, settings=settings)
    return result


def lint_folder_with(
    root: Path, changed: Mapping[str, bytes], *, today: date, settings: Settings | None = None
) -> LintResult:
    """Lint a stored version's folder with some files replaced (not saved)."""
    import shutil

    with tempfile.TemporaryDirectory(prefix="bgk-lint-") as tmp:
        copy = Path(tmp) / "pack"
        shutil.copytree(root, copy)
        for rel, data in changed.items():
            (copy / rel).parent.mkdir(parents=True, exist_ok=True)
            (copy / rel).write_bytes(data)
        return lint_pack(copy, today=today, settings=settings)


def refuse_unless_clean(result: LintResult) -> None:
    if not result.ok:
        raise LintRefused(result.findings.sorted())
