"""{{placeholders}} in page text, filled by `bgk pack build` from the publisher
settings and the edition date; QR codes of the pages when a site URL is set."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from kiosk.protocol.pack import MANIFEST_NAME, pack_file, parse_manifest, parse_page, plain_text
from server.packs.build import build_pack
from server.packs.lint import lint_pack
from server.publisher import Settings, load_settings

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "packs" / "mini"
PUBLISHER = """
[publisher]
name_vi = "Sở Thử nghiệm tỉnh Quảng Trị"
name_en = "Test Department *of* Quang Tri"
name_lo = "ພະແນກທົດລອງ"
phone = "0233 123 456"
email = ""
portal = "example.vn"
"""
CONTACT = {
    "vi": "# Liên hệ\n\nNội dung do {{publisher.name}} phát hành.\n\n"
    "- Điện thoại: {{publisher.phone}}\n- Thư điện tử: {{publisher.email}}\n"
    "- Cổng thông tin: {{publisher.portal}}\n\nẤn bản {{pack.version}}, ngày {{ pack.edition }}.\n"
    "Viết \\{\\{ như thế này.\n",
    "en": "# Contact\n\nPublished by {{publisher.name}} ({{publisher.name_vi}}).\n\n"
    "- Phone: {{publisher.phone}}\n- E-mail: {{publisher.email}}\n\n"
    "Edition {{pack.version}} of {{pack.edition}}.\n",
    "lo": "# ຕິດຕໍ່\n\n{{publisher.name}}\n\n- ໂທ: {{publisher.phone}}\n\n{{pack.edition}}\n",
    "th": "# ติดต่อ\n\n{{publisher.name}}\n\n- โทร: {{publisher.phone}}\n\n{{pack.edition}}\n",
    "zh": "# 联系\n\n{{publisher.name}}\n\n- 电话：{{publisher.phone}}\n\n{{pack.edition}}\n",
}


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    dst = tmp_path / "pack"
    shutil.copytree(MINI, dst)
    (dst / "pack.toml").write_text(
        (dst / "pack.toml").read_text(encoding="utf-8").replace("[title]", PUBLISHER + "\n[title]")
        + '\n[[pages]]\nid = "contact"\n',
        encoding="utf-8",
    )
    (dst / "pages" / "contact").mkdir()
    for lang, text in CONTACT.items():
        (dst / "pages" / "contact" / f"{lang}.md").write_text(text, encoding="utf-8")
    return dst


def page_text(out: Path, page: str, lang: str) -> list[str]:
    manifest = parse_manifest((out / MANIFEST_NAME).read_bytes())
    doc = parse_page(pack_file(out, manifest, f"pages/{page}/{lang}.json").read_bytes())
    lines = [plain_text(doc.title)]
    for block in doc.blocks:
        items = getattr(block, "items", None)
        for tokens in items if items is not None else [block.text]:  # type: ignore[union-attr]
            lines.append(plain_text(tokens).strip())
    return lines


def test_the_build_fills_the_placeholders(pack: Path, tmp_path: Path, font_cache: Path) -> None:
    out = tmp_path / "out"
    build_pack(pack, out, font_cache=font_cache, edition=date(2026, 12, 2), version=4)
    vi = page_text(out, "contact", "vi")
    assert "Nội dung do Sở Thử nghiệm tỉnh Quảng Trị phát hành." in vi
    assert "Điện thoại: 0233 123 456" in vi and "Cổng thông tin: example.vn" in vi
    assert not any(line.startswith("Thư điện tử") for line in vi)  # no e-mail: left out
    assert "Ấn bản 4, ngày 02/12/2026. Viết {{ như thế này." in vi
    en = page_text(out, "contact", "en")
    # a name is text, not markup: its stars stay stars
    assert "Published by Test Department *of* Quang Tri (Sở Thử nghiệm tỉnh Quảng Trị)." in en
    assert page_text(out, "contact", "lo")[1] == "ພະແນກທົດລອງ"
    assert page_text(out, "contact", "th")[1] == "Test Department *of* Quang Tri"  # no Thai name
    assert page_text(out, "contact", "zh")[-1] == "2026年12月2日"


def test_settings_replace_pack_toml_and_builds_stay_reproducible(
    pack: Path, tmp_path: Path, font_cache: Path
) -> None:
    settings_file = tmp_path / "server.toml"
    settings_file.write_text(
        '[server]\nurl = "http://x"\n\n[publisher]\nname_vi = "Sở Khác"\nname_en = "Other"\n'
        'email = "other@example.vn"\n',
        encoding="utf-8",
    )
    settings = load_settings(settings_file)
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    build_pack(pack, a, font_cache=font_cache, settings=settings, edition=date(2026, 12, 2))
    build_pack(pack, b, font_cache=font_cache, settings=settings, edition=date(2026, 12, 2))
    build_pack(pack, c, font_cache=font_cache, settings=settings, edition=date(2026, 12, 3))
    assert (a / MANIFEST_NAME).read_bytes() == (b / MANIFEST_NAME).read_bytes()
    vi = page_text(a, "contact", "vi")
    assert "Nội dung do Sở Khác phát hành." in vi and "Thư điện tử: other@example.vn" in vi
    assert not any(line.startswith("Điện thoại") for line in vi)
    files_a = {f.path: f.sha256 for f in parse_manifest((a / MANIFEST_NAME).read_bytes()).files}
    files_c = {f.path: f.sha256 for f in parse_manifest((c / MANIFEST_NAME).read_bytes()).files}
    changed = {p for p in files_a if files_a[p] != files_c.get(p)}
    # another edition date changes the pages that show it, and nothing else
    assert changed == {f"pages/contact/{lang}.json" for lang in CONTACT}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{{publisher.fax}}", "unknown placeholder {{publisher.fax}}"),
        ("{{publisher.phone", "'{{' without a matching '}}'"),
        ("{{ pack.edition }} {{", "'{{' without a matching '}}'"),
    ],
)
def test_bad_placeholders_are_errors_with_their_line(pack: Path, line: str, message: str) -> None:
    page = pack / "pages" / "contact" / "en.md"
    page.write_text(page.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    result = lint_pack(pack)
    found = [(f.file, f.line, f.rule) for f in result.findings.errors if message in f.message]
    assert found == [("pages/contact/en.md", 10, "placeholder")], result.findings.errors


def test_publisher_placeholders_need_a_publisher(pack: Path) -> None:
    toml = pack / "pack.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(PUBLISHER, ""), encoding="utf-8")
    result = lint_pack(pack)
    assert not result.ok
    assert any(
        "needs the publisher: add [publisher] to pack.toml or build with --settings" in f.message
        for f in result.findings.errors
    )
    assert lint_pack(pack, settings=load_settings(Path("server/publisher_sample.toml"))).ok


def test_an_empty_value_in_the_title_and_bad_settings_are_errors(pack: Path) -> None:
    page = pack / "pages" / "contact" / "vi.md"
    page.write_text("# {{publisher.email}}\n\nx\n", encoding="utf-8")
    errors = lint_pack(pack).findings.errors
    assert [(f.line, f.rule) for f in errors] == [(1, "placeholder")]
    toml = pack / "pack.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("name_en", "name_fr"), "utf-8")
    errors = lint_pack(pack).findings.errors
    assert any(f.rule == "toml" and "unknown key 'name_fr'" in f.message for f in errors)


def test_a_value_the_fonts_cannot_draw_is_a_glyph_error(pack: Path) -> None:
    settings = Settings(load_settings(Path("server/publisher_sample.toml")).publisher)
    assert settings.publisher is not None
    names = dict(settings.publisher.names) | {"lo": "ພະແນກ ⚠"}
    broken = Settings(type(settings.publisher)(names=names))
    errors = lint_pack(pack, settings=broken).findings.errors
    assert [(f.file, f.line, f.rule) for f in errors] == [("pages/contact/lo.md", 3, "glyph")]


def test_qr_codes_lead_to_the_page_on_the_site(
    pack: Path, tmp_path: Path, font_cache: Path
) -> None:
    if shutil.which("zbarimg") is None:
        pytest.fail("zbarimg is missing: apt-get install zbar-tools (scripts/lib/setup.sh)")
    out, plain = tmp_path / "out", tmp_path / "plain"
    build_pack(pack, plain, font_cache=font_cache, edition=date(2026, 12, 2))
    assert not any(f.path.startswith("qr/") for f in parse_manifest(
        (plain / MANIFEST_NAME).read_bytes()).files)  # fmt: skip
    site = Settings(None, "https://kiosk.example.vn/p")
    pub = load_settings(Path("server/publisher_sample.toml")).publisher
    build_pack(pack, out, font_cache=font_cache, settings=Settings(pub, site.site_url),
               edition=date(2026, 12, 2))  # fmt: skip
    manifest = parse_manifest((out / MANIFEST_NAME).read_bytes())
    qr = sorted(f.path for f in manifest.files if f.path.startswith("qr/"))
    assert len(qr) == 3 * 5 and "qr/contact/lo.png" in qr
    png = pack_file(out, manifest, "qr/contact/lo.png")
    done = subprocess.run(["zbarimg", "-q", "--raw", str(png)], capture_output=True, text=True)
    assert done.stdout.strip() == "https://kiosk.example.vn/p/mini/lo/contact.html"


def test_bgk_pack_build_takes_settings_and_an_edition(pack: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli"
    settings = tmp_path / "s.toml"
    settings.write_text(PUBLISHER + '\n[site]\nurl = "https://k.example.vn/p/"\n', encoding="utf-8")
    cmd = [sys.executable, "-m", "kiosk.cli", "pack", "build", str(pack), "-o", str(out),
           "--settings", str(settings), "--edition", "2027-01-31", "--json"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["edition"] == "2027-01-31"
    assert page_text(out, "contact", "zh")[-1] == "2027年1月31日"
    bad = subprocess.run([*cmd[:-2], "31/01/2027"], capture_output=True, text=True, timeout=60)
    assert (
        bad.returncode != 0 and "--edition '31/01/2027': write the date as YYYY-MM-DD" in bad.stderr
    )
