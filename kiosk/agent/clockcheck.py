"""Is it the kiosk's clock that is wrong? (pure: times in, words out)

A Raspberry Pi has no real-time clock: it boots at the last time it saved
(or 1970) and waits for a network time server. A clock that is too early is
raised to the time floor (the newest signed time the kiosk has seen; the
enrolment time before its first sync). A clock that is far too late makes
every signed metadata look expired, and "the server must re-sign it" would
send a technician to the wrong place. So, when metadata looks expired:

  - when the server's clock is known (HTTP Date of its last answer; never
    trusted for anything else) and the kiosk's is more than CLOCK_SKEW_S
    ahead of it, the kiosk's clock is wrong;
  - else (a USB stick), when the kiosk's time is more than CLOCK_FAR_S past
    every signed time it knows (root's expiry included), it probably is.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

#: a kiosk clock this far ahead of the server's is wrong (HTTP Date has 1 s
#: resolution, and an answer may take a while on a slow link)
CLOCK_SKEW_S: Final = 300.0
#: without the server's clock: this far past every signed time is not believable
CLOCK_FAR_S: Final = 30 * 86400.0
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")

HOW_TO_CHECK: Final = (
    'check it on the kiosk with `timedatectl` ("System clock synchronized: yes" needs a '
    "network time server; without a network, set it with `sudo timedatectl set-time "
    "'YYYY-MM-DD HH:MM'`); the kiosk keeps showing its current pack"
)


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, VIETNAM).strftime("%d/%m/%Y %H:%M")


def clock_problem(now: float, server_time: float | None, signed: Iterable[float]) -> str | None:
    """Why the kiosk's clock (`now`) is probably wrong, or None when it looks right.

    `signed`: every signed time the kiosk knows (expiries, issue times, its floor)."""
    if server_time is not None:
        if now - server_time <= CLOCK_SKEW_S:
            return None
        return (
            f"the kiosk's clock says {_when(now)} but the server's says {_when(server_time)}: "
            f"the kiosk's clock is wrong, not the signed metadata; {HOW_TO_CHECK}"
        )
    newest = max(signed, default=None)
    if newest is None or now - newest <= CLOCK_FAR_S:
        return None
    days = int((now - newest) // 86400)
    return (
        f"the kiosk's clock says {_when(now)}, {days} days after the newest signed time it "
        f"knows ({_when(newest)}): the kiosk's clock is probably wrong; {HOW_TO_CHECK} "
        "(if the clock is right, the DoIC must re-sign the metadata)"
    )
