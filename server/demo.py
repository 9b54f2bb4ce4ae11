"""`bgk demo`: the whole system on one machine, with embedded defaults.

Every part is started through its own `bgk` command (the same contracts a
real deployment uses), each in its own process:

    keys init -> server init -> Mosquitto (generated config, free ports)
    -> pack build + publish (the sample Lao Bảo pack) -> server run
    -> kiosk enroll + kiosk agent (+ kiosk ui where a display exists)
    -> sim (a simulated fleet with real MQTT connections)

When everything is up it writes STATE/demo.json (URLs, MQTT, kiosk ids) and
prints what to look at; Ctrl-C stops it all. Each run starts from a fresh
state folder (the font cache in ~/.cache/bgk makes the pack build quick).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from kiosk.protocol.errors import UsageError
from server.demo_names import DEMO_KEYS_PASSPHRASE, KIOSK_ID
from server.demo_share import MATE_ID, share_lines, start_mate
from server.demo_summary import summary
from server.errors import OperatorMustAct
from server.workspace.demo_part import (
    DEMO_ACCOUNTS,
    in_background,
    workspace_info,
)

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[1]
SAMPLE_PACK = REPO / "content_packs" / "lao-bao"
GATE = "lao-bao"


class DemoError(OperatorMustAct):
    """A part of the demo did not come up; the message names it and its log."""


@dataclass
class DemoOptions:
    state_dir: Path
    headless: bool = False
    sim_kiosks: int = 50
    pack: Path = SAMPLE_PACK
    #: seconds to run once ready; 0 = until Ctrl-C
    duration: float = 0.0


@dataclass
class Demo:
    opts: DemoOptions
    procs: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    logs: list[IO[bytes]] = field(default_factory=list)
    stoppers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def state(self) -> Path:
        return self.opts.state_dir

    @property
    def passphrase_file(self) -> Path:
        """The demo keys' passphrase, for the demo's own `bgk` commands (a demo only)."""
        return self.state / "keys-passphrase.txt"

    # --- running parts -----------------------------------------------------------
    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        from server.packs.keyfile import PASSPHRASE_ENV

        return _env({PASSPHRASE_ENV: str(self.passphrase_file), **(extra or {})})

    def bgk(self, *args: str) -> str:
        """Run a `bgk` command to completion; its output, or DemoError with its error."""
        cmd = [sys.executable, "-m", "kiosk.cli", *args]
        run = subprocess.run(cmd, capture_output=True, text=True, env=self.env())
        if run.returncode != 0:
            tail = (run.stderr or run.stdout).strip().splitlines()[-3:]
            raise DemoError(f"`bgk {' '.join(args[:2])}` failed: {' / '.join(tail)}")
        return run.stdout

    def bgk_together(self, commands: list[list[str]]) -> None:
        """Run several `bgk` commands at once (each prints a PDF, say) and wait for all;
        DemoError naming the first that failed."""
        procs = [
            (args, subprocess.Popen([sys.executable, "-m", "kiosk.cli", *args],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    text=True, env=self.env()))
            for args in commands
        ]  # fmt: skip
        failed = []
        for args, proc in procs:
            _out, err = proc.communicate()
            if proc.returncode != 0:
                failed.append(f"`bgk {' '.join(args[:2])}` failed: {err.strip()[-300:]}")
        if failed:
            raise DemoError(failed[0])

    def accounts(
        self, data: Path, accounts: tuple[tuple[str, str], ...], logins: dict[str, dict[str, str]]
    ) -> None:
        """Users with generated passwords and API tokens, into `logins` by role."""
        for name, role in accounts:
            made = json.loads(
                self.bgk("server", "user", "add", name, "--role", role, "--generate", "--json",
                         "--data", str(data))
            )  # fmt: skip
            token = json.loads(
                self.bgk("server", "token", "create", "--user", name, "--label", "demo", "--json",
                         "--data", str(data))
            )  # fmt: skip
            logins[role] = {"user": name, "password": made["password"], "token": token["token"]}

    def workspace(self, data: Path, logins: dict[str, dict[str, str]]) -> None:
        """The sample imported into the workspace; an editor and a publisher."""
        self.bgk("pack", "import", str(self.opts.pack), "--data", str(data), "--as", "demo")
        self.accounts(data, DEMO_ACCOUNTS[2:], logins)

    def spawn(self, name: str, *args: str, extra_env: dict[str, str] | None = None) -> None:
        """Start a long-running `bgk` command with its output in STATE/logs/NAME.log."""
        logs = self.state / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        out = open(logs / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
        self.logs.append(out)
        cmd = [sys.executable, "-m", "kiosk.cli", *args]
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=self.env(extra_env),
            start_new_session=True,
        )
        self.procs.append((name, proc))

    def check_alive(self) -> None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                raise DemoError(
                    f"{name} stopped (exit {proc.returncode}); see {self.state / 'logs' / name}.log"
                )

    def stop(self) -> None:
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for _name, proc in reversed(self.procs):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for stop in reversed(self.stoppers):
            with contextlib.suppress(Exception):
                stop()
        for out in self.logs:
            out.close()

    def wait_for(self, what: str, ready: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            if ready():
                return
            time.sleep(0.2)
        raise DemoError(
            f"{what} was not ready after {timeout:.0f} s; logs in {self.state / 'logs'}"
        )

    # --- the steps ---------------------------------------------------------------
    def run(self, say: Callable[[str], None]) -> dict[str, Any]:
        from server.broker.local import LocalBroker, free_port
        from server.broker.pki import FleetKeys
        from server.store import open_store

        state, data = self.state, self.state / "server"
        if not (self.opts.pack / "pack.toml").is_file():
            raise UsageError(f"no pack sources at {self.opts.pack}: pass --pack DIR")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        say("keys (root and targets encrypted with a printed demo passphrase) and server data")
        from server.packs.keyfile import write_passphrase_file

        write_passphrase_file(self.passphrase_file, DEMO_KEYS_PASSPHRASE)
        self.bgk(
            "keys", "init", str(state / "keys"), "--passphrase-file", str(self.passphrase_file)
        )
        self.bgk("server", "init", "--data", str(data), "--keys", str(state / "keys"), "--url", url,
                 "--site-url", f"{url}/p")  # fmt: skip

        say("dashboard accounts: an admin and a border-guard viewer, with API tokens")
        logins: dict[str, dict[str, str]] = {}
        self.accounts(data, DEMO_ACCOUNTS[:2], logins)

        say("Mosquitto broker (generated config, free ports)")
        store = open_store(f"sqlite:///{data / 'fleet.db'}")
        broker = LocalBroker.create(store, FleetKeys(data / "mqtt"), state / "broker")
        broker.start()
        self.stoppers += [broker.stop, store.dispose]
        _append_toml(
            data / "server.toml",
            "mqtt",
            {"url": broker.url, "kiosk_url": broker.tls_url, "broker_dir": str(state / "broker")},
        )
        with (data / "server.toml").open("a", encoding="utf-8") as fh:
            # one real kiosk: a publication shows on it within seconds, not the 300 s window
            fh.write("\n[fleet]\nannounce_jitter_s = 5\n")

        say(f"sample pack {self.opts.pack.name}: lint, build, sign and publish")
        built = state / "packs" / self.opts.pack.name
        self.bgk("pack", "build", str(self.opts.pack), "-o", str(built),
                 "--settings", str(data / "server.toml"))  # fmt: skip
        self.bgk("server", "publish", str(built), "--data", str(data), "--to", "all")

        say(f"server on {url}")
        self.spawn("server", "server", "run", "--data", str(data))
        self.wait_for("the server", lambda: _http_ok(f"{url}/healthz"), 30)

        say(f"the workspace: {self.opts.pack.name}'s sources as drafts, an editor and a publisher")
        workspace = in_background(lambda: self.workspace(data, logins))

        say(f"kiosk {KIOSK_ID} at {GATE}: enrol, agent" + ("" if self.headless else ", UI"))
        bundle = state / "kiosks" / KIOSK_ID
        self.bgk(
            "kiosk", "enroll", "--data", str(data), "--id", KIOSK_ID, "--gate", GATE,
            "--group", "quang-tri", "-o", str(bundle), "--state-dir", "state",
        )  # fmt: skip
        config = bundle / "kiosk.toml"
        share_lines(config, f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}")
        self.spawn("kiosk-agent", "kiosk", "agent", "--config", str(config))
        if not self.headless:
            self.spawn("kiosk-ui", "kiosk", "ui", "--config", str(config), "--windowed")

        say(f"simulated fleet: {self.opts.sim_kiosks} kiosks over MQTT")
        self.spawn(
            "sim", "sim", "--kiosks", str(self.opts.sim_kiosks), "--data", str(data),
            "--broker-dir", str(state / "broker"), "--period", "10",
        )  # fmt: skip

        say("a leaflet per language (the pack's web copy was made when it was published)")
        site = data / "sites"
        leaflets = {
            lang: str(state / "leaflets" / f"{self.opts.pack.name}-{lang}.pdf")
            for lang in ("vi", "en", "lo", "th", "zh")
        }
        self.bgk_together(
            [
                ["pack", "leaflet", str(built), "--lang", lang, "-o", out]
                for lang, out in leaflets.items()
            ]
        )
        self.wait_for(
            f"kiosk {KIOSK_ID} installing the pack",
            lambda: _kiosk_has_pack(self, config),
            120,
        )
        say(f"kiosk {MATE_ID} at {GATE} (agent only): the pack from {KIOSK_ID}, not the server")
        gate_sharing = start_mate(self.spawn, self.wait_for, config, state, GATE)
        self.wait_for("the fleet view", lambda: _fleet_count(self, data) > 1, 60)
        workspace()
        say("two-person publishing: two demo publishers, the ceremony, a signing event")
        from server.demo_signing import setup_two_person

        signing = setup_two_person(self.bgk, state, data, url, self.opts.pack)
        info = {
            "dashboard_url": f"{url}/",
            "admin_login": {
                "user": logins["admin"]["user"],
                "password": logins["admin"]["password"],
            },
            "admin_token": logins["admin"]["token"],
            "viewer_login": {
                "user": logins["viewer"]["user"],
                "password": logins["viewer"]["password"],
            },
            "viewer_token": logins["viewer"]["token"],
            **workspace_info(url, self.opts.pack.name, logins),
            "api_docs_url": f"{url}/docs",
            "pack_site_url": f"{url}/p/{self.opts.pack.name}/",
            "pack_site_dir": str(next(site.glob(f"{self.opts.pack.name}-v*"), site)),
            "leaflets": leaflets,
            "server_url": url,
            "mqtt_url": broker.url,
            "mqtt_kiosk_url": broker.tls_url,
            "data_dir": str(data),
            "kiosk_ids": [KIOSK_ID],
            "kiosk_configs": {KIOSK_ID: str(config)},
            "simulated_kiosks": self.opts.sim_kiosks,
            "gate_sharing": gate_sharing,
            "ui": not self.headless,
            "logs": str(state / "logs"),
            "signing": signing,
        }
        (state / "demo.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
        return info

    @property
    def headless(self) -> bool:
        return self.opts.headless or not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        )


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PYTHAINLP_READ_ONLY", "1")
    env.update(extra or {})
    return env


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def _kiosk_has_pack(demo: Demo, config: Path) -> bool:
    status = json.loads(demo.bgk("kiosk", "status", "--config", str(config), "--json"))
    return bool(status.get("installed"))


def _fleet_count(demo: Demo, data: Path) -> int:
    kiosks = json.loads(demo.bgk("server", "fleet", "--data", str(data), "--json"))
    return sum(1 for k in kiosks if k.get("state") in ("online", "stale"))


def _append_toml(path: Path, section: str, values: dict[str, str]) -> None:
    lines = [f"\n[{section}]"] + [f"{k} = {json.dumps(v)}" for k, v in values.items()]
    with path.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


@contextlib.contextmanager
def exclusive(state: Path) -> Iterator[None]:
    """One demo per state folder: a second one would wipe the first one's files."""
    state.mkdir(parents=True, exist_ok=True)
    with open(state / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(
                f"a demo is already running with {state}: stop it or pass --state-dir"
            ) from None
        yield


def run_demo(opts: DemoOptions, say: Callable[[str], None] = print) -> int:
    with exclusive(opts.state_dir):
        for child in ("keys", "server", "broker", "packs", "kiosks", "logs", "demo.json"):
            target = opts.state_dir / child
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
        demo = Demo(opts)
        stop_now = False

        def on_signal(_sig: int, _frame: object) -> None:
            nonlocal stop_now
            stop_now = True

        signal.signal(signal.SIGTERM, on_signal)
        # Ctrl-C stops the demo even when it was started with SIGINT ignored or blocked
        # (a background job of a shell script, a parent that set it so): otherwise Python
        # keeps the inherited setting and the demo never hears the interrupt
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        try:
            info = demo.run(lambda step: say(f"… {step}"))
            say(summary(info, opts.state_dir))
            started = time.monotonic()
            while not stop_now and not (
                opts.duration and time.monotonic() - started > opts.duration
            ):
                demo.check_alive()
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            say("stopping the demo …")
            demo.stop()
    return 0
