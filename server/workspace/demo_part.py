"""The workspace's part of `bgk demo` (server/demo.py): its accounts, what
demo.json says about it, and the lines the demo prints."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: the demo's accounts (name, role)
DEMO_ACCOUNTS = (("admin", "admin"), ("guard", "viewer"), ("bientap", "editor"),
                 ("phathanh", "publisher"))  # fmt: skip


def workspace_info(url: str, pack: str, logins: dict[str, dict[str, str]]) -> dict[str, Any]:
    """demo.json's workspace part: where it is and the editor's and publisher's logins."""
    return {
        "workspace_url": f"{url}/workspace/{pack}",
        **{
            f"{role}_login": {"user": logins[role]["user"], "password": logins[role]["password"]}
            for role in ("editor", "publisher")
        },
        "editor_token": logins["editor"]["token"],
        "publisher_token": logins["publisher"]["token"],
    }


def workspace_summary(info: dict[str, Any], state: Path, pack: str) -> str:
    """The workspace's lines of the demo's summary. Publishing the newest draft is two-person
    (deploy/tuf-keys.md): the publisher takes the draft and opens a signing event for it,
    then each demo publisher signs it with their `bgk sign` line (EVENT: the id printed)."""
    editor, publisher = info["editor_login"], info["publisher_login"]
    data = info["data_dir"]
    signers = "\n".join(f"  {line}" for line in info.get("signing", {}).get("sign_templates", []))
    return f"""
The publishers' workspace: {info["workspace_url"]}
  editor (writes, translates)   {editor["user"]} / {editor["password"]}
  publisher                     {publisher["user"]} / {publisher["password"]}
  publish the newest draft to the kiosk: take it, open a signing event (it prints EVENT),
  then both publishers sign it (at the second signature the kiosk installs it):
  BGK_TOKEN={info["publisher_token"]} .venv/bin/bgk pack pull {pack} -o {state}/draft --server {info["server_url"]}
  .venv/bin/bgk server signing create {state}/draft --data {data} --to all --version 4 --by {publisher["user"]}
{signers}
"""


def in_background(work: Callable[[], None]) -> Callable[[], None]:
    """Run `work` in a thread while the demo goes on (it waits for the kiosk
    meanwhile); the returned function waits for it and raises what it raised."""

    failed: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # handed to the waiting thread
            failed.append(exc)

    thread = threading.Thread(target=run, name="demo-background", daemon=True)
    thread.start()

    def wait() -> None:
        thread.join()
        if failed:
            raise failed[0]

    return wait
