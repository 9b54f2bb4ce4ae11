"""The workspace's preview worker: the real kiosk renderer (Kivy on its own Xvfb,
kept open), a real git draft store, real `bgk pack preview` to compare with.

It draws what `bgk pack preview` draws, pixel for pixel (landscape and, in the
same worker, portrait with large text); the same content again comes from the
cache; an edit changes the pixels of the text area and nothing else; a worker
killed while drawing, or hanging, gives a clear error and the next preview works.
Screenshots go to test-artifacts/preview-*.png.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from server.workspace import preview
from server.workspace.archive import read_folder
from server.workspace.drafts import DraftStore
from server.workspace.preview import PreviewFailed, PreviewWorker, Screen, preview_png

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
PACK = "lao-bao"


@pytest.fixture(scope="module")
def drafts(tmp_path_factory: pytest.TempPathFactory) -> DraftStore:
    store = DraftStore(tmp_path_factory.mktemp("ws") / "workspace")
    store.create(PACK)
    store.save(PACK, read_folder(REPO / "content_packs" / PACK), author="import",
               message="Import", base=None, now=1_700_000_000.0, replace_all=True)  # fmt: skip
    return store


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PreviewWorker]:
    w = PreviewWorker(tmp_path_factory.mktemp("pw") / "work")
    try:
        yield w
    finally:
        w.stop()
    assert w.pid is None


def cli_preview(src: Path, out: Path, *args: str) -> bytes:
    """`bgk pack preview` by hand, with the edition date the workspace's previews show."""
    env = {**os.environ, "SOURCE_DATE_EPOCH": "946684800"}
    env.pop("DISPLAY", None)  # its own Xvfb, as the worker
    cmd = [sys.executable, "-m", "kiosk.cli", "pack", "preview", str(src), "--lang", "vi",
           "--page", "welcome", "-o", str(out), *args]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, env=env, timeout=600)
    return out.read_bytes()


def pixels(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png)).convert("RGB")


def save_welcome(drafts: DraftStore, text: str) -> str:
    body = f"# Chào mừng\n\n{text}\n".encode()
    return drafts.save(PACK, {"pages/welcome/vi.md": body}, author="bien", message="edit",
                       base=drafts.head(PACK), now=1_700_000_100.0)  # fmt: skip


def test_the_worker_draws_what_bgk_pack_preview_draws(
    drafts: DraftStore, worker: PreviewWorker, tmp_path: Path
) -> None:
    rev = drafts.head(PACK)
    land, cached = preview_png(drafts, PACK, rev, "welcome", "vi", Screen(), using=worker)
    assert not cached and land.startswith(b"\x89PNG")
    tall, _ = preview_png(drafts, PACK, rev, "welcome", "vi", Screen(True, True), using=worker)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "preview-worker-landscape.png").write_bytes(land)
    (ARTIFACTS / "preview-worker-portrait-large.png").write_bytes(tall)
    src = drafts.checkout(PACK, rev)
    by_hand = cli_preview(src, tmp_path / "a.png")
    assert pixels(land).size == (1920, 1080)
    assert pixels(land).tobytes() == pixels(by_hand).tobytes()
    by_hand_tall = cli_preview(src, tmp_path / "b.png", "--portrait", "--large-text")
    assert pixels(tall).size == (1080, 1920)
    assert pixels(tall).tobytes() == pixels(by_hand_tall).tobytes()


def test_the_same_content_comes_from_the_cache_and_an_edit_changes_the_text_area(
    drafts: DraftStore, worker: PreviewWorker
) -> None:
    before_rev = save_welcome(drafts, "Giờ mở cửa: 7 giờ đến 22 giờ.")
    before, cached = preview_png(drafts, PACK, before_rev, "welcome", "vi", Screen(), using=worker)
    assert not cached
    pid = worker.pid
    again, cached = preview_png(drafts, PACK, before_rev, "welcome", "vi", Screen(), using=worker)
    assert cached and again == before
    # a version with the same files (a restore) is the same content: the cache too
    same = drafts.restore(PACK, before_rev, author="bien", now=1_700_000_200.0)
    assert preview_png(drafts, PACK, same, "welcome", "vi", Screen(), using=worker)[1]

    after_rev = save_welcome(drafts, "Giờ mở cửa: 6 giờ 30 đến 21 giờ 45, cả ngày lễ.")
    after, cached = preview_png(drafts, PACK, after_rev, "welcome", "vi", Screen(), using=worker)
    assert not cached and worker.pid == pid  # the warm worker, not a new one
    (ARTIFACTS / "preview-worker-before-edit.png").write_bytes(before)
    (ARTIFACTS / "preview-worker-after-edit.png").write_bytes(after)
    diff = ImageChops.difference(pixels(before), pixels(after)).convert("L")
    box = diff.point(lambda v: 255 if v > 40 else 0).getbbox()
    assert box is not None, "the edit did not change the picture"
    left, top, right, bottom = box
    # the body text (below the title bar, above the buttons), not the frame around it
    assert top > 140 and bottom < 940 and right - left > 100


def test_a_worker_killed_while_drawing_gives_a_clear_error_and_the_next_preview_works(
    drafts: DraftStore, worker: PreviewWorker
) -> None:
    rev = save_welcome(drafts, "Bản nháp trước khi bộ vẽ bị dừng.")
    failed: list[BaseException] = []

    def ask() -> None:
        try:
            preview_png(drafts, PACK, rev, "welcome", "en", Screen(), using=worker)
        except BaseException as exc:
            failed.append(exc)

    # be sure a worker runs, then kill it (SIGKILL: no goodbye) while it draws
    preview_png(drafts, PACK, drafts.head(PACK), "welcome", "lo", Screen(), using=worker)
    pid = worker.pid
    assert pid is not None
    asking = threading.Thread(target=ask)
    asking.start()
    assert worker.busy.wait(60)
    time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    asking.join(120)
    assert not asking.is_alive(), "the request hangs after the worker died"
    assert len(failed) == 1 and isinstance(failed[0], PreviewFailed)
    assert failed[0].code == "preview-crashed"
    assert "starts again with the next preview" in str(failed[0])
    # the next preview starts a new worker and draws the page
    png, cached = preview_png(drafts, PACK, rev, "welcome", "en", Screen(), using=worker)
    assert not cached and png.startswith(b"\x89PNG") and worker.pid not in (None, pid)


def test_a_hanging_worker_is_stopped_after_its_timeout_and_replaced(
    drafts: DraftStore, worker: PreviewWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    preview_png(drafts, PACK, drafts.head(PACK), "welcome", "th", Screen(), using=worker)
    pid = worker.pid
    assert pid is not None
    rev = save_welcome(drafts, "Bộ vẽ bị treo.")
    os.kill(pid, signal.SIGSTOP)  # hangs: alive, never answers
    monkeypatch.setattr(preview, "WARM_TIMEOUT_S", 3.0)
    with pytest.raises(PreviewFailed, match="took over 3 s and was stopped") as caught:
        preview_png(drafts, PACK, rev, "welcome", "vi", Screen(), using=worker)
    assert caught.value.code == "preview-timeout"
    with pytest.raises(ProcessLookupError):  # killed with all it started
        os.kill(pid, 0)
    monkeypatch.undo()
    png, _ = preview_png(drafts, PACK, rev, "welcome", "vi", Screen(), using=worker)
    assert png.startswith(b"\x89PNG") and worker.pid not in (None, pid)


def test_a_draft_that_does_not_build_says_why_with_its_findings(
    drafts: DraftStore, worker: PreviewWorker
) -> None:
    bad = drafts.save(PACK, {"pages/welcome/vi.md": "Không có tiêu đề\n\n**mở\n".encode()},
                      author="bien", message="broken", base=drafts.head(PACK),
                      now=1_700_000_300.0)  # fmt: skip
    with pytest.raises(PreviewFailed) as caught:
        preview_png(drafts, PACK, bad, "welcome", "vi", Screen(), using=worker)
    assert caught.value.code == "preview-build"
    keys = {(f["rule"], f["key"]) for f in caught.value.findings}
    assert ("markup", "title") in keys and ("markup", "bold-open") in keys
