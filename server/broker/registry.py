"""The kiosk registry: which kiosks are enrolled, at which gate and in which groups.

Enrolment adds a kiosk; revocation keeps its row (history, reports) but ends
its access (the MQTT credentials are generated from the active kiosks).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from kiosk.protocol.errors import BgkError, UsageError
from server.store import Store
from server.store.schema import kiosks

NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class RegistryError(BgkError):
    """The registry refused a change (the message says why and what to do)."""


@dataclass(frozen=True)
class KioskRecord:
    id: str
    gate: str
    groups: tuple[str, ...]
    enrolled_at: float
    revoked_at: float | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def check_name(kind: str, value: str) -> str:
    if not NAME.match(value):
        raise UsageError(f"{kind} {value!r}: use lowercase letters, digits and dashes (max 63)")
    return value


class KioskRegistry:
    def __init__(self, store: Store) -> None:
        self.store = store

    def add(
        self,
        kiosk_id: str,
        gate: str,
        groups: tuple[str, ...],
        now: float,
        *,
        replace: bool = False,
    ) -> KioskRecord:
        """Enrol a kiosk. Re-enrolling an active kiosk needs `replace` (a new bundle)."""
        with self.store.engine.begin() as conn:
            return add_kiosk(conn, kiosk_id, gate, groups, now, replace=replace)

    def get(self, kiosk_id: str) -> KioskRecord | None:
        with self.store.engine.connect() as conn:
            row = conn.execute(select(kiosks).where(kiosks.c.id == kiosk_id)).first()
        return None if row is None else _record(row._mapping)

    def list(self, *, include_revoked: bool = False) -> list[KioskRecord]:
        query = select(kiosks).order_by(kiosks.c.id)
        if not include_revoked:
            query = query.where(kiosks.c.revoked_at.is_(None))
        with self.store.engine.connect() as conn:
            return [_record(row._mapping) for row in conn.execute(query)]

    def revoke(self, kiosk_id: str, now: float) -> KioskRecord:
        with self.store.engine.begin() as conn:
            result = conn.execute(
                update(kiosks)
                .where(kiosks.c.id == kiosk_id, kiosks.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        if result.rowcount == 0:
            raise RegistryError(f"kiosk {kiosk_id!r} is not enrolled (or already revoked)")
        record = self.get(kiosk_id)
        assert record is not None
        return record


def add_kiosk(
    conn: Connection,
    kiosk_id: str,
    gate: str,
    groups: tuple[str, ...],
    now: float,
    *,
    replace: bool = False,
) -> KioskRecord:
    """`KioskRegistry.add` inside the caller's transaction (enrolment)."""
    check_name("kiosk id", kiosk_id)
    check_name("gate", gate)
    for group in groups:
        check_name("group", group)
    if gate == "all" or "all" in groups:
        raise UsageError("'all' is reserved for publishing to every kiosk")
    record = KioskRecord(kiosk_id, gate, tuple(sorted(set(groups))), now, None)
    existing = conn.execute(select(kiosks).where(kiosks.c.id == kiosk_id)).first()
    if existing is not None and existing.revoked_at is None and not replace:
        raise RegistryError(
            f"kiosk {kiosk_id!r} is already enrolled at {existing.gate}: "
            "pass --replace to issue it a new bundle, or revoke it first"
        )
    values = {
        "gate": record.gate,
        "groups": list(record.groups),
        "enrolled_at": now,
        "revoked_at": None,
    }
    if existing is None:
        conn.execute(insert(kiosks).values(id=kiosk_id, **values))
    else:
        conn.execute(update(kiosks).where(kiosks.c.id == kiosk_id).values(**values))
    return record


def _record(row: object) -> KioskRecord:
    m = dict(row)  # type: ignore[call-overload]
    return KioskRecord(
        id=m["id"],
        gate=m["gate"],
        groups=tuple(m["groups"] or ()),
        enrolled_at=float(m["enrolled_at"]),
        revoked_at=None if m["revoked_at"] is None else float(m["revoked_at"]),
    )
