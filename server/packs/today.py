"""Dates as the DoIC and the kiosks count them: in Vietnam (Asia/Ho_Chi_Minh)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from kiosk.common.vietnam import VIETNAM, vietnam_today
from kiosk.protocol.errors import UsageError

__all__ = ["VIETNAM", "edition_date", "parse_day", "vietnam_today"]


def edition_date(
    asked: str | None, environ: Mapping[str, str], now: datetime | None = None
) -> date:
    """The edition date of a build: --edition YYYY-MM-DD, else SOURCE_DATE_EPOCH
    (the reproducible-builds convention: seconds since 1970), else today in Vietnam."""
    if asked:
        return parse_day(asked, "--edition")
    epoch = environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        if not epoch.isdigit():
            raise UsageError(f"SOURCE_DATE_EPOCH={epoch!r} must be whole seconds since 1970")
        return datetime.fromtimestamp(int(epoch), VIETNAM).date()
    return vietnam_today(now)


def parse_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} {text!r}: write the date as YYYY-MM-DD") from None
