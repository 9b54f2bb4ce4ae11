"""`bgk kiosk doctor`: what is wrong with this kiosk, one line per part.

    config   kiosk.toml and the files it names are there; the MQTT password is
             not readable by everyone
    screen   a display connected (kernel DRM: /sys/class/drm/*/status) that this
             user may open (/dev/dri), or a desktop session
    touch    a touch panel (kernel input devices: /proc/bus/input/devices) that
             this user may read (/dev/input/event*)
    clock    not behind the newest signed time the kiosk has seen, NTP synced,
             close to the server's clock (its HTTP Date)
    server   the server's TUF metadata answers over HTTP(S) with the bundle's trust
    broker   the MQTT broker accepts the kiosk's own login (TLS checked)
    pack     a pack is installed, its metadata is fresh, no error is pending
    ui       the screen program reports it is alive

The machine is read through `Machine` (roots of /sys, /proc, /dev), so the
checks run on fake trees in tests. What only a person sees (the picture is
right, a touch lands where the finger is) the report says it cannot check.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from kiosk.agent.doctor_words import WORDS
from kiosk.config import KioskConfig

OK, FAIL, WARN = "ok", "FAIL", "warn"
#: BTN_TOUCH and the absolute axes of a touch panel (linux/input-event-codes.h)
BTN_TOUCH, ABS_X, ABS_MT_POSITION_X = 0x14A, 0x00, 0x35
#: clock differences a person would notice
SKEW_S = 300.0


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    hint: str = ""


@dataclass(frozen=True)
class Machine:
    sys: Path = Path("/sys")
    proc: Path = Path("/proc")
    dev: Path = Path("/dev")
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    #: runs a command, returns its stdout (None: not available)
    run: Callable[[list[str]], str | None] = lambda argv: _run(argv)


def _run(argv: list[str]) -> str | None:
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


class Doctor:
    def __init__(self, config: KioskConfig, machine: Machine, lang: str, now: float) -> None:
        self.config, self.machine, self.now = config, machine, now
        self.w = WORDS[lang]
        self.server_date: float | None = None

    def check(self, part: str, level: str, key: str, /, **values: Any) -> Check:
        detail = self.w[key].format(**values)
        hint = self.w.get(key + ".hint", "").format(**values)
        return Check(part, level, detail, hint)

    def run(self) -> list[Check]:
        steps = [self.config_files, self.screen, self.touch, self.server, self.clock]
        steps += [self.broker, self.pack, self.ui]
        return [step() for step in steps]

    # --- config -------------------------------------------------------------------
    def config_files(self) -> Check:
        c = self.config
        named = [c.server.trusted_root, c.server.ca, c.mqtt.ca, c.mqtt.command_key]
        missing = [str(p) for p in named if p is not None and not os.access(p, os.R_OK)]
        if missing:
            return self.check("config", FAIL, "config.missing", files=", ".join(missing))
        source = c.source
        if source is not None and source.stat().st_mode & 0o004 and c.mqtt.password:
            return self.check("config", FAIL, "config.public", file=source)
        return self.check("config", OK, "config.ok", file=source or "-", kiosk=c.kiosk.id)

    # --- screen and touch ---------------------------------------------------------------
    def screen(self) -> Check:
        env = self.machine.env
        if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
            return self.check(
                "screen", OK, "screen.desktop", display=env.get("DISPLAY") or "wayland"
            )
        drm = self.machine.sys / "class" / "drm"
        connected = []
        for status in sorted(drm.glob("card*-*/status")):
            if status.read_text().strip() == "connected":
                modes = status.with_name("modes")
                mode = modes.read_text().split("\n", 1)[0].strip() if modes.exists() else "?"
                connected.append((status.parent.name.split("-", 1)[1], mode))
        if not connected:
            return self.check("screen", FAIL, "screen.none")
        cards = sorted((self.machine.dev / "dri").glob("card*"))
        closed = [str(p) for p in cards if not os.access(p, os.R_OK | os.W_OK)]
        if not cards or len(closed) == len(cards):
            return self.check(
                "screen",
                FAIL,
                "screen.denied",
                device=closed[0] if closed else self.machine.dev / "dri",
            )
        name, mode = connected[0]
        return self.check("screen", OK, "screen.ok", output=name, mode=mode)

    def touch(self) -> Check:
        try:
            text = (self.machine.proc / "bus" / "input" / "devices").read_text()
        except OSError:
            text = ""
        found = [d for d in _input_devices(text) if d["touch"]]
        if not found:
            return self.check("touch", FAIL, "touch.none")
        for device in found:
            node = self.machine.dev / "input" / device["event"]
            if os.access(node, os.R_OK):
                return self.check("touch", OK, "touch.ok", name=device["name"], event=node)
        node = self.machine.dev / "input" / found[0]["event"]
        return self.check("touch", FAIL, "touch.denied", name=found[0]["name"], event=node)

    # --- clock, server, broker ------------------------------------------------------------
    def server(self) -> Check:
        import requests

        url = f"{self.config.server.url}/tuf/timestamp.json"
        verify: bool | str = str(self.config.server.ca) if self.config.server.ca else True
        started = time.monotonic()
        try:
            response = requests.get(url, timeout=10, verify=verify)
        except requests.exceptions.SSLError as exc:
            return self.check("server", FAIL, "server.tls", url=url, error=_short(exc))
        except requests.exceptions.RequestException as exc:
            return self.check("server", FAIL, "server.down", url=url, error=_short(exc))
        ms = (time.monotonic() - started) * 1000
        date = response.headers.get("Date")
        if date:
            with contextlib.suppress(TypeError, ValueError):
                self.server_date = parsedate_to_datetime(date).timestamp()
        if response.status_code != 200:
            key = "server.denied" if response.status_code == 403 else "server.status"
            return self.check("server", FAIL, key, url=url, status=response.status_code)
        return self.check("server", OK, "server.ok", url=url, ms=f"{ms:.0f}")

    def clock(self) -> Check:
        from kiosk.agent.status import kiosk_status, local_time

        status = kiosk_status(self.config, self.now)
        floor = status["time_floor"]
        if floor is not None:
            from datetime import datetime

            seen = datetime.fromisoformat(floor.replace("Z", "+00:00")).timestamp()
            if self.now < seen - SKEW_S:
                return self.check(
                    "clock", FAIL, "clock.behind", now=local_time(self.now), floor=local_time(seen)
                )
        if self.server_date is not None and abs(self.now - self.server_date) > SKEW_S:
            return self.check(
                "clock", FAIL, "clock.skew", now=local_time(self.now),
                server=local_time(self.server_date),
            )  # fmt: skip
        synced = self.machine.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"])
        if synced == "no":
            return self.check("clock", WARN, "clock.unsynced", now=local_time(self.now))
        return self.check("clock", OK, "clock.ok", now=local_time(self.now))

    def broker(self) -> Check:
        mqtt = self.config.mqtt
        if not mqtt.url:
            return self.check("broker", WARN, "broker.none")
        from kiosk.agent.mqtt_link import try_login

        accepted, what = try_login(mqtt, self.config.kiosk.id)
        return self.check(
            "broker",
            OK if accepted else FAIL,
            "broker.ok" if accepted else "broker.fail",
            what=what,
        )

    # --- pack and screen program ------------------------------------------------------------
    def pack(self) -> Check:
        from kiosk.agent.status import kiosk_status

        s = kiosk_status(self.config, self.now)
        installed = s["installed"]
        if installed is None:
            error = s["last_error"]["message"] if s["last_error"] else self.w["pack.never"]
            return self.check("pack", FAIL, "pack.none", error=error)
        name = f"{installed['id']} v{installed['version']}"
        if s["stale"]:
            return self.check("pack", WARN, "pack.stale", pack=name, reason=s["stale_reason"])
        if s["last_error"]:
            return self.check(
                "pack", WARN, "pack.error", pack=name, error=s["last_error"]["message"]
            )
        return self.check("pack", OK, "pack.ok", pack=name, at=s["last_sync"]["local"] or "-")

    def ui(self) -> Check:
        from kiosk.agent.status import kiosk_status

        ui = kiosk_status(self.config, self.now)["ui"]
        if ui is None or not ui["alive"]:
            return self.check("ui", FAIL, "ui.down")
        if not ui["ok"]:
            return self.check("ui", FAIL, "ui.error", error=ui["error"])
        return self.check("ui", OK, "ui.ok", screen=ui["screen"], pack=ui["pack"] or "-")


def _short(exc: Exception) -> str:
    text = str(exc)
    m = re.search(r"\[SSL: [A-Z_]+\] ([^(]+)", text) or re.search(r"Errno \d+\] ([^'\")]+)", text)
    return (m.group(1) if m else text).strip()[:160]


def _bits(hexwords: str) -> set[int]:
    """Bit numbers of a /proc/bus/input/devices bitmap (words, most significant first)."""
    out: set[int] = set()
    words = hexwords.split()
    for i, word in enumerate(reversed(words)):
        value = int(word, 16)
        out |= {i * 64 + b for b in range(64) if value >> b & 1}
    return out


def _input_devices(text: str) -> list[dict[str, Any]]:
    devices = []
    for block in text.strip().split("\n\n"):
        name = re.search(r'^N: Name="(.*)"$', block, re.M)
        handlers = re.search(r"^H: Handlers=(.*)$", block, re.M)
        event = re.search(r"\b(event\d+)\b", handlers.group(1)) if handlers else None
        keys = re.search(r"^B: KEY=(.*)$", block, re.M)
        axes = re.search(r"^B: ABS=(.*)$", block, re.M)
        if not (name and event and axes):
            continue
        abs_bits = _bits(axes.group(1))
        key_bits = _bits(keys.group(1)) if keys else set()
        touch = ABS_MT_POSITION_X in abs_bits or (ABS_X in abs_bits and BTN_TOUCH in key_bits)
        devices.append({"name": name.group(1), "event": event.group(1), "touch": touch})
    return devices


def render(checks: list[Check], lang: str) -> str:
    w = WORDS[lang]
    lines = []
    for c in checks:
        lines.append(f"{c.status:<4}  {c.name:<6}  {c.detail}")
        if c.hint and c.status != OK:
            lines.append(f"{'':<14}{c.hint}")
    failed = sum(c.status == FAIL for c in checks)
    lines.append(w["summary.fail"].format(n=failed) if failed else w["summary.ok"])
    lines.append(w["summary.person"])
    return "\n".join(lines)


def as_json(checks: list[Check]) -> dict[str, Any]:
    return {
        "ok": not any(c.status == FAIL for c in checks),
        "checks": [asdict(c) for c in checks],
    }
