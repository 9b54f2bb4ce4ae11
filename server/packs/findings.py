"""What `bgk pack lint` reports: findings with file, line, rule and a message.

The message is English (the command line's). For the workspace's pages a
finding may also carry `key` and `args`: the sentence `lint.msg.<key>` of
server/words (Vietnamese or English) filled with `args`; without a key the page
shows the rule's sentence `lint.rule.<rule>` and the English message as detail.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

Level = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Finding:
    file: str
    line: int
    level: Level
    rule: str
    message: str
    #: the sentence lint.msg.<key> of server/words, and its values ("" = none)
    key: str = field(default="", compare=False)
    args: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.level}: {self.message} [{self.rule}]"

    def as_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["args"] = dict(self.args)
        return out


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

    def error(
        self, file: str, line: int, rule: str, message: str, key: str = "", **args: object
    ) -> None:
        self.add(Finding(file, line, "error", rule, message, key, _args(args)))

    def warning(
        self, file: str, line: int, rule: str, message: str, key: str = "", **args: object
    ) -> None:
        self.add(Finding(file, line, "warning", rule, message, key, _args(args)))

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


def _args(values: dict[str, object]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, str(v)) for k, v in values.items()))
