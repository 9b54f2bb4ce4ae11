"""Kiosk configuration (`/etc/bgk/kiosk.toml`, or the one in an enrolment bundle).

Loaded once, validated, passed down. Relative paths are resolved against the
directory of the config file, so an enrolment bundle works wherever it is
copied. Every limit is documented next to its field.

    [kiosk]   id, gate, groups, state_dir
    [server]  url, trusted_root, ca, enrolled
    [mqtt]    url, ca, cert, key, username, password, heartbeat_s, keepalive_s,
              will_delay_s, command_key
    [sync]    interval_s, timeout_s, bandwidth_kbps, health_tries, health_wait_s, min_free_mb,
              max_pack_mb
    [ui]      fullscreen, orientation, idle_timeout_s
    [share]   enabled, listen, peers, max_connections, rate_kbps, stall_s, min_kbps
              (gate sharing: kiosk/agent/share.py)
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kiosk.common.tomlconf import TomlReader
from kiosk.protocol.errors import UsageError

KIOSK_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclass(frozen=True)
class IdentityConfig:
    #: kiosk id: lowercase letters, digits, dashes (also the MQTT user / certificate CN)
    id: str
    #: gate this kiosk stands at, e.g. "lao-bao"
    gate: str
    #: extra groups packs may target, e.g. ["quang-tri"]
    groups: tuple[str, ...] = ()
    #: where packs, state, outbox and the UI channel live (on durable storage)
    state_dir: Path = Path("/var/lib/bgk")


@dataclass(frozen=True)
class ServerConfig:
    #: base URL: TUF metadata at {url}/tuf/, blobs at {url}/blobs/sha256/<hex>
    url: str
    #: the TUF root.json this kiosk was enrolled with (trust anchor)
    trusted_root: Path
    #: CA certificate(s) for the server's HTTPS when it is not signed by a public CA
    #: (a provincial CA, a test CA); None = the system's trusted CAs
    ca: Path | None = None
    #: when it was enrolled (epoch s; `enrolled = "2026-12-02T07:00:00Z"` in the bundle): the
    #: first time floor, so a kiosk whose clock starts in 1970 still refuses expired metadata
    enrolled: float = 0.0


@dataclass(frozen=True)
class MqttConfig:
    #: mqtt://host:port or mqtts://host:port
    url: str = ""
    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    username: str | None = None
    password: str | None = None
    #: heartbeat period, 5..3600 s
    heartbeat_s: float = 30.0
    #: MQTT keepalive, 5..600 s (the broker sees a frozen kiosk after ~1.5x this)
    keepalive_s: int = 30
    #: the broker publishes this kiosk's "offline" LWT this long after losing it, 0..3600 s
    #: (a reconnect within the delay publishes nothing)
    will_delay_s: int = 30
    #: Ed25519 public key (PEM) that signs commands; without it every command is refused
    command_key: Path | None = None


@dataclass(frozen=True)
class SyncConfig:
    #: periodic check for new packs, 30..86400 s (announcements trigger one sooner)
    interval_s: float = 900.0
    #: network timeout per request (connect and each read), 1..300 s
    timeout_s: float = 30.0
    #: download cap in kbit/s; 0 = no cap
    bandwidth_kbps: int = 0
    #: starts a new pack may fail its health check before it is reverted, 1..10
    health_tries: int = 3
    #: seconds the UI has to confirm it shows a new pack before that counts as a failed start, 10..3600
    health_wait_s: float = 90.0
    #: keep at least this much disk free after a download, MB
    min_free_mb: int = 200
    #: refuse packs larger than this, MB
    max_pack_mb: int = 4096


@dataclass(frozen=True)
class UiConfig:
    #: "auto" (fullscreen when there is no desktop), "yes" or "no"
    fullscreen: str = "auto"
    #: "landscape" or "portrait"
    orientation: str = "landscape"
    #: seconds without a touch before the attract loop returns, 15..3600
    idle_timeout_s: float = 90.0


@dataclass(frozen=True)
class ShareConfig:
    """Gate sharing: kiosks of one gate serve each other the blobs they verified."""

    #: serve verified blobs to the gate's other kiosks and fetch from them first
    enabled: bool = False
    #: "LAN-address:port" the share server binds to, and the name peers list this kiosk by
    #: (never a wildcard address: nothing is exposed beyond the gate's LAN)
    listen: str = ""
    #: the other kiosks of the gate, "address:port" each, as they write their `listen`
    peers: tuple[str, ...] = ()
    #: connections served at once, 1..64 (more are answered 503 at once)
    max_connections: int = 4
    #: bytes/s served to all peers together, in kbit/s, 0 = no cap
    rate_kbps: int = 200_000
    #: seconds without progress from the peer this kiosk waits for before fetching a
    #: blob from the server itself, 1..3600
    stall_s: float = 30.0
    #: a peer sending slower than this (kbit/s, after 3 s) is given up for the cycle
    min_kbps: int = 256


@dataclass(frozen=True)
class KioskConfig:
    kiosk: IdentityConfig
    server: ServerConfig
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    sync: SyncConfig = field(default_factory=SyncConfig)
    ui: UiConfig = field(default_factory=UiConfig)
    share: ShareConfig = field(default_factory=ShareConfig)
    #: the file this was loaded from (None when built in code)
    source: Path | None = None


def load_config(path: Path) -> KioskConfig:
    """Read and validate a kiosk.toml; raise UsageError saying what to fix."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"config file {path} not found: pass --config with a kiosk.toml") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read config {path}: {exc}") from None
    return parse_config(raw, base=path.resolve().parent, source=path)


def parse_config(raw: dict[str, Any], base: Path, source: Path | None = None) -> KioskConfig:
    where = str(source or "config")
    r = TomlReader(raw, where, base)
    kiosk_id = r.text("kiosk", "id")
    if not KIOSK_ID.match(kiosk_id):
        raise UsageError(f"{where}: [kiosk] id {kiosk_id!r} must be lowercase letters, digits, -")
    identity = IdentityConfig(
        id=kiosk_id,
        gate=r.text("kiosk", "gate"),
        groups=tuple(r.strings("kiosk", "groups", [])),
        state_dir=r.path("kiosk", "state_dir") or Path("/var/lib/bgk"),
    )
    url = r.text("server", "url").rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"{where}: [server] url must start with http:// or https://")
    server = ServerConfig(
        url=url,
        trusted_root=r.req_path("server", "trusted_root"),
        ca=r.path("server", "ca", None),
        enrolled=_utc_time(r.text("server", "enrolled", ""), f"{where}: [server] enrolled"),
    )
    mqtt = MqttConfig(
        url=r.text("mqtt", "url", ""),
        ca=r.path("mqtt", "ca", None),
        cert=r.path("mqtt", "cert", None),
        key=r.path("mqtt", "key", None),
        username=r.opt_str("mqtt", "username"),
        password=r.opt_str("mqtt", "password"),
        heartbeat_s=r.num("mqtt", "heartbeat_s", 30.0, 5, 3600),
        keepalive_s=int(r.num("mqtt", "keepalive_s", 30, 5, 600)),
        will_delay_s=int(r.num("mqtt", "will_delay_s", 30, 0, 3600)),
        command_key=r.path("mqtt", "command_key", None),
    )
    if mqtt.url and not mqtt.url.startswith(("mqtt://", "mqtts://")):
        raise UsageError(f"{where}: [mqtt] url must start with mqtt:// or mqtts://")
    sync = SyncConfig(
        interval_s=r.num("sync", "interval_s", 900.0, 30, 86400),
        timeout_s=r.num("sync", "timeout_s", 30.0, 1, 300),
        bandwidth_kbps=int(r.num("sync", "bandwidth_kbps", 0, 0, 10_000_000)),
        health_tries=int(r.num("sync", "health_tries", 3, 1, 10)),
        health_wait_s=r.num("sync", "health_wait_s", 90.0, 10, 3600),
        min_free_mb=int(r.num("sync", "min_free_mb", 200, 0, 1_000_000)),
        max_pack_mb=int(r.num("sync", "max_pack_mb", 4096, 1, 1_000_000)),
    )
    ui = UiConfig(
        fullscreen=r.choice("ui", "fullscreen", "auto", ("auto", "yes", "no")),
        orientation=r.choice("ui", "orientation", "landscape", ("landscape", "portrait")),
        idle_timeout_s=r.num("ui", "idle_timeout_s", 90.0, 15, 3600),
    )
    share = _share(r, where)
    return KioskConfig(
        kiosk=identity, server=server, mqtt=mqtt, sync=sync, ui=ui, share=share, source=source
    )


def _share(r: TomlReader, where: str) -> ShareConfig:
    share = ShareConfig(
        enabled=r.flag("share", "enabled", False),
        listen=r.text("share", "listen", ""),
        peers=tuple(r.strings("share", "peers", [])),
        max_connections=int(r.num("share", "max_connections", 4, 1, 64)),
        rate_kbps=int(r.num("share", "rate_kbps", 200_000, 0, 10_000_000)),
        stall_s=r.num("share", "stall_s", 30.0, 1, 3600),
        min_kbps=int(r.num("share", "min_kbps", 256, 1, 10_000_000)),
    )
    if share.enabled and not share.listen:
        raise UsageError(
            f'{where}: [share] enabled needs listen = "LAN-address:port" (e.g. '
            '"192.168.1.21:8765"), or set enabled = false'
        )
    for addr in (share.listen, *share.peers) if share.enabled else ():
        host, _port = split_address(addr, f"{where}: [share]")
        if addr == share.listen and host in WILDCARDS:
            raise UsageError(
                f"{where}: [share] listen {addr!r} is every address of the kiosk: give its "
                "LAN address (e.g. 192.168.1.21:8765) so nothing is exposed beyond the gate"
            )
    return share


#: addresses that would expose the share server on every network of the kiosk
WILDCARDS = ("0.0.0.0", "::", "")


def split_address(addr: str, where: str) -> tuple[str, int]:
    """("host", port) of "host:port" or "[v6]:port"; UsageError saying what to write."""
    host, sep, port = addr.rpartition(":")
    host = host.strip("[]")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536 or not host or "/" in host:
        raise UsageError(f"{where}: {addr!r} must be address:port, e.g. 192.168.1.21:8765")
    return host, int(port)


def _utc_time(text: str, where: str) -> float:
    """Epoch seconds of an ISO 8601 UTC time ("" = 0: not known)."""
    if not text:
        return 0.0
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{where} must be a UTC time like 2026-12-02T07:00:00Z") from None
    if when.tzinfo is None:
        raise UsageError(f"{where} must end with Z (UTC)")
    return when.timestamp()
