"""A publisher's key on a hardware token, with SoftHSM2 as the real PKCS#11 token
(Debian's softhsm2, its own token folder in a temporary SOFTHSM2_CONF):

* deploy/tuf-keys.md's token section, every command of it in order, as binh (the
  publisher) and the DoIC run them: the token is initialised, the key made on it,
  added as a publisher in the offline ceremony, and `bgk sign` signs with it;
* a two-person publication where one signature is the token's and one a key
  file's ends with a real kiosk agent (`bgk kiosk sync --once`) installing the pack;
* the private key never left the token: the token says it was made there and was
  never extractable, reading it out is refused, and no private key sits in the
  data, keys or home folders;
* a wrong PIN is refused before anything is signed.

How a doc command becomes a command here: `~` is binh's home (a temporary
folder: HOME), `bgk` the project's CLI on PATH, DATA, /media/doic-keys,
https://kiosk.example.vn and EVENT the test's own, the PIN from $BGK_PIN_FILE
(which `bgk` reads as the doc says), and `bgk sign` gets `--yes` (no terminal to
answer its question).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from deliverykit import free_port, installed, wait_for
from opskit import doc_commands

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "deploy" / "tuf-keys.md"
SECTION = "### A publisher's key on a hardware token (PKCS#11)"
MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
FIXTURE_PACKS = REPO / "tests" / "fixtures" / "packs"
PIN = "314159"


def bgk(
    *args: str | Path, env: dict[str, str] | None = None, cwd: Path = REPO
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


def ok(*args: str | Path, env: dict[str, str] | None = None) -> Any:
    run = bgk(*args, "--json", env=env)
    assert run.returncode == 0, f"bgk {' '.join(map(str, args[:3]))}: {run.stderr}"
    return json.loads(run.stdout)


def section_commands() -> list[str]:
    """The ```sh commands of the token section of deploy/tuf-keys.md, in order."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.index("\n### ", start + len(SECTION))
    with tempfile.TemporaryDirectory() as tmp:
        part = Path(tmp) / "section.md"
        part.write_text(text[start:end], encoding="utf-8")
        return doc_commands(part)


@dataclass
class World:
    tmp: Path
    data: Path
    keys: Path
    url: str
    kiosk: Path
    tokens: dict[str, Path]
    token_env: dict[str, str]
    home: Path

    def sync(self) -> subprocess.CompletedProcess[str]:
        return bgk("kiosk", "sync", "--config", self.kiosk, "--once", "--json")

    def playing(self) -> tuple[str, int] | None:
        return installed(self.kiosk.parent / "state")

    def create(self, version: int) -> str:
        made = ok("server", "signing", "create", FIXTURE_PACKS / "mini", "--data", self.data,
                  "--to", "all", "--version", str(version), "--by", "editor",
                  "--approved-by", "an")  # fmt: skip
        return str(made["id"])

    def event(self, event_id: str) -> dict[str, Any]:
        found = ok("server", "signing", "list", "--data", self.data)
        return next(e for e in found if e["id"] == event_id)

    def doc(self, command: str, event: str = "EVENT", cwd: Path | None = None) -> str:
        """One command of the doc, run by bash as its user would."""
        line = (
            command.replace("/media/doic-keys", str(self.keys))
            .replace("--data DATA", f"--data {self.data}")
            .replace("https://kiosk.example.vn", self.url)
            .replace(" EVENT ", f" {event} ")
        )
        if " bgk sign " in f" {line}":
            line += " --yes"
        env = {**os.environ, **self.token_env, "HOME": str(self.home)}
        env["PATH"] = f"{self.tmp / 'bin'}{os.pathsep}{env['PATH']}"
        run = subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=300,
                             cwd=cwd or self.home, env=env)  # fmt: skip
        assert run.returncode == 0, f"{command}\n{run.stdout}\n{run.stderr}"
        return run.stdout


@pytest.fixture
def world(
    tmp_path: Path, built_mini: Path, font_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    assert shutil.which("softhsm2-util") and MODULE.is_file(), (
        "SoftHSM2 is missing: scripts/lib/setup.sh installs softhsm2 (apt install softhsm2)"
    )
    os.environ["XDG_CACHE_HOME"] = str(font_cache.parents[1])  # bgk shares the subset fonts
    home = tmp_path / "home" / "binh"
    home.mkdir(parents=True)
    (home / "so-pin").write_text("so-secret-2468\n")
    (home / "pin").write_text(PIN + "\n")
    conf = tmp_path / "softhsm2.conf"
    (tmp_path / "softhsm-tokens").mkdir()
    conf.write_text(
        f"directories.tokendir = {tmp_path / 'softhsm-tokens'}\n"
        "objectstore.backend = file\nlog.level = ERROR\n"
    )
    token_env = {"SOFTHSM2_CONF": str(conf), "BGK_PIN_FILE": str(home / "pin")}
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))  # every bgk here sees the same token
    (tmp_path / "bin").mkdir()
    wrapper = tmp_path / "bin" / "bgk"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m kiosk.cli "$@"\n')
    wrapper.chmod(0o755)
    keys, data = tmp_path / "keys", tmp_path / "data"
    url = f"http://127.0.0.1:{free_port()}"
    ok("keys", "init", keys)
    ok("server", "init", "--data", data, "--keys", keys, "--url", url)
    ok("server", "publish", built_mini, "--data", data, "--to", "all")
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "server", "run", "--data", str(data)],
                            stderr=subprocess.PIPE, cwd=REPO)  # fmt: skip

    def up() -> bool:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        try:
            return requests.get(f"{url}/healthz", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    wait_for(up, "bgk server run")
    try:
        bundle = tmp_path / "lb-01"
        ok("kiosk", "enroll", "--data", data, "--id", "lb-01", "--gate", "lao-bao", "-o", bundle,
           "--state-dir", "state")  # fmt: skip
        world = World(tmp_path, data, keys, url, bundle / "kiosk.toml", {}, token_env, home)
        assert world.sync().returncode == 0 and world.playing() == ("mini", 1)
        pubs = []
        for name in ("an", "binh", "chi"):
            bgk("server", "user", "add", name, "--role", "publisher", "--generate", "--data", data)
            token = ok("server", "token", "create", "--user", name, "--data", data)["token"]
            world.tokens[name] = tmp_path / f"{name}.token"
            world.tokens[name].write_text(token)
            if name != "binh":  # an and chi keep encrypted key files
                made = ok("keys", "person", "new", name, "-o", tmp_path / "laptops" / name)
                pubs += ["--publisher", made["public"]]
        (home / "bgk-token").write_text(world.tokens["binh"].read_text())
        ok("server", "delegate", "--data", data, *pubs, "--threshold", "2")
        yield world
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)


def _token_key_attributes(world: World) -> dict[str, Any]:
    """What the token says of binh's private key, and what reading it out gives."""
    import pkcs11
    from pkcs11 import Attribute, ObjectClass
    from pkcs11.exceptions import PKCS11Error

    token = pkcs11.lib(str(MODULE)).get_token(token_label="binh")
    with token.open(user_pin=PIN) as session:
        found = list(session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY}))
        assert len(found) == 1, found
        key = found[0]
        out: dict[str, Any] = {
            a.name: key[a]
            for a in (Attribute.LOCAL, Attribute.SENSITIVE, Attribute.ALWAYS_SENSITIVE,
                      Attribute.EXTRACTABLE, Attribute.NEVER_EXTRACTABLE)
        }  # fmt: skip
        try:
            out["VALUE"] = key[Attribute.VALUE]
        except PKCS11Error as exc:
            out["VALUE"] = type(exc).__name__
    return out


def _private_pems(folders: list[Path]) -> list[str]:
    """Files holding a private key other than the encrypted offline/person keys and the
    server's online snapshot/timestamp keys and fleet TLS keys."""
    found = []
    for folder in folders:
        for path in folder.rglob("*"):
            if not path.is_file() or path.is_symlink():
                continue
            data = path.read_bytes()
            if b"PRIVATE KEY-----" not in data or b"ENCRYPTED PRIVATE KEY-----" in data:
                continue
            online = path.parent.name == "keys" and path.name in ("snapshot.pem", "timestamp.pem")
            if not (online or "mqtt" in path.parts):
                found.append(str(path))
    return found


@pytest.mark.timeout(1200)
def test_the_docs_token_steps_and_a_two_person_publication_with_a_token(world: World) -> None:
    commands = section_commands()
    assert len(commands) == 4, commands
    init, new, add, sign = commands
    assert init.startswith("softhsm2-util --init-token") and "--generate" in new
    world.doc(init)
    made = world.doc(new)
    assert "the private key stays on the token" in made
    public = world.home / "bgk-key" / "binh.pub.json"
    assert sorted(p.name for p in public.parent.iterdir()) == ["binh.pub.json"]  # no key file
    pub = json.loads(public.read_text())
    assert pub["keytype"] == "ecdsa" and pub["scheme"] == "ecdsa-sha2-nistp256"
    ceremony = world.tmp / "ceremony"  # binh hands the public key over
    ceremony.mkdir()
    shutil.copy(public, ceremony / "binh.pub.json")
    world.doc(add, cwd=ceremony)
    delegation = json.loads(sorted((world.data / "tuf").glob("*.targets.json"))[-1].read_text())
    keys = delegation["signed"]["delegations"]["keys"]
    assert keys[pub["keyid"]]["scheme"] == "ecdsa-sha2-nistp256"

    event = world.create(2)
    first = bgk("sign", event, "--server", world.url, "--token-file", world.tokens["an"],
                "--key", world.tmp / "laptops" / "an" / "an.pem", "--yes")  # fmt: skip
    assert first.returncode == 0, first.stderr
    world.sync()
    assert world.playing() == ("mini", 1)  # one signature publishes nothing
    signed = world.doc(sign, event=event)  # binh's token signs: the second signature
    assert "pack mini version 2" in signed and "the server has published it" in signed
    state = world.event(event)
    assert state["state"] == "published"
    assert sorted(s["name"] for s in state["signatures"].values()) == ["an", "binh"]
    synced = world.sync()
    assert synced.returncode == 0, synced.stderr
    assert world.playing() == ("mini", 2)  # the kiosk verified the token's ECDSA signature
    publishers = json.loads(sorted((world.data / "tuf").glob("*.publishers.json"))[-1].read_text())
    assert pub["keyid"] in {s["keyid"] for s in publishers["signatures"]}

    # the private key never left the token
    attrs = _token_key_attributes(world)
    assert attrs["LOCAL"] and attrs["ALWAYS_SENSITIVE"] and attrs["NEVER_EXTRACTABLE"], attrs
    assert attrs["SENSITIVE"] and not attrs["EXTRACTABLE"], attrs
    assert attrs["VALUE"] == "AttributeSensitive", attrs
    assert _private_pems([world.data, world.keys, world.home, world.tmp / "laptops"]) == []


def test_a_wrong_pin_signs_nothing(world: World, tmp_path: Path) -> None:
    init, new, _add, _sign = section_commands()
    world.doc(init)
    world.doc(new)
    added = bgk("keys", "person", "add", "binh", world.home / "bgk-key" / "binh.pub.json",
                "--data", world.data)  # fmt: skip
    assert added.returncode == 0, added.stderr
    event = world.create(2)
    wrong = tmp_path / "wrong-pin"
    wrong.write_text("000000\n")
    run = bgk("sign", event, "--server", world.url, "--token-file", world.tokens["binh"],
              "--pkcs11-module", MODULE, "--token-label", "binh", "--pin-file", wrong,
              "--yes", env=world.token_env)  # fmt: skip
    assert run.returncode != 0
    assert "wrong PIN for the token 'binh'" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
    assert world.event(event)["signatures"] == {}
    missing = bgk("sign", event, "--server", world.url, "--token-file", world.tokens["binh"],
                  "--pkcs11-module", MODULE, "--token-label", "nobody", "--yes",
                  env=world.token_env)  # fmt: skip
    assert missing.returncode != 0 and "no token labelled 'nobody'" in missing.stderr
    both = bgk("sign", event, "--server", world.url, "--key", "x.pem", "--pkcs11-module", MODULE,
               "--token-label", "binh", env=world.token_env)  # fmt: skip
    assert both.returncode != 0 and "not both" in both.stderr
