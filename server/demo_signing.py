"""The demo's two-person publishing: two demo publishers (an, binh) with personal
keys encrypted under printed demo passphrases, the delegation ceremony, and a
signing event for the next version of the sample pack, waiting for the two
`bgk sign` commands the demo prints (deploy/tuf-keys.md)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: demo publishers and the passphrases of their keys (printed: a demo protects nothing)
DEMO_PUBLISHERS = {"an": "demo-an-passphrase", "binh": "demo-binh-passphrase"}


def setup_two_person(
    bgk: Callable[..., str], state: Path, data: Path, url: str, pack: Path
) -> dict[str, Any]:
    """Keys, accounts, the ceremony and a signing event; what to print."""
    from server.packs.keyfile import write_passphrase_file

    folder = state / "publishers"
    public = []
    commands = []
    for name, secret in DEMO_PUBLISHERS.items():
        home = folder / name  # stands for the publisher's own machine
        phrase = home / "passphrase.txt"
        write_passphrase_file(phrase, secret)
        made = json.loads(bgk("keys", "person", "new", name, "-o", str(home),
                              "--passphrase-file", str(phrase), "--json"))  # fmt: skip
        public.append(made["public"])
        bgk("server", "user", "add", name, "--role", "publisher", "--generate",
            "--data", str(data))  # fmt: skip
        token = json.loads(bgk("server", "token", "create", "--user", name, "--label", "demo",
                               "--json", "--data", str(data)))["token"]  # fmt: skip
        (home / "token").write_text(token + "\n", encoding="utf-8")
        (home / "token").chmod(0o600)
        commands.append(
            f".venv/bin/bgk sign EVENT --server {url} --token-file {home / 'token'} "
            f"--key {home / (name + '.pem')}   # {name}'s passphrase: {secret}"
        )
    args = [a for p in public for a in ("--publisher", p)]
    bgk("server", "delegate", "--data", str(data), *args, "--threshold", "2")
    packs = json.loads(bgk("server", "packs", "--data", str(data), "--json"))
    newest = max((p["version"] for p in packs if p["pack"] == pack.name), default=0)
    event = json.loads(bgk("server", "signing", "create", str(pack), "--data", str(data),
                           "--to", "all", "--version", str(newest + 1), "--by", "demo-editor",
                           "--approved-by", "an", "--approved-by", "binh", "--json"))  # fmt: skip
    return {
        "event": event["id"],
        "version": event["version"],
        "publishers": {name: str(folder / name) for name in DEMO_PUBLISHERS},
        "passphrases": dict(DEMO_PUBLISHERS),
        "sign_commands": [c.replace("EVENT", event["id"]) for c in commands],
        "sign_templates": commands,  # for a later signing event (the workspace's draft)
    }
