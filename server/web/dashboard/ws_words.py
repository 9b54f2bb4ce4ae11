"""The editor's sentences for what the workspace's API answers with codes: lint
findings (`key`/`args`, else the rule's sentence with the English message as
detail) and refusals (`code`/`args`: conflicts, uploads, previews). The API keeps
the codes; the pages say them in the signed-in person's language. The editor's
script fills the same sentences (`editor_words` is embedded in the page), with
the same rule: `{name}` is replaced by the value of `name`, nothing else."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from server.packs.findings import Finding
from server.web.i18n import Words
from server.words.vi import VI

#: the words the editor's script needs
PREFIXES = ("lint.", "ws.err.", "ws.finding_at", "ws.detail")


def fill(text: str, args: Mapping[str, object]) -> str:
    for name, value in args.items():
        text = text.replace("{" + name + "}", str(value))
    return text


def say(t: Words, prefix: str, code: str, args: Mapping[str, object]) -> str | None:
    """The sentence `prefix+code` filled with `args`, or None when there is none."""
    key = prefix + code
    if not code or not t.has(key):
        return None
    values = dict(args)
    if "kind" in values:  # what a file turned out to be, in words
        values["found"] = t("ws.err.kind." + str(values["kind"]))
    return fill(t(key), values)


def finding_text(t: Words, finding: Finding | Mapping[str, Any]) -> str:
    """One finding in the reader's words (without its file and line)."""
    f = finding.as_dict() if isinstance(finding, Finding) else finding
    raw = f.get("args")
    args: Mapping[str, object] = raw if isinstance(raw, Mapping) else {}
    text = say(t, "lint.msg.", str(f.get("key") or ""), args)
    if text is not None:
        return text
    rule = say(t, "lint.rule.", str(f.get("rule") or ""), {})
    if rule is None:
        return str(f.get("message", ""))
    return f"{rule} ({t('ws.detail')}: {f.get('message', '')})"


def error_text(t: Words, code: str | None, args: Mapping[str, object], english: str) -> str:
    """A refusal in the reader's words; the English message if it has no code."""
    return say(t, "ws.err.", code or "", args) or english


def editor_words(t: Words) -> dict[str, str]:
    return {key: t(key) for key in VI if key.startswith(PREFIXES)}
