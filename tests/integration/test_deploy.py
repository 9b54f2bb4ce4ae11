"""What deploy/ installs: systemd units that systemd itself accepts and whose
command lines are real `bgk` commands, the Raspberry Pi provisioning script,
and enrolment bundles that keep the kiosk's password private."""

from __future__ import annotations

import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
UNITS = sorted((REPO / "deploy" / "systemd").glob("*.service"))
BGK = "/opt/bgk/venv/bin/bgk"


def exec_start(unit: Path) -> list[str]:
    [line] = [ln for ln in unit.read_text().splitlines() if ln.startswith("ExecStart=")]
    return shlex.split(line.removeprefix("ExecStart="))


def test_there_are_units_for_every_service() -> None:
    assert {u.name for u in UNITS} == {
        "bgk-kiosk-agent.service",
        "bgk-kiosk-ui.service",
        "bgk-server.service",
        "bgk-ingest@.service",
    }


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_units_run_real_bgk_commands(unit: Path) -> None:
    argv = exec_start(unit)
    assert argv[0] == BGK
    args = build_parser().parse_args([a.replace("%i", "2") for a in argv[1:]])
    assert callable(args.handler)
    text = unit.read_text()
    if "kiosk" in unit.name:  # the paths the kiosk's defaults and the bundle expect
        assert str(args.config) == "/etc/bgk/kiosk.toml"
        assert "StateDirectory=bgk\n" in text and "User=bgk" in text
    else:
        assert str(args.data) == "/var/lib/bgk-server"


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


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("deploy")

    def bgk(*args: str) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "kiosk.cli", *args], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr

    bgk("keys", "init", str(tmp / "keys"))
    bgk("server", "init", "--data", str(tmp / "srv"), "--keys", str(tmp / "keys"),
        "--url", "http://127.0.0.1:9")  # fmt: skip
    bgk("kiosk", "enroll", "--data", str(tmp / "srv"), "--id", "lb-07", "--gate", "lao-bao",
        "-o", str(tmp / "bundle"))  # fmt: skip
    return tmp / "bundle"


def test_the_bundle_keeps_the_mqtt_password_private(bundle: Path) -> None:
    assert "password" in (bundle / "kiosk.toml").read_text()
    assert stat.S_IMODE((bundle / "kiosk.toml").stat().st_mode) == 0o600
    assert stat.S_IMODE(bundle.stat().st_mode) == 0o700


def provision(*args: str) -> subprocess.CompletedProcess[str]:
    script = REPO / "deploy" / "raspberry-pi" / "provision.sh"
    return subprocess.run(["bash", str(script), *args], capture_output=True, text=True)


def test_provisioning_installs_the_bundle_privately_and_starts_both_services(bundle: Path) -> None:
    run = provision("--bundle", str(bundle), "--dry-run")
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert f"install -m 0640 -o root -g bgk {bundle}/kiosk.toml /etc/bgk/kiosk.toml" in out
    assert "install -d -m 0750 -o root -g bgk /etc/bgk" in out
    # the locked versions, checked by hash, then the project itself
    assert f"pip install -q --require-hashes -r {REPO}/requirements/kiosk.lock" in out
    assert f"pip install -q --no-deps --upgrade {REPO}" in out
    assert "usermod -a -G video,render,input bgk" in out
    assert "systemctl enable --now bgk-kiosk-agent.service" in out
    assert "systemctl enable --now bgk-kiosk-ui.service" in out
    assert "50-bgk-kiosk-reboot.rules /etc/polkit-1/rules.d/" in out
    no_ui = provision("--bundle", str(bundle), "--dry-run", "--no-ui").stdout
    assert "enable --now bgk-kiosk-ui" not in no_ui and "disable --now bgk-kiosk-ui" in no_ui


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ((), "--bundle DIR is required"),
        (("--bundle", "/nonexistent"), "has no kiosk.toml"),
        (("--frobnicate",), "unknown option --frobnicate"),
    ],
)
def test_provisioning_refuses_wrong_use_clearly(args: tuple[str, ...], words: str) -> None:
    run = provision(*args, "--dry-run") if args != ("--frobnicate",) else provision(*args)
    assert run.returncode != 0 and words in run.stderr
