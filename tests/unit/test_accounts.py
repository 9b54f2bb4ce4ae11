"""Accounts on SQLite and PostgreSQL: passwords, roles, tokens, sessions, and
what disabling a user or changing a password takes away."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kiosk.protocol.errors import UsageError
from server.store import Store
from server.store.schema import api_tokens, users, web_sessions
from server.web import accounts as acc
from server.web.auth import MAX_FAILURES, LoginRefused, LoginThrottle

T0 = 1_780_000_000.0
PW = "mật khẩu đủ dài 123"


def test_passwords_are_kept_as_salted_hashes_and_checked(store: Store) -> None:
    acc.add_user(store, "ana", "admin", PW, now=T0)
    acc.add_user(store, "bob", "viewer", PW, now=T0)
    with store.engine.connect() as conn:
        hashes = dict(conn.execute(select(users.c.name, users.c.pw_hash)).all())
    assert PW not in hashes["ana"] and hashes["ana"].startswith("scrypt$")
    assert hashes["ana"] != hashes["bob"]  # salted
    assert acc.verify_login(store, "ana", PW) == acc.User("ana", "admin")
    assert acc.verify_login(store, "ana", PW + "x") is None
    assert acc.verify_login(store, "nobody", PW) is None


def test_bad_names_roles_passwords_and_duplicates_are_refused(store: Store) -> None:
    with pytest.raises(UsageError, match="user name"):
        acc.add_user(store, "Ana Nguyen", "admin", PW, now=T0)
    with pytest.raises(UsageError, match="unknown role"):
        acc.add_user(store, "ana", "root", PW, now=T0)
    with pytest.raises(UsageError, match="at least 10"):
        acc.add_user(store, "ana", "admin", "short", now=T0)
    acc.add_user(store, "ana", "admin", PW, now=T0)
    with pytest.raises(acc.AccountError, match="exists"):
        acc.add_user(store, "ana", "viewer", PW, now=T0)
    assert [u.name for u in acc.list_users(store)] == ["ana"]


def test_roles_include_the_ones_below() -> None:
    admin, publisher, viewer = (acc.User("x", r) for r in ("admin", "publisher", "viewer"))
    assert admin.can("publisher") and admin.can("viewer")
    assert publisher.can("viewer") and not publisher.can("admin")
    assert viewer.can("viewer") and not viewer.can("publisher")


def test_tokens_are_shown_once_kept_as_hashes_and_revocable(store: Store) -> None:
    acc.add_user(store, "mon", "viewer", PW, now=T0)
    token = acc.create_token(store, "mon", now=T0, label="monitoring")
    with store.engine.connect() as conn:
        kept = conn.execute(select(api_tokens.c.token_hash, api_tokens.c.prefix)).one()
    assert token not in kept.token_hash and token.startswith(kept.prefix)
    assert acc.token_user(store, token, now=T0 + 5) == acc.User("mon", "viewer")
    assert acc.token_user(store, token + "x", now=T0) is None
    assert acc.token_user(store, "not-a-token", now=T0) is None
    [listed] = acc.list_tokens(store)
    assert listed.last_used_at == T0 + 5 and listed.label == "monitoring"
    acc.revoke_token(store, listed.prefix, now=T0 + 10)
    assert acc.token_user(store, token, now=T0 + 11) is None
    with pytest.raises(acc.AccountError, match="no active token"):
        acc.revoke_token(store, listed.prefix, now=T0 + 12)
    with pytest.raises(acc.AccountError, match="no active user"):
        acc.create_token(store, "ghost", now=T0)


def test_sessions_expire_and_end_with_a_new_password(store: Store) -> None:
    user = acc.add_user(store, "ana", "publisher", PW, now=T0)
    cookie, session = acc.start_session(store, acc.User(user.name, user.role), now=T0)
    found = acc.session_for(store, cookie, now=T0 + 60)
    assert found is not None and found.user.role == "publisher" and found.csrf == session.csrf
    with store.engine.connect() as conn:
        assert cookie not in str(conn.execute(select(web_sessions)).all())
    assert acc.session_for(store, cookie, now=T0 + acc.SESSION_S + 1) is None
    assert acc.session_for(store, cookie + "x", now=T0) is None
    acc.set_password(store, "ana", PW + "!")
    assert acc.session_for(store, cookie, now=T0 + 60) is None
    assert acc.verify_login(store, "ana", PW) is None
    assert acc.verify_login(store, "ana", PW + "!") is not None
    cookie, _ = acc.start_session(store, acc.User("ana", "publisher"), now=T0)
    acc.end_session(store, cookie)
    assert acc.session_for(store, cookie, now=T0 + 1) is None


def test_disabling_a_user_ends_sessions_tokens_and_sign_in(store: Store) -> None:
    acc.add_user(store, "bob", "admin", PW, now=T0)
    token = acc.create_token(store, "bob", now=T0)
    cookie, _ = acc.start_session(store, acc.User("bob", "admin"), now=T0)
    acc.disable_user(store, "bob", now=T0 + 1)
    assert acc.verify_login(store, "bob", PW) is None
    assert acc.token_user(store, token, now=T0 + 2) is None
    assert acc.session_for(store, cookie, now=T0 + 2) is None
    acc.enable_user(store, "bob")
    assert acc.verify_login(store, "bob", PW) is not None
    assert acc.token_user(store, token, now=T0 + 3) is None  # revoked tokens stay revoked
    acc.set_role(store, "bob", "viewer")
    assert acc.verify_login(store, "bob", PW) == acc.User("bob", "viewer")
    with pytest.raises(acc.AccountError, match="no user"):
        acc.disable_user(store, "ghost", now=T0)


def test_sign_in_is_locked_after_repeated_failures_then_released() -> None:
    clock = [0.0]
    throttle = LoginThrottle(clock=lambda: clock[0])
    keys = ["user:ana", "addr:10.0.0.5"]
    for _ in range(MAX_FAILURES):
        throttle.check(keys)
        throttle.failed(keys)
    with pytest.raises(LoginRefused) as refused:
        throttle.check(keys)
    assert refused.value.reason == "locked" and refused.value.retry_after
    # another address trying the same user is locked too; another user from elsewhere is not
    with pytest.raises(LoginRefused):
        throttle.check(["user:ana", "addr:10.0.0.9"])
    throttle.check(["user:bob", "addr:10.0.0.9"])
    clock[0] += 15 * 60 + 1
    throttle.check(keys)
