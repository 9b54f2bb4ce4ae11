"""What `bgk demo` prints once everything runs: where things are and what to try."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from kiosk.common.vietnam import VIETNAM
from server.demo_names import DEMO_KEYS_PASSPHRASE, KIOSK_ID
from server.workspace.demo_part import workspace_summary


def summary(info: dict[str, Any], state: Path) -> str:
    config = info["kiosk_configs"][KIOSK_ID]
    data = info["data_dir"]
    admin, viewer = info["admin_login"], info["viewer_login"]
    sign_an, sign_binh = info["signing"]["sign_commands"]
    month = dt.datetime.now(VIETNAM).strftime("%Y-%m")
    ui = (
        "a kiosk window shows the pack"
        if info["ui"]
        else "no display: the kiosk UI is not started (headless)"
    )
    leaflet_paths = [Path(p) for p in info["leaflets"].values()]
    leaflet_dir = leaflet_paths[0].parent if leaflet_paths else state
    leaflet_names = ", ".join(p.name for p in leaflet_paths)
    return f"""
The border-gate kiosk demo is running ({ui}).

  dashboard                 {info["dashboard_url"]}
    sign in as              {admin["user"]} / {admin["password"]}   (border guard, read-only: {viewer["user"]} / {viewer["password"]})
  server (TUF, blobs, API)  {info["server_url"]}      API docs: {info["api_docs_url"]}
  MQTT broker               {info["mqtt_url"]} (server), {info["mqtt_kiosk_url"]} (kiosks, TLS)
  kiosks                    {KIOSK_ID} (real agent{"" if not info["ui"] else " + UI"}) and {info["simulated_kiosks"]} simulated
  the pack on the web        {info["pack_site_url"]}   (QR codes on the kiosk pages lead there)
    static copy             {info["pack_site_dir"]}/index.html
  leaflets (A4 PDF)         {leaflet_dir}/ ({leaflet_names})
  everything about it       {state / "demo.json"}; logs in {info["logs"]}

Try, in another terminal (from the project folder):
  .venv/bin/bgk server fleet --data {data}             # every kiosk: state, pack, UI, alerts
  .venv/bin/bgk server report --data {data} --month {month}   # Article 26: uptime, packs, language use
  curl -H "Authorization: Bearer {info["viewer_token"]}" {info["server_url"]}/api/v1/kiosks
  .venv/bin/bgk kiosk status --config {config}
  .venv/bin/bgk kiosk doctor --config {config} --lang en   # what is wrong on a kiosk (no screen here)
  .venv/bin/bgk server backup --data {data} -o {state}/backups/   # one file to bring the server back
  .venv/bin/bgk pack build content_packs/lao-bao -o {state}/packs/v2 --version 3 --settings {data}/server.toml
  .venv/bin/bgk pack site {state}/packs/lao-bao -o {state}/site          # the web copy, to put on a portal
  .venv/bin/bgk server signing list --data {data}   # pack versions waiting for the publishers' signatures
    (the demo's offline root/targets keys are encrypted with the passphrase "{DEMO_KEYS_PASSPHRASE}")
  .venv/bin/bgk server command --data {data} --kiosk {KIOSK_ID} notice --text "vi=Đường 9 tạm đóng" --text "en=Road 9 is closed" --wait 20
  .venv/bin/bgk server command --data {data} --kiosk {KIOSK_ID} screenshot --wait 30   # lands in {data}/screenshots/

Two-person publishing: version {info["signing"]["version"]} of the pack waits for two signatures
(signing event {info["signing"]["event"]}); each demo publisher runs (it rebuilds the pack, shows
what changes, asks to confirm, signs; at the second signature the kiosk installs it):
  {sign_an}
  {sign_binh}
  .venv/bin/bgk server audit list --data {data}      # who did what, hash-chained (verify: audit verify)
{workspace_summary(info, state, Path(info["pack_site_url"].rstrip("/")).name)}
Stop with Ctrl-C.
"""
