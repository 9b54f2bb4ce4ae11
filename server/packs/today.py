"""Dates as the DoIC and the kiosks count them: in Vietnam (Asia/Ho_Chi_Minh)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def vietnam_today(now: datetime | None = None) -> date:
    return (now or datetime.now(tz=VIETNAM)).astimezone(VIETNAM).date()
