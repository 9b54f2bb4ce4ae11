"""Sentences with values, for what the workspace and `bgk pack lint` report by code:
lint findings (`key`/`args`, else the rule's sentence with the English message as
detail) and refusals (`code`/`args`: conflicts, uploads, previews). `table` is
one language's words (server/words/vi.py VI, en.py EN). The editor's script
fills the same sentences with the same rule: `{name}` is replaced by the value
of `name`, nothing else (so a sentence may show braces: {{pack.version}})."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class HasDict(Protocol):
    """A finding (server.packs.findings.Finding: not imported, words import nothing)."""

    def as_dict(self) -> dict[str, object]: ...


def fill(text: str, args: Mapping[str, object]) -> str:
    for name, value in args.items():
        text = text.replace("{" + name + "}", str(value))
    return text


def say(table: Mapping[str, str], prefix: str, code: str, args: Mapping[str, object]) -> str | None:
    """The sentence `prefix+code` filled with `args`, or None when there is none."""
    text = table.get(prefix + code) if code else None
    if text is None:
        return None
    values = dict(args)
    if "kind" in values:  # what a file turned out to be, in words
        values["found"] = table.get(f"ws.err.kind.{values['kind']}", str(values["kind"]))
    return fill(text, values)


def finding_text(table: Mapping[str, str], finding: HasDict | Mapping[str, Any]) -> str:
    """One finding in the table's language (without its file and line)."""
    f = finding if isinstance(finding, Mapping) else finding.as_dict()
    raw = f.get("args")
    args: Mapping[str, object] = raw if isinstance(raw, Mapping) else {}
    text = say(table, "lint.msg.", str(f.get("key") or ""), args)
    if text is not None:
        return text
    rule = say(table, "lint.rule.", str(f.get("rule") or ""), {})
    if rule is None:
        return str(f.get("message", ""))
    return f"{rule} ({table.get('ws.detail', 'detail')}: {f.get('message', '')})"


def error_text(
    table: Mapping[str, str], code: str | None, args: Mapping[str, object], english: str
) -> str:
    """A refusal in the table's language; the English message if it has no code."""
    return say(table, "ws.err.", code or "", args) or english
