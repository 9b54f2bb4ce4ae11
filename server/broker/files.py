"""Writing Mosquitto's files (rendered by server/broker/conf.py) with owners
and modes that let exactly the right processes read and write them.

Production (deploy/README.md, "Who may read and write what"):

    BROKER_DIR/          root:root 0755      mosquitto.conf, bgk-layout.json, ca.crt,
                                             broker.crt (0644); broker.key
                                             (root:mosquitto 0640)
    BROKER_DIR/fleet/    bgk:mosquitto 2750  passwd, acl, reload (bgk:mosquitto 0640)

`write_broker_files` (`bgk server mosquitto-config`, run as root by the
installer) writes them all; as root it gives fleet/ to the owner of the
server's data folder (the service user), so the server rewrites the kiosk
list without root, and cannot change how Mosquitto runs (mosquitto.conf is
read by root). A setgid folder means "its group reads what is written here":
files in it are written 0640, so Mosquitto reads them through its group.

`refresh_broker` (enrolment, revocation: the service user) rewrites only
fleet/passwd and fleet/acl, then asks for a reload: it rewrites fleet/reload,
which deploy/systemd/bgk-mosquitto-reload.path watches (`systemctl reload
mosquitto`), and sends SIGHUP itself where it may (a broker it started: the
tests, the demo). Enrolment writes the kiosk list inside its database
transaction and asks for the reload only after the commit (enroll.py).

A file whose bytes, mode and owner are right already is not rewritten:
running the installer twice changes nothing and reloads nothing.
"""

from __future__ import annotations

import grp
import os
import pwd
import signal
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection

from kiosk.common.files import atomic_write
from kiosk.protocol.errors import BgkError
from server.broker.conf import (
    FLEET_DIR,
    LAYOUT_FILE,
    RELOAD_STAMP,
    BrokerLayout,
    layout_json,
    read_layout,
    render_acl,
    render_conf,
    render_passwd,
)
from server.broker.credentials import active_kiosk_hashes, server_password_lines
from server.broker.pki import FleetKeys
from server.store import Store

#: what `bgk server mosquitto-config` is told to do when it cannot write
AS_ROOT = "run `sudo bgk server mosquitto-config ...` (deploy/server/install.sh does)"
#: what the server's user is told when it cannot rewrite the kiosk list
REINSTALL = "run `sudo deploy/server/install.sh` again: it gives that folder to the server's user"


class BrokerFilesError(BgkError):
    """A broker file cannot be written here: the message names the file, the
    permission that is missing and the command that grants it."""


@dataclass(frozen=True)
class BrokerWrite:
    files: list[Path]
    changed: list[Path]


@dataclass(frozen=True)
class BrokerUpdate:
    """What happened to the broker after the kiosk list was rewritten."""

    #: the folder of passwd and acl
    fleet_dir: Path
    changed: bool
    #: "signalled" (SIGHUP sent), "requested" (fleet/reload rewritten: the path unit
    #: reloads Mosquitto), "unchanged" (nothing to reload)
    reload: str
    #: e.g. the broker's files were written for another folder
    warning: str | None = None


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _describe(path: Path) -> str:
    try:
        st = path.stat()
    except OSError:
        return "missing"
    return f"{_user(st.st_uid)}:{_group(st.st_gid)} {stat.S_IMODE(st.st_mode):04o}"


def cannot_write(path: Path, hint: str) -> BrokerFilesError:
    """The error for a file this user may not write: the folder that needs write
    permission, its owner and mode now, and what to run."""
    folder = path.parent
    return BrokerFilesError(
        f"cannot write {path}: user {_user(os.geteuid())} needs write permission in "
        f"{folder} (now {_describe(folder)}); {hint}"
    )


def group_id(name: str | None) -> int | None:
    if not name:
        return None
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return None


def put(
    path: Path,
    data: bytes,
    mode: int,
    owner: tuple[int, int] | None,
    hint: str,
    *,
    dry_run: bool = False,
) -> bool:
    """Write `path` unless it already holds `data` with `mode` (and `owner`); True
    when something changed (or would). A missing permission is a BrokerFilesError."""
    try:
        st = path.stat()
        if (
            stat.S_IMODE(st.st_mode) == mode
            and (owner is None or (st.st_uid, st.st_gid) == owner)
            and path.read_bytes() == data
        ):
            return False
    except FileNotFoundError:
        pass
    except PermissionError:
        raise cannot_write(path, hint) from None
    if dry_run:
        return True
    try:
        atomic_write(path, data, mode=mode, owner=owner)
    except PermissionError:
        raise cannot_write(path, hint) from None
    return True


def _shared(folder: Path) -> bool:
    """A setgid folder: its group must read what is written in it."""
    try:
        return bool(folder.stat().st_mode & stat.S_ISGID)
    except OSError:
        return False


def _ensure_fleet_dir(fleet: Path, owner: tuple[int, int] | None, shared: bool) -> None:
    fleet.mkdir(parents=True, exist_ok=True)
    if owner is None:
        return
    mode = 0o2750 if shared else 0o0700
    st = fleet.stat()
    if (st.st_uid, st.st_gid) != owner:
        os.chown(fleet, *owner)
    if stat.S_IMODE(st.st_mode) != mode:
        os.chmod(fleet, mode)


def write_broker_files(
    store: Store,
    keys: FleetKeys,
    layout: BrokerLayout,
    server_clients: int,
    *,
    dry_run: bool = False,
) -> BrokerWrite:
    """Every file of `layout.out` from the registry: the configuration, the TLS
    files and the kiosk list (fleet/). Files already right are left alone;
    `dry_run` only says which would change."""
    out = layout.out
    root = os.geteuid() == 0
    broker_gid = group_id(layout.run_as)
    fleet = out / FLEET_DIR
    fleet_owner: tuple[int, int] | None = None
    if root:
        data = keys.dir.parent.stat()  # the server's user owns its data folder
        fleet_owner = (data.st_uid, broker_gid if broker_gid is not None else data.st_gid)
    if not dry_run:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except PermissionError:
            raise cannot_write(out / LAYOUT_FILE, AS_ROOT) from None
        _ensure_fleet_dir(fleet, fleet_owner, shared=root and broker_gid is not None)
    key_owner = (0, broker_gid) if root and broker_gid is not None else None
    conf_owner = (0, 0) if root else None
    files: list[tuple[Path, bytes, int, tuple[int, int] | None]] = [
        (
            out / "broker.key",
            keys.broker_key.read_bytes(),
            0o640 if key_owner else 0o600,
            key_owner,
        ),
        (out / "broker.crt", keys.broker_cert.read_bytes(), 0o644, conf_owner),
        (out / "ca.crt", keys.ca_cert.read_bytes(), 0o644, conf_owner),
        (out / "mosquitto.conf", render_conf(layout).encode(), 0o644, conf_owner),
        (out / LAYOUT_FILE, layout_json(layout), 0o644, conf_owner),
    ]
    changed = [
        path
        for path, data, mode, owner in files
        if put(path, data, mode, owner, AS_ROOT, dry_run=dry_run)
    ]
    changed += _write_kiosk_list(
        store, keys, fleet, server_clients, fleet_owner, AS_ROOT, dry_run=dry_run
    )
    return BrokerWrite([p for p, *_ in files] + [fleet / "passwd", fleet / "acl"], changed)


def _write_kiosk_list(
    source: Store | Connection,
    keys: FleetKeys,
    fleet: Path,
    server_clients: int,
    owner: tuple[int, int] | None,
    hint: str,
    *,
    dry_run: bool = False,
) -> list[Path]:
    mode = 0o640 if _shared(fleet) or (dry_run and owner is not None) else 0o600
    passwd = render_passwd(active_kiosk_hashes(source), server_password_lines(keys, server_clients))
    acl = render_acl(server_clients)
    return [
        path
        for path, data in ((fleet / "passwd", passwd.encode()), (fleet / "acl", acl.encode()))
        if put(path, data, mode, owner, hint, dry_run=dry_run)
    ]


@dataclass(frozen=True)
class BrokerTarget:
    """A broker folder checked for a refresh: its layout and its kiosk-list folder."""

    broker_dir: Path
    layout: BrokerLayout

    @property
    def fleet_dir(self) -> Path:
        return self.broker_dir / FLEET_DIR

    @property
    def warning(self) -> str | None:
        if self.layout.out.resolve() == self.broker_dir.resolve():
            return None
        return (
            f"the broker's configuration in {self.broker_dir} names {self.layout.out}: rewrite it "
            f"with `sudo bgk server mosquitto-config --data DATA -o {self.broker_dir}` so "
            "Mosquitto reads the kiosk list from here"
        )


def broker_target(broker_dir: Path) -> BrokerTarget:
    """The configured broker folder (never the one a stale layout file names), after
    checking that this user may rewrite its kiosk list: nothing is written when not."""
    layout = read_layout(broker_dir)
    target = BrokerTarget(broker_dir, layout)
    fleet = target.fleet_dir
    if not fleet.is_dir():
        raise BrokerFilesError(
            f"{fleet} does not exist: write the broker files again with `sudo bgk server "
            f"mosquitto-config --data DATA -o {broker_dir}`"
        )
    if not os.access(fleet, os.W_OK | os.X_OK):
        raise cannot_write(fleet / "passwd", REINSTALL)
    for name in ("passwd", "acl", RELOAD_STAMP):
        path = fleet / name
        if path.exists() and not os.access(path, os.R_OK):
            raise BrokerFilesError(
                f"cannot read {path}: user {_user(os.geteuid())} needs to own it (now "
                f"{_describe(path)}); {REINSTALL}"
            )
    return target


def write_kiosk_list(
    source: Store | Connection, keys: FleetKeys, target: BrokerTarget, server_clients: int
) -> bool:
    """Rewrite fleet/passwd and fleet/acl (as `source` sees the registry); True if changed."""
    owner = None
    if os.geteuid() == 0:
        st = target.fleet_dir.stat()
        owner = (st.st_uid, st.st_gid)
    return bool(_write_kiosk_list(source, keys, target.fleet_dir, server_clients, owner, REINSTALL))


def sighup(pid_file: Path) -> bool:
    """Ask the broker to re-read passwd and acl; False when it is not running here
    or not ours to signal."""
    try:
        os.kill(int(pid_file.read_text().strip()), signal.SIGHUP)
    except (OSError, ValueError):
        return False
    return True


def request_reload(target: BrokerTarget) -> str:
    """Rewrite fleet/reload (the path unit reloads Mosquitto) and SIGHUP where allowed."""
    stamp = target.fleet_dir / RELOAD_STAMP
    owner = None
    if os.geteuid() == 0:
        st = target.fleet_dir.stat()
        owner = (st.st_uid, st.st_gid)
    mode = 0o640 if _shared(target.fleet_dir) else 0o600
    put(stamp, f"{time.time():.6f}\n".encode(), mode, owner, REINSTALL)
    pid_file = target.layout.pid_file
    if pid_file is not None and sighup(pid_file):
        return "signalled"
    return "requested"


def refresh_broker(
    store: Store, keys: FleetKeys, broker_dir: Path | None, server_clients: int
) -> BrokerUpdate | None:
    """Rewrite the kiosk list in `broker_dir` from the registry and reload the broker.
    None when there is no broker_dir."""
    if broker_dir is None:
        return None
    target = broker_target(broker_dir)
    changed = write_kiosk_list(store, keys, target, server_clients)
    reload = request_reload(target) if changed else "unchanged"
    return BrokerUpdate(target.fleet_dir, changed, reload, target.warning)


def describe_update(update: BrokerUpdate | None, config_hint: str) -> str:
    """One line for the operator: did the broker take the change?"""
    if update is None:
        return f"no [mqtt] broker_dir in server.toml: {config_hint}"
    if update.reload == "signalled":
        line = f"broker reloaded (kiosk list in {update.fleet_dir})"
    elif update.reload == "requested":
        line = (
            f"kiosk list rewritten in {update.fleet_dir}; Mosquitto reloads it "
            "(bgk-mosquitto-reload.path)"
        )
    else:
        line = f"the broker's kiosk list in {update.fleet_dir} was already up to date"
    return line + (f"; warning: {update.warning}" if update.warning else "")
