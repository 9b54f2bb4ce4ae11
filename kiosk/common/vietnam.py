"""The Vietnam calendar day and clock time, as the DoIC, the guards and the
kiosks count them: Asia/Ho_Chi_Minh (UTC+7 all year, no summer time since
1975). Pack validity windows, report periods, edition dates and every date
shown (dd/mm/yyyy) use these, never a fixed offset of their own.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Final
from zoneinfo import ZoneInfo

VIETNAM: Final = ZoneInfo("Asia/Ho_Chi_Minh")


def vietnam_day(ts: float) -> date:
    """The day in Vietnam at epoch seconds `ts`."""
    return datetime.fromtimestamp(ts, VIETNAM).date()


def vietnam_today(now: datetime | None = None) -> date:
    """Today in Vietnam (at `now`, an aware datetime, when given)."""
    return (now or datetime.now(tz=VIETNAM)).astimezone(VIETNAM).date()


def local_date(ts: float) -> str:
    """dd/mm/yyyy in Vietnam."""
    return datetime.fromtimestamp(ts, VIETNAM).strftime("%d/%m/%Y")


def local_datetime(ts: float) -> str:
    """dd/mm/yyyy HH:MM in Vietnam."""
    return datetime.fromtimestamp(ts, VIETNAM).strftime("%d/%m/%Y %H:%M")
