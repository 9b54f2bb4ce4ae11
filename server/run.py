"""`bgk server run`: one process serving HTTP (uvicorn) plus background services.

A service is anything with `name`, `start()` and `stop()` (TUF refresher,
MQTT ingest, ...). `default_services(config)` lists them; the server starts
them before uvicorn and stops them, in reverse order, when it exits.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from kiosk.protocol.errors import UsageError
from server.config import ServerConfig

log = logging.getLogger(__name__)


class Service(Protocol):
    name: str

    def start(self) -> None: ...

    def stop(self) -> None: ...


def default_services(config: ServerConfig, client_index: int = 1) -> list[Service]:
    from server.fleet.service import fleet_service
    from server.packs.refresher import TufRefresher

    services: list[Service] = [TufRefresher(config)]
    if config.mqtt.url:  # [mqtt] url or `--mqtt`: ingest, commands, presence
        services.append(fleet_service(config, client_index))
    else:
        log.info("no MQTT broker configured ([mqtt] url, --mqtt): the fleet service is off")
    return services


def parse_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--http {listen!r}: use HOST:PORT, e.g. 127.0.0.1:8080")
    return host.strip("[]"), int(port)


def run_server(config: ServerConfig, listen: str, services: Sequence[Service]) -> None:
    """Serve until interrupted (SIGINT/SIGTERM)."""
    import uvicorn

    from server.web.app import create_app

    host, port = parse_listen(listen)
    app = create_app(config)
    app.state.services = list(services)
    started: list[Service] = []
    try:
        for service in services:
            service.start()
            started.append(service)
            log.info("started %s", service.name)
        server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
        print(
            f"serving {config.data} on http://{host}:{port} (kiosks use {config.url})", flush=True
        )
        server.run()
    finally:
        for service in reversed(started):
            try:
                service.stop()
            except Exception:
                log.exception("stopping %s failed", service.name)
