"""`bgk kiosk enroll`: register a kiosk and write its bundle.

A bundle is the folder copied onto a kiosk (to /etc/bgk/): `kiosk.toml`
(read by kiosk/config.py) and the files it names. It is made of parts;
each part returns TOML sections and files:

    identity_part   [kiosk] id, gate, groups, state_dir
    tuf_part        [server] url, trusted_root = "root.json" + root.json (the TUF trust anchor),
                    ca = "server-ca.crt" when server.toml names a private HTTPS CA
                    enrolled (UTC: the kiosk's first time floor)
    mqtt_part       [mqtt] broker URL, CA, credentials, command key (server/broker/bundle.py)

Another area adds its part (e.g. MQTT credentials) to BUNDLE_PARTS here.

Enrolment happens whole or not at all: the registry row, the broker
password, the broker's kiosk list (fleet/passwd, fleet/acl) and the bundle
are written inside one database transaction, which commits only after the
bundle is in place (renamed from a private temp folder, or streamed as a tar
to stdout with `-o -`). Whatever fails first, nothing is left half-done: the
transaction rolls back, the temp folder goes, and a kiosk list already
rewritten is rewritten again from the committed registry. Before anything is
written the broker folder is checked (the configured [mqtt] broker_dir,
never the folder a stale bgk-layout.json names): a missing permission is an
error naming the file and the permission. After the commit the broker is
asked to reload, and a login with the new password on the server's own
broker URL says whether it took the kiosk.

Enrolment sits in the fleet, above the parts it puts together: the broker's
registry, credentials and kiosk list (server/broker/), the TUF root
(server.packs.repo) and the fleet's MQTT link for the login check. Revoking
needs only the broker: server/broker/revoke.py.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from kiosk.common.tomlconf import toml_value
from kiosk.protocol.errors import UsageError
from server.audit import log as audit
from server.broker.bundle import mqtt_part
from server.broker.files import (
    BrokerTarget,
    BrokerUpdate,
    broker_target,
    cannot_write,
    request_reload,
    write_kiosk_list,
)
from server.broker.identity import Identity
from server.broker.parts import BundleContext, BundleFile, BundlePart, BundlePiece, TomlValue
from server.broker.pki import FleetKeys
from server.broker.registry import KioskRecord, add_kiosk, check_name
from server.config import ServerConfig
from server.fleet.mqtt import login_accepted
from server.packs.repo import TufRepository
from server.packs.signing import utcnow
from server.store import open_store

KIOSK_TOML = "kiosk.toml"


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
    repo = TufRepository(ctx.config.tuf_dir, ctx.config.tuf, {}, utcnow)
    # the enrolment time is the kiosk's first time floor (a Pi has no clock battery)
    enrolled = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ctx.now))
    server: dict[str, TomlValue] = {
        "url": ctx.config.url,
        "trusted_root": "root.json",
        "enrolled": enrolled,
    }
    files = [BundleFile("root.json", repo.root_bytes())]
    if ctx.config.ca is not None:
        try:
            files.append(BundleFile("server-ca.crt", ctx.config.ca.read_bytes()))
        except OSError as exc:
            raise UsageError(
                f"[server] ca of server.toml: cannot read {ctx.config.ca}: {exc}"
            ) from None
        server["ca"] = "server-ca.crt"
    return BundlePiece(sections={"server": server}, files=files)


#: the parts of every bundle, in order
BUNDLE_PARTS: tuple[BundlePart, ...] = (identity_part, tuf_part, mqtt_part)


def toml_text(sections: dict[str, dict[str, TomlValue]]) -> str:
    lines = ["# Kiosk settings, written by `bgk kiosk enroll` (see kiosk/config.py)."]
    for name, values in sections.items():
        lines.append(f"\n[{name}]")
        for key, value in values.items():
            lines.append(f"{key} = {toml_value(value)}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class EnrollResult:
    kiosk: KioskRecord
    #: the bundle folder (None: streamed as a tar)
    bundle: Path | None
    files: tuple[str, ...]
    #: the broker's kiosk list and reload (None: no [mqtt] broker_dir)
    broker: BrokerUpdate | None = None
    #: True: the broker accepts the kiosk's login now; False: not yet; None: not checked
    accepted: bool | None = None


def enroll_kiosk(
    config: ServerConfig,
    kiosk_id: str,
    gate: str,
    groups: tuple[str, ...],
    out: Path | None,
    now: float,
    *,
    state_dir: str = "/var/lib/bgk",
    replace: bool = False,
    parts: tuple[BundlePart, ...] = BUNDLE_PARTS,
    stream: IO[bytes] | None = None,
    confirm_s: float = 5.0,
    by: str = "system",
) -> EnrollResult:
    """Enrol a kiosk: its bundle goes to the folder `out`, or as a tar to `stream`."""
    check_name("kiosk id", kiosk_id)
    check_name("gate", gate)
    if (out is None) == (stream is None):
        raise UsageError("write the bundle to a folder or to a stream, not both")
    if out is not None and out.exists() and any(out.iterdir()) and not (out / KIOSK_TOML).is_file():
        raise UsageError(f"{out} is not empty: write the bundle to a new or empty folder")
    broker_dir = config.mqtt.broker_dir
    target = broker_target(broker_dir) if broker_dir is not None else None
    tmp = _private_folder(out)
    keys = FleetKeys(config.data / "mqtt")
    store = open_store(config.store_url)
    listed = placed = False
    try:
        with store.engine.begin() as conn:
            record = add_kiosk(conn, kiosk_id, gate, groups, now, replace=replace)
            details = {"gate": gate, "groups": list(groups), "replaced": replace}
            audit.append(
                store, by, "kiosk.enrolled", f"kiosk:{kiosk_id}", details, now=now, conn=conn
            )
            sections, names = _write_parts(
                BundleContext(config, record, state_dir, now, conn), parts, tmp
            )
            if target is not None:
                listed = write_kiosk_list(conn, keys, target, config.mqtt.server_clients)
            if out is not None:
                _move_into_place(tmp, out)
                placed = True
            else:
                assert stream is not None
                _write_tar(tmp, kiosk_id, stream)
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(out if placed and out is not None else tmp)
        if listed and target is not None:  # the registry rolled back: so does the list
            with contextlib.suppress(Exception):
                write_kiosk_list(store, keys, target, config.mqtt.server_clients)
        raise
    finally:
        store.dispose()
    broker, accepted = _reload_and_confirm(config, target, listed, sections, confirm_s)
    return EnrollResult(record, out, tuple(names), broker, accepted)


def _private_folder(out: Path | None) -> Path:
    """A temp folder only this user can read: beside `out` (renamed into place), or
    in the system's temp folder for a streamed bundle."""
    if out is None:
        return Path(tempfile.mkdtemp(prefix="bgk-bundle-"))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except PermissionError:
        raise cannot_write(
            out, "write the bundle where this user may write (e.g. -o - | ssh ...)"
        ) from None


def _write_parts(
    ctx: BundleContext, parts: tuple[BundlePart, ...], tmp: Path
) -> tuple[dict[str, dict[str, TomlValue]], list[str]]:
    sections: dict[str, dict[str, TomlValue]] = {}
    names: list[str] = [KIOSK_TOML]
    for part in parts:
        piece = part(ctx)
        for section, values in piece.sections.items():
            sections.setdefault(section, {}).update(values)
        for f in piece.files:
            path = tmp / f.name
            path.write_bytes(f.data)
            os.chmod(path, f.mode)
            names.append(f.name)
    (tmp / KIOSK_TOML).write_text(toml_text(sections), encoding="utf-8")
    os.chmod(tmp / KIOSK_TOML, 0o600)  # it holds the kiosk's MQTT password
    os.chmod(tmp, 0o700)
    return sections, names


def _move_into_place(tmp: Path, out: Path) -> None:
    try:
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except PermissionError:
        raise cannot_write(out, "write the bundle where this user may write") from None


def _write_tar(tmp: Path, kiosk_id: str, stream: IO[bytes]) -> None:
    """The bundle as one tar (folder `<kiosk id>/`, modes kept: kiosk.toml 0600)."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.add(tmp, arcname=kiosk_id, filter=_anonymous)
    stream.write(data.getvalue())
    stream.flush()


def _anonymous(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _reload_and_confirm(
    config: ServerConfig,
    target: BrokerTarget | None,
    listed: bool,
    sections: dict[str, dict[str, TomlValue]],
    confirm_s: float,
) -> tuple[BrokerUpdate | None, bool | None]:
    if target is None:
        return None, None
    reload = request_reload(target) if listed else "unchanged"
    update = BrokerUpdate(target.fleet_dir, listed, reload, target.warning)
    mqtt = sections.get("mqtt", {})
    username, password = mqtt.get("username"), mqtt.get("password")
    if not config.mqtt.url or not isinstance(username, str) or not isinstance(password, str):
        return update, None
    ca = config.mqtt.ca or FleetKeys(config.data / "mqtt").ca_cert
    return update, login_accepted(config.mqtt.url, ca, Identity(username, password), confirm_s)


def describe(result: EnrollResult) -> dict[str, Any]:
    k = result.kiosk
    broker = result.broker
    return {
        "ok": True,
        "kiosk": k.id,
        "gate": k.gate,
        "groups": list(k.groups),
        "bundle": None if result.bundle is None else str(result.bundle),
        "files": list(result.files),
        "broker": None
        if broker is None
        else {
            "fleet_dir": str(broker.fleet_dir),
            "reload": broker.reload,
            "accepts_kiosk": result.accepted,
            "warning": broker.warning,
        },
    }


def broker_line(result: EnrollResult) -> str:
    """Whether the broker took the new kiosk, in one line for the operator."""
    kiosk = result.kiosk.id
    if result.broker is None:
        return (
            "no [mqtt] broker_dir in server.toml: the broker does not know this kiosk yet "
            "(`sudo bgk server mosquitto-config --data DATA -o /etc/mosquitto/bgk`)"
        )
    warning = f" Warning: {result.broker.warning}" if result.broker.warning else ""
    how = {
        "signalled": "reloaded",
        "requested": "reloaded by bgk-mosquitto-reload.path",
        "unchanged": "it knew it already",
    }[result.broker.reload]
    if result.accepted:
        return f"the broker accepts {kiosk} now ({how}).{warning}"
    if result.accepted is False:
        return (
            f"the broker does not accept {kiosk} yet: its kiosk list in "
            f"{result.broker.fleet_dir} is written, but Mosquitto has not reloaded it; check "
            "`systemctl status bgk-mosquitto-reload.path` or run "
            f"`sudo systemctl reload mosquitto`.{warning}"
        )
    return f"the broker's kiosk list is written in {result.broker.fleet_dir} ({how}).{warning}"
