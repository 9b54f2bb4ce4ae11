"""The workspace's drafts through the API and the command line, on a real server data
folder and a real git store: roles on every route, saves with conflicts, history,
diff, restore, translation state, and `bgk pack import/pull/push` against a live
server (a push that fails lint is refused with the findings)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from webkit import T0, Site, serve

from server.web.accounts import create_token
from server.workspace.drafts import DraftStore

TRACKED = Path(__file__).resolve().parents[1] / "fixtures" / "packs" / "tracked"
WS = "/api/v1/workspace"


def bgk(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk.cli", *args],
        capture_output=True, text=True, timeout=180, env=env,
    )  # fmt: skip


@pytest.fixture
def drafts(site: Site) -> DraftStore:
    site.user("editor", "editor")
    site.user("editor2", "editor")
    r = bgk("pack", "import", str(TRACKED), "--data", str(site.cfg.data), "--as", "ana")
    assert r.returncode == 0, r.stderr
    assert "imported tracked" in r.stdout
    return DraftStore(site.cfg.data / "workspace")


def token_client(app: FastAPI, site: Site, user: str) -> TestClient:
    client = TestClient(app)
    client.headers["Authorization"] = f"Bearer {create_token(site.store, user, now=T0)}"
    return client


def head(client: TestClient) -> str:
    version: str = client.get(f"{WS}/tracked/files").json()["version"]
    return version


def save(client: TestClient, base: str, files: dict[str, str | None], msg: str = "edit") -> Any:
    return client.post(f"{WS}/tracked/save", json={"base": base, "message": msg, "files": files})


def test_every_workspace_route_checks_the_role(
    app: FastAPI, site: Site, drafts: DraftStore
) -> None:
    paths = {p: ops for p, ops in app.openapi()["paths"].items() if p.startswith(WS)}
    assert len(paths) >= 10
    anon, viewer = TestClient(app), token_client(app, site, "viewer")
    for template, ops in paths.items():
        path = template.replace("{pack}", "tracked")
        for method in ops:
            assert anon.request(method, path).status_code == 401, (method, path)
            if method == "post":
                r = viewer.request(method, path, json={})
                assert r.status_code == 403, (method, path, r.text)
                assert "needs the editor role" in r.json()["error"]


def test_an_editor_saves_and_history_diff_restore_follow(
    app: FastAPI, site: Site, drafts: DraftStore
) -> None:
    editor = token_client(app, site, "editor")
    v1 = head(editor)
    vi = editor.get(f"{WS}/tracked/file", params={"path": "pages/welcome/vi.md"})
    assert vi.headers["x-version"] == v1
    new_text = vi.text.replace("Gọi 113 khi cần công an", "Gọi 113 để gặp công an")
    r = save(editor, v1, {"pages/welcome/vi.md": new_text}, "Số công an rõ hơn")
    assert r.status_code == 200, r.text
    v2 = r.json()["version"]
    log = editor.get(f"{WS}/tracked/history").json()
    assert [(v["author"], v["message"]) for v in log] == [
        ("editor", "Số công an rõ hơn"), ("ana", f"Import {TRACKED.name}")
    ]  # fmt: skip
    changes = editor.get(f"{WS}/tracked/diff", params={"a": v1, "b": v2}).json()
    assert [c["path"] for c in changes] == ["pages/welcome/vi.md"]
    assert "-- Gọi 113 khi cần công an" in changes[0]["diff"]
    assert "+- Gọi 113 để gặp công an" in changes[0]["diff"]
    r = editor.post(f"{WS}/tracked/restore", json={"version": v1})
    assert r.status_code == 200
    assert editor.get(f"{WS}/tracked/file", params={"path": "pages/welcome/vi.md"}).text == vi.text
    assert len(editor.get(f"{WS}/tracked/history").json()) == 3  # history only grows
    # the stored tree is a pack folder git itself reads
    git = subprocess.run(["git", "-C", str(drafts.path_of("tracked")), "log", "--format=%an %s"],
                         capture_output=True, text=True, check=True)  # fmt: skip
    assert git.stdout.splitlines()[1] == "editor Số công an rõ hơn"


def test_two_editors_on_one_file_get_a_conflict_not_an_overwrite(
    app: FastAPI, site: Site, drafts: DraftStore
) -> None:
    one, two = token_client(app, site, "editor"), token_client(app, site, "editor2")
    base = head(one)
    assert save(one, base, {"pages/welcome/en.md": "# Welcome\n\nOne's text.\n"}).status_code == 200
    r = save(two, base, {"pages/welcome/en.md": "# Welcome\n\nTwo's text.\n"})
    assert r.status_code == 409
    assert r.json()["paths"] == ["pages/welcome/en.md"] and r.json()["head"] != base
    assert "changed since you opened it" in r.json()["error"]
    assert drafts.read("tracked", "pages/welcome/en.md") == b"# Welcome\n\nOne's text.\n"
    # another file from the same old base: both changes kept
    assert save(two, base, {"pages/help/en.md": "# Help\n\nTwo's help.\n"}).status_code == 200
    assert drafts.read("tracked", "pages/welcome/en.md") == b"# Welcome\n\nOne's text.\n"
    assert drafts.read("tracked", "pages/help/en.md") == b"# Help\n\nTwo's help.\n"


def test_bad_requests_are_refused_in_words(app: FastAPI, site: Site, drafts: DraftStore) -> None:
    editor = token_client(app, site, "editor")
    base = head(editor)
    r = save(editor, base, {"../etc/passwd": "x"})
    assert r.status_code == 400 and "relative path" in r.json()["error"]
    r = save(editor, base, {"pages/welcome/en.md": "x"}, msg="   ")
    assert r.status_code == 400 and "what you changed" in r.json()["error"]
    r = editor.get(f"{WS}/nope/history")
    assert r.status_code == 404 and "bgk pack import" in r.json()["error"]
    r = editor.get(f"{WS}/tracked/diff", params={"a": base, "b": "f" * 40})
    assert r.status_code == 404 and "no version" in r.json()["error"]


def test_pull_edit_push_and_a_push_that_fails_lint(
    app: FastAPI, site: Site, drafts: DraftStore, tmp_path: Path
) -> None:
    import os

    env = {**os.environ, "BGK_TOKEN": create_token(site.store, "editor", now=time.time())}
    work = tmp_path / "work"
    with serve(app) as url:
        r = bgk("pack", "pull", "tracked", "-o", str(work), "--server", url, env=env)
        assert r.returncode == 0, r.stderr
        assert (work / "pages/welcome/translation.toml").is_file()
        en = work / "pages/welcome/en.md"
        en.write_text(en.read_text("utf-8").replace("police", "Police"), "utf-8")
        r = bgk("pack", "push", str(work), "-m", "Capital P", env=env)
        assert r.returncode == 0, r.stderr
        assert drafts.history("tracked")[0].message == "Capital P"
        assert b"Police" in (drafts.read("tracked", "pages/welcome/en.md") or b"")
        # a broken link: refused with the file and line, nothing saved
        en.write_text(en.read_text("utf-8") + "\nSee [nowhere](page:nowhere).\n", "utf-8")
        r = bgk("pack", "push", str(work), "-m", "broken", env=env)
        assert r.returncode == 1
        assert "pages/welcome/en.md:10: error: link to page 'nowhere'" in r.stderr
        assert "refused" in r.stderr
        assert drafts.history("tracked")[0].message == "Capital P"
        # pulling over unpushed changes is refused: nothing lost
        r = bgk("pack", "pull", "tracked", "-o", str(work), "--server", url, env=env)
        assert r.returncode == 2 and "not pushed" in r.stderr
        assert "nowhere" in en.read_text("utf-8")


def test_marking_a_translation_done_clears_its_cell(
    app: FastAPI, site: Site, drafts: DraftStore
) -> None:
    from server.workspace.grid import page_grid

    editor = token_client(app, site, "editor")
    base = head(editor)
    vi = drafts.read("tracked", "pages/welcome/vi.md", base) or b""
    changed = vi.decode().replace("Gọi 115 khi cần cấp cứu", "Gọi 115: cấp cứu")
    v2 = save(editor, base, {"pages/welcome/vi.md": changed}).json()["version"]
    grid = page_grid(drafts, "tracked", v2, today=__import__("datetime").date(2026, 6, 1))
    assert [c.state for c in grid.rows[0].cells] == [
        "source", "needs-update", "needs-update", "needs-update", "needs-update"
    ]  # fmt: skip
    assert grid.rows[0].page == "welcome"  # problems first
    stale = grid.cell("welcome", "en").stale
    assert [(c.kind, c.source.number if c.source else 0) for c in stale] == [("changed", 4)]
    r = editor.post(f"{WS}/tracked/translated", json={"base": v2, "page": "welcome", "lang": "en"})
    assert r.status_code == 200, r.text
    grid = page_grid(drafts, "tracked", None, today=__import__("datetime").date(2026, 6, 1))
    assert grid.cell("welcome", "en").state == "up-to-date"
    assert grid.cell("welcome", "lo").state == "needs-update"


def png_bytes(width: int, height: int) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def test_hostile_uploads_are_refused_with_a_clear_message(
    app: FastAPI, site: Site, drafts: DraftStore
) -> None:
    import struct
    import zlib

    import httpx

    token = create_token(site.store, "editor", now=time.time())
    head0 = drafts.head("tracked")

    def bomb() -> bytes:  # a tiny PNG whose header claims 30000 x 30000 pixels
        def chunk(kind: bytes, data: bytes) -> bytes:
            crc = struct.pack(">I", zlib.crc32(kind + data))
            return struct.pack(">I", len(data)) + kind + data + crc

        ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))  # fmt: skip

    def huge() -> Iterator[bytes]:  # 200 MB, streamed without a length
        block = b"\x89PNG\r\n\x1a\n" + b"\0" * (1024 * 1024 - 8)
        for _ in range(200):
            yield block

    with serve(app) as url, httpx.Client(base_url=url, timeout=60,
                                          headers={"Authorization": f"Bearer {token}"}) as http:  # fmt: skip

        def upload(name: str, body: Any) -> httpx.Response:
            return http.post("/api/v1/workspace/tracked/media",
                             params={"name": name, "base": drafts.head("tracked")}, content=body)  # fmt: skip

        r = upload("bomb.png", bomb())
        assert r.status_code == 400 and "decompression bomb" in r.json()["error"]
        assert r.json()["code"] == "upload-pixels"  # the editor's words (ws.err.*) by code
        r = upload("photo.jpg", png_bytes(64, 64))
        assert r.status_code == 400
        assert r.json()["error"] == (
            "photo.jpg is a PNG picture but its name says JPEG: rename it photo.png"
        )
        assert r.json()["code"] == "upload-wrong-name" and r.json()["args"]["right"] == "photo.png"
        r = upload("page.jpg", b"<!doctype html><script>alert(1)</script>")
        assert r.status_code == 400
        assert "is HTML or XML text, not a PNG or JPEG picture" in r.json()["error"]
        assert r.json()["code"] == "upload-not-picture" and r.json()["args"]["kind"] == "html"
        started = time.monotonic()
        r = upload("big.png", huge())
        assert r.status_code == 413 and "over 20 MB" in r.json()["error"], r.text
        assert r.json()["code"] == "upload-too-big"
        took = time.monotonic() - started
        r = upload("big.png", b"\0" * (21 * 1024 * 1024))  # with a Content-Length
        assert r.status_code == 413
        assert drafts.head("tracked") == head0  # nothing was saved
        r = upload("map.png", png_bytes(320, 200))
        assert r.status_code == 200, r.text
        assert r.json()["path"] == "media/map.png"
        assert drafts.read("tracked", "media/map.png") == png_bytes(320, 200)
        assert drafts.history("tracked")[0].message == "Add picture media/map.png"
    print(f"200 MB upload refused after {took:.2f} s")


def test_pages_are_added_moved_and_removed_in_one_version_each(
    app: FastAPI, site: Site, drafts: DraftStore
) -> None:
    import datetime as dt
    import tomllib

    from server.workspace.grid import page_grid

    editor = token_client(app, site, "editor")

    def act(**body: str) -> Any:
        return editor.post(f"{WS}/tracked/pages", json={"base": head(editor), **body})

    r = act(action="add", page="hours", title="Giờ   làm việc")
    assert r.status_code == 200, r.text
    assert drafts.read("tracked", "pages/hours/vi.md") == "# Giờ làm việc\n".encode()
    toml = (drafts.read("tracked", "pack.toml") or b"").decode()
    assert toml.startswith("# The mini pack with translation records")  # comments kept
    ids = [p["id"] for p in tomllib.loads(toml)["pages"]]
    assert ids == ["welcome", "help", "hours"]
    grid = page_grid(drafts, "tracked", None, dt.date(2026, 6, 1))
    assert grid.rows[0].page == "hours"  # four languages missing: problems first
    assert [c.state for c in grid.rows[0].cells] == ["source"] + ["missing"] * 4
    assert act(action="add", page="hours", title="x").json()["error"] == (
        "the pack already has a page 'hours'"
    )
    assert act(action="add", page="Bad Id", title="x").status_code == 400
    assert act(action="up", page="hours").status_code == 200
    toml = (drafts.read("tracked", "pack.toml") or b"").decode()
    assert [p["id"] for p in tomllib.loads(toml)["pages"]] == ["welcome", "hours", "help"]
    assert act(action="remove", page="hours").status_code == 200
    assert not [p for p in drafts.listing("tracked") if p.startswith("pages/hours/")]
    toml = (drafts.read("tracked", "pack.toml") or b"").decode()
    assert [p["id"] for p in tomllib.loads(toml)["pages"]] == ["welcome", "help"]
    assert [v.message for v in drafts.history("tracked")[:3]] == [
        "Remove page hours", "Move page hours", "Add page hours"
    ]  # fmt: skip
    viewer = token_client(app, site, "viewer")
    r = viewer.post(f"{WS}/tracked/pages", json={"base": head(editor), "action": "remove",
                                                  "page": "help"})  # fmt: skip
    assert r.status_code == 403


def test_the_server_answers_while_a_preview_is_drawn(
    app: FastAPI, site: Site, drafts: DraftStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import httpx

    from server.workspace import preview

    worker = preview.PreviewWorker(tmp_path / "preview-work")
    monkeypatch.setattr(preview, "_worker", worker)  # the app's, started by this test
    token = create_token(site.store, "editor", now=time.time())
    drawn: list[httpx.Response] = []
    try:
        with serve(app) as url, httpx.Client(base_url=url, timeout=300,
                                              headers={"Authorization": f"Bearer {token}"}) as http:  # fmt: skip
            page = drafts.listing("tracked")
            first = sorted(p.split("/")[1] for p in page if p.startswith("pages/"))[0]
            asking = threading.Thread(target=lambda: drawn.append(http.get(
                f"{WS}/tracked/preview.png", params={"page": first, "lang": "vi"})))  # fmt: skip
            asking.start()
            assert worker.busy.wait(120), "the preview never reached the worker"
            # a cold preview takes seconds: meanwhile the server answers others
            r = http.get(WS)
            assert r.status_code == 200 and r.json()[0]["pack"] == "tracked"
            assert worker.busy.is_set(), "answered only after the drawing"
            asking.join(300)
        assert drawn and drawn[0].status_code == 200, drawn[0].text if drawn else "no answer"
        assert drawn[0].content.startswith(b"\x89PNG") and drawn[0].headers["X-Cache"] == "miss"
    finally:
        worker.stop()
