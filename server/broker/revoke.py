"""`bgk kiosk revoke`: end a kiosk's access (the registry keeps its history).

Out of the registry, its MQTT password gone, the broker's kiosk list rewritten
from the registry and the broker reloaded: a kiosk revoked here can no longer
log in once the broker has reloaded. Enrolment is in server/fleet/enroll.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from server.audit import log as audit
from server.broker.credentials import drop_kiosk_password
from server.broker.files import BrokerUpdate, broker_target, refresh_broker
from server.broker.pki import FleetKeys
from server.broker.registry import KioskRecord, KioskRegistry
from server.config import ServerConfig
from server.store import Store


@dataclass(frozen=True)
class Revoked:
    kiosk: KioskRecord
    #: the broker's kiosk list rewritten and its reload ("signalled": the kiosk is
    #: cut off now; "requested": the path unit reloads Mosquitto); None: no broker
    #: files here (run `bgk server mosquitto-config ...` where they are)
    broker: BrokerUpdate | None


def revoke_kiosk(
    config: ServerConfig,
    store: Store,
    kiosk_id: str,
    now: float,
    *,
    broker_dir: Path | None = None,
    by: str = "system",
) -> Revoked:
    """End a kiosk's access: out of the registry (history stays), its MQTT
    password gone, the broker's files rewritten and the broker reloaded."""
    directory = broker_dir or config.mqtt.broker_dir
    if directory is not None:
        broker_target(directory)  # a missing permission is said before anything changes
    record = KioskRegistry(store).revoke(kiosk_id, now)
    audit.append(store, by, "kiosk.revoked", f"kiosk:{kiosk_id}", now=now)
    drop_kiosk_password(store, kiosk_id)
    keys = FleetKeys(config.data / "mqtt")
    broker = (
        refresh_broker(store, keys, directory, config.mqtt.server_clients)
        if keys.server_secret.exists()
        else None
    )
    return Revoked(record, broker)
