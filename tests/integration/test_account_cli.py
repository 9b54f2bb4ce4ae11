"""`bgk server user …` and `bgk server token …` as an admin types them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def bgk(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk.cli", *args],
        input=stdin, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> str:
    tmp = tmp_path_factory.mktemp("accounts")
    assert bgk("keys", "init", str(tmp / "keys")).returncode == 0
    made = bgk("server", "init", "--data", str(tmp / "srv"), "--keys", str(tmp / "keys"),
               "--url", "http://127.0.0.1:9")  # fmt: skip
    assert made.returncode == 0, made.stderr
    return str(Path(tmp / "srv"))


def test_users_are_added_listed_and_refused_with_a_reason(data: str) -> None:
    added = bgk("server", "user", "add", "ana", "--role", "admin", "--password-stdin",
                "--data", data, "--json", stdin="một mật khẩu dài\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout) == {"name": "ana", "role": "admin"}  # no password echoed
    generated = bgk("server", "user", "add", "guard", "--role", "viewer", "--data", data)
    assert generated.returncode == 0 and "password (shown once): " in generated.stdout
    again = bgk("server", "user", "add", "ana", "--role", "viewer", "--generate", "--data", data)
    assert again.returncode != 0 and "user passwd ana" in again.stderr
    short = bgk("server", "user", "add", "bo", "--role", "viewer", "--password-stdin",
                "--data", data, stdin="short\n")  # fmt: skip
    assert short.returncode != 0 and "at least 10 characters" in short.stderr
    listed = json.loads(bgk("server", "user", "list", "--data", data, "--json").stdout)
    assert [(u["name"], u["role"], u["disabled"]) for u in listed] == [
        ("ana", "admin", False),
        ("guard", "viewer", False),
    ]


def test_tokens_are_made_listed_and_revoked(data: str) -> None:
    bgk("server", "user", "add", "mon", "--role", "viewer", "--generate", "--data", data)
    made = bgk("server", "token", "create", "--user", "mon", "--label", "monitoring",
               "--data", data, "--json")  # fmt: skip
    token = json.loads(made.stdout)["token"]
    [listed] = json.loads(bgk("server", "token", "list", "--user", "mon", "--data", data,
                              "--json").stdout)  # fmt: skip
    assert token.startswith(listed["prefix"]) and token not in str(listed)
    assert listed["label"] == "monitoring" and not listed["revoked"]
    assert bgk("server", "token", "revoke", listed["prefix"], "--data", data).returncode == 0
    [listed] = json.loads(bgk("server", "token", "list", "--user", "mon", "--data", data,
                              "--json").stdout)  # fmt: skip
    assert listed["revoked"]
    gone = bgk("server", "token", "create", "--user", "ghost", "--data", data)
    assert gone.returncode != 0 and "no active user 'ghost'" in gone.stderr
    off = bgk("server", "user", "disable", "mon", "--data", data)
    assert off.returncode == 0 and "tokens are revoked" in off.stdout
