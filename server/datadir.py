"""`bgk server init`: a fresh server data folder.

    DATA/server.toml    settings (server/config.py)
    DATA/tuf/           TUF repository (root v1 signed by the offline root key)
    DATA/keys/          online keys (snapshot, timestamp), copied from the keyset
    DATA/blobs/sha256/  content-addressed blob store
    DATA/fleet.db       fleet store (SQLite), schema by Alembic
    DATA/mqtt/          MQTT CA, broker certificate, command key (server/broker/pki.py)

Each area adds what it needs as one more step in INIT_STEPS (in this file).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from kiosk.common.files import atomic_write
from kiosk.protocol.errors import UsageError
from server.config import SERVER_TOML, ServerConfig, TufConfig, load_server_config
from server.packs.keyfile import Passphrases
from server.packs.keys import ROLES, load_key, save_key
from server.packs.repo import TufRepository, create_repository
from server.publisher import Publisher, check_site_url, publisher_tables, sample_publisher

InitStep = Callable[[ServerConfig, Path, Callable[[], datetime]], None]


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def write_server_toml(
    data: Path,
    url: str,
    listen: str,
    keys: Path,
    tuf: TufConfig,
    publisher: Publisher | None = None,
    site_url: str = "",
) -> None:
    text = f"""# Written by `bgk server init`; every setting is documented in server/config.py.
[server]
url = {_toml_str(url)}

[http]
listen = {_toml_str(listen)}

[tuf]
root_days = {tuf.root_days}
targets_days = {tuf.targets_days}
snapshot_days = {tuf.snapshot_days}
timestamp_days = {tuf.timestamp_days}
# the offline root/targets keys (a mounted medium in production); `--keys` overrides
offline_keys = {_toml_str(str(keys.resolve()))}

{publisher_tables(publisher or sample_publisher(), site_url)}"""
    atomic_write(data / SERVER_TOML, text.encode("utf-8"))


def update_publisher(data: Path, publisher: Publisher, site_url: str | None) -> ServerConfig:
    """Replace [publisher] (and [site] when `site_url` is given) of an existing
    server.toml, keeping every other line as it is."""
    config = load_server_config(data)
    site = config.site_url if site_url is None else check_site_url(site_url, "--site-url")
    path = data / SERVER_TOML
    kept: list[str] = []
    skipping = False
    for line in path.read_text(encoding="utf-8").split("\n"):
        header = line.strip()
        if header.startswith("["):
            skipping = header in ("[publisher]", "[site]")
        if (
            not skipping
            and not line.startswith("# who publishes")
            and not line.startswith(("# base URL of the packs", "# point to {url}"))
        ):
            kept.append(line)
    text = "\n".join(kept).rstrip("\n") + "\n\n" + publisher_tables(publisher, site)
    atomic_write(path, text.encode("utf-8"))
    return load_server_config(data)


def default_listen(url: str) -> str:
    """Listen where the URL points when it is this machine, else 127.0.0.1:8080 (behind nginx)."""
    parts = urlsplit(url)
    if parts.hostname in ("127.0.0.1", "localhost", "::1") and parts.port:
        return f"127.0.0.1:{parts.port}"
    return "127.0.0.1:8080"


def init_tuf(config: ServerConfig, keys: Path, now: Callable[[], datetime]) -> None:
    source = Passphrases()
    signers = {role: load_key(keys, role, source) for role in ROLES}
    config.keys_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(config.keys_dir, 0o700)
    for role in ("snapshot", "timestamp"):
        save_key(config.keys_dir / f"{role}.pem", signers[role])
    repo = TufRepository(config.tuf_dir, config.tuf, {r: [s] for r, s in signers.items()}, now)
    create_repository(repo, signers)
    config.blob_dir.mkdir(parents=True, exist_ok=True)


def init_store(config: ServerConfig, keys: Path, now: Callable[[], datetime]) -> None:
    from server.store import open_store

    open_store(config.store_url).dispose()


def init_fleet(config: ServerConfig, keys: Path, now: Callable[[], datetime]) -> None:
    """DATA/mqtt/: the MQTT CA, the broker's TLS certificate, the command signing key."""
    from server.broker.pki import ensure_fleet_keys
    from server.fleet_settings import broker_hostnames

    ensure_fleet_keys(config.data, broker_hostnames(config.mqtt))


#: what `bgk server init` does, in order (an area that needs more adds its step here)
INIT_STEPS: tuple[InitStep, ...] = (init_tuf, init_store, init_fleet)


def init_data_dir(
    data: Path,
    keys: Path,
    url: str,
    now: Callable[[], datetime],
    *,
    listen: str | None = None,
    tuf: TufConfig | None = None,
    publisher: Publisher | None = None,
    site_url: str = "",
) -> ServerConfig:
    url = url.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"--url {url!r} must start with http:// or https://")
    if (data / SERVER_TOML).exists():
        raise UsageError(f"{data} is already a server data folder: choose a new folder")
    if not keys.is_dir():
        raise UsageError(f"keys folder {keys} not found: make one with `bgk keys init {keys}`")
    site_url = check_site_url(site_url, "--site-url")
    fresh = not data.exists() or not any(data.iterdir())
    data.mkdir(parents=True, exist_ok=True)
    try:
        write_server_toml(
            data, url, listen or default_listen(url), keys, tuf or TufConfig(), publisher, site_url
        )
        config = load_server_config(data)
        for step in INIT_STEPS:
            step(config, keys, now)
    except BaseException:
        # a wrong passphrase, a missing key...: no half-made data folder stays behind
        if fresh:
            shutil.rmtree(data, ignore_errors=True)
        raise
    return config
