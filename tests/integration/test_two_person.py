"""Two-person publishing end to end, with the real commands and a real kiosk sync
(`bgk kiosk sync --once`: the agent's own cycle, python-tuf's ngclient) against a
running `bgk server run`:

* the ceremony moves a deployment to delegations; the kiosk keeps its pack;
* two publishers sign with `bgk sign` -> the server publishes, the kiosk installs;
* one signature -> nothing is published; a second signature by the same key is
  refused (a key counts once); a key that is not a publisher's is refused;
* a signature by a publisher's key over other bytes is refused;
* a compromised server holding every online key and one publisher's key writes
  publishers metadata itself -> the kiosk refuses it and keeps its pack;
* a revoked publisher's signature does not count, on the server nor on the kiosk;
* a tampered blob in the server's build -> `bgk sign` refuses to sign.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from deliverykit import free_port, installed, wait_for
from tuf.api.metadata import Metadata, Targets

from server.config import load_server_config
from server.packs.keys import read_key_file
from server.packs.persons import load_person_signer
from server.packs.repo import PUBLISHERS, TufRepository
from server.packs.signing import load_signers

PEOPLE = ("an", "binh", "chi")

REPO = Path(__file__).resolve().parents[2]
FIXTURE_PACKS = REPO / "tests" / "fixtures" / "packs"
#: the passphrase of the tests' offline keys (tests/conftest.py writes its file)
TEST_PASSPHRASE = "test-passphrase-for-offline-keys"


def bgk(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )


def ok(*args: str | Path) -> Any:
    run = bgk(*args, "--json")
    assert run.returncode == 0, f"bgk {' '.join(map(str, args[:3]))}: {run.stderr}"
    return json.loads(run.stdout)


@dataclass
class World:
    tmp: Path
    data: Path
    keys: Path
    url: str
    kiosk: Path
    tokens: dict[str, Path]

    def sync(self) -> subprocess.CompletedProcess[str]:
        return bgk("kiosk", "sync", "--config", self.kiosk, "--once", "--json")

    def playing(self) -> tuple[str, int] | None:
        return installed(self.kiosk.parent / "state")

    def person_key(self, name: str) -> Path:
        return self.tmp / "laptops" / name / f"{name}.pem"

    def create(self, version: int) -> str:
        made = ok("server", "signing", "create", FIXTURE_PACKS / "mini", "--data", self.data,
                  "--to", "all", "--version", str(version), "--by", "editor",
                  "--approved-by", "an")  # fmt: skip
        return str(made["id"])

    def sign(
        self, name: str, event: str, key: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        return bgk("sign", event, "--server", self.url, "--token-file", self.tokens[name],
                   "--key", key or self.person_key(name), "--yes")  # fmt: skip

    def event(self, event_id: str) -> dict[str, Any]:
        found = ok("server", "signing", "list", "--data", self.data)
        return next(e for e in found if e["id"] == event_id)


@pytest.fixture
def world(tmp_path: Path, built_mini: Path, font_cache: Path) -> Iterator[World]:
    env_cache = {"XDG_CACHE_HOME": str(font_cache.parents[1])}
    os.environ.update(env_cache)  # bgk subprocesses share the session's subset fonts
    keys, data = tmp_path / "keys", tmp_path / "data"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    ok("keys", "init", keys)
    ok("server", "init", "--data", data, "--keys", keys, "--url", url)
    ok("server", "publish", built_mini, "--data", data, "--to", "all")  # before the ceremony
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
        world = World(tmp_path, data, keys, url, bundle / "kiosk.toml", {})
        first = world.sync()
        assert first.returncode == 0, first.stderr
        assert world.playing() == ("mini", 1)
        pubs = []
        for name in PEOPLE:  # each on their own machine
            made = ok("keys", "person", "new", name, "-o", tmp_path / "laptops" / name)
            pubs.append(made["public"])
            bgk("server", "user", "add", name, "--role", "publisher", "--generate", "--data", data)
            token = ok("server", "token", "create", "--user", name, "--data", data)["token"]
            world.tokens[name] = tmp_path / f"{name}.token"
            world.tokens[name].write_text(token)
        args = [a for p in pubs for a in ("--publisher", p)]
        done = ok("server", "delegate", "--data", data, *args, "--threshold", "2")
        assert done["threshold"] == 2 and len(done["publishers"]) == 3
        # the kiosk keeps playing through the ceremony
        after = world.sync()
        assert after.returncode == 0, after.stderr
        assert world.playing() == ("mini", 1)
        yield world
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)


@pytest.mark.timeout(1200)
def test_two_signatures_publish_and_the_kiosk_installs(world: World) -> None:
    event = world.create(2)
    first = world.sign("an", event)
    assert first.returncode == 0, first.stderr
    assert "pack mini version 2" in first.stdout and "1 of 2" in first.stdout
    assert "vi:" in first.stdout and "approved by an" in first.stdout
    assert world.event(event)["state"] == "open"
    world.sync()
    assert world.playing() == ("mini", 1)  # one signature publishes nothing
    again = world.sign("an", event)
    assert again.returncode != 0 and "already signed" in again.stderr
    second = world.sign("binh", event)
    assert second.returncode == 0, second.stderr
    assert "published" in second.stdout
    assert world.event(event)["state"] == "published"
    synced = world.sync()
    assert synced.returncode == 0, synced.stderr
    assert world.playing() == ("mini", 2), synced.stdout
    late = world.sign("chi", event)
    assert late.returncode != 0 and "published" in late.stderr
    built = world.data / "signing" / event / "built"  # a real built pack, version 2
    legacy = bgk("server", "publish", built, "--data", world.data, "--to", "all")
    assert legacy.returncode != 0 and "publishers' signatures" in legacy.stderr
    audit = ok("server", "audit", "list", "--data", world.data)
    actions = [e["action"] for e in audit]
    assert actions.count("signature.added") == 2 and "pack.published" in actions
    assert "key.delegated" in actions and "signing.created" in actions


def test_a_key_that_is_not_a_publishers_is_refused(world: World, tmp_path: Path) -> None:
    event = world.create(2)
    stranger = ok("keys", "person", "new", "mallory", "-o", tmp_path / "mallory")
    run = world.sign("an", event, key=Path(stranger["key"]))
    assert run.returncode != 0 and "not a delegated publisher's key" in run.stderr
    assert world.event(event)["signatures"] == {}


def test_a_signature_over_other_bytes_is_refused(world: World) -> None:
    """A publisher's real key, but over other bytes (another proposal, a changed one):
    the server checks each signature against the event's exact metadata."""
    event = world.create(2)
    proposal = (world.data / "signing" / event / "publishers.json").read_bytes()
    md: Metadata[Targets] = Metadata.from_bytes(proposal)
    md.signed.version += 1  # the same metadata, one field changed
    signer = load_person_signer(world.person_key("an"), _passphrases())
    for payload in (b"not the proposal", md.signed_bytes):
        sig = signer.sign(payload)
        r = requests.post(
            f"{world.url}/api/v1/signing/{event}/signatures",
            json={"keyid": sig.keyid, "sig": sig.signature},
            headers={"Authorization": f"Bearer {world.tokens['an'].read_text()}"},
            timeout=30,
        )
        assert r.status_code == 400 and "does not verify" in r.text, r.text
    assert world.event(event)["signatures"] == {}
    assert world.sign("an", event).returncode == 0  # the real one still counts
    assert len(world.event(event)["signatures"]) == 1


def _attacker_publishes(world: World, signer_names: tuple[str, ...]) -> None:
    """A compromised server: every online key and the keys of `signer_names`; it
    writes publishers metadata with a pack of its own, then snapshot and timestamp."""
    config = load_server_config(world.data)
    online = load_signers(config, ("snapshot", "timestamp"))
    repo = TufRepository(config.tuf_dir, config.tuf, online, lambda: datetime.now(UTC))
    evil = b'{"not": "a pack the publishers approved"}'
    sha = hashlib.sha256(evil).hexdigest()
    versions = repo.versions(PUBLISHERS)
    newer = (versions[-1] if versions else 0) + 1  # a version the kiosk must fetch and check
    md: Metadata[Targets] = Metadata(Targets(version=newer, expires=datetime.now(UTC).replace(
        microsecond=0, year=datetime.now(UTC).year + 1)))  # fmt: skip
    from tuf.api.metadata import TargetFile

    path = "packs/mini/9.manifest.json"
    custom = {"pack": "mini", "version": 9, "to": ["all"], "seq": 99, "published": ""}
    md.signed.targets[path] = TargetFile(len(evil), {"sha256": sha}, path, {"custom": custom})
    for name in signer_names:  # the stolen key(s), and the server's own online keys
        md.sign(load_person_signer(world.person_key(name), _passphrases()), append=True)
    md.sign(online["snapshot"][0], append=True)
    md.sign(online["timestamp"][0], append=True)
    (config.tuf_dir / "targets" / "packs" / "mini").mkdir(parents=True, exist_ok=True)
    (config.tuf_dir / "targets" / "packs" / "mini" / f"{sha}.9.manifest.json").write_bytes(evil)
    repo.write(PUBLISHERS, md)
    repo.publish_metadata()


def _passphrases() -> Any:
    from server.packs.keyfile import Passphrases

    return Passphrases(environ={"BGK_PASSPHRASE_FILE": os.environ["BGK_PASSPHRASE_FILE"]})


def test_a_compromised_server_with_one_publisher_key_cannot_publish(world: World) -> None:
    _attacker_publishes(world, ("an",))
    run = world.sync()
    assert run.returncode != 0
    assert "publishers signed" in run.stderr or "not signed by the keys" in run.stderr
    assert world.playing() == ("mini", 1)
    status = ok("kiosk", "status", "--config", world.kiosk)
    assert status["installed"]["version"] == 1 and status["last_error"]


@pytest.mark.timeout(1200)
def test_a_revoked_publishers_signature_does_not_count(world: World) -> None:
    event = world.create(2)
    assert world.sign("an", event).returncode == 0
    removed = bgk("keys", "person", "remove", "an", "--data", world.data)
    assert removed.returncode == 0, removed.stderr
    assert world.sign("binh", event).returncode == 0
    state = world.event(event)
    assert state["state"] == "open"  # an's signature no longer counts: 1 of 2
    world.sync()
    assert world.playing() == ("mini", 1)
    assert world.sign("chi", event).returncode == 0
    assert world.event(event)["state"] == "published"
    assert world.sync().returncode == 0 and world.playing() == ("mini", 2)
    # on the kiosk too: metadata signed by the revoked key and one publisher is refused
    _attacker_publishes(world, ("an", "binh"))
    refused = world.sync()
    assert refused.returncode != 0 and world.playing() == ("mini", 2)


def test_bgk_sign_refuses_when_the_servers_build_differs(world: World) -> None:
    event = world.create(2)
    folder = world.data / "signing" / event
    built = folder / "built"
    manifest = json.loads((built / "manifest.json").read_text())
    page = next(f for f in manifest["files"] if f["path"].startswith("pages/"))
    blobs = built / "blobs" / "sha256"  # one blob of the server's build is swapped
    tampered = (blobs / page["sha256"]).read_bytes().replace(b'"', b"'", 2)
    new_sha = hashlib.sha256(tampered).hexdigest()
    assert new_sha != page["sha256"]
    (blobs / new_sha).write_bytes(tampered)
    page["sha256"], page["length"] = new_sha, len(tampered)
    data = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    (built / "manifest.json").write_bytes(data)
    proposal: Metadata[Targets] = Metadata.from_bytes((folder / "publishers.json").read_bytes())
    target = proposal.signed.targets["packs/mini/2.manifest.json"]
    target.hashes, target.length = {"sha256": hashlib.sha256(data).hexdigest()}, len(data)
    (folder / "publishers.json").write_bytes(proposal.to_bytes())
    run = world.sign("an", event)
    assert run.returncode != 0
    assert "differs from the one rebuilt here" in run.stderr and "NOT signed" in run.stderr
    assert world.event(event)["signatures"] == {}


def test_wrong_passphrase_for_a_personal_key_is_refused(world: World, tmp_path: Path) -> None:
    event = world.create(2)
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not the passphrase\n")
    run = bgk("sign", event, "--server", world.url, "--token-file", world.tokens["an"],
              "--key", world.person_key("an"), "--yes", "--passphrase-file", wrong)  # fmt: skip
    assert run.returncode != 0 and "wrong passphrase" in run.stderr
    assert world.event(event)["signatures"] == {}
    assert read_key_file(world.person_key("an"), "x", _passphrases()).public_key.keyid
    assert TEST_PASSPHRASE
