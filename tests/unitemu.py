"""A small stand-in for systemd where it does not run (containers, CI), enough for
deploy/'s scripts and their tests: `systemctl` (a shim on PATH execs this file)
runs units the way systemd would start them, from a scratch root:

    ExecStartPre=, ExecStart=, ExecReload= (with $MAINPID), as User=/Group= with the
    user's groups and SupplementaryGroups=, Environment=, StateDirectory= (made and
    given to the user), the unit's drop-ins (an empty ExecStart= resets the list),
    Type=simple|exec|notify|forking|oneshot, PIDFile=, template units (%i), path
    units (PathChanged=/PathModified= start their service), enable/disable through
    the [Install] WantedBy= links. `systemctl` inside a unit is this stand-in too.

Not emulated: the sandbox (ProtectSystem=, ReadWritePaths=...), Restart=, timers
firing, the journal (each unit's output goes to ROOT/var/log/emu/UNIT.log). It
refuses units that would change this machine (nftables).

    BGK_EMU_ROOT=/tmp/root python tests/unitemu.py systemctl enable --now bgk-server
"""

from __future__ import annotations

import grp
import os
import pwd
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

REFUSED = {"nftables.service": "it would load firewall rules into this machine"}
SYSTEMCTL = ("/bin/systemctl", "/usr/bin/systemctl", "systemctl")
Unit = dict[str, dict[str, list[str]]]


class EmuError(Exception):
    pass


def root() -> Path:
    return Path(os.environ["BGK_EMU_ROOT"])


def state_dir() -> Path:
    path = root() / "run" / "emu"
    path.mkdir(parents=True, exist_ok=True)
    return path


def full_name(name: str) -> str:
    return name if "." in name.split("@")[-1] else f"{name}.service"


def unit_files(name: str) -> list[Path]:
    """The unit file and its drop-ins, in the order systemd reads them."""
    template = name
    if "@" in name:
        head, tail = name.split("@", 1)
        template = f"{head}@.{tail.rsplit('.', 1)[1]}"
    for base in ("etc/systemd/system", "lib/systemd/system", "usr/lib/systemd/system"):
        for candidate in (name, template):
            path = root() / base / candidate
            if path.is_file():
                drop = []
                for d in {candidate, name}:
                    folder = root() / "etc/systemd/system" / f"{d}.d"
                    drop += sorted(folder.glob("*.conf")) if folder.is_dir() else []
                return [path, *drop]
    raise EmuError(f"Unit {name} not found.")


def load(name: str) -> Unit:
    unit: Unit = {}
    instance = name.split("@", 1)[1].rsplit(".", 1)[0] if "@" in name else ""
    for path in unit_files(name):
        section = ""
        for raw in path.read_text().splitlines():
            line = raw.strip()
            if not line or line.startswith(("#", ";")):
                continue
            if line.startswith("["):
                section = line.strip("[]")
                continue
            key, _, value = line.partition("=")
            value = value.strip().replace("%i", instance)
            entries = unit.setdefault(section, {}).setdefault(key.strip(), [])
            if value:
                entries.append(value)
            else:
                entries.clear()
    return unit


def one(unit: Unit, section: str, key: str, default: str = "") -> str:
    values = unit.get(section, {}).get(key, [])
    return values[-1] if values else default


def pid_of(name: str) -> int | None:
    try:
        pid = int((state_dir() / f"{name}.pid").read_text())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
        return None
    return pid


def active(name: str) -> bool:
    if name.endswith(".timer"):
        return (state_dir() / f"{name}.active").exists()
    return pid_of(name) is not None


def _user_env(user: str | None, unit: Unit, name: str) -> dict[str, str]:
    shim = Path(sys.argv[0]).resolve().parent
    env = {
        "PATH": f"{os.environ.get('BGK_EMU_BIN', shim)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG": "C.UTF-8",
        "BGK_EMU_ROOT": str(root()),
        "BGK_EMU_BIN": os.environ.get("BGK_EMU_BIN", str(shim)),
        "INVOCATION_ID": name,
    }
    pw = pwd.getpwnam(user or "root")
    env.update(HOME=pw.pw_dir, USER=pw.pw_name, LOGNAME=pw.pw_name, SHELL=pw.pw_shell)
    for entry in unit.get("Service", {}).get("Environment", []):
        for token in shlex.split(entry):
            key, _, value = token.partition("=")
            env[key] = value
    # the machine's clock is every unit's clock: under `scripts/test --faketime` the
    # units see the same shifted time as the commands the operator types
    env.update(
        {k: v for k, v in os.environ.items() if k == "LD_PRELOAD" or k.startswith("FAKETIME")}
    )
    for key in ("BGK_EMU_EXTRA_ENV",):  # a test's own additions (e.g. a CA for requests)
        for token in shlex.split(os.environ.get(key, "")):
            k, _, v = token.partition("=")
            env[k] = v
    return env


def _as_user(unit: Unit, argv: list[str], privileged: bool) -> list[str]:
    user = one(unit, "Service", "User")
    if not user or privileged:
        return argv
    pw = pwd.getpwnam(user)
    group = one(unit, "Service", "Group") or grp.getgrgid(pw.pw_gid).gr_name
    gid = grp.getgrnam(group).gr_gid
    groups = set(os.getgrouplist(user, gid))
    for extra in " ".join(unit["Service"].get("SupplementaryGroups", [])).split():
        groups.add(grp.getgrnam(extra).gr_gid)
    return [
        "setpriv", f"--reuid={pw.pw_uid}", f"--regid={gid}",
        f"--groups={','.join(str(g) for g in sorted(groups))}", "--", *argv,
    ]  # fmt: skip


def _command(line: str, mainpid: int | None) -> tuple[list[str], bool, bool]:
    """(argv, ignore failure, run as root) of an Exec*= line."""
    ignore = privileged = False
    while line[:1] in "-+@!:":
        ignore |= line[0] == "-"
        privileged |= line[0] == "+"
        line = line[1:]
    line = line.replace("$MAINPID", str(mainpid or 0)).replace("${MAINPID}", str(mainpid or 0))
    argv = shlex.split(line)
    if argv[0] in SYSTEMCTL:
        argv = [sys.executable, str(Path(__file__).resolve()), "systemctl", *argv[1:]]
    return _keep_clock(argv), ignore, privileged


def _keep_clock(argv: list[str]) -> list[str]:
    """nginx empties its workers' environment (all but TZ) unless `env NAME;` keeps a
    variable: under `scripts/test --faketime` its Date headers would be the real time
    while every other process of the machine runs shifted."""
    shifted = [k for k in os.environ if k == "LD_PRELOAD" or k.startswith("FAKETIME")]
    if not shifted or Path(argv[0]).name != "nginx":
        return argv
    keep = " ".join(f"env {k};" for k in sorted(shifted))
    if "-g" in argv[:-1]:
        at = argv.index("-g") + 1
        return [*argv[:at], f"{argv[at]} {keep}", *argv[at + 1 :]]
    return [*argv, "-g", keep]


def _log(name: str) -> Path:
    path = root() / "var" / "log" / "emu" / f"{name}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _run(unit: Unit, name: str, line: str, mainpid: int | None = None) -> None:
    argv, ignore, privileged = _command(line, mainpid)
    user = None if privileged else one(unit, "Service", "User") or None
    with _log(name).open("ab") as log:
        done = subprocess.run(
            _as_user(unit, argv, privileged), stdout=log, stderr=log, cwd="/",
            env=_user_env(user, unit, name), check=False,
        )  # fmt: skip
    if done.returncode != 0 and not ignore:
        raise EmuError(
            f"{name}: {shlex.join(argv)} exited with {done.returncode} (see {_log(name)})"
        )


def _state_directories(unit: Unit) -> None:
    user = one(unit, "Service", "User") or "root"
    pw = pwd.getpwnam(user)
    group = one(unit, "Service", "Group") or grp.getgrgid(pw.pw_gid).gr_name
    mode = int(one(unit, "Service", "StateDirectoryMode", "0755"), 8)
    for entry in " ".join(unit.get("Service", {}).get("StateDirectory", [])).split():
        path = root() / "var" / "lib" / entry
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, pw.pw_uid, grp.getgrnam(group).gr_gid)
        os.chmod(path, mode)


def start(name: str) -> None:
    if name in REFUSED:
        raise EmuError(f"{name} is not started here: {REFUSED[name]}")
    if active(name):
        return
    unit = load(name)
    if name.endswith(".timer"):
        (state_dir() / f"{name}.active").touch()
        return
    if name.endswith(".path"):
        watcher = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "watch", name],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=_log(name).open("ab"),
            start_new_session=True, env={**os.environ},
        )  # fmt: skip
        (state_dir() / f"{name}.pid").write_text(str(watcher.pid))
        return
    service = unit.get("Service", {})
    _state_directories(unit)
    for line in service.get("ExecStartPre", []):
        _run(unit, name, line)
    kind = one(unit, "Service", "Type", "simple")
    if kind in ("oneshot", "forking"):
        for line in service.get("ExecStart", []):
            _run(unit, name, line)
        if kind == "forking":
            pid_file = Path(one(unit, "Service", "PIDFile"))
            deadline = time.monotonic() + 10
            while not pid_file.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            (state_dir() / f"{name}.pid").write_text(pid_file.read_text().strip())
        return
    [line] = service["ExecStart"]
    argv, _, privileged = _command(line, None)
    user = None if privileged else one(unit, "Service", "User") or None
    with _log(name).open("ab") as log:
        proc = subprocess.Popen(
            _as_user(unit, argv, privileged), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            cwd="/", env=_user_env(user, unit, name), start_new_session=True,
        )  # fmt: skip
    (state_dir() / f"{name}.pid").write_text(str(proc.pid))
    time.sleep(0.5)  # a unit that dies at once failed to start
    if proc.poll() is not None:
        raise EmuError(f"{name} exited at once with {proc.returncode} (see {_log(name)})")


def stop(name: str) -> None:
    (state_dir() / f"{name}.active").unlink(missing_ok=True)
    pid = pid_of(name)
    if pid is None:
        return
    for sig, wait in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig) if os.getpgid(pid) == pid else os.kill(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while pid_of(name) is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid_of(name) is None:
            break
    (state_dir() / f"{name}.pid").unlink(missing_ok=True)


def reload(name: str) -> None:
    unit = load(name)
    lines = unit.get("Service", {}).get("ExecReload", [])
    if not lines:
        raise EmuError(f"Job type reload is not applicable for unit {name}.")
    for line in lines:
        _run(unit, name, line, pid_of(name))


def _wants(name: str) -> list[Path]:
    unit = load(name)
    targets = " ".join(unit.get("Install", {}).get("WantedBy", [])).split()
    return [root() / "etc/systemd/system" / f"{t}.wants" / name for t in targets]


def enable(name: str) -> None:
    for link in _wants(name):
        if not link.is_symlink():
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(unit_files(name)[0])
            print(f"Created symlink {link} -> {unit_files(name)[0]}.")


def enabled(name: str) -> bool:
    links = _wants(name)
    return bool(links) and all(link.is_symlink() for link in links)


def watch(name: str) -> None:
    """A path unit: start its service when a watched path appears or changes."""
    unit = load(name)
    paths = [Path(p) for key in ("PathChanged", "PathModified") for p in unit["Path"].get(key, [])]
    target = one(unit, "Path", "Unit") or name.rsplit(".", 1)[0] + ".service"

    def look(path: Path) -> tuple[int, int, int] | None:
        try:
            st = path.stat()
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    seen = [look(p) for p in paths]
    while True:
        time.sleep(0.1)
        now = [look(p) for p in paths]
        if now != seen and any(n is not None for n in now):
            try:
                start(target)
            except EmuError as exc:
                print(exc, file=sys.stderr, flush=True)
        seen = now


def systemctl(args: list[str]) -> int:
    words = [a for a in args if not a.startswith("-")]
    flags = {a for a in args if a.startswith("-")}
    verb, names = words[0], [full_name(n) for n in words[1:]]
    quiet = "-q" in flags or "--quiet" in flags
    if verb in ("daemon-reload", "list-units"):
        return 0
    if verb == "is-active":
        ok = all(active(n) for n in names)
        if not quiet:
            print("active" if ok else "inactive")
        return 0 if ok else 3
    if verb == "is-enabled":
        ok = all(enabled(n) for n in names)
        if not quiet:
            print("enabled" if ok else "disabled")
        return 0 if ok else 1
    actions = {
        "start": [start],
        "stop": [stop],
        "restart": [stop, start],
        "reload": [reload],
        "reload-or-restart": [stop, start],
        "try-restart": [lambda n: (stop(n), start(n)) if active(n) else None],
        "enable": [enable] + ([start] if "--now" in flags else []),
        "disable": [lambda n: [link.unlink() for link in _wants(n) if link.is_symlink()]]
        + ([stop] if "--now" in flags else []),
    }
    if verb not in actions:
        print(f"unitemu: systemctl {verb} is not emulated", file=sys.stderr)
        return 1
    for name in names:
        for step in actions[verb]:
            try:
                step(name)
            except EmuError as exc:
                print(f"Job for {name} failed: {exc}", file=sys.stderr)
                return 1
    return 0


def main() -> int:
    command, args = sys.argv[1], sys.argv[2:]
    if command == "systemctl":
        return systemctl(args)
    if command == "watch":
        watch(full_name(args[0]))
    return 2


if __name__ == "__main__":
    sys.exit(main())
