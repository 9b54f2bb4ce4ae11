"""Who publishes: the body that runs the foreign-information kiosks, as a setting.

The publisher is named in the reports (text, page, CSV, print), the dashboard
footer, `/api/v1/about` and — through placeholders such as
`{{publisher.name}}` filled in by `bgk pack build` — on the pack's own pages.
It is a setting because it changes: Vietnam's provinces and departments were
reorganised in 2025, and other provinces deploy this system under their own
department. `[publisher]` in server.toml (written by `bgk server init
--publisher-…`) or in a pack's pack.toml:

    [publisher]
    name_vi  = "…"     official name in Vietnamese (required)
    name_en  = "…"     the name in English (required)
    name_lo, name_th, name_zh = "…"   optional; pages in those languages
                                      otherwise show the English name
    address, phone, email = "…"       optional; how travellers reach the body
    portal   = "…"     optional; the public information portal (a web address)
    basis_vi = "…"     the legal-basis line of the reports, Vietnamese
    basis_en = "…"     the same in English

    [site]
    url = "https://…/p"   optional; where `bgk pack site` copies are served,
                          one folder per pack (`{url}/{pack id}/`); the kiosk
                          pages' QR codes point there (none when unset)

`sample_publisher()` gives the sample's values (publisher_sample.toml beside
this file): today's wording from the provincial regulation of 2019.
"""

from __future__ import annotations

import tomllib
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kiosk.protocol.errors import UsageError

SAMPLE_FILE = Path(__file__).resolve().parent / "publisher_sample.toml"
#: the languages whose name may be given (pages in other languages show name_en)
NAME_LANGS = ("vi", "en", "lo", "th", "zh")
CONTACT_KEYS = ("address", "phone", "email", "portal")
MAX_LEN = 300


@dataclass(frozen=True)
class Publisher:
    #: language -> name; "vi" and "en" always present
    names: dict[str, str]
    address: str = ""
    phone: str = ""
    email: str = ""
    portal: str = ""
    #: language -> legal-basis line of the reports ("vi", "en")
    basis: dict[str, str] = field(default_factory=dict)

    def name(self, lang: str) -> str:
        """The name in `lang`, else English (the Vietnamese report reads name_vi)."""
        return self.names.get(lang) or self.names["en"]

    def basis_line(self, lang: str) -> str:
        return self.basis.get("en" if lang == "en" else "vi", "")

    def as_json(self) -> dict[str, Any]:
        return {
            "name": dict(self.names),
            "address": self.address,
            "phone": self.phone,
            "email": self.email,
            "portal": self.portal,
            "basis": dict(self.basis),
        }

    def to_toml(self) -> str:
        lines = ["[publisher]"]
        for lang in NAME_LANGS:
            if lang in self.names:
                lines.append(f"name_{lang} = {_toml_str(self.names[lang])}")
        for key in CONTACT_KEYS:
            lines.append(f"{key} = {_toml_str(getattr(self, key))}")
        for lang in ("vi", "en"):
            lines.append(f"basis_{lang} = {_toml_str(self.basis.get(lang, ''))}")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Settings:
    """What `bgk pack build --settings FILE` reads: the publisher and the site's base URL."""

    publisher: Publisher | None
    #: base URL of the packs' web copies (no trailing slash), "" when there is none
    site_url: str = ""

    def page_url(self, pack_id: str, lang: str, page_id: str) -> str:
        return f"{self.site_url}/{pack_id}/{lang}/{page_id}.html"


def _toml_str(value: str) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def _text(table: dict[str, Any], key: str, where: str, *, required: bool = False) -> str:
    value = table.get(key, "")
    if not isinstance(value, str):
        raise UsageError(f'{where}: [publisher] {key} must be text in quotes: {key} = "…"')
    value = value.strip()
    if required and not value:
        raise UsageError(f'{where}: [publisher] {key} is missing: add {key} = "…"')
    if len(value) > MAX_LEN:
        raise UsageError(f"{where}: [publisher] {key} is longer than {MAX_LEN} characters")
    if "\n" in value or any(unicodedata.category(c) == "Cc" for c in value):
        raise UsageError(f"{where}: [publisher] {key} must be one line of text")
    if unicodedata.normalize("NFC", value) != value:
        raise UsageError(f"{where}: [publisher] {key} is not Unicode NFC: retype it")
    return value


def parse_publisher(table: Any, where: str) -> Publisher:
    """A [publisher] table; UsageError naming the file and key when it is wrong."""
    if not isinstance(table, dict):
        raise UsageError(f"{where}: [publisher] must be a table")
    known = {f"name_{lang}" for lang in NAME_LANGS} | set(CONTACT_KEYS)
    known |= {"basis_vi", "basis_en"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise UsageError(
            f"{where}: [publisher] has unknown key {unknown[0]!r}; "
            f"known: {', '.join(sorted(known))}"
        )
    names = {
        lang: _text(table, f"name_{lang}", where, required=lang in ("vi", "en"))
        for lang in NAME_LANGS
    }
    portal = _text(table, "portal", where)
    if portal and (" " in portal or "." not in portal):
        raise UsageError(f"{where}: [publisher] portal {portal!r} is not a web address")
    return Publisher(
        names={k: v for k, v in names.items() if v},
        address=_text(table, "address", where),
        phone=_text(table, "phone", where),
        email=_text(table, "email", where),
        portal=portal,
        basis={lang: _text(table, f"basis_{lang}", where) for lang in ("vi", "en")},
    )


def check_site_url(url: str, where: str) -> str:
    url = url.strip().rstrip("/")
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{where}: site url {url!r} must be an http:// or https:// address")
    if parts.query or parts.fragment:
        raise UsageError(f"{where}: site url {url!r} must not have ?query or #fragment")
    return url


def parse_settings(raw: dict[str, Any], where: str) -> Settings:
    """[publisher] (optional here) and [site] url of a TOML document."""
    publisher = parse_publisher(raw["publisher"], where) if "publisher" in raw else None
    site = raw.get("site", {})
    if not isinstance(site, dict) or not isinstance(site.get("url", ""), str):
        raise UsageError(f'{where}: [site] url must be text: url = "https://…/p"')
    return Settings(publisher, check_site_url(site.get("url", ""), where))


def load_settings(path: Path) -> Settings:
    """The [publisher] and [site] tables of a TOML file (server.toml will do)."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"settings file {path} not found") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read settings file {path}: {exc}") from None
    settings = parse_settings(raw, str(path))
    if settings.publisher is None:
        raise UsageError(f"{path} has no [publisher] table: see `bgk server init --help`")
    return settings


def publisher_tables(publisher: Publisher, site_url: str) -> str:
    """[publisher] and [site] as server.toml holds them (server/publisher.py)."""
    return (
        "# who publishes: reports, dashboard, `bgk pack build --settings server.toml`\n"
        f"{publisher.to_toml()}\n"
        "# base URL of the packs' web copies (`bgk pack site`); QR codes on kiosk pages\n"
        "# point to {url}/<pack>/<lang>/<page>.html; empty: no QR codes\n"
        f"[site]\nurl = {_toml_str(site_url)}\n"
    )


def sample_publisher() -> Publisher:
    return load_settings(SAMPLE_FILE).publisher  # type: ignore[return-value]


def with_options(base: Publisher, options: dict[str, str | None]) -> Publisher:
    """`base` with the given fields replaced (None: keep); for `bgk server init`.
    A new Vietnamese or English name drops the names in other languages that
    are not given again (they were the previous body's)."""
    names = dict(base.names)
    if options.get("name_vi") is not None or options.get("name_en") is not None:
        # a new body: the old one's names in other languages would name the wrong body
        names = {lang: names[lang] for lang in ("vi", "en")}
    basis = dict(base.basis)
    fields: dict[str, str] = {}
    for key, value in options.items():
        if value is None:
            continue
        if key.startswith("name_"):
            names[key.removeprefix("name_")] = value
        elif key.startswith("basis_"):
            basis[key.removeprefix("basis_")] = value
        else:
            fields[key] = value
    table: dict[str, Any] = {f"name_{k}": v for k, v in names.items()}
    table |= {f"basis_{k}": v for k, v in basis.items()}
    table |= {k: getattr(base, k) for k in CONTACT_KEYS} | fields
    checked = parse_publisher(table, "bgk server init")
    return replace(checked)
