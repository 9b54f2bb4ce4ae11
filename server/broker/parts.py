"""The pieces an enrolment bundle is made of (server/fleet/enroll.py puts them
together; each part, like server/broker/bundle.py's MQTT part, returns one)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection

from server.broker.registry import KioskRecord
from server.config import ServerConfig

TomlValue = str | int | float | bool | list[str]


@dataclass(frozen=True)
class BundleFile:
    name: str
    data: bytes
    mode: int = 0o644


@dataclass(frozen=True)
class BundleContext:
    config: ServerConfig
    kiosk: KioskRecord
    #: the kiosk's state folder as written into kiosk.toml
    state_dir: str
    now: float
    #: the enrolment's transaction (parts that write the store use it)
    conn: Connection | None = None


@dataclass
class BundlePiece:
    sections: dict[str, dict[str, TomlValue]] = field(default_factory=dict)
    files: list[BundleFile] = field(default_factory=list)


BundlePart = Callable[[BundleContext], BundlePiece]
