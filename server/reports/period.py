"""Report periods (Article 26): a calendar month or year in Vietnam time.

Asia/Ho_Chi_Minh is UTC+7 all year (no daylight saving since 1975), so a
month starts at 17:00 UTC on the last day of the month before; the offsets
are computed with zoneinfo all the same, never written down.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from kiosk.common.vietnam import VIETNAM, local_date
from kiosk.protocol.errors import UsageError

MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
YEAR_RE = re.compile(r"^(\d{4})$")
#: periods before this year are refused as typing mistakes
FIRST_YEAR = 2000

MONTHS_EN = (
    "January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December",
)  # fmt: skip


@dataclass(frozen=True)
class Period:
    kind: Literal["month", "year"]
    year: int
    #: 1..12 for a month, None for a year
    month: int | None
    #: epoch seconds (UTC) of the first instant, in Vietnam time
    start: float
    #: epoch seconds of the first instant after the period
    end: float

    @property
    def key(self) -> str:
        """ "2026-11" or "2026": what --month/--year and ?month=/?year= take."""
        return f"{self.year}-{self.month:02d}" if self.month else str(self.year)

    def title(self, lang: str) -> str:
        """ "tháng 11/2026", "năm 2026"; "November 2026", "2026"."""
        if self.month is None:
            return f"năm {self.year}" if lang == "vi" else f"year {self.year}"
        if lang == "vi":
            return f"tháng {self.month:02d}/{self.year}"
        return f"{MONTHS_EN[self.month - 1]} {self.year}"

    def query(self) -> str:
        """The URL query naming this period: month=2026-11 or year=2026."""
        return f"{self.kind}={self.key}"


def _local_start(year: int, month: int) -> float:
    return dt.datetime(year, month, 1, tzinfo=VIETNAM).timestamp()


def month_period(year: int, month: int) -> Period:
    nxt = (year + 1, 1) if month == 12 else (year, month + 1)
    return Period("month", year, month, _local_start(year, month), _local_start(*nxt))


def year_period(year: int) -> Period:
    return Period("year", year, None, _local_start(year, 1), _local_start(year + 1, 1))


def parse_period(
    month: str | None, year: str | None, *, names: tuple[str, str] = ("--month", "--year")
) -> Period:
    """The period of --month YYYY-MM or --year YYYY (exactly one); `names` are how
    the caller spells the two options in its error messages (the API: month, year)."""
    m_name, y_name = names
    if (month is None) == (year is None):
        raise UsageError(
            f"give either {m_name} YYYY-MM (e.g. 2026-11) or {y_name} YYYY (e.g. 2026)"
        )
    if month is not None:
        found = MONTH_RE.match(month.strip())
        if not found or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < FIRST_YEAR:
            raise UsageError(f"{m_name} {month}: use YYYY-MM, e.g. 2026-11")
        return month_period(int(found.group(1)), int(found.group(2)))
    assert year is not None
    found = YEAR_RE.match(year.strip())
    if not found or int(found.group(1)) < FIRST_YEAR:
        raise UsageError(f"{y_name} {year}: use YYYY, e.g. 2026")
    return year_period(int(found.group(1)))


def check_started(period: Period, now: float) -> None:
    """Refuse a period that has not begun (a period in progress is fine)."""
    if period.start > now:
        today = local_date(now)
        raise UsageError(
            f"{period.kind} {period.key} has not begun yet (today is {today} in Vietnam): "
            "pick the current or a past period"
        )
