"""The demo's gate sharing (deploy/gate-sharing.md): its real kiosk shares with a
second real kiosk agent at the same gate, on loopback.

What is real and what is not: the second kiosk (MATE_ID) is a real `bgk kiosk
agent` syncing from the demo's server with the first kiosk's TUF root. It has
no fleet link (it is not enrolled, so the broker would refuse it), so the
dashboard does not list it. The simulated fleet (`bgk sim`) speaks MQTT only
and downloads nothing, so it cannot share. The figures the demo prints are the
agents' own reports (STATE/agent/share.json, as `bgk kiosk status` shows them).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: the demo's second real kiosk at the gate (agent only)
MATE_ID = "lb-02"


def share_lines(config: Path, listen: str, peer: str) -> None:
    """Turn gate sharing on in a kiosk.toml, serving on `listen`, with one peer."""
    with config.open("a", encoding="utf-8") as fh:
        fh.write(
            f'\n[share]\nenabled = true\nlisten = "{listen}"\npeers = ["{peer}"]\nstall_s = 10\n'
        )


def mate_config(first: Path, folder: Path, gate: str) -> Path:
    """kiosk.toml of the gate's second agent: the first kiosk's server and TUF root,
    no MQTT, its own state folder, sharing with the first kiosk."""
    raw = tomllib.loads(first.read_text(encoding="utf-8"))
    here = first.parent
    server = raw["server"]
    share = raw["share"]
    peer, listen = share["listen"], share["peers"][0]
    lines = [
        f'[kiosk]\nid = "{MATE_ID}"\ngate = "{gate}"\nstate_dir = "state"\n',
        f'[server]\nurl = "{server["url"]}"\n'
        f"trusted_root = {json.dumps(str(here / server['trusted_root']))}\n"
        + (f"ca = {json.dumps(str(here / server['ca']))}\n" if server.get("ca") else "")
        + (f'enrolled = "{server["enrolled"]}"\n' if server.get("enrolled") else ""),
        f'[share]\nenabled = true\nlisten = "{listen}"\npeers = ["{peer}"]\nstall_s = 10\n',
    ]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "kiosk.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def report(config: Path) -> dict[str, Any] | None:
    """The agent's share report (None until it wrote one with a download)."""
    try:
        data = json.loads((config.parent / "state" / "agent" / "share.json").read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("last_download") else None


def start_mate(
    spawn: Callable[..., None],
    wait_for: Callable[[str, Callable[[], bool], float], None],
    first: Path,
    state: Path,
    gate: str,
) -> dict[str, Any]:
    """Start the second agent once the first has the pack; wait until it has it too.
    Returns what the demo prints: where each byte of its download came from."""
    config = mate_config(first, state / "kiosks" / MATE_ID, gate)
    spawn("kiosk-agent-" + MATE_ID, "kiosk", "agent", "--config", str(config))
    wait_for(f"kiosk {MATE_ID} taking the pack from the gate", lambda: bool(report(config)), 120)
    got = report(config) or {}
    last = got["last_download"]
    return {
        "kiosk": MATE_ID,
        "config": str(config),
        "from_peers_bytes": last["peer_bytes"],
        "from_server_bytes": last["server_bytes"],
    }
