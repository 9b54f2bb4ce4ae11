"""Placeholders in page text: `{{publisher.phone}}`, `{{pack.edition}}`, ...

Page sources name what changes without an edit of the pack — who publishes and
how to reach them (server/publisher.py), the edition date and version of the
build — and `bgk pack build` writes the values in. The values are inputs of the
build like the sources: the same sources, settings and edition date give the
same bytes.

A line whose placeholder has no value (a publisher without a phone number) is
left out of the page, so a contact list shows only what is known. `\\{`
writes a literal brace.

Pure: lines in, lines out, findings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from server.packs.findings import Findings
from server.packs.markup import ESCAPABLE
from server.publisher import Publisher

#: a placeholder; a brace escaped with a backslash is not one
TOKEN = re.compile(r"(?<!\\)\{\{\s*([^{}]*?)\s*\}\}")
OPEN = re.compile(r"(?<!\\)\{\{")

#: every placeholder, with what it becomes (content_packs/README.md lists the same)
PLACEHOLDERS: dict[str, str] = {
    "publisher.name": "the publisher's name in the page's language (else in English)",
    "publisher.name_vi": "the publisher's official name in Vietnamese",
    "publisher.name_en": "the publisher's name in English",
    "publisher.address": "the publisher's postal address",
    "publisher.phone": "the publisher's telephone number",
    "publisher.email": "the publisher's e-mail address",
    "publisher.portal": "the publisher's information portal (a web address)",
    "pack.edition": "the edition date of the build (dd/mm/yyyy; Chinese: yyyy年m月d日)",
    "pack.version": "the pack version of the build",
}


@dataclass(frozen=True)
class Fill:
    """What the placeholders of a build stand for."""

    publisher: Publisher | None
    edition: date
    version: int

    def values(self, lang: str) -> dict[str, str]:
        out = {"pack.edition": edition_text(self.edition, lang), "pack.version": str(self.version)}
        p = self.publisher
        if p is not None:
            out |= {
                "publisher.name": p.name(lang),
                "publisher.name_vi": p.names["vi"],
                "publisher.name_en": p.names["en"],
                "publisher.address": p.address,
                "publisher.phone": p.phone,
                "publisher.email": p.email,
                "publisher.portal": p.portal,
            }
        return out


def edition_text(day: date, lang: str) -> str:
    if lang == "zh":
        return f"{day.year}年{day.month}月{day.day}日"
    return day.strftime("%d/%m/%Y")


def escape(value: str) -> str:
    """A value as literal page text (a `*` in a name is not bold)."""
    return "".join("\\" + ch if ch in ESCAPABLE else ch for ch in value)


def fill_lines(
    text: str, lang: str, fill: Fill, file: str, findings: Findings
) -> tuple[str, set[int]]:
    """The text with its placeholders filled, and the numbers of the lines left
    out (an empty value: no finding, that is what it is for); line numbers stay
    those of the source."""
    values = fill.values(lang)
    out: list[str] = []
    dropped: set[int] = set()
    for number, line in enumerate(text.split("\n"), start=1):
        if "{{" not in line:
            out.append(line)
            continue
        empty: list[str] = []

        def swap(match: re.Match[str], number: int = number, empty: list[str] = empty) -> str:
            name = match.group(1)
            if name not in PLACEHOLDERS:
                findings.error(
                    file,
                    number,
                    "placeholder",
                    f"unknown placeholder {{{{{name}}}}}: use one of "
                    + ", ".join(f"{{{{{k}}}}}" for k in PLACEHOLDERS),
                    "unknown-placeholder",
                    name=name,
                    known=", ".join(f"{{{{{k}}}}}" for k in PLACEHOLDERS),
                )
                return match.group(0)
            if name.startswith("publisher.") and fill.publisher is None:
                findings.error(
                    file,
                    number,
                    "placeholder",
                    f"{{{{{name}}}}} needs the publisher: add [publisher] to pack.toml "
                    "or build with --settings FILE",
                )
                return match.group(0)
            value = values[name]
            if not value:
                empty.append(name)
            return escape(value)

        filled = TOKEN.sub(swap, line)
        leftover = OPEN.search(TOKEN.sub("", line))
        if leftover:
            findings.error(
                file,
                number,
                "placeholder",
                "'{{' without a matching '}}': write {{name}}, or \\{ for a brace",
                "open-brace",
            )
        if empty:
            names = ", ".join(f"{{{{{n}}}}}" for n in empty)
            if number == 1:
                findings.error(
                    file, number, "placeholder", f"{names} is empty: the title needs a value"
                )
                out.append(line)  # as written: one finding, not a second about the title
                continue
            else:
                dropped.add(number)
                out.append("")
                continue
        out.append(filled)
    return "\n".join(out), dropped
