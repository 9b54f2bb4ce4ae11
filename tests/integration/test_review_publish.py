"""From a review to a kiosk, with the real commands against a running `bgk server run`
and a real kiosk sync (`bgk kiosk sync --once`: the agent's own cycle, python-tuf):

* one-person policy: an editor requests publication over the API, a viewer cannot
  approve (403), a publisher approves, `bgk server publish --review N` publishes
  exactly the approved build, the kiosk installs it, the review says who published it;
* two-person policy (after the delegation ceremony): the publisher who requested a
  review cannot approve it (403); another's approval opens the signing event
  `<pack>-review-<N>` from the review; two `bgk sign` publish it, the review turns
  published with the signers' names, and the kiosk installs it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from deliverykit import free_port, installed, wait_for

REPO = Path(__file__).resolve().parents[2]
MINI = REPO / "tests" / "fixtures" / "packs" / "mini"


def bgk(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kiosk.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300, cwd=REPO)  # fmt: skip


def ok(*args: str | Path) -> Any:
    run = bgk(*args, "--json")
    assert run.returncode == 0, f"bgk {' '.join(map(str, args[:3]))}: {run.stderr}"
    return json.loads(run.stdout)


@dataclass
class Server:
    tmp: Path
    data: Path
    url: str
    kiosk: Path
    tokens: dict[str, str]

    def api(self, who: str, method: str, path: str, **kw: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return requests.request(method, self.url + path, headers=headers, timeout=60, **kw)

    def user(self, name: str, role: str) -> None:
        bgk("server", "user", "add", name, "--role", role, "--generate", "--data", self.data)
        self.tokens[name] = ok("server", "token", "create", "--user", name, "--data", self.data)[
            "token"
        ]

    def playing(self) -> tuple[str, int] | None:
        return installed(self.kiosk.parent / "state")

    def request(self, who: str, to: list[str]) -> dict[str, Any]:
        r = self.api(who, "POST", "/api/v1/workspace/mini/reviews", json={"to": to})
        assert r.status_code == 202, r.text
        review_id = r.json()["id"]
        found: dict[str, Any] = {}

        def built() -> bool:
            found.update(self.api(who, "GET", f"/api/v1/reviews/{review_id}").json())
            return found["state"] != "building"

        wait_for(built, "the review's build", deadline_s=600)
        assert found["state"] == "requested", found["error"]
        return found


@pytest.fixture
def server(tmp_path: Path, font_cache: Path) -> Iterator[Server]:
    os.environ["XDG_CACHE_HOME"] = str(font_cache.parents[1])  # share the subset fonts
    keys, data = tmp_path / "keys", tmp_path / "data"
    url = f"http://127.0.0.1:{free_port()}"
    ok("keys", "init", keys)
    ok("server", "init", "--data", data, "--keys", keys, "--url", url)
    assert "imported mini" in bgk("pack", "import", MINI, "--data", data, "--as", "ana").stdout
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "server", "run", "--data", str(data)],
                            stderr=subprocess.PIPE, cwd=REPO)  # fmt: skip

    def up() -> bool:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        try:
            return requests.get(f"{url}/healthz", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        wait_for(up, "bgk server run")
        bundle = tmp_path / "lb-01"
        ok("kiosk", "enroll", "--data", data, "--id", "lb-01", "--gate", "lao-bao", "-o", bundle,
           "--state-dir", "state")  # fmt: skip
        s = Server(tmp_path, data, url, bundle / "kiosk.toml", {})
        for name, role in (("bientap", "editor"), ("guard", "viewer"), ("phathanh", "publisher")):
            s.user(name, role)
        yield s
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


def sync(s: Server) -> None:
    run = bgk("kiosk", "sync", "--config", s.kiosk, "--once", "--json")
    assert run.returncode == 0, run.stderr


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_one_person_review_publish_and_the_kiosk_installs(server: Server) -> None:
    review = server.request("bientap", ["lao-bao"])
    rid = review["id"]
    assert review["version"] == 1 and review["two_person"] is False
    no = server.api("guard", "POST", f"/api/v1/reviews/{rid}/approve", json={})
    assert no.status_code == 403 and "needs the publisher role" in no.json()["error"]
    no = server.api("bientap", "POST", f"/api/v1/reviews/{rid}/approve", json={})
    assert no.status_code == 403
    diff = server.api("phathanh", "GET", f"/api/v1/reviews/{rid}/diff").json()
    assert diff["base_version"] is None and diff["pages"]
    yes = server.api("phathanh", "POST", f"/api/v1/reviews/{rid}/approve", json={"comment": "OK"})
    assert yes.status_code == 200 and yes.json()["state"] == "approved", yes.text
    page = requests.get(f"{server.url}/workspace/mini/reviews/{rid}", timeout=30,
                        allow_redirects=False)  # fmt: skip
    assert page.status_code in (302, 303, 307)  # the review page needs a sign-in
    # README's command, as written (its data folder and review number swapped for ours)
    line = next(ln for ln in (REPO / "README.md").read_text(encoding="utf-8").splitlines()
                if ln.startswith(".venv/bin/bgk server publish --review"))  # fmt: skip
    words = line.replace("srv/", str(server.data)).replace("--review 2", f"--review {rid}")
    done = ok(*words.split()[1:])
    assert (done["pack"], done["version"], done["to"]) == ("mini", 1, ["lao-bao"])
    sync(server)
    assert server.playing() == ("mini", 1)
    after = server.api("guard", "GET", f"/api/v1/reviews/{rid}").json()
    assert after["state"] == "published" and after["published_by"] and after["published_at"]


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_two_person_approval_opens_the_signing_event_that_bgk_sign_publishes(
    server: Server,
) -> None:
    built = server.tmp / "built-v1"
    assert bgk("pack", "build", MINI, "-o", built).returncode == 0
    ok("server", "publish", built, "--data", server.data, "--to", "all")  # before the ceremony
    sync(server)
    assert server.playing() == ("mini", 1)
    pubs, keys = [], {}
    for name in ("an", "binh", "chi"):
        home = server.tmp / "laptops" / name
        pubs.append(ok("keys", "person", "new", name, "-o", home)["public"])
        keys[name] = home / f"{name}.pem"
        server.user(name, "publisher")
        (server.tmp / f"{name}.token").write_text(server.tokens[name])
    ok("server", "delegate", "--data", server.data,
       *[a for p in pubs for a in ("--publisher", p)], "--threshold", "2")  # fmt: skip

    review = server.request("an", ["all"])  # a publisher may request too
    rid = review["id"]
    assert review["version"] == 2 and review["two_person"] is True
    own = server.api("an", "POST", f"/api/v1/reviews/{rid}/approve", json={})
    assert own.status_code == 403 and "another publisher approves it" in own.json()["error"]
    yes = server.api("binh", "POST", f"/api/v1/reviews/{rid}/approve", json={})
    assert yes.status_code == 200, yes.text
    event = yes.json()["signing"]
    assert event["id"] == f"mini-review-{rid}" and event["state"] == "open"
    made = [e for e in ok("server", "signing", "list", "--data", server.data)
            if e["id"] == event["id"]]  # fmt: skip
    assert made[0]["manifest_sha256"] == review["manifest_sha256"]  # what was reviewed
    assert made[0]["approved_by"] == ["binh"] and made[0]["requested_by"] == "an"
    for name in ("an", "chi"):
        run = bgk("sign", event["id"], "--server", server.url, "--token-file",
                  server.tmp / f"{name}.token", "--key", keys[name], "--yes")  # fmt: skip
        assert run.returncode == 0, run.stderr
    assert "published" in run.stdout
    after = server.api("guard", "GET", f"/api/v1/reviews/{rid}").json()
    assert after["state"] == "published" and after["published_by"] == "signed: an, chi"
    assert [s["name"] for s in after["signing"]["signatures"]] == ["an", "chi"]
    sync(server)
    assert server.playing() == ("mini", 2)
    legacy = bgk("server", "publish", "--review", rid, "--data", server.data)
    assert legacy.returncode != 0 and "is published" in legacy.stderr
    audit = ok("server", "audit", "list", "--data", server.data)
    actions = [e["action"] for e in audit]
    for action in ("review.requested", "review.built", "review.approved", "signing.created",
                   "signature.added", "review.published"):  # fmt: skip
        assert action in actions, action
