"""A server data folder opened for a command: its settings and its fleet store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.config import ServerConfig
    from server.store import Store


def open_server(data: Path) -> tuple[ServerConfig, Store]:
    """The settings of DATA/server.toml and its store (the caller disposes of it)."""
    from server.config import load_server_config
    from server.store import open_store

    cfg = load_server_config(data)
    return cfg, open_store(cfg.store_url)
