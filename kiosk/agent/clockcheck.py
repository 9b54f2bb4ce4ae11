"""Is it the kiosk's clock that is wrong? (pure: times in, words out)

A Raspberry Pi has no real-time clock: it boots at the last time it saved
(or 1970) and waits for a network time server. A clock that is too early is
raised to the time floor (the newest signed time the kiosk has seen; the
enrolment time before its first sync). A clock that is far too late makes
every signed metadata look expired, and "the server must re-sign it" would
send a technician to the wrong place. So when metadata looks expired and the
kiosk's time is more than CLOCK_FAR_S past every signed time it knows (the
root's expiry, months ahead, included), the clock is probably wrong.

The server also sees a kiosk's clock (its heartbeats carry it) and opens a
`clock` alert on the dashboard (server/fleet/state.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from kiosk.common.vietnam import local_datetime

#: this far past every signed time is not believable of a kiosk's clock
CLOCK_FAR_S: Final = 30 * 86400.0

HOW_TO_CHECK: Final = (
    'check it on the kiosk with `timedatectl` ("System clock synchronized: yes" needs a '
    "network time server; without a network, set it with `sudo timedatectl set-time "
    "'YYYY-MM-DD HH:MM'`); the kiosk keeps showing its current pack"
)


def clock_problem(now: float, signed: Iterable[float]) -> str | None:
    """Why the kiosk's clock (`now`) is probably wrong, or None when it may be right.

    `signed`: every signed time the kiosk knows (expiries, issue times)."""
    newest = max(signed, default=None)
    if newest is None or now - newest <= CLOCK_FAR_S:
        return None
    days = int((now - newest) // 86400)
    return (
        f"the kiosk's clock says {local_datetime(now)}, {days} days after the newest signed time it "
        f"knows ({local_datetime(newest)}): the kiosk's clock is probably wrong; {HOW_TO_CHECK} "
        "(if the clock is right, the DoIC must re-sign the expired metadata)"
    )
