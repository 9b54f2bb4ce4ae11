"""How fast the publishers' workspace answers.

    .venv/bin/python bench/workspace.py [--rounds 5] [--pages 40]

On a fresh server data folder with the sample pack imported into the workspace
and a second pack of `--pages` pages x 5 languages (the sample's pages copied),
it times:
  save                  one page saved as a new version (the git commit of the draft store)
  lint (baseline)       `bgk pack lint`'s work on the 40-page folder, in this process
  grid cold             the page grid of a new version (checkout + lint + states)
  grid warm             the same version again (cached)
  grid page (HTTP)      GET /workspace/<pack> in the real app (session cookie), warm
  preview cold          save -> preview PNG with a new preview worker (it starts, builds the
                        whole pack, starts Kivy on its own Xvfb, draws the page)
  preview warm          save -> preview PNG of a changed page, the worker running (it rebuilds
                        with what it kept, and draws one page): the editor's case
  preview warm, portrait  the same, portrait and large text (the window resized)
  preview warm: build, draw  what the worker spent of a warm preview building and drawing
  preview cached        the same content again (the cache, by content hash)
  preview CLI (baseline) `bgk pack preview` run by hand on the same folder
  build of a version    `bgk pack build` of a frozen draft version (what a review builds)
It prints the median and p95 of each and ratios to the baselines of the same run.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "content_packs" / "lao-bao"


def timed(fn: Callable[[], object], rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]


def _rss_tree(pid: int | None) -> float:
    """Resident MiB of a process and all its descendants (Linux /proc)."""
    if pid is None:
        return 0.0
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * 4096 / 2**20
            kids = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except (OSError, ValueError, IndexError):
            continue
        todo += [int(k) for k in kids]
    return total


def big_pack(dst: Path, pages: int) -> Path:
    """The sample with `pages` top-level pages (its own, then copies of them)."""
    shutil.copytree(SAMPLE, dst, ignore=shutil.ignore_patterns("media-src"))
    src_pages = sorted(p.name for p in (SAMPLE / "pages").iterdir())
    toml = (SAMPLE / "pack.toml").read_text("utf-8")
    head = toml.split("[[pages]]", 1)[0].replace('id = "lao-bao"', 'id = "big"')
    blocks = []
    for i in range(pages):
        name = src_pages[i % len(src_pages)]
        page_id = name if i < len(src_pages) else f"{name}-{i}"
        if i >= len(src_pages):
            shutil.copytree(dst / "pages" / name, dst / "pages" / page_id)
        blocks.append(f'[[pages]]\nid = "{page_id}"\n')
    (dst / "pack.toml").write_text(head + "\n".join(blocks), "utf-8")
    return dst


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--pages", type=int, default=40)
    args = ap.parse_args()
    from fastapi.testclient import TestClient

    from server.datadir import init_data_dir
    from server.packs.keys import init_keyset
    from server.packs.lint import lint_pack
    from server.packs.signing import utcnow
    from server.store import open_store
    from server.web.accounts import add_user
    from server.web.app import create_app
    from server.workspace.archive import read_folder
    from server.workspace.drafts import DraftStore
    from server.workspace.grid import page_grid
    from server.workspace.preview import PreviewWorker, Screen, preview_png

    tmp = Path(tempfile.mkdtemp(prefix="bgk-bench-ws-"))
    try:
        init_keyset(tmp / "keys")
        cfg = init_data_dir(tmp / "data", tmp / "keys", "http://127.0.0.1:9", utcnow)
        store = open_store(cfg.store_url)
        password = "bench-password-1"
        add_user(store, "editor", "editor", password, now=time.time())
        folder = big_pack(tmp / "big", args.pages)
        drafts = DraftStore(cfg.data / "workspace")
        drafts.create("big")
        drafts.save("big", read_folder(folder), author="bench", message="import", base=None,
                    now=time.time(), replace_all=True)  # fmt: skip
        today = date(2026, 12, 2)
        rows: dict[str, list[float]] = {}
        n = [0]

        def save() -> str:
            n[0] += 1
            text = f"# Chào mừng\n\nPhiên bản thử {n[0]}.\n"
            return drafts.save("big", {"pages/welcome/vi.md": text.encode()}, author="bench",
                               message=f"edit {n[0]}", base=drafts.head("big"),
                               now=time.time())  # fmt: skip

        rows["save"] = timed(save, args.rounds * 4)
        rows["lint (baseline)"] = timed(lambda: lint_pack(folder, today=today), args.rounds)
        rows["grid cold"] = timed(lambda: page_grid(drafts, "big", save(), today), args.rounds)
        rows["grid warm"] = timed(lambda: page_grid(drafts, "big", None, today), args.rounds * 4)
        app = create_app(cfg, store=store)
        with TestClient(app) as client:
            client.post("/login", data={"name": "editor", "password": password, "next": "/"})
            client.get("/workspace/big")
            rows["grid page (HTTP)"] = timed(lambda: client.get("/workspace/big"), args.rounds * 4)
        preview_rounds = max(2, args.rounds // 2)
        workers: list[PreviewWorker] = []

        def cold_preview() -> None:
            if workers:
                workers.pop().stop()
            workers.append(PreviewWorker(tmp / f"worker-{n[0]}"))
            preview_png(drafts, "big", save(), "welcome", "vi", Screen(), using=workers[-1])

        split: dict[str, list[float]] = {"build": [], "draw": []}

        def warm_preview(screen: Screen) -> Callable[[], object]:
            def one() -> None:
                preview_png(drafts, "big", save(), "welcome", "vi", screen, using=workers[-1])
                split["build"].append(float(workers[-1].last.get("build_s", 0)))
                split["draw"].append(float(workers[-1].last.get("seconds", 0)))

            return one

        rows["preview cold"] = timed(cold_preview, preview_rounds)
        rows["preview warm"] = timed(warm_preview(Screen()), args.rounds * 4)
        rows["preview warm, portrait"] = timed(warm_preview(Screen(True, True)), args.rounds * 2)
        worker_mb = _rss_tree(workers[-1].pid)
        rows["preview warm: build"] = split["build"]
        rows["preview warm: draw"] = split["draw"]
        rows["preview cached"] = timed(
            lambda: preview_png(drafts, "big", drafts.head("big"), "welcome", "vi", Screen(),
                                using=workers[-1]),
            args.rounds * 4,
        )  # fmt: skip
        workers[-1].stop()
        cli = [sys.executable, "-m", "kiosk.cli", "pack", "preview", str(folder), "--lang", "vi",
               "--page", "welcome", "-o", str(tmp / "p.png")]  # fmt: skip
        rows["preview CLI (baseline)"] = timed(
            lambda: subprocess.run(cli, check=True, capture_output=True), preview_rounds
        )
        out = tmp / "built"
        build = [sys.executable, "-m", "kiosk.cli", "pack", "build",
                 str(drafts.checkout("big")), "-o", str(out), "--edition", "2026-12-02"]  # fmt: skip
        rows["build of a version"] = timed(
            lambda: subprocess.run(build, check=True, capture_output=True), preview_rounds
        )
        store.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    base = {"grid": statistics.median(rows["lint (baseline)"]),
            "preview": statistics.median(rows["preview CLI (baseline)"])}  # fmt: skip
    print(f"workspace, {args.pages} pages x 5 languages, {args.rounds} rounds")
    print(
        f"preview worker memory (worker + kiosk drawer + Xvfb) after the warm rounds: "
        f"{worker_mb:.0f} MiB"
    )
    print(f"{'what':24} {'median s':>9} {'p95 s':>8} {'n':>3}  ratio")
    for name, xs in rows.items():
        med = statistics.median(xs)
        ref = base["preview"] if name.startswith("preview") else base["grid"]
        ratio = f"{med / ref:.2f}x {'preview CLI' if name.startswith('preview') else 'lint'}"
        print(f"{name:24} {med:9.3f} {p95(xs):8.3f} {len(xs):3}  {ratio}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
