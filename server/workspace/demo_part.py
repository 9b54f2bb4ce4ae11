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
    """The workspace's lines of the demo's summary: the review path. The editor requests
    publication of the newest draft (review N), the publisher approves it, which opens
    signing event PACK-review-N (two-person, deploy/tuf-keys.md); then each demo publisher
    signs it with their `bgk sign` line (N: the review's number, 1 for the first)."""
    editor, publisher = info["editor_login"], info["publisher_login"]
    event = f"{pack}-review-N"
    signers = "\n".join(
        f"  {line.replace('EVENT', event)}"
        for line in info.get("signing", {}).get("sign_templates", [])
    )
    return f"""
The publishers' workspace: {info["workspace_url"]}
  editor (writes, translates)   {editor["user"]} / {editor["password"]}
  publisher (reviews, approves) {publisher["user"]} / {publisher["password"]}
  publish a change: as the editor, save it, then "Yêu cầu xuất bản / Request publication"
  on the pack's page (review N opens and builds); as the publisher, open the review, look
  at the changes and approve: that opens signing event {event}; both publishers
  sign it (N: the review's number; at the second signature the kiosk installs it):
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
