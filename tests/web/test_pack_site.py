"""The traveller takes the pack away (issue 16): `bgk pack site` and the server's
/p/<pack>/ in real Chromium, and `bgk pack leaflet` as PDF.

The sample pack content_packs/lao-bao is built with a site URL pointing at a
real uvicorn server on a free port, published with `bgk server publish`, and
read as a traveller's phone reads it. Screenshots and leaflet pages are saved
under test-artifacts/site/ for a person to look at.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from webkit import Site, make_site, serve

from kiosk.protocol.languages import LANGUAGES
from kiosk.protocol.pack import MANIFEST_NAME, Manifest, parse_manifest
from server.packs.build import build_pack
from server.publisher import Settings, sample_publisher
from server.web.app import create_app

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "content_packs" / "lao-bao"
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts" / "site"
LANG_ATTR = {"vi": "vi", "en": "en", "lo": "lo", "th": "th", "zh": "zh-Hans"}
SCRIPT_FONT = {"lo": "bgk Laoo", "th": "bgk Thai", "zh": "bgk Hans"}


def bgk(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk.cli", *args], capture_output=True, text=True, timeout=timeout
    )


@dataclass
class Served:
    url: str
    site: Site
    built: Path
    manifest: Manifest
    static: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, font_cache: Path) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("pack-site")
    site = make_site(tmp)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    built = tmp / "built"
    settings = Settings(sample_publisher(), f"{url}/p")
    build_pack(SAMPLE, built, font_cache=font_cache, settings=settings, edition=date(2026, 12, 2))
    done = bgk("server", "publish", str(built), "--data", str(site.cfg.data),
               "--keys", str(site.keys), "--to", "all")  # fmt: skip
    assert done.returncode == 0, done.stderr
    static = tmp / "static-site"
    made = bgk("pack", "site", str(built), "-o", str(static))
    assert made.returncode == 0, made.stderr
    manifest = parse_manifest((built / MANIFEST_NAME).read_bytes())
    try:
        with serve(create_app(site.cfg), sock):
            yield Served(url, site, built, manifest, static)
    finally:
        site.close()


class Links(HTMLParser):
    """Every tag with its attributes, of one HTML file."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


def parsed(path: Path) -> list[tuple[str, dict[str, str]]]:
    p = Links()
    p.feed(path.read_text(encoding="utf-8"))
    return p.tags


def test_every_page_in_every_language_links_resolve_and_nothing_is_external(
    served: Served,
) -> None:
    root = served.static
    m = served.manifest
    assert set(m.languages) == set(LANGUAGES)
    for lang in m.languages:
        for name in ["index", *(p.id for p in m.pages)]:
            page = root / lang / f"{name}.html"
            assert page.is_file(), f"{page} is missing"
            tags = parsed(page)
            [html] = [a for t, a in tags if t == "html"]
            assert html["lang"] == LANG_ATTR[lang], page
            assert [t for t, _ in tags].count("h1") == 1, page
            switch = {a["hreflang"] for t, a in tags if t == "a" and "hreflang" in a}
            assert switch == set(LANG_ATTR.values()) - {LANG_ATTR[lang]}, page
    checked = 0
    for page in root.rglob("*.html"):
        for tag, attrs in parsed(page):
            for key in ("href", "src"):
                target = attrs.get(key)
                if not target or target == "#main":
                    continue
                assert not urlsplit(target).scheme and not target.startswith("//"), (page, target)
                resolved = (page.parent / target.split("#")[0]).resolve()
                assert resolved.is_file() and root.resolve() in resolved.parents, (page, target)
                checked += 1
            if tag == "img":
                assert "alt" in attrs, (page, attrs)
    assert checked > 500
    for text_file in [*root.rglob("*.css"), *root.rglob("*.js"), *root.rglob("*.html")]:
        text = text_file.read_text(encoding="utf-8")
        assert not re.search(r"(https?:)?//[a-z0-9]", text, re.I), text_file
    fonts = {f.name for f in (root / "fonts").glob("*.woff")}
    assert (root / "index.html").is_file() and len(fonts) == 2 * 4 + 3, fonts


def test_the_server_serves_the_published_pack_under_p(served: Served) -> None:
    # `bgk server publish` made the copy already: the first traveller does not wait
    assert list((served.site.cfg.data / "sites").glob("lao-bao-v2*/index.html"))
    with httpx.Client(base_url=served.url, timeout=60) as client:
        r = client.get("/p/lao-bao/lo/emergency.html")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert "set-cookie" not in r.headers
        assert "default-src 'none'" in r.headers["content-security-policy"]
        assert '<html lang="lo">' in r.text
        assert client.get("/p/lao-bao").status_code == 301
        assert client.get("/p/lao-bao/").text.startswith("<!doctype html>")
        assert (
            client.get("/p/lao-bao/fonts/Laoo-Regular.woff").headers["content-type"] == "font/woff"
        )
        for bad in ("/p/no-such-pack/", "/p/lao-bao/../server.toml", "/p/lao-bao/lo/nope.html",
                    "/p/lao-bao/%2e%2e/%2e%2e/server.toml", "/p/LAO/"):  # fmt: skip
            assert client.get(bad).status_code == 404, bad
    # the server's copy is the one `bgk pack site` makes of the same pack
    cached = next((served.site.cfg.data / "sites").glob("lao-bao-v*"))
    for rel in ("lo/emergency.html", "zh/index.html", "site.css", "fonts/Hans-Bold.woff"):
        assert (cached / rel).read_bytes() == (served.static / rel).read_bytes(), rel


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


def titles(served: Served) -> dict[str, dict[str, str]]:
    return {p.id: p.title for p in served.manifest.pages}


def axe_violations(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])})" for v in results.response["violations"]]


@pytest.mark.parametrize("lang", ["lo", "th", "zh", "vi"])
def test_a_phone_reads_a_page_with_its_fonts_accessibly_and_offline(
    served: Served, browser: Any, lang: str
) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, locale=LANG_ATTR[lang]
    )
    page = context.new_page()
    problems: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"script: {exc}"))

    def console(msg: Any) -> None:
        if msg.type == "error":
            problems.append(msg.text)

    def response(r: Any) -> None:
        if r.status >= 400:  # the service worker's own requests too
            problems.append(f"{r.status} {r.url}")

    page.on("console", console)
    page.on("request", lambda req: requests.append(req.url))
    context.on("response", response)
    page.goto(f"{served.url}/p/lao-bao/{lang}/procedures.html")
    page.evaluate("document.fonts.ready")
    deadline = time.monotonic() + 15  # (wait_for_function evaluates strings: the CSP forbids it)
    while not page.evaluate("navigator.serviceWorker.controller !== null"):
        assert time.monotonic() < deadline, "the service worker did not take the page"
        page.wait_for_timeout(100)
    page.screenshot(path=str(ARTIFACTS / f"procedures-{lang}.png"), full_page=True)
    if lang in SCRIPT_FONT:
        fonts = page.evaluate(
            "[...document.fonts].filter(f => f.status === 'loaded').map(f => f.family)"
        )
        assert any(SCRIPT_FONT[lang] in f for f in fonts), fonts
        title = titles(served)["procedures"][lang]
        assert page.evaluate(f"document.fonts.check('20px \"{SCRIPT_FONT[lang]}\"', {title!r})")
    assert page.locator("h1").inner_text().strip() == titles(served)["procedures"][lang]
    assert axe_violations(page) == []
    assert context.cookies() == [] and page.evaluate("document.cookie") == ""
    assert all(u.startswith(served.url + "/p/lao-bao/") for u in requests), requests
    if lang != "zh":  # the language switch's "中文" comes from a small font of the names
        assert not any(re.search(r"Hans-(Regular|Bold)", u) for u in requests), requests
    # the phone loses its connection at the border: the language it reads stays
    page.wait_for_timeout(1500)  # the service worker keeps the language's pages
    context.set_offline(True)
    page.goto(f"{served.url}/p/lao-bao/{lang}/emergency.html")
    assert page.locator("h1").inner_text().strip() == titles(served)["emergency"][lang]
    page.screenshot(path=str(ARTIFACTS / f"emergency-offline-{lang}.png"), full_page=True)
    context.close()
    assert not problems, problems


@pytest.mark.parametrize("lang", ["lo", "th", "zh"])
def test_a_leaflet_per_language_has_its_script_and_pages_render(
    served: Served, tmp_path: Path, lang: str
) -> None:
    if not (shutil.which("pdftotext") and shutil.which("pdftoppm")):
        pytest.fail(
            "poppler-utils is missing: apt-get install poppler-utils (scripts/lib/setup.sh)"
        )
    pdf = tmp_path / f"leaflet-{lang}.pdf"
    pages = "welcome,procedures,emergency"
    done = bgk("pack", "leaflet", str(served.built), "--lang", lang, "-o", str(pdf),
               "--pages", pages)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert pdf.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    squeezed = re.sub(r"\s+", "", text)
    for page_id in pages.split(","):
        assert re.sub(r"\s+", "", titles(served)[page_id][lang]) in squeezed, page_id
    subprocess.run(["pdftoppm", "-r", "70", "-png", str(pdf), str(ARTIFACTS / f"leaflet-{lang}")],
                   check=True)  # fmt: skip
    shots = sorted(ARTIFACTS.glob(f"leaflet-{lang}-*.png"))
    assert shots and all(s.stat().st_size > 10_000 for s in shots)
    bad = bgk("pack", "leaflet", str(served.built), "--lang", lang, "-o", str(pdf),
              "--pages", "welcome,nope")  # fmt: skip
    assert bad.returncode != 0 and "the pack has no page 'nope'" in bad.stderr
