"""The kiosk part's `bgk` subcommands (the bgk.commands entry point).

Each area (agent, ui) registers its own commands in its `commands` module;
handlers import kivy, requests, paho... only when they run.
"""

from __future__ import annotations

from kiosk.agent import commands as agent_commands
from kiosk.protocol.commands import Registry
from kiosk.ui import commands as ui_commands


def register(registry: Registry) -> None:
    registry.group("pack", "content packs: lint, build, preview")
    registry.group(
        "kiosk", "kiosks: enrol (server side); sync, agent, ui, status, import (kiosk side)"
    )
    agent_commands.register(registry)
    ui_commands.register(registry)
