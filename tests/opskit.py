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
