"""The commands people run, end to end, as real processes: keys, server
init/publish/run/export/rotate-key, kiosk enroll/sync/status/import/agent."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from deliverykit import free_port, installed, wait_for

from kiosk.cli import main
from kiosk.protocol.pack import MANIFEST_NAME, parse_manifest

BGK = [sys.executable, "-m", "kiosk.cli"]


def bgk(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `bgk ARGS` in this process (the real command code, without the
    half-second start of a new interpreter); returns code and output."""
    out, err = io.StringIO(), io.StringIO()
    argv = list(map(str, args))
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    proc = subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())
    if check and code != 0:
        raise AssertionError(f"bgk {' '.join(argv)} failed: {proc.stderr}")
    return proc


def bgk_json(*args: str | Path) -> Any:
    return json.loads(bgk(*args, "--json").stdout)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, built_mini: Path) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("cli")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    assert len(bgk_json("keys", "init", tmp / "keys")["keys"]) == 4
    init = bgk_json("server", "init", "--data", tmp / "data", "--keys", tmp / "keys", "--url", url)
    assert init["listen"] == f"127.0.0.1:{port}"
    published = bgk_json("server", "publish", built_mini, "--data", tmp / "data", "--to", "lao-bao")
    assert (published["pack"], published["version"]) == ("mini", 1)
    proc = subprocess.Popen(
        [*BGK, "server", "run", "--data", str(tmp / "data")], stderr=subprocess.PIPE
    )

    def up() -> bool:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        try:
            return requests.get(f"{url}/healthz", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    wait_for(up, "bgk server run")
    yield {"tmp": tmp, "url": url, "data": tmp / "data", "keys": tmp / "keys"}
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=20)


def enroll(server: dict[str, Any], kiosk_id: str) -> Path:
    bundle = server["tmp"] / kiosk_id
    out = bgk_json(
        "kiosk",
        "enroll",
        "--data",
        server["data"],
        "--id",
        kiosk_id,
        "--gate",
        "lao-bao",
        "--group",
        "quang-tri",
        "-o",
        bundle,
        "--state-dir",
        "state",
    )
    assert {"kiosk.toml", "root.json"} <= set(out["files"])
    return bundle / "kiosk.toml"


def test_publish_enroll_sync_status(server: dict[str, Any], built_mini: Path) -> None:
    config = enroll(server, "lb-01")
    again = bgk(
        "kiosk",
        "enroll",
        "--data",
        server["data"],
        "--id",
        "lb-01",
        "--gate",
        "lao-bao",
        "-o",
        server["tmp"] / "again",
        check=False,
    )
    assert again.returncode != 0 and "--replace" in again.stderr
    result = bgk_json("kiosk", "sync", "--config", config, "--once")
    assert result["action"] == "switched" and result["installed"]["version"] == 1
    assert "structural check" in result["health"]
    state = config.parent / "state"
    assert installed(state) == ("mini", 1)
    status = bgk_json("kiosk", "status", "--config", config)
    assert status["installed"]["id"] == "mini" and status["previous"] is None
    assert status["stale"] is False and status["last_error"] is None
    assert status["last_sync"]["local"].count("/") == 2  # dd/mm/yyyy
    text = bgk("kiosk", "status", "--config", config).stdout
    assert "installed: mini version 1" in text
    # a new version with the same files: only the manifest travels
    bgk(
        "pack",
        "build",
        Path(__file__).parents[1] / "fixtures/packs/mini",
        "-o",
        server["tmp"] / "mini2",
        "--version",
        "2",
    )
    bgk("server", "publish", server["tmp"] / "mini2", "--data", server["data"], "--to", "quang-tri")
    result = bgk_json("kiosk", "sync", "--config", config, "--once")
    assert result["installed"]["version"] == 2 and result["previous"]["version"] == 1
    assert result["blobs"] == 0 and result["bytes"] == 0
    assert bgk_json("kiosk", "sync", "--config", config, "--once")["action"] == "up-to-date"
    refused = bgk(
        "server", "publish", built_mini, "--data", server["data"], "--to", "all", check=False
    )
    assert refused.returncode != 0 and "older than the published version 2" in refused.stderr


def test_unreachable_server_is_a_clear_error(server: dict[str, Any], tmp_path: Path) -> None:
    config = enroll(server, "lb-02")
    text = config.read_text().replace(server["url"], f"http://127.0.0.1:{free_port()}")
    config.write_text(text)
    proc = subprocess.run(
        [*BGK, "kiosk", "sync", "--config", str(config), "--once"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 3
    assert "cannot reach the server" in proc.stderr and "Traceback" not in proc.stderr
    status = bgk_json("kiosk", "status", "--config", config)
    assert status["last_error"]["code"] == "server-unreachable"
    assert status["installed"] is None


def test_export_and_usb_import(server: dict[str, Any]) -> None:
    usb = server["tmp"] / "usb"
    out = bgk_json("server", "export", "mini", "--data", server["data"], "-o", usb)
    assert out["version"] >= 1 and (usb / "export.json").exists()
    config = enroll(server, "lb-usb")
    result = bgk_json("kiosk", "import", usb, "--config", config)
    assert result["installed"]["version"] == out["version"]
    assert installed(config.parent / "state") == ("mini", out["version"])
    not_usb = bgk("kiosk", "import", server["tmp"], "--config", config, check=False)
    assert not_usb.returncode != 0 and "bgk server export" in not_usb.stderr


def test_a_fifo_on_the_stick_is_refused_within_seconds_and_the_network_sync_still_works(
    server: dict[str, Any],
) -> None:
    usb = server["tmp"] / "usb-fifo"
    bgk_json("server", "export", "mini", "--data", server["data"], "-o", usb)
    blob = sorted((usb / "blobs" / "sha256").iterdir())[0]
    blob.unlink()
    os.mkfifo(blob)  # no writer ever comes: reading it would block forever
    config = enroll(server, "lb-fifo")
    started = time.monotonic()
    proc = subprocess.run(
        [*BGK, "kiosk", "import", str(usb), "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert time.monotonic() - started < 30  # refused at once, not at the time limit
    assert proc.returncode == 4 and "Traceback" not in proc.stderr
    assert "on the USB stick" in proc.stderr and "named pipe (FIFO)" in proc.stderr
    assert "the server" not in proc.stderr
    # the import let go of the sync lock: the network sync installs the pack
    result = bgk_json("kiosk", "sync", "--config", config, "--once")
    assert result["installed"]["id"] == "mini"


def test_the_import_watchdog_ends_a_read_that_never_returns(tmp_path: Path) -> None:
    """A read stuck in the kernel (a hung stick) is not stopped by the deadline
    checks: the watchdog ends the process (releasing the sync lock) with words."""
    code = (
        "import threading; from kiosk.agent.cli import _watchdog\n"
        "_watchdog(0.5, 'reading the USB stick did not finish', 5)\n"
        "threading.Event().wait()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 5
    assert proc.stderr.strip() == "bgk: reading the USB stick did not finish"


@pytest.mark.parametrize(
    "args",
    [["kiosk", "status"], ["kiosk", "status", "--json"], ["--help"]],
    ids=["status", "status-json", "help"],
)
def test_a_closed_pipe_ends_bgk_quietly(server: dict[str, Any], args: list[str]) -> None:
    config = server["tmp"] / "lb-pipe" / "kiosk.toml"
    if "status" in args and not config.exists():
        enroll(server, "lb-pipe")
    elif "status" not in args:
        config = None
    argv = [*BGK, *args, *(["--config", str(config)] if config is not None else [])]
    # the reader is gone before bgk writes a byte (`bgk ... | head` at its worst)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert err == ""
    # and through a real shell pipe into head
    shell = subprocess.run(
        ["bash", "-c", " ".join(map(shlex.quote, argv)) + " | head -n 1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shell.returncode == 0 and shell.stderr == "" and shell.stdout.strip()


def test_rotation_then_agent_installs_the_next_version(server: dict[str, Any]) -> None:
    config = enroll(server, "lb-agent")
    bgk("kiosk", "sync", "--config", config, "--once")
    before = bgk_json("kiosk", "status", "--config", config)["installed"]["version"]
    rotated = bgk_json("server", "rotate-key", "--data", server["data"], "--role", "targets")
    assert rotated["role"] == "targets"
    new = server["tmp"] / "mini-next"
    bgk(
        "pack",
        "build",
        Path(__file__).parents[1] / "fixtures/packs/mini",
        "-o",
        new,
        "--version",
        str(before + 1),
    )
    bgk("server", "publish", new, "--data", server["data"], "--to", "all")
    agent = subprocess.Popen(
        [*BGK, "kiosk", "agent", "--config", str(config)],
        stderr=subprocess.PIPE,
        env=dict(os.environ, BGK_LOG="info"),
    )
    try:

        def committed() -> bool:
            assert agent.poll() is None, agent.stderr.read().decode() if agent.stderr else ""
            status = bgk_json("kiosk", "status", "--config", config)
            return bool(status["installed"] and status["installed"]["version"] == before + 1)

        wait_for(committed, "the agent to install the new version")
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=20)
    assert agent.returncode == 0
    state = config.parent / "state"
    manifest = parse_manifest((state / "current" / MANIFEST_NAME).read_bytes())
    assert manifest.version == before + 1
