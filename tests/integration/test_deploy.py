"""What deploy/ installs: systemd units that systemd itself accepts, whose command
lines are real `bgk` commands and whose paths are the ones the code writes; the
two installers' dry runs and their refusals. (The installers for real:
tests/integration/test_operator_path.py.)"""

from __future__ import annotations

import hashlib
import re
import shlex
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from kiosk.cli import build_parser
from server.broker.conf import FLEET_DIR, RELOAD_STAMP, production_layout

REPO = Path(__file__).resolve().parents[2]
SYSTEMD = REPO / "deploy" / "systemd"
UNITS = sorted(p for p in SYSTEMD.iterdir() if p.suffix in (".service", ".path", ".timer"))
SERVICES = [u for u in UNITS if u.suffix == ".service"]
BGK = "/opt/bgk/venv/bin/bgk"


def exec_start(unit: Path) -> list[str]:
    [line] = [ln for ln in unit.read_text().splitlines() if ln.startswith("ExecStart=")]
    return shlex.split(line.removeprefix("ExecStart="))


def setting(unit: Path, key: str) -> list[str]:
    return [ln.split("=", 1)[1] for ln in unit.read_text().splitlines() if ln.startswith(f"{key}=")]


def test_there_are_units_for_every_service() -> None:
    assert {u.name for u in UNITS} == {
        "bgk-kiosk-agent.service",
        "bgk-kiosk-ui.service",
        "bgk-server.service",
        "bgk-ingest@.service",
        "bgk-backup.service",
        "bgk-backup.timer",
        "bgk-mosquitto-reload.path",
        "bgk-mosquitto-reload.service",
    }


@pytest.mark.parametrize(
    "unit", [u for u in SERVICES if exec_start(u)[0] == BGK], ids=lambda u: u.name
)
def test_units_run_real_bgk_commands(unit: Path) -> None:
    argv = exec_start(unit)
    args = build_parser().parse_args([a.replace("%i", "2") for a in argv[1:]])
    assert callable(args.handler)
    text = unit.read_text()
    if "kiosk" in unit.name:  # the paths the kiosk's defaults and the bundle expect
        assert str(args.config) == "/etc/bgk/kiosk.toml"
        assert "StateDirectory=bgk\n" in text and "User=bgk" in text
    else:
        assert str(args.data) == "/var/lib/bgk-server" and "User=bgk" in text


def test_the_server_may_write_what_it_writes_and_no_more() -> None:
    """ProtectSystem=strict: the data folder and the broker's kiosk list only (the
    folder enrolment from the dashboard rewrites); never Mosquitto's configuration.
    No StateDirectory=, which would take the data folder from group www-data."""
    server = SYSTEMD / "bgk-server.service"
    fleet = production_layout().out / FLEET_DIR
    assert setting(server, "ReadWritePaths") == ["/var/lib/bgk-server", f"-{fleet}"]
    assert not setting(server, "StateDirectory")
    backup = SYSTEMD / "bgk-backup.service"
    assert setting(backup, "ReadWritePaths") == ["/var/lib/bgk-server /var/backups/bgk"]
    assert "--keep" in exec_start(backup) and exec_start(backup)[-3].endswith("/")


def test_the_broker_reloads_when_the_server_asks() -> None:
    """The path unit watches the file the server writes after the kiosk list; its
    service reloads Mosquitto (the drop-in's ExecReload: SIGHUP)."""
    path = SYSTEMD / "bgk-mosquitto-reload.path"
    assert setting(path, "PathChanged") == [str(production_layout().out / FLEET_DIR / RELOAD_STAMP)]
    service = SYSTEMD / "bgk-mosquitto-reload.service"
    assert exec_start(service) == ["/usr/bin/systemctl", "reload", "mosquitto.service"]
    dropin = (REPO / "deploy/mosquitto/bgk-mosquitto.service.conf").read_text()
    assert "ExecReload=/bin/kill -HUP $MAINPID" in dropin
    assert f"-c {production_layout().out}/mosquitto.conf" in dropin
    timer = SYSTEMD / "bgk-backup.timer"
    assert setting(timer, "OnCalendar") == ["*-*-* 03:00:00"]


def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing (Debian's systemd package)"
    bgk = Path(sys.executable).with_name("bgk")
    for unit in UNITS:
        (tmp_path / unit.name).write_text(unit.read_text().replace(BGK, str(bgk)))
    run = subprocess.run(
        [analyze, "verify", *[str(tmp_path / u.name) for u in UNITS]],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0 and run.stderr.strip() == "", run.stderr


def fake_wheel(folder: Path) -> Path:
    """A bgk wheel as the installers see it (they fingerprint its RECORD)."""
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / "bgk-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("bgk-0.1.0.dist-info/RECORD", "kiosk/__init__.py,sha256=x,1\n")
    return wheel


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    folder = tmp_path / "lb-07"
    folder.mkdir(mode=0o700)
    (folder / "kiosk.toml").write_text('[kiosk]\nid = "lb-07"\n')
    (folder / "root.json").write_text("{}")
    return folder


def provision(*args: str) -> subprocess.CompletedProcess[str]:
    script = REPO / "deploy" / "raspberry-pi" / "provision.sh"
    return subprocess.run(["bash", str(script), *args], capture_output=True, text=True)


def test_provisioning_installs_the_bundle_privately_and_deletes_the_copy(
    bundle: Path, tmp_path: Path
) -> None:
    wheels = fake_wheel(tmp_path / "wheels").parent
    root = tmp_path / "root"
    root.mkdir()
    run = provision(
        "--bundle", str(bundle), "--wheels", str(wheels), "--root", str(root), "--dry-run"
    )
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert f"install -d -o root -g bgk -m 0750 {root}/etc/bgk" in out
    assert f"install -D -o root -g bgk -m 0640 {bundle}/kiosk.toml {root}/etc/bgk/kiosk.toml" in out
    assert f"--no-index --find-links {wheels}" in out  # no internet needed
    assert "== user bgk (display, GPU, touch panel)" in out
    assert "systemctl enable bgk-kiosk-agent.service" in out
    assert "systemctl enable bgk-kiosk-ui.service" in out
    assert "50-bgk-kiosk-reboot.rules" in out
    assert f"would: rm -rf {bundle}" in out  # the copy with the password goes
    assert "change(s) would be made (dry run: nothing changed)" in out
    assert not (root / "etc").exists() and bundle.exists()  # a dry run changes nothing
    no_ui = provision("--bundle", str(bundle), "--wheels", str(wheels), "--dry-run", "--no-ui")
    assert "enable bgk-kiosk-ui" not in no_ui.stdout


def test_provisioning_takes_the_servers_tar_and_the_dashboards_zip(
    bundle: Path, tmp_path: Path
) -> None:
    wheels = fake_wheel(tmp_path / "wheels").parent
    tar = tmp_path / "lb-07.bundle.tar"
    subprocess.run(["tar", "-cf", str(tar), "-C", str(tmp_path), "lb-07"], check=True)
    zipped = tmp_path / "bgk-bundle-lb-07.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        for f in bundle.iterdir():
            z.write(f, f"lb-07/{f.name}")
    for given in (tar, zipped):
        run = provision("--bundle", str(given), "--wheels", str(wheels), "--dry-run")
        assert run.returncode == 0, run.stderr
        assert re.search(
            r"install -D -o root -g bgk -m 0640 \S+/lb-07/kiosk\.toml /etc/bgk/kiosk\.toml",
            run.stdout,
        )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ((), "--bundle PATH is required the first time"),
        (("--bundle", "/nonexistent"), "no bundle at /nonexistent"),
        (("--bundle", "/etc/hostname"), "is not a folder, a .tar or a .zip"),
        (("--frobnicate",), "unknown option --frobnicate"),
    ],
)
def test_provisioning_refuses_wrong_use_clearly(args: tuple[str, ...], words: str) -> None:
    run = provision(*args, "--dry-run")
    assert run.returncode != 0 and words in run.stderr, run.stderr
    assert run.stderr.count("\n") == 1


def install(*args: str) -> subprocess.CompletedProcess[str]:
    script = REPO / "deploy" / "server" / "install.sh"
    return subprocess.run(["bash", str(script), *args], capture_output=True, text=True)


def test_the_server_install_dry_run_says_every_action(tmp_path: Path) -> None:
    """A fresh machine, Let's Encrypt and PostgreSQL: the dry run names each step
    (the real run: test_operator_path.py) and changes nothing."""
    wheels = fake_wheel(tmp_path / "wheels").parent
    root = tmp_path / "root"
    root.mkdir()
    run = install("--url", "https://kiosk.example.vn", "--keys", "/media/doic-keys",
                  "--certbot", "admin@example.vn", "--postgres", "--wheels", str(wheels),
                  "--root", str(root), "--dry-run")  # fmt: skip
    assert run.returncode == 0, run.stderr
    out = run.stdout
    for words in (
        f"install -d -o bgk -g www-data -m 0750 {root}/var/lib/bgk-server",
        f"install -d -o bgk -g bgk -m 0700 {root}/var/backups/bgk",
        "/usr/bin/python3 -m venv",
        "server init --data",
        "== PostgreSQL: role and database bgk",
        "store.url=postgresql+psycopg:///bgk?host=/var/run/postgresql",
        "mqtt.broker_dir=",
        f"{root}/etc/nginx/sites-available/bgk",
        f"ln -sfn {root}/etc/nginx/sites-available/bgk {root}/etc/nginx/sites-enabled/bgk",
        "systemctl enable bgk-server.service",
        "systemctl enable bgk-mosquitto-reload.path",
        "systemctl enable bgk-backup.timer",
        "certbot certonly --webroot",
        "--deploy-hook systemctl reload nginx",
        f"{root}/etc/bgk-server/firewall.nft",
    ):
        assert words in out, f"{words!r} not in the dry run:\n{out}"
    for kind, query, action in (
        ("pg_roles", "rolname", "createuser bgk"),
        ("pg_database", "datname", "createdb -O bgk bgk"),
    ):  # what this machine's PostgreSQL already has is left as it is
        has = subprocess.run(
            ["runuser", "-u", "postgres", "--", "psql", "-tAc",
             f"SELECT 1 FROM {kind} WHERE {query}='bgk'"],
            capture_output=True, text=True, check=False,
        ).stdout.strip() == "1"  # fmt: skip
        assert (f"would: runuser -u postgres -- {action}" in out) is not has, out
    assert "change(s) would be made (dry run: nothing changed)" in out
    assert sorted(p.name for p in root.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ((), "--url is needed the first time"),
        (("--url", "kiosk.example.vn"), "must start with https://"),
        (("--url", "https://k.example.vn"), "say how TLS is set up"),
        (("--url", "https://k.example.vn", "--cert", "/x.crt"), "--cert needs --cert-key"),
        (("--frobnicate",), "unknown option --frobnicate"),
    ],
)
def test_the_server_install_refuses_wrong_use_clearly(
    args: tuple[str, ...], words: str, tmp_path: Path
) -> None:
    run = install(*args, "--root", str(tmp_path), "--dry-run")
    assert run.returncode != 0 and words in run.stderr, run.stderr
    assert run.stderr.count("\n") == 1


def test_the_firewall_rules_are_valid_nftables() -> None:
    nft = shutil.which("nft") or "/usr/sbin/nft"
    run = subprocess.run([nft, "-c", "-f", str(REPO / "deploy/nftables/bgk.nft")],
                         capture_output=True, text=True)  # fmt: skip
    assert run.returncode == 0, run.stderr
    text = (REPO / "deploy/nftables/bgk.nft").read_text()
    assert "policy drop" in text and "tcp dport { 22, 80, 443, 8883 } accept" in text
    assert "1883" not in text.split("table inet bgk_firewall {")[1]  # loopback only


def test_the_kit_wheel_fingerprint_ignores_zip_timestamps(tmp_path: Path) -> None:
    """Running an installer again with the same software changes nothing: it compares
    the wheel's RECORD (every file's hash), not the zip's bytes."""
    first = fake_wheel(tmp_path / "a")
    second = tmp_path / "b" / first.name
    second.parent.mkdir()
    with zipfile.ZipFile(first) as a, zipfile.ZipFile(second, "w") as b:
        for info in a.infolist():
            info.date_time = (2030, 1, 1, 0, 0, 0)
            b.writestr(info, a.read(info.filename))
    assert (
        hashlib.sha256(first.read_bytes()).digest() != hashlib.sha256(second.read_bytes()).digest()
    )
    lib = REPO / "deploy" / "lib" / "ensure.sh"
    prints = [
        subprocess.run(
            ["bash", "-c", f'source "{lib}"; wheel_fingerprint "{w}"'],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for w in (first, second)
    ]
    assert prints[0] == prints[1] and len(prints[0].strip()) == 64
    assert stat.S_ISREG(first.stat().st_mode)
