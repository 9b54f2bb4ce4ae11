"""Broker identities: one per kiosk, a few for the server processes.

A kiosk's MQTT username (and client id, since the broker sets
`use_username_as_clientid`) is its kiosk id; its password is 24 random
bytes issued at enrolment, written into its bundle and kept here only as
Mosquitto's PBKDF2-SHA512 hash (`$7$` format of mosquitto_passwd).
Revoking a kiosk deletes its hash, so the next broker files refuse it.

Server processes log in as `_server-1` ... `_server-N` ("_" is never in a
kiosk id); their passwords are HMAC-SHA256(DATA/mqtt/server.secret, name),
so any process that can read the data directory knows them and nothing
stores them in clear.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets

from sqlalchemy import Connection, delete, insert, select, update

from kiosk.protocol.errors import UsageError
from server.broker.identity import Identity
from server.broker.pki import FleetKeys
from server.store import Store
from server.store.schema import kiosks, mqtt_credentials

#: Mosquitto's default iteration count for $7$ hashes (mosquitto_passwd 2.0)
PBKDF2_ITERATIONS = 101
SERVER_PREFIX = "_server-"
__all__ = [
    "Identity",
    "issue_kiosk_password",
    "issue_password",
    "mosquitto_hash",
    "server_identity",
]


def mosquitto_hash(
    password: str, *, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS
) -> str:
    """`$7$<iterations>$<salt b64>$<hash b64>` exactly as mosquitto_passwd writes it."""
    salt = salt if salt is not None else os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, 64)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_mosquitto_hash(password: str, stored: str) -> bool:
    try:
        _, seven, iterations, salt, digest = stored.split("$")
        if seven != "7":
            return False
        want = base64.b64decode(digest)
        got = hashlib.pbkdf2_hmac(
            "sha512", password.encode(), base64.b64decode(salt), int(iterations), len(want)
        )
    except ValueError:
        return False
    return hmac.compare_digest(want, got)


def new_password() -> str:
    return secrets.token_urlsafe(24)


def server_identity(keys: FleetKeys, index: int) -> Identity:
    """The broker login of server process number `index` (1-based)."""
    if index < 1:
        raise UsageError("server MQTT client numbers start at 1")
    name = f"{SERVER_PREFIX}{index}"
    mac = hmac.new(keys.secret(), name.encode(), hashlib.sha256).digest()
    return Identity(name, base64.urlsafe_b64encode(mac).decode().rstrip("="))


def server_password_lines(keys: FleetKeys, server_clients: int) -> list[tuple[str, str]]:
    """(name, hash) of the server accounts for the broker's passwd; the salt derives
    from the server secret too, so the same secret always gives the same file."""
    lines = []
    for i in range(1, server_clients + 1):
        ident = server_identity(keys, i)
        salt = hmac.new(keys.secret(), b"salt:" + ident.username.encode(), hashlib.sha256)
        lines.append((ident.username, mosquitto_hash(ident.password, salt=salt.digest()[:12])))
    return lines


def issue_kiosk_password(store: Store, kiosk_id: str, now: float) -> Identity:
    """A new password for an enrolled kiosk (replacing any previous one)."""
    with store.engine.begin() as conn:
        return issue_password(conn, kiosk_id, now)


def issue_password(conn: Connection, kiosk_id: str, now: float) -> Identity:
    """`issue_kiosk_password` inside the caller's transaction (enrolment)."""
    password = new_password()
    hashed = mosquitto_hash(password)
    enrolled = conn.execute(
        select(kiosks.c.id).where(kiosks.c.id == kiosk_id, kiosks.c.revoked_at.is_(None))
    ).first()
    if enrolled is None:
        raise UsageError(f"kiosk {kiosk_id!r} is not enrolled: enrol it first")
    done = conn.execute(
        update(mqtt_credentials)
        .where(mqtt_credentials.c.kiosk_id == kiosk_id)
        .values(pw_hash=hashed, issued_at=now)
    )
    if done.rowcount == 0:
        conn.execute(
            insert(mqtt_credentials).values(kiosk_id=kiosk_id, pw_hash=hashed, issued_at=now)
        )
    return Identity(kiosk_id, password)


def drop_kiosk_password(store: Store, kiosk_id: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(delete(mqtt_credentials).where(mqtt_credentials.c.kiosk_id == kiosk_id))


def active_kiosk_hashes(source: Store | Connection) -> list[tuple[str, str]]:
    """(kiosk id, hash) of every active (not revoked) kiosk that has a password; from a
    connection, as that transaction sees them (an enrolment not yet committed)."""
    query = (
        select(mqtt_credentials.c.kiosk_id, mqtt_credentials.c.pw_hash)
        .join(kiosks, kiosks.c.id == mqtt_credentials.c.kiosk_id)
        .where(kiosks.c.revoked_at.is_(None))
        .order_by(mqtt_credentials.c.kiosk_id)
    )
    if isinstance(source, Connection):
        return [(row.kiosk_id, row.pw_hash) for row in source.execute(query)]
    with source.engine.connect() as conn:
        return [(row.kiosk_id, row.pw_hash) for row in conn.execute(query)]
