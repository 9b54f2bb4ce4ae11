"""What `bgk pack lint` reports: findings with file, line, rule and a message."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Level = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Finding:
    file: str
    line: int
    level: Level
    rule: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.level}: {self.message} [{self.rule}]"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class Findings:
    """An append-only list of findings with helpers for the common cases. The same
    finding twice (one file named from several places) is kept once, so what is
    counted is what is shown."""

    def __init__(self) -> None:
        self.items: list[Finding] = []
        self._seen: set[Finding] = set()

    def add(self, finding: Finding) -> None:
        if finding not in self._seen:
            self._seen.add(finding)
            self.items.append(finding)

    def error(self, file: str, line: int, rule: str, message: str) -> None:
        self.add(Finding(file, line, "error", rule, message))

    def warning(self, file: str, line: int, rule: str, message: str) -> None:
        self.add(Finding(file, line, "warning", rule, message))

    def extend(self, other: Findings) -> None:
        for finding in other.items:
            self.add(finding)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.items if f.level == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.items if f.level == "warning"]

    def sorted(self) -> list[Finding]:
        return sorted(self.items)
