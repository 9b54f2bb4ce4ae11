"""What the agent reports: installs, commits, rollbacks, errors.

An `EventSink` receives them. The default one logs; the MQTT link plugs in
its own (an outbox on disk, then `bgk/v1/kiosk/{id}/events`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger("bgk.agent")


@dataclass(frozen=True)
class AgentEvent:
    #: "install" (switched to a new pack), "commit", "rollback", "rejected", "error"
    kind: str
    #: wall-clock time (epoch s, at or above the time floor)
    at: float
    message: str
    data: dict[str, Any] = field(default_factory=dict)


class EventSink(Protocol):
    def emit(self, event: AgentEvent) -> None: ...


class LogSink:
    def emit(self, event: AgentEvent) -> None:
        level = logging.WARNING if event.kind in ("rollback", "rejected", "error") else logging.INFO
        log.log(level, "%s: %s", event.kind, event.message)


class ListSink:
    """Keeps events in memory (tests, and fan-out to several sinks)."""

    def __init__(self, *forward: EventSink) -> None:
        self.events: list[AgentEvent] = []
        self.forward = forward

    def emit(self, event: AgentEvent) -> None:
        self.events.append(event)
        for sink in self.forward:
            sink.emit(event)
