"""Pack delivery over real HTTP: `bgk server run`'s app and nginx with the
deploy/ example config serve the same answers (Range, caching headers, 404
for unknown paths), and a kiosk syncs through either."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from deliverykit import AppServer, Nginx, SimKiosk, installed, pack_files, write_built_pack

from kiosk.agent.fetch import HttpSource
from server.config import ServerConfig
from server.datadir import init_data_dir
from server.packs.keys import init_keyset
from server.packs.publish import publish_pack
from server.packs.signing import open_repository

IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass
class Site:
    config: ServerConfig
    blob: str  # hex of a blob
    blob_data: bytes
    manifest_url: str
    urls: dict[str, str]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("http")
    init_keyset(tmp / "keys")
    now = lambda: datetime.now(UTC)  # noqa: E731
    config = init_data_dir(tmp / "data", tmp / "keys", "http://127.0.0.1:9", now)
    files = pack_files("http", count=4, size=200_000)
    built = write_built_pack(tmp / "built", files, "demo", 1)
    repo = open_repository(config, ("targets",), now=now)
    result = publish_pack(repo, config.blob_dir, built, ["lao-bao"], now)
    data = files["media/f001.bin"]
    target = next((config.tuf_dir / "targets").rglob("*.manifest.json"))
    with AppServer(config) as app, Nginx(config.data, tmp / "nginx") as nginx:
        yield Site(
            config,
            hashlib.sha256(data).hexdigest(),
            data,
            "/tuf/" + str(target.relative_to(config.tuf_dir)),
            {"app": app.url, "nginx": nginx.url},
        )
    assert result.pack.version == 1


@pytest.fixture(params=["app", "nginx"])
def base(request: pytest.FixtureRequest, site: Site) -> str:
    return site.urls[request.param]


def get(url: str, **headers: str) -> requests.Response:
    return requests.get(url, headers=headers, timeout=10)


def test_metadata_caching(base: str, site: Site) -> None:
    r = get(f"{base}/tuf/timestamp.json")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-cache"
    assert r.json()["signed"]["_type"] == "timestamp"
    assert get(f"{base}/tuf/1.root.json").headers["Cache-Control"] == "no-cache"
    for path in ("/tuf/2.snapshot.json", "/tuf/2.targets.json", site.manifest_url):
        r = get(base + path)
        assert r.status_code == 200, path
        assert r.headers["Cache-Control"] == IMMUTABLE


@pytest.mark.parametrize(
    "path",
    [
        "/tuf/2.root.json",  # the next root: kiosks need a 404 here
        "/tuf/root.json",
        "/tuf/.lock",
        "/tuf/../server.toml",
        "/tuf/%2e%2e/server.toml",
        "/blobs/sha256/abc",
        "/blobs/sha256/" + "0" * 64,
        "/keys/timestamp.pem",
        "/tuf/targets/packs/demo/1.manifest.json",
    ],
)
def test_unknown_paths_are_404_and_not_cached(base: str, path: str) -> None:
    r = get(base + path)
    assert r.status_code == 404, path
    assert r.headers.get("Cache-Control") in (None, "no-store")
    assert b"PRIVATE KEY" not in r.content


def test_blobs_are_immutable_and_support_range(base: str, site: Site) -> None:
    url = f"{base}/blobs/sha256/{site.blob}"
    r = get(url)
    assert r.status_code == 200 and r.content == site.blob_data
    assert r.headers["Cache-Control"] == IMMUTABLE
    assert r.headers["Accept-Ranges"] == "bytes"
    r = get(url, Range="bytes=1000-")
    assert r.status_code == 206 and r.content == site.blob_data[1000:]
    assert (
        r.headers["Content-Range"] == f"bytes 1000-{len(site.blob_data) - 1}/{len(site.blob_data)}"
    )
    r = get(url, Range=f"bytes={len(site.blob_data)}-")
    assert r.status_code == 416
    assert requests.head(url, timeout=10).headers["Content-Length"] == str(len(site.blob_data))


def test_a_kiosk_syncs_over_http(base: str, site: Site, tmp_path: Path) -> None:
    root = (site.config.tuf_dir / "1.root.json").read_bytes()
    kiosk = SimKiosk(tmp_path / "k", HttpSource(10.0), root, time.time(), base=base)
    kiosk.sync()
    assert installed(kiosk.state_dir) == ("demo", 1)


def test_healthz(site: Site) -> None:
    body = get(site.urls["app"] + "/healthz").json()
    assert body["ok"] is True and body["tuf"]["ok"] is True
