"""Reviews through the API on a real server data folder, a real git store and real builds:
roles on every route (a viewer or an editor cannot approve: 403), an editor requests
publication (the build runs beside the web loop, then the review waits), lint errors
fail the request with the findings, a publisher sees the diff against the published
version and approves, `bgk server publish --review N` publishes exactly that build,
and a build changed on the server after the review is refused by its manifest hash."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from webkit import T0, Site, _hb, _raw

from server.fleet.ingest import IngestWriter
from server.packs import reviews
from server.web.accounts import create_token
from server.workspace.drafts import DraftStore

TRACKED = Path(__file__).resolve().parents[1] / "fixtures" / "packs" / "tracked"
RV = "/api/v1/reviews"


def bgk(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kiosk.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300)  # fmt: skip


@pytest.fixture
def drafts(site: Site, app: FastAPI, font_cache: Path) -> DraftStore:
    site.user("editor", "editor")
    site.user("publisher2", "publisher")
    app.state.font_cache = font_cache
    r = bgk("pack", "import", TRACKED, "--data", site.cfg.data, "--as", "ana")
    assert r.returncode == 0, r.stderr
    return DraftStore(site.cfg.data / "workspace")


def client(app: FastAPI, site: Site, user: str) -> TestClient:
    c = TestClient(app)
    c.headers["Authorization"] = f"Bearer {create_token(site.store, user, now=T0)}"
    return c


def wait_built(site: Site, review_id: int) -> reviews.Review:
    deadline = time.monotonic() + 600
    while (r := reviews.get(site.store, review_id)).state == "building":
        assert time.monotonic() < deadline, "the review's build did not end"
        time.sleep(0.5)
    return r


def request(c: TestClient, to: list[str], version: str | None = None) -> int:
    r = c.post("/api/v1/workspace/tracked/reviews", json={"to": to, "version": version,
                                                           "note": "Lời chào mới"})  # fmt: skip
    assert r.status_code == 202, r.text
    assert r.json()["state"] == "building"
    return int(r.json()["id"])


def test_every_review_route_checks_the_role(app: FastAPI, site: Site, drafts: DraftStore) -> None:
    paths = {p: ops for p, ops in app.openapi()["paths"].items()
             if p.startswith(RV) or p.endswith("/reviews")}  # fmt: skip
    assert len(paths) >= 7
    anon, viewer, editor = TestClient(app), client(app, site, "viewer"), client(app, site, "editor")
    for template, ops in paths.items():
        path = template.replace("{pack}", "tracked").replace("{review_id}", "1")
        for method in ops:
            assert anon.request(method, path).status_code == 401, (method, path)
            if method == "post":
                r = viewer.request(method, path, json={})
                assert r.status_code == 403, (method, path, r.text)
                if path.startswith(RV):  # decisions: an editor cannot approve either
                    r = editor.request(method, path, json={})
                    assert r.status_code == 403, (method, path, r.text)
                    assert "needs the publisher role" in r.json()["error"]


def test_an_unknown_review_and_bad_audience_are_refused_in_words(
    app: FastAPI, site: Site, drafts: DraftStore
) -> None:
    editor, publisher = client(app, site, "editor"), client(app, site, "publisher")
    r = publisher.post(f"{RV}/99/approve", json={})
    assert r.status_code == 404 and "no review 99" in r.json()["error"]
    # a number past what the store holds is a wrong request, not a server error (the
    # API fuzzer's find: 2**63 reached SQLite and answered 500)
    for number in ("9223372036854775808", "0", "-1"):
        r = publisher.get(f"{RV}/{number}/preview.png", params={"page": "welcome"})
        assert r.status_code in (400, 422), (number, r.status_code, r.text)
    r = editor.post("/api/v1/workspace/tracked/reviews", json={"to": ["Lao Bao!"]})
    assert r.status_code == 400 and "gate or group name" in r.json()["error"]
    r = editor.post("/api/v1/workspace/nope/reviews", json={"to": ["all"]})
    assert r.status_code == 404 and "bgk pack import" in r.json()["error"]
    assert reviews.listing(site.store) == []  # nothing half-made


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_request_review_approve_publish_and_a_tampered_build(
    app: FastAPI, site: Site, drafts: DraftStore
) -> None:
    editor, publisher = client(app, site, "editor"), client(app, site, "publisher")
    viewer = client(app, site, "viewer")
    first = request(editor, ["lao-bao"])
    assert editor.get(f"{RV}/{first}").json()["state"] in ("building", "requested")
    review = wait_built(site, first)
    assert review.state == "requested", review.error
    assert review.version == 1 and review.manifest_sha256 and review.audience == ("lao-bao",)
    whole = editor.get(f"{RV}/{first}/diff").json()
    assert whole["base_version"] is None  # nothing published yet: every page is new
    assert {(p["page"], p["status"]) for p in whole["pages"]} == {
        ("welcome", "added"), ("help", "added")}  # fmt: skip
    assert viewer.post(f"{RV}/{first}/approve", json={}).status_code == 403
    r = publisher.post(f"{RV}/{first}/approve", json={"comment": "Được"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "approved" and r.json()["signing"] is None
    again = publisher.post(f"{RV}/{first}/reject", json={"comment": "late"})
    assert again.status_code == 409 and "review 1 is approved" in again.json()["error"]
    out = bgk("server", "publish", "--review", first, "--data", site.cfg.data, "--keys",
              site.keys, "--json")  # fmt: skip
    assert out.returncode == 0, out.stderr
    published = json.loads(out.stdout)
    assert (published["pack"], published["version"], published["to"]) == ("tracked", 1, ["lao-bao"])
    assert reviews.get(site.store, first).state == "published"
    # two kiosks report it in their heartbeats (the real ingest): the review counts them
    writer = IngestWriter(site.store, site.cfg.fleet, site.cfg.data)
    writer.write([_raw(k, "hb", _hb(20, T0 - 1, ("tracked", 1))) for k in ("lb-01", "lb-02")], T0)
    shown = viewer.get(f"{RV}/{first}").json()
    assert shown["kiosks_playing"] == 2 and shown["published_by"]
    twice = bgk(
        "server", "publish", "--review", first, "--data", site.cfg.data, "--keys", site.keys
    )
    assert twice.returncode != 0 and "review 1 is published" in twice.stderr

    # the editor changes two paragraphs of the Vietnamese welcome page and the picture
    base = drafts.head("tracked")
    vi = drafts.read("tracked", "pages/welcome/vi.md", base)
    assert vi is not None
    text = vi.decode().replace("Chào mừng quý khách", "Xin kính chào quý khách")
    text = text.replace("Gọi 115 khi cần cấp cứu", "Gọi 115 để gọi xe cấp cứu")
    drafts.save("tracked", {"pages/welcome/vi.md": text.encode(), "media/dot.png": _png()},
                author="editor", message="Lời chào mới", base=base, now=T0)  # fmt: skip
    second = request(editor, ["all"])
    review = wait_built(site, second)
    assert review.state == "requested" and review.version == 2, review.error
    diff = publisher.get(f"{RV}/{second}/diff").json()
    assert (
        diff["base_version"] == 1 and diff["base_commit"] == reviews.get(site.store, first).commit
    )
    changed = {(p["page"], p["lang"]): p for p in diff["pages"]}
    assert set(changed) == {("welcome", "vi")}  # the other pages and languages are as published
    lines = changed["welcome", "vi"]["lines"]
    assert [ln["text"] for ln in lines if ln["kind"] == "del"] == [
        "Chào mừng quý khách đến Cửa khẩu Lao Bảo. Xem trợ giúp.", "- Gọi 115 khi cần cấp cứu"]  # fmt: skip
    assert [ln["text"] for ln in lines if ln["kind"] == "add"] == [
        "Xin kính chào quý khách đến Cửa khẩu Lao Bảo. Xem trợ giúp.", "- Gọi 115 để gọi xe cấp cứu"]  # fmt: skip
    assert diff["media"] == [{"path": "media/dot.png", "status": "changed", "picture": True}]
    for side in ("before", "after"):
        pic = viewer.get(f"{RV}/{second}/media", params={"path": "media/dot.png", "side": side})
        assert pic.status_code == 200 and pic.headers["content-type"] == "image/png"
    assert publisher.post(f"{RV}/{second}/reject", json={"comment": " "}).status_code == 400
    r = publisher.post(f"{RV}/{second}/comments", json={"text": "Kiểm tra lại số 115"})
    assert r.status_code == 200 and r.json()["comments"][0]["text"] == "Kiểm tra lại số 115"
    r = publisher.post(f"{RV}/{second}/approve", json={})
    assert r.status_code == 200 and r.json()["decided_by"] == "publisher"

    # someone changes the approved build on the server: --review refuses it by its hash
    manifest = reviews.review_dir(site.cfg.data, second) / "pack" / "manifest.json"
    body = json.loads(manifest.read_bytes())
    body["title"]["vi"] = "Gói của kẻ gian"
    manifest.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    refused = bgk("server", "publish", "--review", second, "--data", site.cfg.data, "--keys",
                  site.keys)  # fmt: skip
    assert refused.returncode != 0
    assert (
        "not the one that was approved" in refused.stderr and "nothing published" in refused.stderr
    )
    packs = json.loads(bgk("server", "packs", "--data", site.cfg.data, "--json").stdout)
    assert max(p["version"] for p in packs if p["pack"] == "tracked") == 1
    assert reviews.get(site.store, second).state == "approved"
    audit = json.loads(bgk("server", "audit", "list", "--data", site.cfg.data, "--json").stdout)
    actions = [e["action"] for e in audit if e["object"].startswith("review:")]
    for action in ("review.requested", "review.built", "review.approved", "review.commented",
                   "review.published"):  # fmt: skip
        assert action in actions, action


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_version_that_fails_lint_fails_the_request_with_the_findings(
    app: FastAPI, site: Site, drafts: DraftStore
) -> None:
    editor, publisher = client(app, site, "editor"), client(app, site, "publisher")
    base = drafts.head("tracked")
    drafts.save("tracked", {"pages/welcome/vi.md": "# Chào\n\nXem [trang](page:khong-co).\n".encode()},
                author="editor", message="link hỏng", base=base, now=T0)  # fmt: skip
    review = wait_built(site, request(editor, ["all"]))
    assert review.state == "failed" and review.manifest_sha256 is None
    assert "error(s)" in review.error and "request publication again" in review.error
    assert any(
        f["file"] == "pages/welcome/vi.md" and f["level"] == "error" for f in review.findings
    )
    r = publisher.post(f"{RV}/{review.id}/approve", json={})
    assert r.status_code == 409 and "failed" in r.json()["error"]
    assert not (reviews.review_dir(site.cfg.data, review.id) / "pack").exists()


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def test_a_review_left_building_by_a_stopped_server_fails_saying_what_to_do(
    app: FastAPI, site: Site, drafts: DraftStore, sign_in: Any
) -> None:
    head = drafts.head("tracked")
    old = reviews.create(site.store, "tracked", head, ("all",), by="editor", note="",
                         now=T0 - 2 * 3600)  # fmt: skip
    fresh = reviews.create(site.store, "tracked", head, ("all",), by="editor", note="", now=T0)
    viewer = client(app, site, "viewer")
    assert viewer.get(f"{RV}/{fresh}").json()["state"] == "building"  # may be building elsewhere
    gone = viewer.get(f"{RV}/{old}").json()
    assert gone["state"] == "failed" and "request publication again" in gone["error"]
    page = sign_in("viewer").get("/workspace/tracked/reviews")
    assert page.status_code == 200
    assert f'data-review="{old}"' in page.text and "dựng gói lỗi" in page.text
    assert "Yêu cầu xuất bản" not in page.text  # a viewer has no request button
