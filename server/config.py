"""Server configuration: `DATA/server.toml`, written by `bgk server init`.

Loaded once, validated, passed down. Each area owns one section:

    [server]  url            base URL kiosks use (TUF at {url}/tuf/, blobs at {url}/blobs/)
              ca             CA of the server's HTTPS certificate when it is not a public one
                             (copied into every kiosk bundle as server-ca.crt)
    [http]    listen         HOST:PORT of the HTTP server (dashboard, API, TUF, blobs)
    [tuf]     *_days         expiry per role; keys (where the online keys are)
    [mqtt]    url, ...       broker the server publishes to and ingests from
    [store]   url            SQLAlchemy URL (default: SQLite in the data dir)
    [publisher] name_vi, ... who publishes (reports, dashboard, packs): server/publisher.py
    [site]    url            base URL of the packs' web copies (QR codes): server/publisher.py

The data directory:

    DATA/server.toml
    DATA/tuf/          TUF repository metadata (served at /tuf/)
    DATA/blobs/sha256/ content-addressed blob store (served at /blobs/sha256/)
    DATA/keys/         the online keys (snapshot, timestamp)
    DATA/fleet.db      the fleet store (SQLite default)
    DATA/mqtt/         MQTT CA, broker certificate, command signing key (server.broker.pki)
    DATA/screenshots/  kiosk screenshots (JPEG)
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.common.tomlconf import TomlReader
from kiosk.protocol.errors import UsageError
from server.fleet_settings import FleetSettings, MqttSettings, parse_settings
from server.publisher import Publisher, sample_publisher
from server.publisher import parse_settings as parse_pack_settings

SERVER_TOML = "server.toml"


@dataclass(frozen=True)
class TufConfig:
    #: expiry of each role's metadata, in days
    root_days: int = 365
    targets_days: int = 90
    snapshot_days: int = 7
    timestamp_days: int = 1
    #: where the offline root/targets keys are (a mounted medium); `--keys` overrides
    offline_keys: Path | None = None
    #: signatures of publishers a pack needs (`bgk server delegate`; issue 14)
    publishers_threshold: int = 2


@dataclass(frozen=True)
class HttpConfig:
    #: HOST:PORT the HTTP server listens on
    listen: str = "127.0.0.1:8080"


@dataclass(frozen=True)
class ServerConfig:
    data: Path
    #: base URL kiosks use to reach this server
    url: str
    #: CA that signed the HTTPS certificate kiosks see, when not a public CA (bundled)
    ca: Path | None = None
    http: HttpConfig = field(default_factory=HttpConfig)
    tuf: TufConfig = field(default_factory=TufConfig)
    #: SQLAlchemy URL of the fleet store
    store_url: str = ""
    #: [mqtt] and [fleet]: see server.fleet_settings
    mqtt: MqttSettings = field(default_factory=MqttSettings)
    fleet: FleetSettings = field(default_factory=FleetSettings)
    #: [publisher]: the sample's when server.toml has none (folders made before it existed)
    publisher: Publisher = field(default_factory=sample_publisher)
    #: [site] url: base of the packs' web copies ("" = none: kiosk pages show no QR)
    site_url: str = ""

    @property
    def tuf_dir(self) -> Path:
        return self.data / "tuf"

    @property
    def blob_dir(self) -> Path:
        return self.data / "blobs" / "sha256"

    @property
    def keys_dir(self) -> Path:
        return self.data / "keys"


def load_server_config(data: Path) -> ServerConfig:
    path = data / SERVER_TOML
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(
            f"{data} is not a server data folder (no {SERVER_TOML}): run `bgk server init --data {data} ...` first"
        ) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    r = TomlReader(raw, str(path), data.resolve())
    url = r.text("server", "url").rstrip("/")
    tuf = TufConfig(
        root_days=int(r.num("tuf", "root_days", 365, 1, 3650)),
        targets_days=int(r.num("tuf", "targets_days", 90, 1, 3650)),
        snapshot_days=int(r.num("tuf", "snapshot_days", 7, 1, 365)),
        timestamp_days=int(r.num("tuf", "timestamp_days", 1, 1, 365)),
        offline_keys=r.path("tuf", "offline_keys", None),
        publishers_threshold=int(r.num("tuf", "publishers_threshold", 2, 1, 20)),
    )
    store_url = r.text("store", "url", f"sqlite:///{(data / 'fleet.db').resolve()}")
    mqtt, fleet = parse_settings(r, url)
    pack_settings = parse_pack_settings(raw, str(path))
    return ServerConfig(
        data=data.resolve(),
        url=url,
        ca=r.path("server", "ca", None),
        http=HttpConfig(listen=r.text("http", "listen", "127.0.0.1:8080")),
        tuf=tuf,
        store_url=store_url,
        mqtt=mqtt,
        fleet=fleet,
        publisher=pack_settings.publisher or sample_publisher(),
        site_url=pack_settings.site_url,
    )
