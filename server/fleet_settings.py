"""Settings of the fleet link in `server.toml`: the [mqtt] and [fleet] sections (below
server.config, which reads them, and the fleet and broker parts, which use them).

[mqtt]
url = "mqtt://127.0.0.1:1883"      # broker the server processes use (plain on loopback,
                                    # or mqtts://host:8883 with ca = ...)
kiosk_url = "mqtts://gate.example:8883"   # broker URL written into kiosk bundles
ca = "mqtt/ca.crt"                  # CA that signed the broker certificate (mqtts only)
share = false                       # ingest through $share/ingest/... (several processes)
server_clients = 4                  # broker accounts _server-1.._server-N for server processes
hostnames = ["gate.example"]        # extra names in the broker's TLS certificate

[fleet]
heartbeat_s = 30, keepalive_s = 30, will_delay_s = 30   # written into kiosk bundles
offline_alert_s = 300               # alert when a kiosk is offline longer than this
disk_low_mb = 500, temp_high_c = 80 # alert thresholds
clock_skew_s = 600                  # alert when a kiosk's clock is this far from the server's
hb_retention_days = 30, event_retention_days = 400
batch_ms = 100, batch_max = 5000    # ingest transactions: at most this long / this many
sweep_s = 5                         # how often states, alerts and expiries are derived
leader_lease_s = 15                 # several server processes: a leader's lease (server/fleet/lease.py)
command_ttl_s = 600                 # default expiry of a command
announce_jitter_s = 300             # kiosks sync within this window after a pack announcement
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from kiosk.common.tomlconf import TomlReader
from kiosk.protocol.errors import UsageError
from kiosk.protocol.rollout import MAX_JITTER_S


@dataclass(frozen=True)
class MqttSettings:
    #: broker URL of the server processes: mqtt://host:port or mqtts://host:port;
    #: "" = no broker: `bgk server run` starts without the fleet service
    url: str = ""
    #: broker URL written into kiosk bundles ("" = mqtts://<host of the server URL>:8883)
    kiosk_url: str = ""
    #: CA of the broker's certificate, for mqtts:// (None = DATA/mqtt/ca.crt)
    ca: Path | None = None
    #: subscribe through the shared subscription $share/ingest/... (several ingest processes)
    share: bool = False
    #: how many server broker accounts (_server-1.._server-N) the broker files hold, 1..64
    server_clients: int = 4
    #: extra DNS names / IP addresses in the broker certificate
    hostnames: tuple[str, ...] = ()
    #: broker files written by `bgk server mosquitto-config -o DIR`: when set, enrolling
    #: or revoking a kiosk rewrites them and reloads the broker (SIGHUP) at once
    broker_dir: Path | None = None


@dataclass(frozen=True)
class FleetSettings:
    #: kiosk heartbeat period written into bundles, 5..3600 s
    heartbeat_s: float = 30.0
    #: kiosk MQTT keepalive written into bundles, 5..600 s
    keepalive_s: int = 30
    #: delay before the broker publishes a lost kiosk's LWT, 0..3600 s
    will_delay_s: int = 30
    #: alert when a kiosk is offline longer than this, 0..86400 s
    offline_alert_s: float = 300.0
    #: alert when a kiosk has less free disk than this, MB
    disk_low_mb: int = 500
    #: alert when a kiosk's CPU is at least this hot, °C
    temp_high_c: float = 80.0
    #: alert when a kiosk's clock is this far from the server's, 60..86400 s
    clock_skew_s: float = 600.0
    #: keep heartbeat history this many days, 1..3650
    hb_retention_days: int = 30
    #: keep events, presence changes, closed alerts and commands this many days, 1..3650
    event_retention_days: int = 400
    #: longest wait before an ingest batch is committed, 5..2000 ms
    batch_ms: int = 100
    #: most messages in one ingest transaction, 1..50000
    batch_max: int = 5000
    #: period of state, alert and expiry derivation, 0.2..60 s
    sweep_s: float = 5.0
    #: default command expiry, 10..86400 s
    command_ttl_s: float = 600.0
    #: several server processes: the sweeper's and the control link's lease, 3..300 s
    #: (a leader that dies without a word is replaced after at most this long)
    leader_lease_s: float = 15.0
    #: after a pack announcement each kiosk syncs after a uniform delay in [0, this],
    #: 0..3600 s, carried in the announcement (kiosk.protocol.rollout)
    announce_jitter_s: float = 300.0


def check_mqtt_url(url: str, where: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise UsageError(
            f"{where}: MQTT URL {url!r} must look like mqtt://host:port or mqtts://host:port"
        )
    return url


def default_kiosk_url(server_url: str) -> str:
    host = urlsplit(server_url).hostname or "localhost"
    return f"mqtts://{host}:8883"


def parse_settings(r: TomlReader, server_url: str) -> tuple[MqttSettings, FleetSettings]:
    """Read [mqtt] and [fleet] of server.toml (every key optional)."""
    url = r.text("mqtt", "url", "")
    if url:
        check_mqtt_url(url, r.where)
    kiosk_url = r.text("mqtt", "kiosk_url", "") or default_kiosk_url(server_url)
    check_mqtt_url(kiosk_url, r.where)
    mqtt = MqttSettings(
        url=url,
        kiosk_url=kiosk_url,
        ca=r.path("mqtt", "ca", None),
        share=r.flag("mqtt", "share", False),
        server_clients=int(r.num("mqtt", "server_clients", 4, 1, 64)),
        hostnames=tuple(r.strings("mqtt", "hostnames", [])),
        broker_dir=r.path("mqtt", "broker_dir", None),
    )
    fleet = FleetSettings(
        heartbeat_s=r.num("fleet", "heartbeat_s", 30.0, 5, 3600),
        keepalive_s=int(r.num("fleet", "keepalive_s", 30, 5, 600)),
        will_delay_s=int(r.num("fleet", "will_delay_s", 30, 0, 3600)),
        offline_alert_s=r.num("fleet", "offline_alert_s", 300.0, 0, 86400),
        disk_low_mb=int(r.num("fleet", "disk_low_mb", 500, 0, 10_000_000)),
        temp_high_c=r.num("fleet", "temp_high_c", 80.0, 20, 150),
        clock_skew_s=r.num("fleet", "clock_skew_s", 600.0, 60, 86400),
        hb_retention_days=int(r.num("fleet", "hb_retention_days", 30, 1, 3650)),
        event_retention_days=int(r.num("fleet", "event_retention_days", 400, 1, 3650)),
        batch_ms=int(r.num("fleet", "batch_ms", 100, 5, 2000)),
        batch_max=int(r.num("fleet", "batch_max", 5000, 1, 50000)),
        sweep_s=r.num("fleet", "sweep_s", 5.0, 0.2, 60),
        command_ttl_s=r.num("fleet", "command_ttl_s", 600.0, 10, 86400),
        leader_lease_s=r.num("fleet", "leader_lease_s", 15.0, 3, 300),
        announce_jitter_s=r.num("fleet", "announce_jitter_s", 300.0, 0, MAX_JITTER_S),
    )
    return mqtt, fleet


def broker_hostnames(mqtt: MqttSettings) -> list[str]:
    """Names the broker's TLS certificate must carry: what kiosks and servers dial."""
    names = [urlsplit(mqtt.kiosk_url).hostname, urlsplit(mqtt.url).hostname, *mqtt.hostnames]
    return list(dict.fromkeys(n for n in names if n))
