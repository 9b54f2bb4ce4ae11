"""Before a notice is sent: can every target kiosk draw every character of it?

A kiosk draws a notice with the fonts of the pack it plays (kiosk.protocol.glyphs:
a character's script font, the Latin font, then the pack's symbol fallback
fonts). The server has those packs: their manifests in the TUF repository and
their fonts in the blob store. So for each target kiosk it finds its pack (the
manifest hash its heartbeat reports; else the version it reports; else the
newest pack published to its gate or groups, the one it will install) and reads
the character maps of that pack's fonts. A kiosk whose pack is unknown (never
reported, not published here) is listed as not checked.

The result names, per language, the characters no font of some target kiosk
draws, with a suggestion for each (→ -> "->"), and which of the five languages
the notice is not written in, with what those travellers see instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

from sqlalchemy import select

from kiosk.protocol.delivery import target_path
from kiosk.protocol.errors import ProtocolError, UsageError
from kiosk.protocol.glyphs import (
    FALLBACK_FONT_DIR,
    chain_scripts,
    describe,
    missing_chars,
    suggestion,
)
from kiosk.protocol.languages import LANGUAGES
from kiosk.protocol.pack import Manifest, parse_manifest
from server.config import ServerConfig
from server.errors import Conflict
from server.store import Store
from server.store.schema import kiosk_state, kiosks

#: languages a traveller sees when theirs is missing, in order (kiosk.ui.notice)
FALLBACK_LANGUAGES = ("vi", "en")


class NoticeGlyphsMissing(UsageError, Conflict):
    """A notice with characters some target kiosk cannot draw, sent without override."""

    def __init__(self, check: NoticeCheck, override: str = "the override") -> None:
        super().__init__(check.refusal(override))
        self.check = check


@dataclass(frozen=True)
class PackFonts:
    """What one pack's fonts draw: a regular face per script, and the fallback chain."""

    label: str
    scripts: dict[str, frozenset[int]]
    fallbacks: tuple[frozenset[int], ...]

    def draws(self, ch: str, lang: str) -> bool:
        cp = ord(ch)
        for script in chain_scripts(ch, lang):
            if cp in self.scripts.get(script, frozenset()):
                return True
        return any(cp in chars for chars in self.fallbacks)


@dataclass
class LanguageCheck:
    lang: str
    #: characters some target kiosk cannot draw, in order of appearance
    missing: list[str] = field(default_factory=list)
    #: the kiosks that would draw a box, and the packs they play
    kiosks: list[str] = field(default_factory=list)
    packs: list[str] = field(default_factory=list)


@dataclass
class NoticeCheck:
    #: per language the notice is written in
    languages: dict[str, LanguageCheck]
    #: languages (of the five) the notice is not written in -> what those travellers see
    absent: dict[str, str | None]
    #: target kiosks whose pack is not known here
    unchecked: list[str]
    kiosks: int

    @property
    def ok(self) -> bool:
        return not any(c.missing for c in self.languages.values())

    def missing(self) -> dict[str, str]:
        """Per language: the characters no font draws, as one string (for the records)."""
        return {lang: "".join(c.missing) for lang, c in self.languages.items() if c.missing}

    def missing_for(self, kiosk_id: str) -> dict[str, str] | None:
        """The characters `kiosk_id` cannot draw, per language (None: all drawn)."""
        out = {
            lang: "".join(c.missing) for lang, c in self.languages.items() if kiosk_id in c.kiosks
        }
        return out or None

    def refusal(self, override: str = "the override") -> str:
        parts = []
        for lang, c in self.languages.items():
            if c.missing:
                packs = ", ".join(c.packs)
                parts.append(
                    f"{lang}: {describe(c.missing)} — no font of {len(c.kiosks)} kiosk(s) "
                    f"draws it ({packs})"
                )
        return (
            "the kiosks would show boxes: "
            + " | ".join(parts)
            + f". Change the text, or send it anyway with {override}"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "kiosks": self.kiosks,
            "languages": {
                lang: {
                    "missing": [
                        {"char": ch, "code": f"U+{ord(ch):04X}", "suggestion": suggestion(ch)}
                        for ch in c.missing
                    ],
                    "kiosks": c.kiosks,
                    "packs": c.packs,
                }
                for lang, c in self.languages.items()
            },
            "absent": self.absent,
            "unchecked": self.unchecked,
        }


def shown_instead(lang: str, written: Iterable[str]) -> str | None:
    """The language a traveller who chose `lang` reads when the notice lacks it."""
    have = [x for x in LANGUAGES if x in set(written)]
    for other in FALLBACK_LANGUAGES:
        if other in have:
            return other
    return have[0] if have else None


def check_notice(
    store: Store, config: ServerConfig, text: dict[str, str], kiosk_ids: list[str]
) -> NoticeCheck:
    """Check `text` (per language) against the fonts of every kiosk in `kiosk_ids`."""
    written = [lang for lang in LANGUAGES if text.get(lang, "").strip()]
    absent = {lang: shown_instead(lang, written) for lang in LANGUAGES if lang not in written}
    result = NoticeCheck({lang: LanguageCheck(lang) for lang in written}, absent, [], 0)
    result.kiosks = len(kiosk_ids)
    by_pack = packs_of_kiosks(store, config, kiosk_ids)
    for manifest_path, ids in sorted(by_pack.items(), key=lambda kv: str(kv[0])):
        if manifest_path is None:
            result.unchecked.extend(ids)
            continue
        fonts = pack_fonts(str(manifest_path), str(config.blob_dir))
        if fonts is None:
            result.unchecked.extend(ids)
            continue
        for lang in written:
            lost = missing_chars(text[lang], partial(_draws, fonts, lang))
            if lost:
                check = result.languages[lang]
                check.missing.extend(ch for ch in lost if ch not in check.missing)
                check.kiosks.extend(ids)
                check.packs.append(fonts.label)
    result.unchecked.sort()
    return result


def _draws(fonts: PackFonts, lang: str, ch: str) -> bool:
    return fonts.draws(ch, lang)


def packs_of_kiosks(
    store: Store, config: ServerConfig, kiosk_ids: list[str]
) -> dict[Path | None, list[str]]:
    """Target kiosks grouped by the manifest file of the pack they play (None: unknown)."""
    from server.packs.delegation import published_offers
    from server.packs.publish import target_file_path
    from server.packs.signing import open_repository

    offers = []
    repo_dir: Path | None = None
    try:
        repo = open_repository(config)
        offers, repo_dir = published_offers(repo), repo.dir
    except Exception:  # no repository yet: nothing can be checked
        offers = []
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(
                kiosks.c.id,
                kiosks.c.gate,
                kiosks.c.groups,
                kiosk_state.c.pack_id,
                kiosk_state.c.pack_version,
                kiosk_state.c.pack_hash,
            )
            .select_from(kiosks.outerjoin(kiosk_state, kiosk_state.c.kiosk_id == kiosks.c.id))
            .where(kiosks.c.id.in_(kiosk_ids))
        ).all()
    out: dict[Path | None, list[str]] = {}
    for row in rows:
        offer = next((o for o in offers if o.sha256 == row.pack_hash), None)
        if offer is None and row.pack_id:
            offer = next(
                (o for o in offers if (o.pack, o.version) == (row.pack_id, row.pack_version)),
                None,
            )
        if offer is None and not row.pack_id:  # nothing installed yet: what it will get
            names = [row.gate, *(row.groups or [])]
            offer = next((o for o in reversed(offers) if o.addressed_to(names)), None)
        path = None
        if offer is not None and repo_dir is not None:
            path = target_file_path(repo_dir, offer.path, offer.sha256)
        elif repo_dir is not None and row.pack_id and row.pack_hash:
            # a version published here before a newer one replaced it: its manifest
            # stays in the repository, under the hash the kiosk reports
            old = target_file_path(
                repo_dir, target_path(row.pack_id, row.pack_version), row.pack_hash
            )
            path = old if old.is_file() else None
        out.setdefault(path, []).append(row.id)
    return out


@lru_cache(maxsize=32)
def pack_fonts(manifest_path: str, blob_dir: str) -> PackFonts | None:
    """The character maps of a published pack's fonts (None: unreadable), kept for
    later checks (a manifest file's name holds its hash: it never changes)."""
    try:
        manifest = parse_manifest(Path(manifest_path).read_bytes())
    except (OSError, ProtocolError):
        return None
    if not manifest.fonts:  # not a pack a kiosk plays (it draws text with its fonts)
        return None
    scripts = {}
    for script, files in manifest.fonts.items():
        chars = _blob_cmap(manifest, files.regular, blob_dir)
        if chars is not None:
            scripts[script] = chars
    fallbacks = tuple(
        chars
        for f in manifest.files
        if f.path.startswith(FALLBACK_FONT_DIR)
        and (chars := _blob_cmap(manifest, f.path, blob_dir)) is not None
    )
    return PackFonts(f"{manifest.id} v{manifest.version}", scripts, fallbacks)


def _blob_cmap(manifest: Manifest, rel: str, blob_dir: str) -> frozenset[int] | None:
    try:
        return font_cmap(str(Path(blob_dir) / manifest.file(rel).sha256))
    except (KeyError, OSError, ValueError):
        return None


@lru_cache(maxsize=128)
def font_cmap(path: str) -> frozenset[int]:
    """The characters a font file (a blob, named by its hash) has a glyph for."""
    from fontTools.ttLib import TTFont, TTLibError

    try:
        with TTFont(path, lazy=True) as font:
            font.setGlyphOrder([f"g{i}" for i in range(font["maxp"].numGlyphs)])
            return frozenset(font.getBestCmap())
    except TTLibError as exc:
        raise ValueError(str(exc)) from None
