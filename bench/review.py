"""How long a review takes to build, and whether the web keeps answering meanwhile.

    .venv/bin/python bench/review.py [--rounds 3]

On a fresh server data folder with the sample pack (content_packs/lao-bao) in the
workspace, through the real app (TestClient, an editor's and a publisher's tokens):
  pack build (baseline)   `bgk pack build` of the same draft version, run by hand
  request -> requested    POST .../reviews until the review is built (lint + build in the
                          server's build thread: what "Request publication" costs)
  POST answer             how long the request itself takes to answer (202; the build
                          goes on in its thread)
  /healthz idle           GET /healthz with no build running
  /healthz while building GET /healthz while a review builds (the web loop answers)
  diff                    the review against the published version (both builds' page
                          documents and media), once the first review is published
  review page (HTTP)      GET /workspace/lao-bao/reviews/N, the whole page (no pictures)
It prints the median and p95 of each, and ratios to the baseline of the same run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    from fastapi.testclient import TestClient

    from server.datadir import init_data_dir
    from server.packs import reviews
    from server.packs.keyfile import PASSPHRASE_ENV, write_passphrase_file
    from server.packs.keys import init_keyset
    from server.packs.review_publish import publish_review
    from server.packs.signing import open_repository, utcnow
    from server.store import open_store
    from server.web.accounts import add_user, create_token
    from server.web.app import create_app
    from server.workspace.archive import read_folder
    from server.workspace.drafts import DraftStore
    from server.workspace.review_diff import compare

    tmp = Path(tempfile.mkdtemp(prefix="bgk-bench-review-"))
    rows: dict[str, list[float]] = {}
    try:
        os.environ[PASSPHRASE_ENV] = str(tmp / "passphrase.txt")  # the bench's own keys
        init_keyset(tmp / "keys", write_passphrase_file(tmp / "passphrase.txt"))
        cfg = init_data_dir(tmp / "data", tmp / "keys", "http://127.0.0.1:9", utcnow)
        store = open_store(cfg.store_url)
        for name, role in (("bien", "editor"), ("phat", "publisher")):
            add_user(store, name, role, "bench-password-1", now=time.time())
        drafts = DraftStore(cfg.data / "workspace")
        drafts.create("lao-bao")
        drafts.save("lao-bao", read_folder(SAMPLE), author="bench", message="import", base=None,
                    now=time.time(), replace_all=True)  # fmt: skip
        head = drafts.head("lao-bao")
        build = [sys.executable, "-m", "kiosk.cli", "pack", "build", str(drafts.checkout("lao-bao")),
                 "-o", str(tmp / "by-hand"), "--settings", str(cfg.data / "server.toml")]  # fmt: skip
        subprocess.run(build, check=True, capture_output=True)  # warms the subset-font cache
        rows["pack build (baseline)"] = timed(
            lambda: subprocess.run(build, check=True, capture_output=True), args.rounds
        )
        app = create_app(cfg, store=store)
        ed = TestClient(app)
        ed.headers["Authorization"] = f"Bearer {create_token(store, 'bien', now=time.time())}"
        asked: list[float] = []
        during: list[float] = []

        def review() -> int:
            t = time.perf_counter()
            r = ed.post("/api/v1/workspace/lao-bao/reviews", json={"to": ["all"], "version": head})
            asked.append(time.perf_counter() - t)
            rid = int(r.json()["id"])
            while reviews.get(store, rid).state == "building":
                t = time.perf_counter()
                ed.get("/healthz")
                during.append(time.perf_counter() - t)
                time.sleep(0.2)
            assert reviews.get(store, rid).state == "requested", reviews.get(store, rid).error
            return rid

        ids: list[int] = []
        rows["request -> requested"] = timed(lambda: ids.append(review()), args.rounds)
        rows["POST answer"] = asked
        rows["/healthz idle"] = timed(lambda: ed.get("/healthz"), 50)
        rows["/healthz while building"] = during
        # the first review goes out; the next is compared with it
        first = ids[0]
        reviews.move(store, first, "approved", now=time.time(), decided_by="phat")
        repo = open_repository(cfg, ("targets",), keys=tmp / "keys")
        publish_review(cfg, store, repo, first, utcnow, by="bench")
        vi = (drafts.read("lao-bao", "pages/welcome/vi.md") or b"").decode()
        drafts.save("lao-bao", {"pages/welcome/vi.md": (vi + "\nMột đoạn mới.\n").encode()},
                    author="bench", message="edit", base=head, now=time.time())  # fmt: skip
        head = drafts.head("lao-bao")
        rid = review()
        found = reviews.get(store, rid)
        rows["diff"] = timed(lambda: compare(cfg, store, found), args.rounds * 4)
        ph = TestClient(app, follow_redirects=False)
        signed = ph.post("/login", data={"name": "phat", "password": "bench-password-1",
                                         "next": "/"})  # fmt: skip
        assert signed.status_code == 303, signed.text
        page = f"/workspace/lao-bao/reviews/{rid}"
        assert ph.get(page).status_code == 200
        rows["review page (HTTP)"] = timed(lambda: ph.get(page), args.rounds * 4)
        store.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    base = statistics.median(rows["pack build (baseline)"])
    idle = statistics.median(rows["/healthz idle"])
    print(f"review of the sample pack, {args.rounds} rounds")
    print(f"{'what':26} {'median s':>9} {'p95 s':>8} {'n':>4}  ratio")
    for name, xs in rows.items():
        med = statistics.median(xs)
        ratio = (
            f"{med / idle:.1f}x idle" if name.startswith("/healthz") else f"{med / base:.2f}x build"
        )
        print(f"{name:26} {med:9.3f} {p95(xs):8.3f} {len(xs):4}  {ratio}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
