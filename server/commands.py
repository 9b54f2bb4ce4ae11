"""The server part's `bgk` subcommands (the bgk.commands entry point).

Each area registers its own commands in its `commands` module; handlers
import their heavy dependencies only when they run.
"""

from __future__ import annotations

from kiosk.protocol.commands import Registry
from server import demo, serve_commands
from server.audit import commands as audit_commands
from server.fleet import commands as fleet_commands
from server.fleet import reports_commands
from server.ops import commands as ops_commands
from server.packs import commands as packs_commands
from server.packs import key_commands, publish_commands, signing_commands
from server.web import account_commands


def register(registry: Registry) -> None:
    registry.group("pack", "content packs: lint, build, preview")
    registry.group(
        "server", "the DoIC server: init, publish, run, fleet, commands, users, reports, backups"
    )
    registry.group(
        "kiosk", "kiosks: enrol (server side); sync, agent, ui, status, import (kiosk side)"
    )
    packs_commands.register(registry)
    key_commands.register(registry)
    signing_commands.register(registry)
    publish_commands.register(registry)
    serve_commands.register(registry)
    fleet_commands.register(registry)
    reports_commands.register(registry)
    account_commands.register(registry)
    ops_commands.register(registry)
    audit_commands.register(registry)
    demo.register(registry)
