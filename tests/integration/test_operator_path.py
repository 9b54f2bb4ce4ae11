"""deploy/README.md from top to bottom, every command of it, in order, as its
users run them: kits, the server install in a scratch root with real users,
real Mosquitto and nginx started as their units say (tests/unitemu.py stands in
for systemd), the first pack, a kiosk enrolled as the `bgk` user with its
bundle streamed into the "Pi" (a second scratch root on this machine), the
kiosk agent syncing through nginx, `bgk kiosk doctor`, a backup, a lost data
folder restored while the kiosk trusts newer metadata than the backup, and
both installers run again (nothing changes). A command ending in
`# [real hardware]` is the only kind not run; the test fails on any other it
cannot run, and checks it ran exactly the unmarked ones.

How a README command becomes a command here (`Walk.translate`): `sudo -u bgk`
is runuser, the machines' paths move under their scratch roots,
kiosk.example.vn is localhost on free ports (installer options the test
adds), `ssh doic@lb-02.local '…'` and `scp … doic@lb-02.local:` act in the
Pi's home folder, and the Pi's kit is built for this machine's processor.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from deliverykit import free_port
from opskit import (
    HARDWARE,
    REPO,
    doc_commands,
    ensure_service_user,
    give,
    make_tls,
    prepare_debian_root,
    systemctl_shim,
    tree,
)

README = REPO / "deploy" / "README.md"
#: the transcript of the walk: every command as run here and what it printed
TRANSCRIPT = REPO / "test-artifacts" / "deploy" / "operator-path.txt"
DEADLINE_S = 120.0
#: what may change on a running machine between two installer runs
LIVE = ("run", "var/log", "var/lib/mosquitto", "var/lib/bgk", "var/lib/bgk-server/fleet.db",
        "var/lib/bgk-server/fleet.db-wal", "var/lib/bgk-server/fleet.db-shm",
        "var/lib/bgk-server/screenshots", "var/lib/bgk-server/tuf/.lock", "home")  # fmt: skip


@dataclass
class Walk:
    work: Path
    fonts: Path
    ports: dict[str, int] = field(default_factory=dict)
    ran: list[str] = field(default_factory=list)
    outputs: dict[str, subprocess.CompletedProcess[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.server = self.work / "server"
        self.pi = self.work / "pi"
        self.pi_home = self.pi / "home" / "doic"
        self.bin = systemctl_shim(self.work / "bin")
        self.ca, self.crt, self.key = make_tls(self.work / "tls", "localhost")
        self.ports = {p: free_port() for p in ("https", "http", "mqtts", "mqtt", "app")}
        self.url = f"https://localhost:{self.ports['https']}"

    # --- which machine, which command -------------------------------------------------
    @staticmethod
    def machine(command: str) -> str:
        if command.startswith((".venv/", "scripts/")):
            return "computer"
        if "provision.sh" in command or "/etc/bgk/kiosk.toml" in command:
            return "pi"
        return "server"

    def translate(self, command: str) -> tuple[str, Path, str]:
        machine = self.machine(command)
        root = self.pi if machine == "pi" else self.server
        s = re.sub(r"^sudo -u bgk ", "runuser -u bgk -- ", command)
        s = re.sub(r"^sudo ", "", s)
        s = s.replace("~/bgk", f"{self.work}/signing/bgk")  # the signing machine's virtualenv
        s = re.sub(
            r"ssh doic@lb-02\.local '([^']*)'", lambda m: f"(cd {self.pi_home} && {m.group(1)})", s
        )
        s = re.sub(r"^scp -r (\S+) doic@lb-02\.local:$", rf"cp -r \1 {self.pi_home}/", s)
        backups = sorted((self.server / "var/backups/bgk").glob("bgk-backup-*.tar"))
        for old, new in (
            ("/opt/bgk/venv/bin/bgk", f"{root}/opt/bgk/venv/bin/bgk"),
            ("/var/lib/bgk-server", f"{self.server}/var/lib/bgk-server"),
            ("/var/backups/bgk", f"{self.server}/var/backups/bgk"),
            ("/media/doic-keys", f"{self.server}/media/doic-keys"),
            ("/etc/bgk/kiosk.toml", f"{self.pi}/etc/bgk/kiosk.toml"),
            ("https://kiosk.example.vn", self.url),
            ("/root/kiosk.example.vn.crt", str(self.crt)),
            ("/root/kiosk.example.vn.key", str(self.key)),
            ("/media/usb/bgk-backup-20261202T030000Z.tar", str(backups[-1] if backups else "")),
        ):
            s = s.replace(old, new)
        s = re.sub(r"(?<![\w/.-])(kit-server|kit-pi|lao-bao-pack)", rf"{self.work}/\1", s)
        p = self.ports
        if "deploy/server/install.sh" in s:
            s += (
                f" --root {self.server} --https-port {p['https']} --http-port {p['http']}"
                f" --mqtts-port {p['mqtts']} --mqtt-port {p['mqtt']} --app-port {p['app']}"
                f" --cert-ca {self.ca}"
            )
        if "provision.sh" in s:
            s += f" --root {self.pi} --no-ui"  # the screen program needs a screen
        if "wheelhouse --for pi" in s:
            s += " --platform host"  # arm64 cannot run here
        if " kiosk enroll " in s:
            s = s.replace(" -o - ", f" --state-dir {self.pi}/var/lib/bgk -o - ")
        if s.startswith("curl "):
            s = s.replace("curl ", f"curl --cacert {self.ca} ", 1)
        cwd = REPO if machine == "computer" else self.pi_home if machine == "pi" else self.work
        return s, cwd, machine

    def env(self, machine: str) -> dict[str, str]:
        root = self.pi if machine == "pi" else self.server
        # the machines of the walk have no desktop session (a kiosk draws through
        # KMS/DRM), whatever display the UI tests of this run opened
        desktop = ("DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY")
        return {
            **{k: v for k, v in os.environ.items() if k not in desktop},
            "PATH": f"{self.bin}:{os.environ['PATH']}",
            "BGK_EMU_ROOT": str(root),
            "BGK_EMU_BIN": str(self.bin),
            "XDG_CACHE_HOME": str(self.fonts),
            "PYTHAINLP_READ_ONLY": "1",
            # the offline keys' passphrase (the operator types it; here the tests' file),
            # readable by the service user that `server init` runs as
            **self.passphrase(),
        }

    def passphrase(self) -> dict[str, str]:
        source = os.environ.get("BGK_PASSPHRASE_FILE")
        if not source:
            return {}
        copy = self.work / "offline-keys-passphrase.txt"
        if not copy.exists():
            copy.write_bytes(Path(source).read_bytes())
            copy.chmod(0o644)  # the tests' passphrase, not a secret
        return {"BGK_PASSPHRASE_FILE": str(copy)}

    def run(self, command: str) -> subprocess.CompletedProcess[str]:
        line, cwd, machine = self.translate(command)
        started = time.monotonic()
        done = subprocess.run(
            ["bash", "-o", "pipefail", "-c", line], cwd=cwd, env=self.env(machine),
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        self.ran.append(command)
        self.outputs[command] = done
        TRANSCRIPT.parent.mkdir(parents=True, exist_ok=True)
        with TRANSCRIPT.open("a", encoding="utf-8") as fh:
            took = time.monotonic() - started
            fh.write(f"\n$ {command}\n# here: {line}\n# exit {done.returncode}, {took:.1f} s\n")
            fh.write(done.stdout + (f"[stderr]\n{done.stderr}" if done.stderr else ""))
        assert "Traceback" not in done.stdout + done.stderr, f"{line}\n{done.stderr}"
        return done

    # --- looking at the machines ------------------------------------------------------------
    def systemctl(self, machine: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["systemctl", *args], env=self.env(machine), capture_output=True, text=True,
            check=False,
        )  # fmt: skip

    def active(self, machine: str, unit: str) -> bool:
        return self.systemctl(machine, "is-active", "-q", unit).returncode == 0

    def bgk(self, machine: str, *args: str) -> subprocess.CompletedProcess[str]:
        root = self.pi if machine == "pi" else self.server
        return subprocess.run(
            ["runuser", "-u", "bgk", "--", f"{root}/opt/bgk/venv/bin/bgk", *args],
            cwd="/", env=self.env(machine), capture_output=True, text=True, check=False,
        )  # fmt: skip

    def kiosk(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.bgk("pi", "kiosk", *args, "--config", f"{self.pi}/etc/bgk/kiosk.toml")

    def status(self) -> dict[str, object]:
        done = self.kiosk("status", "--json")
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout))

    def nginx_log(self) -> list[str]:
        path = self.server / "var/log/nginx/access.log"
        return path.read_text().splitlines() if path.exists() else []

    def stop_everything(self) -> None:
        for root, machine in ((self.pi, "pi"), (self.server, "server")):
            for pid_file in sorted((root / "run" / "emu").glob("*.pid")):
                self.systemctl(machine, "stop", pid_file.stem)


def wait_until(what: str, check: Callable[[], object], deadline_s: float = DEADLINE_S) -> object:
    end = time.monotonic() + deadline_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


# --- what the test checks around the README's commands -------------------------------------


def after_keys(w: Walk, _done: subprocess.CompletedProcess[str]) -> None:
    give(w.server / "media" / "doic-keys")  # the stick, mounted readable by bgk


def after_install(w: Walk, done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stdout + done.stderr
    for unit in ("mosquitto", "nginx", "bgk-server", "bgk-mosquitto-reload.path"):
        assert w.active("server", unit), f"{unit} is not running\n{done.stdout}"
    data = w.server / "var/lib/bgk-server"
    assert oct(data.stat().st_mode)[-3:] == "750" and data.group() == "www-data"
    assert data.owner() == "bgk" and (data / "fleet.db").stat().st_mode & 0o007 == 0
    fleet = w.server / "etc/mosquitto/bgk/fleet"
    assert (fleet.owner(), fleet.group(), oct(fleet.stat().st_mode)[-4:]) == (
        "bgk", "mosquitto", "2750",
    )  # fmt: skip
    assert (w.server / "etc/mosquitto/bgk/mosquitto.conf").owner() == "root"
    assert (w.server / "etc/nginx/sites-enabled/bgk").is_symlink()
    nft = (w.server / "etc/nftables.conf").read_text()
    assert f'include "{w.server}/etc/bgk-server/firewall.nft"' in nft


def after_dry_run(w: Walk, done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stderr
    assert "0 change(s) would be made" in done.stdout, done.stdout


def after_admin(w: Walk, done: subprocess.CompletedProcess[str]) -> None:
    """The dashboard's "Enrol a new kiosk", through nginx, by the server running as
    bgk: the same enrolment, the broker takes the kiosk (lb-90, a spare)."""
    import io
    import ssl
    import tomllib
    import zipfile

    import httpx
    from fleetkit import login_code

    from server.broker.credentials import Identity

    password = re.search(r"password \(shown once\): (\S+)", done.stdout)
    assert password, done.stdout
    trust = ssl.create_default_context(cafile=str(w.ca))
    with httpx.Client(base_url=w.url, verify=trust, follow_redirects=False) as web:
        signed = web.post(
            "/login", data={"name": "admin", "password": password.group(1), "next": "/"}
        )
        assert signed.status_code == 303, signed.text
        form = web.get("/admin/kiosks/new").text
        token = re.search(r'name="csrf" value="([^"]+)"', form)
        assert token, form
        data = {"csrf": token.group(1), "id": "lb-90", "gate": "lao-bao", "groups": ""}
        zipped = web.post("/admin/kiosks/new", data=data, timeout=60)
    assert zipped.status_code == 200, zipped.text[:2000]
    bundle = zipfile.ZipFile(io.BytesIO(zipped.content))
    toml = tomllib.loads(bundle.read("lb-90/kiosk.toml").decode())
    (w.work / "lb-90-ca.crt").write_bytes(bundle.read("lb-90/mqtt-ca.crt"))
    ident = Identity("lb-90", toml["mqtt"]["password"])
    assert login_code(w.ports["mqtts"], ident, ca=w.work / "lb-90-ca.crt") == 0


def after_publish(w: Walk, done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0 and "published lao-bao" in done.stdout, done.stderr


def after_enrol(w: Walk, done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stderr
    assert "the broker accepts lb-02 now" in done.stderr, done.stderr
    assert (w.pi_home / "lb-02.bundle.tar").exists()
    leftovers = [p for p in w.server.rglob("kiosk.toml")]
    assert not leftovers, f"a bundle was left on the server: {leftovers}"


def after_provision(w: Walk, done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (w.pi_home / "lb-02.bundle.tar").exists()  # the password's copy is gone
    toml = w.pi / "etc/bgk/kiosk.toml"
    assert (toml.owner(), toml.group(), oct(toml.stat().st_mode)[-3:]) == ("root", "bgk", "640")
    assert w.active("pi", "bgk-kiosk-agent")
    wait_until("the kiosk to install the pack", lambda: w.status().get("installed") or {})
    log = w.nginx_log()
    assert not [line for line in log if '" 403 ' in line], "nginx refused the kiosk"
    assert [line for line in log if "/blobs/sha256/" in line and '" 200 ' in line]


def after_doctor(w: Walk, done: subprocess.CompletedProcess[str]) -> None:
    lines = {line.split()[1]: line.split()[0] for line in done.stdout.splitlines()
             if line[:4] in ("ok  ", "FAIL", "warn")}  # fmt: skip
    assert done.returncode == 1, done.stdout  # no screen, no touch panel here
    for part in ("config", "server", "clock", "broker", "pack"):
        assert lines.get(part) == "ok", done.stdout
    assert lines.get("screen") == lines.get("touch") == "FAIL"


def before_fleet(w: Walk) -> None:
    def online() -> bool:
        done = w.bgk("server", "server", "fleet", "--data", f"{w.server}/var/lib/bgk-server",
                     "--json")  # fmt: skip
        return any(k["id"] == "lb-02" and k["state"] == "online" for k in json.loads(done.stdout))

    wait_until("lb-02 online on the server", online)


def after_backup(w: Walk, done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stderr
    [backup] = (w.server / "var/backups/bgk").glob("bgk-backup-*.tar")
    assert backup.owner() == "bgk" and oct(backup.stat().st_mode)[-3:] == "600"


def after_resign(w: Walk, done: subprocess.CompletedProcess[str]) -> None:
    """The kiosk now trusts metadata newer than the backup's."""
    assert done.returncode == 0, done.stderr
    synced = w.kiosk("sync", "--once")
    assert synced.returncode == 0, synced.stdout + synced.stderr


def before_restore(w: Walk) -> None:
    """The lost disk: the server stops, its data folder is gone."""
    assert w.systemctl("server", "stop", "bgk-server").returncode == 0
    shutil.rmtree(w.server / "var/lib/bgk-server")


def after_restore(w: Walk, done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stdout + done.stderr
    assert w.active("server", "bgk-server")
    synced = w.kiosk("sync", "--once")
    assert synced.returncode == 0, synced.stdout + synced.stderr  # no rollback refusal
    status = w.status()
    assert status["installed"] and status["stale"] is False, status
    assert not [line for line in w.nginx_log() if '" 403 ' in line]


snapshots: dict[str, dict[str, tuple[str, int, int, bytes]]] = {}


def before_upgrade(machine: str) -> Callable[[Walk], None]:
    def take(w: Walk) -> None:
        snapshots[machine] = tree(w.pi if machine == "pi" else w.server, LIVE)

    return take


def after_upgrade(machine: str) -> Callable[[Walk, subprocess.CompletedProcess[str]], None]:
    def compare(w: Walk, done: subprocess.CompletedProcess[str]) -> None:
        assert done.returncode == 0, done.stdout + done.stderr
        assert "nothing to change" in done.stdout, done.stdout
        now = tree(w.pi if machine == "pi" else w.server, LIVE)
        before = snapshots[machine]
        changed = sorted(k for k in set(now) | set(before) if now.get(k) != before.get(k))
        assert not changed, f"running it again changed {changed[:5]}"

    return compare


#: (pattern of a README command, check before it, check after it)
HOOKS: list[tuple[str, Callable[[Walk], None] | None, Callable[..., None] | None]] = [
    (r"bgk keys init", None, after_keys),
    (r"install\.sh --url .* --cert ", None, after_install),
    (r"install\.sh --dry-run$", None, after_dry_run),
    (r"server user add admin", None, after_admin),
    (r"server publish", None, after_publish),
    (r"kiosk enroll", None, after_enrol),
    (r"provision\.sh --bundle", None, after_provision),
    (r"kiosk doctor", None, after_doctor),
    (r"server fleet", before_fleet, None),
    (r"start bgk-backup\.service", None, after_backup),
    (r"server resign", None, after_resign),
    (r"install\.sh .*--restore", before_restore, after_restore),
    (r"install\.sh$", before_upgrade("server"), after_upgrade("server")),
    (r"provision\.sh$", before_upgrade("pi"), after_upgrade("pi")),
]


def test_every_command_is_run_or_marked() -> None:
    """Quick and separate: each command of deploy/README.md either carries the
    marker or is one this walk knows how to run (machine and paths)."""
    commands = doc_commands(README)
    assert commands, "no ```sh blocks in deploy/README.md"
    walk = Walk.__new__(Walk)  # translation needs no machine
    walk.work, walk.server, walk.pi = Path("/w"), Path("/w/server"), Path("/w/pi")
    walk.pi_home, walk.url, walk.ports = Path("/w/pi/home/doic"), "https://localhost:1", {}
    walk.ca = walk.crt = walk.key = Path("/w/tls/x")
    walk.ports = {p: 1 for p in ("https", "http", "mqtts", "mqtt", "app")}
    for command in commands:
        if command.endswith(HARDWARE):
            continue
        line, _cwd, _machine = walk.translate(command)
        for canonical in ("/opt/bgk", "/var/lib/bgk-server", "/etc/bgk/", "kiosk.example.vn"):
            assert not re.search(rf"(?<![\w/]){re.escape(canonical)}", line), (command, line)


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_the_deploy_readme_from_top_to_bottom(font_cache: Path) -> None:
    ensure_service_user()
    work = Path("/tmp") / f"bgk-operator-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(mode=0o755)
    os.chmod(work, 0o755)
    walk = Walk(work, font_cache.parents[1])
    TRANSCRIPT.unlink(missing_ok=True)
    try:
        prepare_debian_root(walk.server, server=True)
        prepare_debian_root(walk.pi, server=False)
        walk.pi_home.mkdir(parents=True)
        commands = doc_commands(README)
        for command in commands:
            if command.endswith(HARDWARE):
                continue
            hooks = [(b, a) for pattern, b, a in HOOKS if re.search(pattern, command)]
            for before, _ in hooks:
                if before:
                    before(walk)
            done = walk.run(command)
            expected = 1 if "kiosk doctor" in command else 0
            assert done.returncode == expected, (
                f"{command}\n-> {walk.translate(command)[0]}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
            for _, after in hooks:
                if after:
                    after(walk, done)
        assert walk.ran == [c for c in commands if not c.endswith(HARDWARE)]
        every_hook = {p for p, _, _ in HOOKS}
        used = {p for p, _, _ in HOOKS if any(re.search(p, c) for c in walk.ran)}
        assert used == every_hook, f"checks that matched no command: {every_hook - used}"
    finally:
        walk.stop_everything()
        # the services' output (unitemu's journal) beside the transcript, to read after a failure
        for machine, root in (("server", walk.server), ("pi", walk.pi)):
            for log in (root / "var" / "log" / "emu").glob("*.log"):
                shutil.copyfile(log, TRANSCRIPT.with_name(f"{machine}-{log.name}"))
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":  # print the translation of every command
    w = Walk(Path("/tmp/bgk-operator-preview"), Path("/tmp"))
    for c in doc_commands(README):
        print(("skip  " if c.endswith(HARDWARE) else "run   ") + shlex.quote(w.translate(c)[0]))
    sys.exit(0)
