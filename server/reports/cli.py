"""`bgk server report`: the Article 26 report of a month or a year.

bgk server report --data DIR (--month YYYY-MM | --year YYYY) [--lang vi|en] [--json] [--csv FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from kiosk.common.cli import Registry


def register(registry: Registry) -> None:
    p = registry.add(
        "server report",
        "monthly or annual report (Article 26): uptime per gate and kiosk, packs published, "
        "traveller use, alerts",
        _report,
    )
    p.add_argument("--data", type=Path, required=True, help="server data folder")
    when = p.add_mutually_exclusive_group(required=True)
    when.add_argument("--month", metavar="YYYY-MM", help="a calendar month, e.g. 2026-11")
    when.add_argument("--year", metavar="YYYY", help="a calendar year, e.g. 2026")
    p.add_argument("--lang", choices=("vi", "en"), default="vi", help="language (default: vi)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument(
        "--csv",
        type=Path,
        metavar="FILE",
        help="also write one row per kiosk to FILE (UTF-8 with BOM, for Excel)",
    )


def _report(args: argparse.Namespace) -> int:
    from kiosk.common.files import atomic_write
    from server.open import open_server
    from server.reports.period import parse_period
    from server.reports.render import render_csv, render_text
    from server.reports.report import server_report

    period = parse_period(args.month, args.year)
    cfg, store = open_server(args.data)
    try:
        report = server_report(cfg, store, period, time.time())
    finally:
        store.dispose()
    if args.csv is not None:
        atomic_write(args.csv, render_csv(report, args.lang))
    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False, indent=1))
    else:
        sys.stdout.write(render_text(report, args.lang))
    if args.csv is not None:
        print(f"bgk: wrote {len(report.kiosks)} kiosk rows to {args.csv}", file=sys.stderr)
    return 0
