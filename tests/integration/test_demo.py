"""`bgk demo`, the README's first command: everything comes up, and goes away."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from kiosk.config import load_config
from kiosk.local import Channel

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_comes_up_headless_and_stops_cleanly(tmp_path: Path, font_cache: Path) -> None:
    state = tmp_path / "demo"
    env = {"XDG_CACHE_HOME": str(font_cache.parents[1]), "PYTHAINLP_READ_ONLY": "1",
           "PYTHONUNBUFFERED": "1",  # what it printed survives a kill
           "PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "HOME": str(tmp_path)}  # fmt: skip
    # under `scripts/test --faketime` the demo's processes see the same shifted clock
    env |= {k: v for k, v in os.environ.items() if k == "LD_PRELOAD" or k.startswith("FAKETIME")}
    # --duration is a safety stop (the test interrupts the demo when done): long enough
    # for the workspace check, which builds and publishes a version the kiosk installs
    demo = subprocess.Popen(
        # -X faulthandler: a demo that does not stop is made to print where it hangs
        [sys.executable, "-X", "faulthandler", "-m", "kiosk.cli", "demo", "--headless",
         "--kiosks", "5",
         "--duration", "600", "--state-dir", str(state)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        # started with SIGINT ignored, as a background job of a shell script is (and as
        # this test's worker sometimes passed on): Ctrl-C must stop it all the same
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )  # fmt: skip
    try:
        # BGK_DEMO_UP_S: a busy shared machine (load 10+ on 2 cores) needs longer
        up_s = float(os.environ.get("BGK_DEMO_UP_S", "240"))
        deadline = time.monotonic() + up_s
        while not (state / "demo.json").exists():
            assert demo.poll() is None, demo.communicate()[1][-2000:]
            assert time.monotonic() < deadline, f"the demo did not come up in {up_s:.0f} s"
            time.sleep(0.5)
        info = json.loads((state / "demo.json").read_text(encoding="utf-8"))
        _check_running(info, env)
        _check_workspace(info, env, state)
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            out, err = demo.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            demo.send_signal(signal.SIGABRT)  # every thread's stack to its stderr
            try:
                out, err = demo.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                demo.kill()
                out, err = demo.communicate()
            logs = state / "logs"
            if logs.is_dir():  # the services' logs, to read after the run
                kept = REPO / "test-artifacts" / "demo-stop"
                shutil.rmtree(kept, ignore_errors=True)
                shutil.copytree(logs, kept)
            # its services run in sessions of their own: never leave them to the next tests
            subprocess.run(["pkill", "-KILL", "-f", str(state)], check=False)
    assert demo.returncode == 0, out[-2000:] + err[-2000:]
    assert "The border-gate kiosk demo is running" in out
    admin = info["admin_login"]
    assert f"{admin['user']} / {admin['password']}" in out  # the login is printed
    assert info["dashboard_url"] in out

    # Nothing it started is left running.
    left = subprocess.run(["pgrep", "-f", str(state)], capture_output=True, text=True)
    assert left.stdout.strip() == "", f"left running: {left.stdout}"


def _check_running(info: dict[str, Any], env: dict[str, str]) -> None:
    assert info["kiosk_ids"] == ["lb-01"] and info["simulated_kiosks"] == 5
    assert info["server_url"].startswith("http://127.0.0.1:")
    assert info["mqtt_url"].startswith("mqtt://127.0.0.1:")

    # The real kiosk installed the sample pack through TUF and committed it.
    config = load_config(Path(info["kiosk_configs"]["lb-01"]))
    current = Channel(config.kiosk.state_dir).current
    manifest = json.loads((current / "manifest.json").read_bytes())
    assert manifest["id"] == "lao-bao"
    # ... and a second agent at the gate took it from the first, not over the server link
    shared = info["gate_sharing"]
    assert shared["from_peers_bytes"] > 0 and shared["from_server_bytes"] == 0, shared

    # The traveller's copies: the web copy the QR codes open, a leaflet per language.
    page = requests.get(info["pack_site_url"] + "lo/emergency.html", timeout=30)
    assert page.status_code == 200 and '<html lang="lo">' in page.text
    assert (Path(info["pack_site_dir"]) / "zh" / "contact.html").is_file()
    assert sorted(info["leaflets"]) == ["en", "lo", "th", "vi", "zh"]
    for pdf in info["leaflets"].values():
        assert Path(pdf).read_bytes().startswith(b"%PDF")

    # The server saw the fleet: the real kiosk and the simulated ones.
    fleet = subprocess.run(
        [sys.executable, "-m", "kiosk.cli", "server", "fleet", "--data", info["data_dir"], "--json"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert fleet.returncode == 0, fleet.stderr
    ids = {k["id"] for k in json.loads(fleet.stdout)}
    assert "lb-01" in ids and len(ids) == 6

    # The server says it is whole: signed metadata fresh, MQTT link up, ingest running.
    health = requests.get(info["server_url"] + "/healthz", timeout=10).json()
    assert health["ok"] is True and health["fleet_ingest"]["mqtt"] == "connected", health

    # The API answers the demo's tokens: the guard reads, only the admin sends.
    api = info["server_url"] + "/api/v1"
    viewer = {"Authorization": f"Bearer {info['viewer_token']}"}
    admin = {"Authorization": f"Bearer {info['admin_token']}"}
    kiosks = requests.get(f"{api}/kiosks", headers=viewer, timeout=10)
    assert kiosks.status_code == 200 and len(kiosks.json()) == 6
    assert requests.get(f"{api}/kiosks", timeout=10).status_code == 401
    notice = {"text": {"vi": "Thử nghiệm"}, "to": ["lao-bao"], "minutes": 5}
    assert (
        requests.post(f"{api}/notices", json=notice, headers=viewer, timeout=10).status_code == 403
    )
    sent = requests.post(f"{api}/notices", json=notice, headers=admin, timeout=10)
    assert sent.status_code == 202, sent.text
    cmd_id = sent.json()["commands"][0]["cmd_id"]

    def acked() -> bool:
        done = requests.get(f"{api}/kiosks/lb-01/commands", headers=viewer, timeout=10).json()
        return any(c["cmd_id"] == cmd_id and c["state"] == "done" for c in done)

    deadline = time.monotonic() + 30
    while not acked():
        assert time.monotonic() < deadline, "the real kiosk did not acknowledge the notice"
        time.sleep(0.5)
    config = load_config(Path(info["kiosk_configs"]["lb-01"]))
    shown = Channel(config.kiosk.state_dir).read_notice()
    assert shown is not None and shown.text["vi"] == "Thử nghiệm"

    # ... and withdrawn: the kiosk takes it off its screen
    [sent] = requests.get(f"{api}/notices", headers=viewer, timeout=10).json()
    gone = requests.post(f"{api}/notices/{sent['id']}/withdraw", headers=admin, timeout=10)
    assert gone.status_code == 202, gone.text
    cmd_id = gone.json()["commands"][0]["cmd_id"]
    deadline = time.monotonic() + 30
    while not acked():
        assert time.monotonic() < deadline, "the real kiosk did not acknowledge the withdrawal"
        time.sleep(0.5)
    assert Channel(config.kiosk.state_dir).read_notice() is None

    # Two-person publishing: the two printed `bgk sign` commands publish the next version
    signing = info["signing"]
    assert len(signing["sign_commands"]) == 2
    for command, name in zip(signing["sign_commands"], ("an", "binh"), strict=True):
        assert signing["passphrases"][name] in command  # the demo passphrase is printed
        args = command.split("#")[0].split()[1:]  # after ".venv/bin/bgk"
        home = Path(signing["publishers"][name])
        run = subprocess.run(
            [sys.executable, "-m", "kiosk.cli", *args, "--yes",
             "--passphrase-file", str(home / "passphrase.txt")],
            capture_output=True, text=True, env=env, timeout=300,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
    assert "the server has published it" in run.stdout

    def installed_version() -> int:
        current = Channel(config.kiosk.state_dir).current
        return int(json.loads((current / "manifest.json").read_bytes())["version"])

    deadline = time.monotonic() + 120
    while installed_version() != signing["version"]:
        assert time.monotonic() < deadline, "the kiosk did not install the two-signed version"
        time.sleep(1)


def _check_workspace(info: dict[str, Any], env: dict[str, str], state: Path) -> None:
    """The demo's editor changes the welcome page in the workspace and requests
    publication; the publisher approves the review; the two `bgk sign` lines the demo
    prints (the review's signing event) bring it to the real kiosk."""
    import shlex

    from server.workspace.demo_part import workspace_summary

    ws = info["server_url"] + "/api/v1/workspace/lao-bao"
    rv = info["server_url"] + "/api/v1/reviews"
    editor = {"Authorization": f"Bearer {info['editor_token']}"}
    publisher = {"Authorization": f"Bearer {info['publisher_token']}"}
    viewer = {"Authorization": f"Bearer {info['viewer_token']}"}
    head = requests.get(f"{ws}/files", headers=editor, timeout=10).json()["version"]
    path = "pages/welcome/vi.md"
    vi = requests.get(f"{ws}/file", params={"path": path}, headers=editor, timeout=10).text
    body = {
        "base": head,
        "message": "Lời chào mới",
        "files": {path: vi.replace("Chào mừng quý khách", "Xin kính chào quý khách", 1)},
    }
    assert requests.post(f"{ws}/save", json=body, headers=viewer, timeout=10).status_code == 403
    saved = requests.post(f"{ws}/save", json=body, headers=editor, timeout=10)
    assert saved.status_code == 200, saved.text
    page = requests.get(info["workspace_url"], timeout=10, allow_redirects=False)
    assert page.status_code in (302, 303, 307)  # the workspace page needs a sign-in

    # the editor requests publication; the publisher approves the review once it is built
    asked = requests.post(f"{ws}/reviews", json={"to": ["all"]}, headers=editor, timeout=30)
    assert asked.status_code == 202, asked.text
    review_id = asked.json()["id"]
    deadline = time.monotonic() + 600
    while (review := requests.get(f"{rv}/{review_id}", headers=editor, timeout=30).json())[
        "state"
    ] == "building":
        assert time.monotonic() < deadline, "the review's build did not end"
        time.sleep(1)
    assert review["state"] == "requested", review["error"]
    no = requests.post(f"{rv}/{review_id}/approve", json={}, headers=editor, timeout=30)
    assert no.status_code == 403  # an editor does not approve
    yes = requests.post(f"{rv}/{review_id}/approve", json={}, headers=publisher, timeout=300)
    assert yes.status_code == 200, yes.text
    assert yes.json()["signing"]["id"] == f"lao-bao-review-{review_id}"

    printed = workspace_summary(info, state, "lao-bao")
    assert info["editor_login"]["password"] in printed
    assert "Request publication" in printed and "approve" in printed
    lines = [ln.strip().split("#")[0] for ln in printed.splitlines()
             if ln.strip().startswith(".venv/bin/bgk")]  # fmt: skip
    assert len(lines) == 2  # the two publishers' signatures
    for line in lines:
        words = shlex.split(line.replace("-review-N", f"-review-{review_id}"))
        assert words[:2] == [".venv/bin/bgk", "sign"]
        home = Path(words[words.index("--key") + 1]).parent  # as the demo's signing part does
        words += ["--yes", "--passphrase-file", str(home / "passphrase.txt")]
        r = subprocess.run([sys.executable, "-m", "kiosk.cli", *words[1:]], capture_output=True,
                           text=True, env=env, timeout=300)  # fmt: skip
        assert r.returncode == 0, (line, r.stderr)
    assert "the server has published it" in r.stdout
    after = requests.get(f"{rv}/{review_id}", headers=viewer, timeout=30).json()
    assert after["state"] == "published", after

    config = load_config(Path(info["kiosk_configs"]["lb-01"]))
    deadline = time.monotonic() + 120
    while True:
        current = Channel(config.kiosk.state_dir).current
        manifest = json.loads((current / "manifest.json").read_bytes())
        if manifest["version"] == review["version"]:
            break
        assert time.monotonic() < deadline, "the kiosk did not install the review's version"
        time.sleep(1)
    texts = b"".join(p.read_bytes() for p in current.rglob("*") if p.is_file()
                     and p.stat().st_size < 2_000_000)  # fmt: skip
    # the built page holds the text as word spans: look for the new word ("kính" is in no
    # other page of the sample)
    assert "kính".encode() in texts
