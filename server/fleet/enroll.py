"""`bgk kiosk enroll`: register a kiosk and write its bundle.

A bundle is the folder copied onto a kiosk (to /etc/bgk/): `kiosk.toml`
(read by kiosk/config.py) and the files it names. It is made of parts;
each part returns TOML sections and files:

    identity_part   [kiosk] id, gate, groups, state_dir
    tuf_part        [server] url, trusted_root = "root.json" + root.json (the TUF trust anchor),
                    enrolled (UTC: the kiosk's first time floor)
    mqtt_part       [mqtt] broker URL, CA, credentials, command key (server/fleet/bundle.py)

Another area adds its part (e.g. MQTT credentials) to BUNDLE_PARTS here.
The bundle is written to a temp folder and renamed into place, after the
kiosk is in the registry, so a failed enrolment leaves no bundle behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.protocol.errors import UsageError
from server.config import ServerConfig
from server.fleet.bundle import mqtt_part
from server.fleet.registry import KioskRecord, KioskRegistry, check_name
from server.store import Store, open_store

KIOSK_TOML = "kiosk.toml"
TomlValue = str | int | float | bool | list[str]


@dataclass(frozen=True)
class BundleFile:
    name: str
    data: bytes
    mode: int = 0o644


@dataclass(frozen=True)
class BundleContext:
    config: ServerConfig
    kiosk: KioskRecord
    #: the kiosk's state folder as written into kiosk.toml
    state_dir: str
    now: float


@dataclass
class BundlePiece:
    sections: dict[str, dict[str, TomlValue]] = field(default_factory=dict)
    files: list[BundleFile] = field(default_factory=list)


BundlePart = Callable[[BundleContext], BundlePiece]


def identity_part(ctx: BundleContext) -> BundlePiece:
    return BundlePiece(
        sections={
            "kiosk": {
                "id": ctx.kiosk.id,
                "gate": ctx.kiosk.gate,
                "groups": list(ctx.kiosk.groups),
                "state_dir": ctx.state_dir,
            }
        }
    )


def tuf_part(ctx: BundleContext) -> BundlePiece:
    from server.packs.repo import TufRepository
    from server.packs.signing import utcnow

    repo = TufRepository(ctx.config.tuf_dir, ctx.config.tuf, {}, utcnow)
    # the enrolment time is the kiosk's first time floor (a Pi has no clock battery)
    enrolled = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ctx.now))
    return BundlePiece(
        sections={
            "server": {"url": ctx.config.url, "trusted_root": "root.json", "enrolled": enrolled}
        },
        files=[BundleFile("root.json", repo.root_bytes())],
    )


#: the parts of every bundle, in order
BUNDLE_PARTS: tuple[BundlePart, ...] = (identity_part, tuf_part, mqtt_part)


def toml_text(sections: dict[str, dict[str, TomlValue]]) -> str:
    lines = ["# Kiosk settings, written by `bgk kiosk enroll` (see kiosk/config.py)."]
    for name, values in sections.items():
        lines.append(f"\n[{name}]")
        for key, value in values.items():
            lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _toml_value(value: TomlValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class EnrollResult:
    kiosk: KioskRecord
    bundle: Path
    files: tuple[str, ...]


def enroll_kiosk(
    config: ServerConfig,
    kiosk_id: str,
    gate: str,
    groups: tuple[str, ...],
    out: Path,
    now: float,
    *,
    state_dir: str = "/var/lib/bgk",
    replace: bool = False,
    parts: tuple[BundlePart, ...] = BUNDLE_PARTS,
) -> EnrollResult:
    check_name("kiosk id", kiosk_id)
    check_name("gate", gate)
    if out.exists() and any(out.iterdir()) and not (out / KIOSK_TOML).is_file():
        raise UsageError(f"{out} is not empty: write the bundle to a new or empty folder")
    draft = KioskRecord(kiosk_id, gate, tuple(sorted(set(groups))), now, None)
    ctx = BundleContext(config, draft, state_dir, now)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        sections: dict[str, dict[str, TomlValue]] = {}
        names: list[str] = [KIOSK_TOML]
        store = open_store(config.store_url)
        try:
            record = KioskRegistry(store).add(kiosk_id, gate, groups, now, replace=replace)
            ctx = BundleContext(config, record, state_dir, now)
            for part in parts:
                piece = part(ctx)
                for section, values in piece.sections.items():
                    sections.setdefault(section, {}).update(values)
                for f in piece.files:
                    path = tmp / f.name
                    path.write_bytes(f.data)
                    os.chmod(path, f.mode)
                    names.append(f.name)
        finally:
            store.dispose()
        (tmp / KIOSK_TOML).write_text(toml_text(sections), encoding="utf-8")
        os.chmod(tmp / KIOSK_TOML, 0o600)  # it holds the kiosk's MQTT password
        os.chmod(tmp, 0o700)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
        raise
    return EnrollResult(record, out, tuple(names))


def describe(result: EnrollResult) -> dict[str, Any]:
    k = result.kiosk
    return {
        "ok": True,
        "kiosk": k.id,
        "gate": k.gate,
        "groups": list(k.groups),
        "bundle": str(result.bundle),
        "files": list(result.files),
    }


@dataclass(frozen=True)
class Revoked:
    kiosk: KioskRecord
    #: True: the running broker reloaded (the kiosk is cut off now); False: its
    #: files were rewritten but it needs a reload (SIGHUP); None: no broker files
    #: here (run `bgk server mosquitto-config ... --reload` where they are)
    broker: bool | None


def revoke_kiosk(
    config: ServerConfig,
    store: Store,
    kiosk_id: str,
    now: float,
    *,
    broker_dir: Path | None = None,
) -> Revoked:
    """End a kiosk's access: out of the registry (history stays), its MQTT
    password gone, the broker's files rewritten and the broker reloaded."""
    from server.fleet.brokerconf import refresh_broker
    from server.fleet.credentials import drop_kiosk_password
    from server.fleet.pki import FleetKeys

    record = KioskRegistry(store).revoke(kiosk_id, now)
    drop_kiosk_password(store, kiosk_id)
    keys = FleetKeys(config.data / "mqtt")
    broker = (
        refresh_broker(
            store, keys, broker_dir or config.mqtt.broker_dir, config.mqtt.server_clients
        )
        if keys.server_secret.exists()
        else None
    )
    return Revoked(record, broker)
