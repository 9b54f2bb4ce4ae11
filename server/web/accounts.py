"""Accounts of the dashboard and the JSON API: users, API tokens, web sessions.

Roles, each allowing what the one before allows:
    viewer     reads the fleet, alerts, packs, screenshots, the workspace's drafts
    editor     also writes pack drafts, uploads media, requests publication
               (the workspace: server/workspace/)
    publisher  also sends commands and notices to kiosks and publishes packs
    admin      also manages users and tokens

Passwords are kept as scrypt hashes (hashlib, the standard library), tokens
and session cookies as their SHA-256: what the database holds cannot be
used to sign in. Every function takes the store and the time, so that tests
can run them against SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import Literal, cast

from sqlalchemy import Connection, delete, select, update

from kiosk.protocol.errors import UsageError
from server.audit import log as audit
from server.errors import RequestWrong
from server.store import Store
from server.store.schema import api_tokens, users, web_sessions

Role = Literal["viewer", "editor", "publisher", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "editor", "publisher", "admin")
#: how long a dashboard sign-in lasts
SESSION_S = 12 * 3600
MIN_PASSWORD = 10
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
#: scrypt cost: 16 MiB and ~50 ms per check on a Pi 4
_N, _R, _P = 2**14, 8, 1
TOKEN_PREFIX = "bgk_"

#: the actor recorded when a caller does not say who acts (scripts, tests)
SYSTEM = "system"


def _now(now: float | None) -> float:
    return time.time() if now is None else now


class AccountError(RequestWrong):
    """A request about accounts that cannot be done (unknown user, ...)."""


@dataclass(frozen=True)
class User:
    name: str
    role: Role

    def can(self, role: Role) -> bool:
        """Whether this user has `role` or a higher one."""
        return ROLES.index(self.role) >= ROLES.index(role)


@dataclass(frozen=True)
class UserRecord:
    name: str
    role: Role
    created_at: float
    disabled_at: float | None


@dataclass(frozen=True)
class TokenRecord:
    prefix: str
    user_name: str
    label: str | None
    created_at: float
    last_used_at: float | None
    revoked_at: float | None


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str
    expires_at: float


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise UsageError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    return role


def check_user_name(name: str) -> str:
    if not _NAME.match(name):
        raise UsageError(
            f"user name {name!r}: use 1-64 lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"the password must have at least {MIN_PASSWORD} characters")
    if password != password.strip():
        raise UsageError("the password must not start or end with spaces")
    return password


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def password_matches(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        want = base64.b64decode(digest)
        got = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(want),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


#: a hash to check against when the user does not exist, so that a wrong
#: name takes as long as a wrong password
_DUMMY_HASH = hash_password(secrets.token_hex(16))


def generate_password() -> str:
    """A password a person can type: 4 groups of 5 letters and digits."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4))


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# --- users --------------------------------------------------------------------


def add_user(
    store: Store, name: str, role: str, password: str, *, now: float, by: str = SYSTEM
) -> UserRecord:
    name, role_ = check_user_name(name), check_role(role)
    pw_hash = hash_password(check_password(password))
    with store.engine.begin() as conn:
        if conn.execute(select(users.c.name).where(users.c.name == name)).first():
            raise AccountError(
                f"user {name!r} exists: `bgk server user passwd {name}` sets a new password"
            )
        conn.execute(users.insert().values(name=name, role=role_, pw_hash=pw_hash, created_at=now))
        audit.append(
            store, by, "account.added", f"user:{name}", {"role": role_}, now=now, conn=conn
        )
    return UserRecord(name, role_, now, None)


def list_users(store: Store) -> list[UserRecord]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(users).order_by(users.c.name)).all()
    return [UserRecord(r.name, cast(Role, r.role), r.created_at, r.disabled_at) for r in rows]


def _existing(conn: Connection, name: str) -> None:
    if conn.execute(select(users.c.name).where(users.c.name == name)).first() is None:
        raise AccountError(f"no user {name!r}: `bgk server user list` shows them")


def set_password(
    store: Store, name: str, password: str, *, by: str = SYSTEM, now: float | None = None
) -> None:
    """New password; the user's open sessions end (tokens stay)."""
    pw_hash = hash_password(check_password(password))
    with store.engine.begin() as conn:
        _existing(conn, name)
        audit.append(store, by, "account.password", f"user:{name}", now=_now(now), conn=conn)
        conn.execute(update(users).where(users.c.name == name).values(pw_hash=pw_hash))
        conn.execute(delete(web_sessions).where(web_sessions.c.user_name == name))


def set_role(
    store: Store, name: str, role: str, *, by: str = SYSTEM, now: float | None = None
) -> None:
    role_ = check_role(role)
    with store.engine.begin() as conn:
        _existing(conn, name)
        old = conn.execute(select(users.c.role).where(users.c.name == name)).scalar_one()
        details = {"role": role_, "was": old}
        audit.append(store, by, "account.role", f"user:{name}", details, now=_now(now), conn=conn)
        conn.execute(update(users).where(users.c.name == name).values(role=role_))


def disable_user(store: Store, name: str, *, now: float, by: str = SYSTEM) -> None:
    """No more sign-ins; the user's sessions end and tokens are revoked."""
    with store.engine.begin() as conn:
        _existing(conn, name)
        audit.append(store, by, "account.disabled", f"user:{name}", now=now, conn=conn)
        conn.execute(
            update(users)
            .where(users.c.name == name, users.c.disabled_at.is_(None))
            .values(disabled_at=now)
        )
        conn.execute(delete(web_sessions).where(web_sessions.c.user_name == name))
        conn.execute(
            update(api_tokens)
            .where(api_tokens.c.user_name == name, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )


def enable_user(store: Store, name: str, *, by: str = SYSTEM, now: float | None = None) -> None:
    with store.engine.begin() as conn:
        _existing(conn, name)
        audit.append(store, by, "account.enabled", f"user:{name}", now=_now(now), conn=conn)
        conn.execute(update(users).where(users.c.name == name).values(disabled_at=None))


def verify_login(store: Store, name: str, password: str) -> User | None:
    """The user, when the name and password are right and the account active."""
    with store.engine.connect() as conn:
        row = conn.execute(
            select(users.c.role, users.c.pw_hash, users.c.disabled_at).where(users.c.name == name)
        ).first()
    if row is None:
        password_matches(password, _DUMMY_HASH)
        return None
    if not password_matches(password, row.pw_hash) or row.disabled_at is not None:
        return None
    return User(name, cast(Role, row.role))


def _active_user(conn: Connection, name: str) -> User | None:
    row = conn.execute(
        select(users.c.role).where(users.c.name == name, users.c.disabled_at.is_(None))
    ).first()
    return None if row is None else User(name, cast(Role, row.role))


# --- API tokens -----------------------------------------------------------------


def create_token(
    store: Store, user_name: str, *, now: float, label: str | None = None, by: str = SYSTEM
) -> str:
    """A new bearer token for the user; shown once, only its hash is kept."""
    if label is not None and len(label) > 100:
        raise UsageError("a token label has at most 100 characters")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store.engine.begin() as conn:
        if _active_user(conn, user_name) is None:
            raise AccountError(
                f"no active user {user_name!r}: `bgk server user add {user_name} --role ...` first"
            )
        conn.execute(
            api_tokens.insert().values(
                token_hash=_sha(token),
                prefix=token[: len(TOKEN_PREFIX) + 8],
                user_name=user_name,
                label=label,
                created_at=now,
            )
        )
        details = {"prefix": token[: len(TOKEN_PREFIX) + 8], "label": label}
        audit.append(store, by, "token.created", f"user:{user_name}", details, now=now, conn=conn)
    return token


def list_tokens(store: Store, user_name: str | None = None) -> list[TokenRecord]:
    query = select(api_tokens).order_by(api_tokens.c.user_name, api_tokens.c.created_at)
    if user_name is not None:
        query = query.where(api_tokens.c.user_name == user_name)
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        TokenRecord(r.prefix, r.user_name, r.label, r.created_at, r.last_used_at, r.revoked_at)
        for r in rows
    ]


def revoke_token(store: Store, prefix: str, *, now: float, by: str = SYSTEM) -> None:
    with store.engine.begin() as conn:
        done = conn.execute(
            update(api_tokens)
            .where(api_tokens.c.prefix == prefix, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        if done.rowcount == 0:
            raise AccountError(
                f"no active token starting {prefix!r}: `bgk server token list` shows them"
            )
        audit.append(store, by, "token.revoked", f"token:{prefix}", now=now, conn=conn)


def token_user(store: Store, token: str, *, now: float) -> User | None:
    """The active user a bearer token belongs to, or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = _sha(token)
    with store.engine.begin() as conn:
        row = conn.execute(
            select(api_tokens.c.user_name, api_tokens.c.last_used_at).where(
                api_tokens.c.token_hash == digest, api_tokens.c.revoked_at.is_(None)
            )
        ).first()
        if row is None:
            return None
        user = _active_user(conn, row.user_name)
        if user is not None and (row.last_used_at is None or now - row.last_used_at > 60):
            conn.execute(
                update(api_tokens).where(api_tokens.c.token_hash == digest).values(last_used_at=now)
            )
    return user


# --- web sessions -----------------------------------------------------------------


def start_session(store: Store, user: User, *, now: float) -> tuple[str, Session]:
    """A new session for a signed-in user: (cookie value, session)."""
    cookie = secrets.token_urlsafe(32)
    session = Session(user, secrets.token_urlsafe(24), now + SESSION_S)
    with store.engine.begin() as conn:
        conn.execute(delete(web_sessions).where(web_sessions.c.expires_at < now))
        conn.execute(
            web_sessions.insert().values(
                session_hash=_sha(cookie),
                user_name=user.name,
                csrf=session.csrf,
                created_at=now,
                expires_at=session.expires_at,
            )
        )
    return cookie, session


def session_for(store: Store, cookie: str, *, now: float) -> Session | None:
    if not cookie or len(cookie) > 200:
        return None
    with store.engine.connect() as conn:
        row = conn.execute(
            select(web_sessions.c.user_name, web_sessions.c.csrf, web_sessions.c.expires_at).where(
                web_sessions.c.session_hash == _sha(cookie), web_sessions.c.expires_at > now
            )
        ).first()
        if row is None:
            return None
        user = _active_user(conn, row.user_name)
    return None if user is None else Session(user, row.csrf, row.expires_at)


def end_session(store: Store, cookie: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(delete(web_sessions).where(web_sessions.c.session_hash == _sha(cookie)))
