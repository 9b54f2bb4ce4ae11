"""`bgk kiosk doctor` on fake machine trees (/sys, /proc, /dev as a Pi shows them):
what it finds, what it says to do, and its exit status. The network checks
(server, broker, pack) run against the real server in
tests/integration/test_operator_path.py."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from deliverykit import write_kiosk_toml

from kiosk.agent.doctor import FAIL, OK, Doctor, Machine, as_json, render
from kiosk.config import load_config

TOUCH = """I: Bus=0003 Vendor=222a Product=0001 Version=0110
N: Name="ILITEK ILITEK-TP"
P: Phys=usb-0000:01:00.0-1.3/input0
H: Handlers=mouse0 event0
B: PROP=2
B: EV=1b
B: KEY=400 0 0 0 0 0
B: ABS=260800000000003
B: MSC=10
"""
KEYBOARD = """I: Bus=0003 Vendor=046d Product=c31c Version=0110
N: Name="Logitech USB Keyboard"
H: Handlers=sysrq kbd leds event1
B: EV=120013
B: KEY=1000000000007 ff9f207ac14057ff febeffdfffefffff fffffffffffffffe
"""


def machine(root: Path, *, screen: bool = True, touch: bool = True) -> Machine:
    drm = root / "sys/class/drm/card1-HDMI-A-1"
    drm.mkdir(parents=True)
    (drm / "status").write_text("connected\n" if screen else "disconnected\n")
    (drm / "modes").write_text("1920x1080\n1280x720\n")
    (root / "dev/dri").mkdir(parents=True)
    (root / "dev/dri/card1").touch()
    (root / "dev/input").mkdir(parents=True)
    (root / "dev/input/event0").touch()
    (root / "proc/bus/input").mkdir(parents=True)
    devices = (TOUCH + "\n" if touch else "") + KEYBOARD
    (root / "proc/bus/input/devices").write_text(devices)
    return Machine(root / "sys", root / "proc", root / "dev", env={}, run=lambda _argv: "yes")


@pytest.fixture
def doctor_for(tmp_path: Path):  # type: ignore[no-untyped-def]
    toml = write_kiosk_toml(tmp_path / "bundle", "http://127.0.0.1:9", b"{}")

    made: list[int] = []

    def make(lang: str = "en", **kw: bool) -> Doctor:
        made.append(1)
        root = tmp_path / f"machine-{len(made)}"
        return Doctor(load_config(toml), machine(root, **kw), lang, time.time())

    return make


def test_a_connected_screen_and_a_touch_panel_pass(doctor_for) -> None:  # type: ignore[no-untyped-def]
    d = doctor_for()
    screen, touch = d.screen(), d.touch()
    assert (screen.status, touch.status) == (OK, OK)
    assert "HDMI-A-1" in screen.detail and "1920x1080" in screen.detail
    assert "ILITEK ILITEK-TP" in touch.detail and "event0" in touch.detail


def test_no_screen_and_no_touch_say_what_to_check(doctor_for) -> None:  # type: ignore[no-untyped-def]
    d = doctor_for(screen=False, touch=False)
    screen, touch = d.screen(), d.touch()
    assert (screen.status, touch.status) == (FAIL, FAIL)
    assert "HDMI" in screen.hint and "USB" in touch.hint  # the keyboard is not a touch panel
    text = render([screen, touch], "en")
    assert text.splitlines()[0].startswith("FAIL  screen")
    assert "2 check(s) failed" in text and "needs a person at the screen" in text
    assert as_json([screen, touch])["ok"] is False


def test_in_vietnamese_by_default(doctor_for) -> None:  # type: ignore[no-untyped-def]
    d = doctor_for("vi", screen=False)
    assert "không thấy màn hình" in d.screen().detail


def test_a_clock_far_from_the_servers_is_wrong(doctor_for) -> None:  # type: ignore[no-untyped-def]
    d = doctor_for()
    d.server_date = d.now + 3 * 3600
    clock = d.clock()
    assert clock.status == FAIL and "timedatectl" in clock.hint
    d.server_date = d.now + 20
    assert d.clock().status == OK


def test_a_password_everyone_can_read_is_a_failure(doctor_for, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    toml = tmp_path / "bundle" / "kiosk.toml"
    toml.write_text(toml.read_text() + '\n[mqtt]\nurl = "mqtt://127.0.0.1:9"\npassword = "p"\n')
    os.chmod(toml, 0o644)
    check = doctor_for().config_files()
    assert check.status == FAIL and "chmod 0640" in check.hint
    os.chmod(toml, 0o640)
    assert doctor_for().config_files().status == OK


def test_the_command_exits_non_zero_when_something_is_wrong(tmp_path: Path) -> None:
    toml = write_kiosk_toml(tmp_path / "bundle", "http://127.0.0.1:9", b"{}")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "kiosk.cli",
            "kiosk",
            "doctor",
            "--config",
            str(toml),
            "--lang",
            "en",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert any(line.startswith("FAIL  server") and "cannot reach" in line for line in lines)
    assert any(line.startswith("FAIL  pack") for line in lines)
    assert "Traceback" not in run.stderr
