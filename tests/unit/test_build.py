"""`bgk pack build`: reproducible, complete, with prepared media and subset fonts."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from PIL import Image

from kiosk.protocol.languages import SCRIPT_SHAPING_TAG
from kiosk.protocol.pack import BLOB_DIR, parse_manifest, parse_page, parse_strings
from server.packs.build import build_pack
from server.packs.errors import OutputError, PackSourceError

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "packs" / "mini"


def blob(out: Path, digest: str) -> bytes:
    return (out / BLOB_DIR / digest).read_bytes()


def test_manifest_lists_every_file_with_its_true_hash(built_mini: Path) -> None:
    manifest = parse_manifest((built_mini / "manifest.json").read_bytes())
    assert manifest.id == "mini" and manifest.version == 1
    assert manifest.languages == ("vi", "en", "lo", "th", "zh")
    stored = sorted(p.name for p in (built_mini / BLOB_DIR).iterdir())
    assert stored == sorted({f.sha256 for f in manifest.files})
    for entry in manifest.files:
        data = blob(built_mini, entry.sha256)
        assert len(data) == entry.length
        assert hashlib.sha256(data).hexdigest() == entry.sha256
    paths = {f.path for f in manifest.files}
    for lang in manifest.languages:
        assert f"pages/welcome/{lang}.json" in paths and f"i18n/{lang}.json" in paths
    assert set(manifest.fonts) == set(SCRIPT_SHAPING_TAG)
    assert manifest.pages[1].parent == "welcome"
    assert manifest.pages[0].title["lo"] == "ຍິນດີຕ້ອນຮັບ"
    assert str(manifest.pages[1].valid_from) == "2020-01-01"


def test_build_is_reproducible_without_caches(built_mini: Path, tmp_path: Path) -> None:
    # The session fixture used a font cache; this build subsets afresh.
    again = build_pack(MINI, tmp_path / "again", font_cache=None)
    assert (built_mini / "manifest.json").read_bytes() == (again.out / "manifest.json").read_bytes()


def test_version_override_changes_only_the_version(
    built_mini: Path, tmp_path: Path, font_cache: Path
) -> None:
    result = build_pack(MINI, tmp_path / "v7", version=7, font_cache=font_cache)
    first = json.loads((built_mini / "manifest.json").read_bytes())
    second = json.loads((result.out / "manifest.json").read_bytes())
    assert second.pop("version") == 7 and first.pop("version") == 1
    assert first == second


def test_subset_fonts_draw_every_character_of_their_script(built_mini: Path) -> None:
    manifest = parse_manifest((built_mini / "manifest.json").read_bytes())
    cmaps = {}
    for script, files in manifest.fonts.items():
        for weight, path in (("regular", files.regular), ("bold", files.bold)):
            font = TTFont(io.BytesIO(blob(built_mini, manifest.file(path).sha256)))
            cmaps[(script, weight)] = set(font.getBestCmap())
    used: dict[tuple[str, str], set[int]] = {}
    for entry in manifest.files:
        if entry.path.startswith("pages/"):
            doc = parse_page(blob(built_mini, entry.sha256))
            blocks = [doc.title] + [
                tok
                for b in doc.blocks
                for tok in (
                    getattr(b, "text", ()),
                    *getattr(b, "items", ()),
                    getattr(b, "caption", ()),
                )
            ]
            for toks in blocks:
                for tok in toks:
                    weight = "bold" if tok.b else "regular"
                    used.setdefault((tok.s, weight), set()).update(map(ord, tok.t))
    assert used.keys() >= {
        ("Latn", "regular"),
        ("Laoo", "regular"),
        ("Thai", "regular"),
        ("Hans", "regular"),
    }
    for key, chars in used.items():
        missing = {chr(c) for c in chars - cmaps[key] if not chr(c).isspace()}
        assert not missing, f"{key} font lacks {missing}"
    # Titles and UI labels are drawn bold: the bold faces carry them.
    strings = parse_strings(blob(built_mini, manifest.file("i18n/lo.json").sha256))
    lao_bold = {ord(c) for tok in strings.ui["touch_to_start"] for c in tok.t if tok.s == "Laoo"}
    assert lao_bold and lao_bold <= cmaps[("Laoo", "bold")]
    # The shaper draws SARA AM as NIKHAHIT + SARA AA: bold and regular keep them.
    for weight in ("regular", "bold"):
        assert {0x0E33, 0x0E4D, 0x0E32} <= cmaps[("Thai", weight)]
        assert {0x0EB3, 0x0ECD, 0x0EB2} <= cmaps[("Laoo", weight)]
    # Notices arrive at run time: the regular faces keep a whole repertoire.
    assert {ord(c) for c in "Thông báo khẩn: đường 9 tạm đóng"} <= cmaps[("Latn", "regular")]
    assert {ord(c) for c in "紧急通知：道路临时关闭"} <= cmaps[("Hans", "regular")]
    assert len(cmaps[("Hans", "regular")]) > 3700 > len(cmaps[("Hans", "bold")])


def test_chinese_font_is_the_simplified_face(built_mini: Path) -> None:
    manifest = parse_manifest((built_mini / "manifest.json").read_bytes())
    font = TTFont(
        io.BytesIO(blob(built_mini, manifest.file(manifest.fonts["Hans"].regular).sha256))
    )
    assert font["name"].getDebugName(4) == "Noto Sans CJK SC"


def test_pictures_are_fitted_to_the_screen_and_stripped(tmp_path: Path, font_cache: Path) -> None:
    pack = tmp_path / "src"
    shutil.copytree(MINI, pack)
    big = Image.new("RGB", (4000, 3000), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SecretCameraMaker"
    exif[0x0112] = 6  # rotated: the build must apply it, then drop it
    big.save(pack / "media" / "photo.jpg", "JPEG", exif=exif.tobytes())
    page = pack / "pages" / "help" / "en.md"
    page.write_text(page.read_text() + "\n![A photo](media/photo.jpg)\n", encoding="utf-8")
    for lang in ("vi", "lo", "th", "zh"):
        p = pack / "pages" / "help" / f"{lang}.md"
        p.write_text(p.read_text(encoding="utf-8") + "\n![](media/photo.jpg)\n", encoding="utf-8")
    result = build_pack(pack, tmp_path / "out", font_cache=font_cache)
    entry = result.manifest.file("media/photo.jpg")
    data = blob(result.out, entry.sha256)
    assert b"SecretCameraMaker" not in data
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "JPEG"
        assert img.size == (1080, 1440)  # rotated to portrait, then fitted into 1080x1920
        assert not img.getexif()
    doc = parse_page(blob(result.out, result.manifest.file("pages/help/en.json").sha256))
    image = doc.blocks[-1]
    assert (image.width, image.height) == (1080, 1440)  # type: ignore[union-attr]


def test_a_broken_pack_is_not_built_and_the_output_is_untouched(
    built_mini: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(built_mini, out)
    before = (out / "manifest.json").read_bytes()
    pack = tmp_path / "src"
    shutil.copytree(MINI, pack)
    (pack / "pages" / "help" / "th.md").unlink()
    with pytest.raises(PackSourceError, match=r"pages/help/th.md.*bgk pack lint"):
        build_pack(pack, out)
    assert (out / "manifest.json").read_bytes() == before


def test_hostile_two_gigabyte_file_is_refused_quickly(tmp_path: Path) -> None:
    pack = tmp_path / "src"
    shutil.copytree(MINI, pack)
    with open(pack / "media" / "dot.png", "r+b") as fh:
        fh.truncate(2 * 1024**3)  # sparse: costs no disk
    with pytest.raises(PackSourceError, match=r"2048\.0 MB; pictures may be at most 20 MB"):
        build_pack(pack, tmp_path / "out")


def test_output_that_is_not_a_pack_is_never_overwritten(tmp_path: Path, font_cache: Path) -> None:
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "thesis.txt").write_text("years of work")
    with pytest.raises(OutputError, match="not a built pack"):
        build_pack(MINI, precious, font_cache=font_cache)
    assert (precious / "thesis.txt").read_text() == "years of work"


def test_cli_build_twice_gives_identical_manifest(tmp_path: Path, font_cache: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(font_cache.parents[1])}
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "kiosk.cli",
                "pack",
                "build",
                str(MINI),
                "-o",
                str(out),
                "--json",
            ],
            capture_output=True,
            text=True,
            env=env,
        )
        assert run.returncode == 0, run.stderr
        report = json.loads(run.stdout)
        # 24 files, and the 4 symbol fallback fonts for notices (fonts/fallback/)
        assert report["ok"] and report["id"] == "mini" and report["files"] == 28
        outs.append((out / "manifest.json").read_bytes())
    assert outs[0] == outs[1]
