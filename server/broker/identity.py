"""A broker login (kept apart from the store code, so the simulator stays light)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Identity:
    """A broker login."""

    username: str
    password: str
