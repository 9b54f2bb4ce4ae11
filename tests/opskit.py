"""Test helpers for the operator's path (deploy/): the real service user, folders
that user can reach, and `bgk` run as that user.

The service user is real (`useradd`, as the installer makes it): these tests run
as root, as CI does. `bgk` runs as another user through an interpreter that user
may execute: the test environment's own when it is world-executable, else
Debian's /usr/bin/python3 (the same CPython minor version) with the test
environment's packages on PYTHONPATH.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SERVICE_USER = "bgk"


def need_root() -> None:
    assert os.geteuid() == 0, (
        "these tests create the service user and run commands as it: run them as root "
        "(CI and scripts/test on the project's machines do)"
    )


def ensure_service_user(
    name: str = SERVICE_USER, home: str = "/var/lib/bgk-server"
) -> pwd.struct_passwd:
    """The system user the installer creates (the same useradd line)."""
    need_root()
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--home-dir", home, "--no-create-home",
             "--shell", "/usr/sbin/nologin", name],
            check=True,
        )  # fmt: skip
        return pwd.getpwnam(name)


@contextmanager
def open_folder(prefix: str) -> Iterator[Path]:
    """A scratch folder every user can reach (pytest's tmp is private to root)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(path, 0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def give(path: Path, user: str = SERVICE_USER, group: str | None = None) -> Path:
    """chown -R user:group (the user's own group by default)."""
    pw = pwd.getpwnam(user)
    gid = pw.pw_gid if group is None else grp.getgrnam(group).gr_gid
    for p in [path, *path.rglob("*")]:
        os.lchown(p, pw.pw_uid, gid)
    return path


def _world_executable(path: Path) -> bool:
    p = path.resolve()
    if not p.stat().st_mode & stat.S_IXOTH:
        return False
    return all(parent.stat().st_mode & stat.S_IXOTH for parent in p.parents)


def user_python() -> tuple[str, dict[str, str]]:
    """(interpreter, extra environment) with which another user runs this project."""
    if _world_executable(Path(sys.executable)):
        return sys.executable, {}
    debian = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
    assert debian.exists(), f"{debian} is needed to run bgk as another user"
    site = sysconfig.get_paths()["purelib"]
    return str(debian), {"PYTHONPATH": f"{REPO}:{site}"}


def passphrase_for(user: str) -> dict[str, str]:
    """The tests' key passphrase file (conftest), as a copy `user` can read."""
    source = os.environ.get("BGK_PASSPHRASE_FILE")
    if not source:
        return {}
    entry = pwd.getpwnam(user)
    copy = Path(tempfile.gettempdir()) / f"bgk-test-passphrase-{entry.pw_uid}.txt"
    copy.write_bytes(Path(source).read_bytes())
    os.chown(copy, entry.pw_uid, entry.pw_gid)
    os.chmod(copy, 0o600)
    return {"BGK_PASSPHRASE_FILE": str(copy)}


def bgk_as(
    user: str, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """`sudo -u USER bgk ARGS` (runuser: sudo is not installed everywhere)."""
    python, extra = user_python()
    base = {
        "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        "LANG": "C.UTF-8",
        "HOME": pwd.getpwnam(user).pw_dir,
        "PYTHAINLP_READ_ONLY": "1",
        **passphrase_for(user),
        **extra,
        **(env or {}),
    }
    return subprocess.run(
        ["runuser", "-u", user, "--", python, "-m", "kiosk.cli", *args],
        capture_output=True,
        cwd=cwd or "/",
        env=base,
        check=False,
    )


# --- scratch roots: a Debian 12 machine's files under a folder ---------------------


def relocate_text(text: str, root: Path, prefixes: tuple[str, ...]) -> str:
    for prefix in prefixes:
        text = text.replace(f" {prefix}", f" {root}{prefix}").replace(
            f"={prefix}", f"={root}{prefix}"
        )
    return text


def prepare_debian_root(root: Path, *, server: bool) -> None:
    """What Debian's packages put on a machine, relocated under `root`: the units
    of mosquitto and nginx, nginx's configuration (without the default site,
    which would take port 80 of this shared machine), nftables.conf, and the
    folders the packages make."""
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o755)
    for folder in ("etc", "run", "var/lib", "var/log", "lib/systemd/system", "media", "home"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    if not server:
        return
    units = root / "lib/systemd/system"
    mosquitto = Path("/lib/systemd/system/mosquitto.service").read_text()
    (units / "mosquitto.service").write_text(
        relocate_text(mosquitto, root, ("/var/log/mosquitto", "/run/mosquitto", "/etc/mosquitto"))
    )
    nginx = Path("/lib/systemd/system/nginx.service").read_text()
    nginx = nginx.replace("/usr/sbin/nginx ", f"/usr/sbin/nginx -c {root}/etc/nginx/nginx.conf ")
    (units / "nginx.service").write_text(nginx.replace("/run/nginx.pid", f"{root}/run/nginx.pid"))
    shutil.copytree("/etc/nginx", root / "etc/nginx", symlinks=True)
    for link in (root / "etc/nginx/sites-enabled").iterdir():
        link.unlink()
    conf = (root / "etc/nginx/nginx.conf").read_text()
    conf = relocate_text(conf, root, ("/etc/nginx", "/var/log/nginx", "/run/nginx.pid"))
    (root / "etc/nginx/nginx.conf").write_text(conf)
    shutil.copytree("/etc/mosquitto", root / "etc/mosquitto")
    if Path("/etc/nftables.conf").exists():
        shutil.copy("/etc/nftables.conf", root / "etc/nftables.conf")
    for folder, owner in (("var/lib/mosquitto", "mosquitto"), ("var/log/mosquitto", "mosquitto")):
        (root / folder).mkdir(parents=True, exist_ok=True)
        shutil.chown(root / folder, owner, owner)
    (root / "var/log/nginx").mkdir(parents=True, exist_ok=True)


def systemctl_shim(folder: Path) -> Path:
    """A bin folder whose `systemctl` is tests/unitemu.py (systemd's stand-in)."""
    folder.mkdir(parents=True, exist_ok=True)
    shim = folder / "systemctl"
    emu = REPO / "tests" / "unitemu.py"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{emu}" systemctl "$@"\n')
    os.chmod(shim, 0o755)
    return folder


def make_tls(folder: Path, name: str) -> tuple[Path, Path, Path]:
    """A private CA and a certificate for `name` (and 127.0.0.1) it signed, made now:
    (ca.crt, server.crt with the chain, server.key)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test provincial CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName(
        [x509.DNSName(name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(san, critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    pem = serialization.Encoding.PEM
    paths = folder / "ca.crt", folder / "server.crt", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(pem))
    paths[1].write_bytes(cert.public_bytes(pem) + ca.public_bytes(pem))
    paths[2].write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


def tree(root: Path, skip: tuple[str, ...] = ()) -> dict[str, tuple[str, int, int, bytes]]:
    """Every file and folder under `root` with its owner, group, mode and bytes
    (for "running it again changes nothing")."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if any(rel == s or rel.startswith(s + "/") for s in skip):
            continue
        st = path.lstat()
        body = b""
        if path.is_symlink():
            body = os.readlink(path).encode()
        elif path.is_file():
            body = path.read_bytes()
        out[rel] = (oct(st.st_mode), st.st_uid, st.st_gid, body)
    return out


# --- deploy/README.md as a list of commands --------------------------------------------

#: a command that needs what a test machine cannot have (deploy/README.md says which)
HARDWARE = "# [real hardware]"


def doc_commands(path: Path) -> list[str]:
    """Every shell command of the ```sh blocks, continuation lines joined."""
    commands: list[str] = []
    in_block = False
    pending = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_block = line.strip() == "```sh" if not in_block else False
            continue
        if not in_block:
            continue
        text = pending + line.strip()
        if text.endswith("\\"):
            pending = text[:-1] + " "
            continue
        pending = ""
        if text and not text.startswith("#"):
            commands.append(text)
    return commands
