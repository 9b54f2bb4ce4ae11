"""Who is asking: bearer tokens (API) and session cookies (dashboard).

Routes declare what they need with `Depends(require("viewer"))` (or
"editor", "publisher", "admin"). A request with a session cookie that changes
something must also carry the session's CSRF token (header `X-CSRF-Token`,
or the form field `csrf` checked by the dashboard's form handlers through
`check_csrf`); bearer requests need none, since a browser never adds them
by itself.

Sign-in is throttled per user name and per client address: after
`MAX_FAILURES` wrong passwords within `LOCK_S` seconds further attempts are
refused until the window passes. The server keeps the failures in the fleet
store (`StoreLoginThrottle`), so that two server processes behind one nginx,
or a restarted one, count them together; `LoginThrottle` keeps them in memory.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import HTTPException, Request
from sqlalchemy import delete, func, select

from server.store import Store
from server.store.schema import login_failures
from server.web.accounts import Role, Session, User, session_for, token_user, verify_login

SESSION_COOKIE = "bgk_session"
CSRF_HEADER = "X-CSRF-Token"
MAX_FAILURES = 5
LOCK_S = 15 * 60


@dataclass(frozen=True)
class Principal:
    user: User
    #: the dashboard session, or None for a bearer token
    session: Session | None


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def now_of(request: Request) -> float:
    clock: Callable[[], float] = request.app.state.clock
    return clock()


def authenticate(request: Request) -> Principal | None:
    """The signed-in user of this request, or None."""
    store, now = store_of(request), now_of(request)
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        user = token_user(store, token.strip(), now=now)
        return None if user is None else Principal(user, None)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        session = session_for(store, cookie, now=now)
        if session is not None:
            return Principal(session.user, session)
    return None


def check_csrf(principal: Principal, token: str | None) -> None:
    """Refuse a cookie-authenticated change without the session's form token."""
    if principal.session is None:
        return
    if not token or not hmac.compare_digest(token, principal.session.csrf):
        raise HTTPException(
            403, "this form has expired or did not come from the dashboard: reload the page"
        )


def require(role: Role) -> Callable[[Request], Principal]:
    """A FastAPI dependency: the request's user, who must have `role`."""

    def dependency(request: Request) -> Principal:
        principal = authenticate(request)
        if principal is None:
            raise HTTPException(
                401,
                "sign in, or send `Authorization: Bearer <token>` "
                "(`bgk server token create --user NAME` makes one)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not principal.user.can(role):
            raise HTTPException(
                403, f"this needs the {role} role; {principal.user.name} is {principal.user.role}"
            )
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            check_csrf(principal, request.headers.get(CSRF_HEADER))
        return principal

    return dependency


class LoginRefused(Exception):
    """A sign-in that failed; the message says why in the user's words."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        #: "wrong" (name or password) or "locked"
        self.reason = reason
        self.retry_after = retry_after


class LoginThrottle:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        while q and now - q[0] > LOCK_S:
            q.popleft()
        return q

    def check(self, keys: list[str]) -> None:
        now = self._clock()
        with self._lock:
            for key in keys:
                q = self._recent(key, now)
                if len(q) >= MAX_FAILURES:
                    raise LoginRefused("locked", retry_after=LOCK_S - (now - q[0]))

    def failed(self, keys: list[str]) -> None:
        now = self._clock()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)
            if len(self._failures) > 10_000:  # forget the quiet ones
                for k in [k for k, q in self._failures.items() if not self._recent(k, now)]:
                    del self._failures[k]

    def succeeded(self, name_key: str) -> None:
        with self._lock:
            self._failures.pop(name_key, None)


class StoreLoginThrottle:
    """LoginThrottle's rules, the failures kept in the store's `login_failures`."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self._clock = clock

    def check(self, keys: list[str]) -> None:
        now = self._clock()
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                select(login_failures.c.key, func.count(), func.min(login_failures.c.at))
                .where(login_failures.c.key.in_(keys), login_failures.c.at >= now - LOCK_S)
                .group_by(login_failures.c.key)
            ).all()
        for _key, count, oldest in rows:
            if count >= MAX_FAILURES:
                raise LoginRefused("locked", retry_after=LOCK_S - (now - oldest))

    def failed(self, keys: list[str]) -> None:
        now = self._clock()
        with self.store.engine.begin() as conn:
            conn.execute(delete(login_failures).where(login_failures.c.at < now - LOCK_S))
            conn.execute(login_failures.insert(), [{"key": k[:200], "at": now} for k in keys])

    def succeeded(self, name_key: str) -> None:
        with self.store.engine.begin() as conn:
            conn.execute(delete(login_failures).where(login_failures.c.key == name_key))


def attempt_login(request: Request, name: str, password: str) -> User:
    """Check a sign-in (throttled); raises LoginRefused."""
    throttle: LoginThrottle | StoreLoginThrottle = request.app.state.login_throttle
    client = request.client.host if request.client else "?"
    keys = [f"user:{name.strip().lower()}", f"addr:{client}"]
    throttle.check(keys)
    user = verify_login(store_of(request), name.strip().lower(), password)
    if user is None:
        throttle.failed(keys)
        raise LoginRefused("wrong")
    throttle.succeeded(keys[0])
    return user
