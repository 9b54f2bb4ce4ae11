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
    editor, publisher = info["editor_login"], info["publisher_login"]
    data = info["data_dir"]
    return f"""
The publishers' workspace: {info["workspace_url"]}
  editor (writes, translates)   {editor["user"]} / {editor["password"]}
  publisher                     {publisher["user"]} / {publisher["password"]}
  publish the newest draft to the kiosk (as the publisher; the kiosk installs it):
  BGK_TOKEN={info["publisher_token"]} .venv/bin/bgk pack pull {pack} -o {state}/draft --server {info["server_url"]}
  .venv/bin/bgk pack build {state}/draft -o {state}/packs/draft --version 4 --settings {data}/server.toml
  .venv/bin/bgk server publish {state}/packs/draft --data {data} --to all
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
