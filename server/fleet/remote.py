"""Commands to kiosks: queued in the store, signed, sent by the running server.

`queue_command` (the CLI, the dashboard's API) validates, signs with the
server's Ed25519 command key and stores the command as `queued`; the
server's fleet service publishes queued commands on bgk/v1/kiosk/{id}/cmd
(QoS 1, message expiry = what is left of the command's life) and marks them
`sent` when the broker has them. Kiosk acks move them to accepted, done or
failed; the sweeper marks those never acknowledged in time `expired`.
Kiosks run a command at most once per cmd_id, so sending one twice (a
server restart before the broker's PUBACK) is harmless.
"""

from __future__ import annotations

import base64
import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from kiosk.protocol.errors import UsageError
from kiosk.protocol.payloads import Command, Op, PayloadError, command_args, command_signing_bytes
from kiosk.protocol.topics import Kind, kiosk_topic
from server.audit import log as audit
from server.broker.pki import FleetKeys
from server.store import Store
from server.store.schema import commands, kiosks

OPS: tuple[Op, ...] = ("reboot", "resync", "screenshot", "notice")


@dataclass(frozen=True)
class QueuedCommand:
    cmd_id: str
    kiosk_id: str
    op: str
    exp: float


@dataclass(frozen=True)
class Outgoing:
    cmd_id: str
    topic: str
    payload: bytes
    #: seconds left before the command expires (the MQTT message expiry)
    expiry_s: int


def new_notice_id(now: float) -> str:
    """A notice's id: its time (ms) and a random part, so that two notices sent in the
    same millisecond (two server processes, two publishers) never merge."""
    return f"n{int(now * 1000)}-{secrets.token_hex(3)}"


def sign_command(keys: FleetKeys, cmd: Command) -> Command:
    sig = keys.load_command_key().sign(command_signing_bytes(cmd))
    return cmd.model_copy(update={"sig": base64.b64encode(sig).decode()})


def queue_command(
    store: Store,
    keys: FleetKeys,
    kiosk_id: str,
    op: str,
    args: dict[str, Any],
    *,
    now: float,
    ttl_s: float,
    created_by: str | None = None,
    sent_anyway: dict[str, str] | None = None,
) -> QueuedCommand:
    """Validate, sign and store a command for the running server to send
    (`sent_anyway`: a notice's characters the kiosk lacks that the sender accepted)."""
    return queue_commands(
        store, keys, [kiosk_id], op, args, now=now, ttl_s=ttl_s, created_by=created_by,
        sent_anyway={kiosk_id: sent_anyway},
    )[0]  # fmt: skip


def queue_commands(
    store: Store,
    keys: FleetKeys,
    kiosk_ids: list[str],
    op: str,
    args: dict[str, Any],
    *,
    now: float,
    ttl_s: float,
    created_by: str | None = None,
    sent_anyway: Mapping[str, dict[str, str] | None] | None = None,
) -> list[QueuedCommand]:
    """The same command for each of `kiosk_ids`, each signed for its kiosk, stored in
    one transaction (a notice to a fleet of 2,000 took a transaction per kiosk);
    `sent_anyway` per kiosk, as for queue_command."""
    if op not in OPS:
        raise UsageError(f"unknown command {op!r}: use one of {', '.join(OPS)}")
    if not 10 <= ttl_s <= 7 * 86400:
        raise UsageError("a command must expire between 10 s and 7 days after it is sent")
    key = keys.load_command_key()
    rows, queued = [], []
    for kiosk_id in kiosk_ids:
        cmd = Command(
            cmd_id=secrets.token_hex(12), op=op, args=args, kiosk=kiosk_id, iat=now, exp=now + ttl_s
        )
        try:
            command_args(cmd)
        except PayloadError as exc:
            raise UsageError(str(exc)) from None
        signed = cmd.model_copy(
            update={"sig": base64.b64encode(key.sign(command_signing_bytes(cmd))).decode()}
        )
        rows.append(
            {
                "cmd_id": signed.cmd_id, "kiosk_id": kiosk_id, "op": op, "args": args,
                "created_at": now, "created_by": created_by, "exp": signed.exp,
                "payload": signed.to_bytes(), "state": "queued",
                "sent_anyway": (sent_anyway or {}).get(kiosk_id) or None,
            }
        )  # fmt: skip
        queued.append(QueuedCommand(signed.cmd_id, kiosk_id, op, signed.exp))
    with store.engine.begin() as conn:
        known: set[str] = set()
        for i in range(0, len(kiosk_ids), 5000):
            known.update(
                conn.execute(
                    select(kiosks.c.id).where(
                        kiosks.c.id.in_(kiosk_ids[i : i + 5000]), kiosks.c.revoked_at.is_(None)
                    )
                ).scalars()
            )
        for kiosk_id in kiosk_ids:
            if kiosk_id not in known:
                raise UsageError(f"kiosk {kiosk_id!r} is not enrolled (see `bgk server fleet`)")
        if rows:
            conn.execute(commands.insert(), rows)
            obj = f"kiosk:{kiosk_ids[0]}" if len(kiosk_ids) == 1 else f"kiosks:{len(kiosk_ids)}"
            details: dict[str, Any] = {
                "cmd_ids": [q.cmd_id for q in queued][:50],
                "kiosks": kiosk_ids[:50],
            }
            if op != "notice":  # a notice's text is in its notice.sent entry
                details["args"] = args
            actor = created_by or "system"
            audit.append(store, actor, f"command.{op}", obj, details, now=now, conn=conn)
    return queued


def due_commands(store: Store, now: float, skip: set[str], limit: int = 500) -> list[Outgoing]:
    """Queued commands not yet handed to the broker by this process."""
    query = (
        select(commands.c.cmd_id, commands.c.kiosk_id, commands.c.payload, commands.c.exp)
        .where(commands.c.state == "queued", commands.c.exp > now)
        .order_by(commands.c.created_at)
        .limit(limit + len(skip))
    )
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    out = []
    for row in rows:
        if row.cmd_id in skip:
            continue
        out.append(
            Outgoing(
                row.cmd_id,
                kiosk_topic(row.kiosk_id, Kind.CMD),
                bytes(row.payload),
                max(1, math.ceil(row.exp - now)),
            )
        )
    return out[:limit]


def mark_sent(store: Store, cmd_id: str, now: float, failure: str | None = None) -> None:
    """After the broker's PUBACK: sent, or failed with the broker's reason."""
    values: dict[str, Any] = {"sent_at": now, "state": "sent" if failure is None else "failed"}
    if failure is not None:
        values["reason"] = f"the broker refused the command: {failure}"
    with store.engine.begin() as conn:
        conn.execute(
            update(commands)
            .where(commands.c.cmd_id == cmd_id, commands.c.state == "queued")
            .values(**values)
        )


def command_status(store: Store, cmd_id: str) -> dict[str, Any] | None:
    with store.engine.connect() as conn:
        row = conn.execute(select(commands).where(commands.c.cmd_id == cmd_id)).first()
    if row is None:
        return None
    data = dict(row._mapping)
    data.pop("payload")
    return data
