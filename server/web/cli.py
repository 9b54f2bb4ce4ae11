"""`bgk server user …` and `bgk server token …`: accounts of the dashboard and API."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kiosk.common.cli import Registry
from kiosk.protocol.errors import UsageError


def _by() -> str:
    """Who runs the command (the system account), for the audit log."""
    from server.packs.publications import cli_user

    return cli_user()


def register(registry: Registry) -> None:
    registry.group("server user", "dashboard and API users: add, list, passwd, role, disable")
    registry.group("server token", "API tokens: create, list, revoke")

    p = registry.add("server user add", "add a user of the dashboard and API", _user_add)
    p.add_argument("name", help="user name: lowercase letters, digits, '.', '_', '-'")
    p.add_argument("--role", required=True, choices=("viewer", "editor", "publisher", "admin"))
    _common(p)
    _password_source(p)

    p = registry.add("server user list", "list the users and their roles", _user_list)
    _common(p)

    p = registry.add("server user passwd", "set a user's password (ends their sessions)", _passwd)
    p.add_argument("name")
    _common(p)
    _password_source(p)

    p = registry.add("server user role", "change a user's role", _role)
    p.add_argument("name")
    p.add_argument("role", choices=("viewer", "editor", "publisher", "admin"))
    _common(p)

    p = registry.add(
        "server user disable", "stop a user signing in; revokes their tokens", _disable
    )
    p.add_argument("name")
    _common(p)

    p = registry.add("server user enable", "let a disabled user sign in again", _enable)
    p.add_argument("name")
    _common(p)

    p = registry.add("server token create", "a new API token (shown once)", _token_create)
    p.add_argument("--user", required=True, help="the user the token acts as")
    p.add_argument("--label", help="what the token is for, e.g. 'monitoring'")
    _common(p)

    p = registry.add("server token list", "API tokens (their first characters)", _token_list)
    p.add_argument("--user", help="only this user's tokens")
    _common(p)

    p = registry.add("server token revoke", "revoke an API token", _token_revoke)
    p.add_argument("prefix", help="the token's first characters, as `token list` shows them")
    _common(p)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, required=True, help="the server data folder")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _password_source(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input",
    )
    p.add_argument(
        "--generate",
        action="store_true",
        help="make up a password and print it once (also when no terminal can ask)",
    )


def _read_password(args: argparse.Namespace) -> tuple[str, bool]:
    """(password, whether it was generated)."""
    from server.web.accounts import check_password, generate_password

    if args.password_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        return check_password(line), False
    if args.generate or not sys.stdin.isatty():
        return generate_password(), True
    first = getpass.getpass("new password: ")
    check_password(first)
    if getpass.getpass("again: ") != first:
        raise UsageError("the two passwords differ: run the command again")
    return first, False


@contextlib.contextmanager
def _store(args: argparse.Namespace) -> Iterator[Any]:
    from server.config import load_server_config
    from server.store import open_store

    store = open_store(load_server_config(args.data).store_url)
    try:
        yield store
    finally:
        store.dispose()


def _out(args: argparse.Namespace, body: Any, text: str) -> None:
    print(json.dumps(body, ensure_ascii=False) if args.json else text)


def _out_password(
    args: argparse.Namespace, body: dict[str, Any], text: str, password: str, generated: bool
) -> None:
    """The result; a generated password is shown this once (it is kept only as a hash)."""
    if generated:
        body = {**body, "password": password}
        text += f"; password (shown once): {password}"
    _out(args, body, text)


def _user_add(args: argparse.Namespace) -> int:
    from server.web.accounts import add_user, check_role, check_user_name

    check_user_name(args.name)
    check_role(args.role)
    password, generated = _read_password(args)
    with _store(args) as store:
        add_user(store, args.name, args.role, password, now=time.time(), by=_by())
    body = {"name": args.name, "role": args.role}
    _out_password(args, body, f"user {args.name} ({args.role}) added", password, generated)
    return 0


def _user_list(args: argparse.Namespace) -> int:
    from server.fleet.view import local_time
    from server.web.accounts import list_users

    with _store(args) as store:
        rows = list_users(store)
    body = [
        {
            "name": u.name,
            "role": u.role,
            "created_at": u.created_at,
            "disabled": bool(u.disabled_at),
        }
        for u in rows
    ]
    lines = [
        f"{u.name:<20} {u.role:<10} since {local_time(u.created_at)}"
        + (f"  DISABLED {local_time(u.disabled_at)}" if u.disabled_at else "")
        for u in rows
    ]
    _out(args, body, "\n".join(lines) or "no users yet: `bgk server user add NAME --role admin`")
    return 0


def _passwd(args: argparse.Namespace) -> int:
    from server.web.accounts import set_password

    password, generated = _read_password(args)
    with _store(args) as store:
        set_password(store, args.name, password, by=_by())
    text = f"new password for {args.name}; their open sessions ended"
    _out_password(args, {"name": args.name}, text, password, generated)
    return 0


def _role(args: argparse.Namespace) -> int:
    from server.web.accounts import set_role

    with _store(args) as store:
        set_role(store, args.name, args.role, by=_by())
    _out(args, {"name": args.name, "role": args.role}, f"{args.name} is now {args.role}")
    return 0


def _disable(args: argparse.Namespace) -> int:
    from server.web.accounts import disable_user

    with _store(args) as store:
        disable_user(store, args.name, now=time.time(), by=_by())
    _out(
        args,
        {"name": args.name, "disabled": True},
        f"{args.name} can no longer sign in; their sessions ended and tokens are revoked",
    )
    return 0


def _enable(args: argparse.Namespace) -> int:
    from server.web.accounts import enable_user

    with _store(args) as store:
        enable_user(store, args.name)
    _out(args, {"name": args.name, "disabled": False}, f"{args.name} can sign in again")
    return 0


def _token_create(args: argparse.Namespace) -> int:
    from server.web.accounts import create_token

    with _store(args) as store:
        token = create_token(store, args.user, now=time.time(), label=args.label, by=_by())
    _out(
        args,
        {"user": args.user, "token": token},
        f"token for {args.user} (shown once; send it as `Authorization: Bearer <token>`):\n{token}",
    )
    return 0


def _token_list(args: argparse.Namespace) -> int:
    from server.fleet.view import local_time
    from server.web.accounts import list_tokens

    with _store(args) as store:
        rows = list_tokens(store, args.user)
    body = [
        {
            "prefix": t.prefix,
            "user": t.user_name,
            "label": t.label,
            "created_at": t.created_at,
            "last_used_at": t.last_used_at,
            "revoked": t.revoked_at is not None,
        }
        for t in rows
    ]
    lines = [
        f"{t.prefix}…  {t.user_name:<16} {t.label or '':<20} since {local_time(t.created_at)}"
        + (f", last used {local_time(t.last_used_at)}" if t.last_used_at else ", never used")
        + ("  REVOKED" if t.revoked_at else "")
        for t in rows
    ]
    _out(args, body, "\n".join(lines) or "no tokens yet: `bgk server token create --user NAME`")
    return 0


def _token_revoke(args: argparse.Namespace) -> int:
    from server.web.accounts import revoke_token

    with _store(args) as store:
        revoke_token(store, args.prefix.rstrip("…"), now=time.time(), by=_by())
    _out(args, {"prefix": args.prefix, "revoked": True}, f"token {args.prefix}… revoked")
    return 0
