"""The kiosk part's `bgk` subcommands (the bgk.commands entry point).

Each area (agent, ui) registers its own commands in its `cli` module;
handlers import kivy, requests, paho... only when they run.
"""

from __future__ import annotations

from kiosk.agent import cli as agent_cli
from kiosk.common.cli import Registry
from kiosk.ui import cli as ui_cli


def register(registry: Registry) -> None:
    registry.group("pack", "content packs: lint, build, preview")
    registry.group(
        "kiosk", "kiosks: enrol (server side); sync, agent, ui, status, import (kiosk side)"
    )
    agent_cli.register(registry)
    ui_cli.register(registry)
