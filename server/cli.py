"""The server part's `bgk` subcommands (the bgk.commands entry point).

Each area registers its own subcommands in its `cli` module; handlers
import their heavy dependencies only when they run.
"""

from __future__ import annotations

from kiosk.common.cli import Registry
from server import demo_cli, serve_cli
from server.audit import cli as audit_cli
from server.fleet import cli as fleet_cli
from server.ops import cli as ops_cli
from server.packs import cli as packs_cli
from server.packs import key_cli, publish_cli, signing_cli
from server.reports import cli as reports_cli
from server.sim import cli as sim_cli
from server.web import cli as web_cli
from server.workspace import cli as workspace_cli


def register(registry: Registry) -> None:
    registry.group("pack", "content packs: lint, build, preview")
    registry.group(
        "server", "the DoIC server: init, publish, run, fleet, commands, users, reports, backups"
    )
    registry.group(
        "kiosk", "kiosks: enrol (server side); sync, agent, ui, status, import (kiosk side)"
    )
    packs_cli.register(registry)
    workspace_cli.register(registry)
    publish_cli.register(registry)
    key_cli.register(registry)
    signing_cli.register(registry)
    serve_cli.register(registry)
    fleet_cli.register(registry)
    sim_cli.register(registry)
    reports_cli.register(registry)
    web_cli.register(registry)
    ops_cli.register(registry)
    audit_cli.register(registry)
    demo_cli.register(registry)
