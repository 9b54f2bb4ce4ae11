"""The kiosk part's `bgk` subcommands (registered through the bgk.commands entry point)."""

from __future__ import annotations

from kiosk.protocol.commands import Registry


def register(registry: Registry) -> None:
    registry.group("kiosk", "the kiosk's services and tools: sync, agent, ui, status, import")
