"""`bgk pack lint` and `bgk pack build`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.common.cli import Registry
from server.packs.findings import Finding


def register(registry: Registry) -> None:
    p = registry.add("pack lint", "check a pack's sources; non-zero exit on errors", _pack_lint)
    p.add_argument("src", type=Path, help="the pack's source folder, e.g. content_packs/lao-bao")
    p.add_argument("--json", action="store_true", help="print findings as JSON")
    p.add_argument(
        "--lang",
        choices=("en", "vi"),
        default="en",
        help="language of the sentences (default: en, the lines editors and CI parse; "
        "vi: the workspace's Vietnamese sentences); the rule and --json stay the same",
    )
    settings_option(p)
    p = registry.add("pack build", "build a reproducible pack (manifest + blobs)", _pack_build)
    p.add_argument("src", type=Path, help="the pack's source folder")
    p.add_argument("-o", "--out", type=Path, required=True, help="output folder (replaced)")
    p.add_argument("--version", type=int, help="pack version (default: from pack.toml)")
    settings_option(p)
    edition_option(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="subset fonts and transcode videos afresh instead of reusing ~/.cache/bgk/fonts "
        "and ~/.cache/bgk/videos",
    )
    register_site(registry)


def settings_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--settings",
        type=Path,
        metavar="FILE",
        help="publisher and site URL for the {{placeholders}} and QR codes: a TOML file "
        "with [publisher] and [site], e.g. the server's server.toml (default: pack.toml's)",
    )


def edition_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--edition",
        metavar="YYYY-MM-DD",
        help="edition date the pages show ({{pack.edition}}; default: $SOURCE_DATE_EPOCH, "
        "else today in Vietnam). Give the same date to rebuild the same bytes",
    )


def load_settings_option(args: argparse.Namespace) -> Any:
    from server.publisher import load_settings

    return None if args.settings is None else load_settings(args.settings)


def _sentences(lang: str) -> Callable[[Finding], str]:
    """English: the finding's own message; Vietnamese: the workspace's sentence."""
    if lang == "en":
        return lambda f: f.message
    from server.words.sentences import finding_text
    from server.words.vi import VI

    return lambda f: finding_text(VI, f)


def _pack_lint(args: argparse.Namespace) -> int:
    from server.packs.lint import lint_pack
    from server.packs.today import vietnam_today

    result = lint_pack(args.src, today=vietnam_today(), settings=load_settings_option(args))
    findings = result.findings.sorted()
    errors = len(result.findings.errors)
    warnings = len(result.findings.warnings)
    if args.json:
        print(
            json.dumps(
                {
                    "ok": result.ok,
                    "errors": errors,
                    "warnings": warnings,
                    "findings": [f.as_dict() for f in findings],
                },
                ensure_ascii=False,
                indent=1,
            )
        )
    else:
        say = _sentences(args.lang)
        for finding in findings:
            print(
                f"{args.src / finding.file if finding.file else args.src}"
                f"{':' + str(finding.line) if finding.line else ''}: "
                f"{finding.level}: {say(finding)} [{finding.rule}]"
            )
        summary = f"{errors} error(s), {warnings} warning(s)"
        outcome = "ok: " if result.ok else "failed: "
        if args.lang == "vi":
            from server.words.vi import VI

            summary = VI["lint.cli.summary"].format(errors=errors, warnings=warnings)
            outcome = VI["lint.cli.ok" if result.ok else "lint.cli.failed"] + ": "
        print(outcome + summary, file=sys.stderr)
    return 0 if result.ok else 1


def _pack_build(args: argparse.Namespace) -> int:
    from server.packs.build import build_pack
    from server.packs.errors import PackSourceError
    from server.packs.fonts import default_cache_dir
    from server.packs.today import edition_date, vietnam_today
    from server.packs.transcode import default_cache_dir as video_cache_dir
    from server.packs.transcode import ffmpeg_version

    cache = None if args.no_cache else default_cache_dir()
    edition = edition_date(args.edition, os.environ)
    try:
        result = build_pack(
            args.src,
            args.out,
            version=args.version,
            today=vietnam_today(),
            font_cache=cache,
            settings=load_settings_option(args),
            edition=edition,
            video_cache=None if args.no_cache else video_cache_dir(),
        )
    except PackSourceError as exc:
        if args.json:
            print(
                json.dumps(
                    {
                        "ok": False,
                        "error": str(exc),
                        "findings": [f.as_dict() for f in exc.findings],
                    },
                    ensure_ascii=False,
                )
            )
        raise
    m = result.manifest
    if args.json:
        print(
            json.dumps(
                {
                    "ok": True,
                    "id": m.id,
                    "version": m.version,
                    "out": str(result.out),
                    "files": result.files,
                    "bytes": result.bytes,
                    "seconds": round(result.seconds, 3),
                    "edition": edition.isoformat(),
                    "videos": len(m.videos),
                    "ffmpeg": ffmpeg_version() if m.videos else None,
                },
                ensure_ascii=False,
            )
        )
    else:
        print(
            f"built {m.id} version {m.version}: {result.files} files, "
            f"{result.bytes / 1e6:.1f} MB in {result.seconds:.1f} s -> {result.out} "
            f"(edition {edition:%d/%m/%Y})"
        )
    return 0


def register_site(registry: Registry) -> None:
    p = registry.add(
        "pack site",
        "the pack as a static website in its languages (what the kiosk QR codes open)",
        _pack_site,
    )
    p.add_argument("pack", type=Path, help="a built pack (bgk pack build) or a source folder")
    p.add_argument("-o", "--out", type=Path, required=True, help="output folder (replaced)")
    p.add_argument(
        "--day",
        metavar="YYYY-MM-DD",
        help="show the pages valid on this day (default: today in Vietnam)",
    )
    settings_option(p)
    edition_option(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = registry.add(
        "pack leaflet",
        "print chosen pages of a pack in one language as an A4 PDF (headless Chromium)",
        _pack_leaflet,
    )
    p.add_argument("pack", type=Path, help="a built pack (bgk pack build) or a source folder")
    p.add_argument("--lang", required=True, help="language: vi, en, lo, th or zh")
    p.add_argument("-o", "--out", type=Path, required=True, help="the PDF file to write")
    p.add_argument(
        "--pages",
        metavar="ID,ID,...",
        help="these pages in this order (default: every page shown today, in the pack's order)",
    )
    p.add_argument(
        "--day", metavar="YYYY-MM-DD", help="the day whose pages are shown (default: today)"
    )
    settings_option(p)
    edition_option(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _pack_leaflet(args: argparse.Namespace) -> int:
    import tempfile

    from server.packs.leaflet import make_leaflet
    from server.packs.today import parse_day, vietnam_today

    day = parse_day(args.day, "--day") if args.day else vietnam_today()
    asked = [p.strip() for p in args.pages.split(",") if p.strip()] if args.pages else None
    with tempfile.TemporaryDirectory(prefix="bgk-leaflet-") as tmp:
        manifest, pages = make_leaflet(
            built_or_build(args, Path(tmp)), args.lang, args.out, day, asked
        )
    if args.json:
        print(json.dumps({"ok": True, "id": manifest.id, "lang": args.lang, "out": str(args.out),
                          "pages": [p.id for p in pages]}))  # fmt: skip
    else:
        print(f"leaflet of {manifest.id} v{manifest.version} in {args.lang}, "
              f"{len(pages)} page(s): {args.out}")  # fmt: skip
    return 0


def built_or_build(args: argparse.Namespace, tmp: Path) -> Path:
    """args.pack when it is a built pack; a source folder is built into `tmp` first
    (with --settings and --edition)."""
    from server.packs.build import build_pack
    from server.packs.fonts import default_cache_dir
    from server.packs.source import PACK_TOML
    from server.packs.today import edition_date, vietnam_today
    from server.packs.transcode import default_cache_dir as video_cache_dir

    if not (args.pack / PACK_TOML).is_file():
        return Path(args.pack)
    out = tmp / "pack"
    build_pack(
        args.pack,
        out,
        today=vietnam_today(),
        font_cache=default_cache_dir(),
        settings=load_settings_option(args),
        edition=edition_date(args.edition, os.environ),
        video_cache=video_cache_dir(),
    )
    return out


def _pack_site(args: argparse.Namespace) -> int:
    import tempfile

    from server.packs.site import render_site
    from server.packs.today import parse_day, vietnam_today

    day = parse_day(args.day, "--day") if args.day else vietnam_today()
    with tempfile.TemporaryDirectory(prefix="bgk-site-") as tmp:
        manifest = render_site(built_or_build(args, Path(tmp)), args.out, day)
    index = (args.out / "index.html").resolve()
    if args.json:
        print(json.dumps({"ok": True, "id": manifest.id, "version": manifest.version,
                          "out": str(args.out), "index": str(index)}))  # fmt: skip
    else:
        print(f"site of {manifest.id} version {manifest.version} in {args.out}: open {index}")
    return 0
