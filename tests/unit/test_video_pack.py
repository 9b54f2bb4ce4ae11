"""Video in packs: lint with ffprobe, transcode with ffmpeg, reproducible, captions per language.

Every video here is made at run time by ffmpeg's test source (tests/videokit.py).
"""

from __future__ import annotations

import shutil
from fractions import Fraction
from pathlib import Path

import pytest
from PIL import Image

from kiosk.protocol.pack import BLOB_DIR, Video, parse_manifest, parse_page
from kiosk.protocol.webvtt import parse_vtt
from server.packs.build import VIDEO_CACHE_OFF, build_pack
from server.packs.errors import PackSourceError
from server.packs.lint import lint_pack
from server.packs.transcode import target_size
from server.packs.videoprobe import VideoInfo, VideoProblem, check_probe
from tests.videokit import CAPTION_WORDS, MINI, make_video, probe, video_pack


@pytest.fixture(scope="module")
def pack_src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return video_pack(tmp_path_factory.mktemp("src") / "mini")


@pytest.fixture(scope="module")
def built(pack_src: Path, tmp_path_factory: pytest.TempPathFactory, font_cache: Path) -> Path:
    out = tmp_path_factory.mktemp("built") / "mini"
    build_pack(pack_src, out, font_cache=font_cache)
    return out


def blob_of(out: Path, rel: str) -> Path:
    manifest = parse_manifest((out / "manifest.json").read_bytes())
    return out / BLOB_DIR / manifest.file(rel).sha256


def test_a_pack_with_a_video_lints_clean(pack_src: Path) -> None:
    result = lint_pack(pack_src)
    assert result.ok, result.findings.errors
    assert set(result.videos.files) == {"media/tour.mkv"}
    assert set(result.videos.captions["media/tour.mkv"]) == set(CAPTION_WORDS)


def test_the_build_makes_what_a_pi_plays(built: Path, tmp_path: Path) -> None:
    manifest = parse_manifest((built / "manifest.json").read_bytes())
    entry = manifest.videos["media/tour.mp4"]
    assert manifest.attract == ("media/tour.mp4", "media/dot.png")
    video = tmp_path / "tour.mp4"
    shutil.copy(blob_of(built, "media/tour.mp4"), video)
    info = probe(video)
    streams = info["streams"]
    assert isinstance(streams, list) and len(streams) == 1, "no sound track unless asked"
    stream = streams[0]
    assert (stream["codec_name"], stream["profile"], stream["pix_fmt"]) == (
        "h264",
        "High",
        "yuv420p",
    )
    assert stream["level"] <= 40
    assert Fraction(stream["avg_frame_rate"]) == 30, "60 fps source capped at 30"
    assert (stream["width"], stream["height"]) == (320, 240) == (entry.width, entry.height)
    data = video.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat"), "index at the front (+faststart)"
    assert 2900 <= entry.duration_ms <= 3100
    assert not entry.sound
    with Image.open(blob_of(built, entry.poster)) as poster:
        assert poster.format == "JPEG" and poster.size == (320, 240)
    assert set(entry.captions) == set(CAPTION_WORDS)


def test_pages_carry_the_video_with_captions_in_their_language(built: Path) -> None:
    manifest = parse_manifest((built / "manifest.json").read_bytes())
    for lang, words in CAPTION_WORDS.items():
        doc = parse_page(blob_of(built, f"pages/welcome/{lang}.json").read_bytes())
        videos = [b for b in doc.blocks if isinstance(b, Video)]
        assert len(videos) == 1
        block = videos[0]
        assert block.src == "media/tour.mp4" and block.poster == "media/tour.poster.jpg"
        assert block.captions == f"media/tour.{lang}.vtt"
        cues = parse_vtt(blob_of(built, block.captions).read_text("utf-8"))
        assert tuple(c.text for c in cues) == words, "tags dropped, text kept"
        assert manifest.file(block.captions).length > 0


def test_the_build_is_byte_identical_without_a_video_cache(
    pack_src: Path, built: Path, tmp_path: Path, font_cache: Path
) -> None:
    again = build_pack(
        pack_src, tmp_path / "again", font_cache=font_cache, video_cache=VIDEO_CACHE_OFF
    )
    assert (built / "manifest.json").read_bytes() == (again.out / "manifest.json").read_bytes()


def test_transcodes_are_cached_by_source_and_a_damaged_entry_is_redone(
    pack_src: Path, built: Path, tmp_path: Path, font_cache: Path
) -> None:
    cache = tmp_path / "videos"
    first = build_pack(pack_src, tmp_path / "a", font_cache=font_cache, video_cache=cache)
    entries = sorted(p.name for p in cache.iterdir())
    assert len(entries) == 3 and not [e for e in entries if e.endswith(".tmp")]
    mp4 = next(cache.glob("*.mp4"))
    mp4.write_bytes(b"half a video")
    second = build_pack(pack_src, tmp_path / "b", font_cache=font_cache, video_cache=cache)
    assert first.manifest.to_bytes() == second.manifest.to_bytes()
    assert (built / "manifest.json").read_bytes() == second.manifest.to_bytes()
    assert mp4.read_bytes() != b"half a video"


def test_sound_is_kept_only_when_the_pack_asks(tmp_path: Path, font_cache: Path) -> None:
    muted = video_pack(tmp_path / "muted" / "mini", audio=True)
    loud = video_pack(tmp_path / "loud" / "mini", audio=True, sound=True)
    for src, want in ((muted, []), (loud, ["aac"])):
        out = build_pack(src, tmp_path / f"out-{src.parent.name}", font_cache=font_cache)
        copy = tmp_path / f"{src.parent.name}.mp4"
        shutil.copy(blob_of(out.out, "media/tour.mp4"), copy)
        streams = probe(copy)["streams"]
        assert isinstance(streams, list)
        assert [s["codec_name"] for s in streams if s["codec_type"] == "audio"] == want
        assert out.manifest.videos["media/tour.mp4"].sound is bool(want)


def test_a_pack_without_video_keeps_its_manifest_shape(built_mini: Path) -> None:
    assert b'"videos"' not in (built_mini / "manifest.json").read_bytes()


def findings_of(src: Path) -> list[str]:
    return [f"{f.file}:{f.line}: {f.rule}: {f.message}" for f in lint_pack(src).findings.items]


def test_lint_refuses_what_is_not_a_video_and_bad_captions(tmp_path: Path) -> None:
    src = video_pack(tmp_path / "mini")
    (src / "media" / "tour.th.vtt").unlink()
    (src / "media" / "tour.lo.vtt").write_text("WEBVTT\n\n00:01.000 --> 00:00.500\nທົດ\n")
    (src / "media" / "fake.mp4").write_bytes(b"this is text, not a video\n" * 10)
    page = src / "pages" / "help" / "en.md"
    page.write_text(page.read_text() + "\n![](media/fake.mp4)\n")
    found = "\n".join(findings_of(src))
    assert "media/tour.th.vtt:0: missing-translation: video 'media/tour.mkv' has captions" in found
    assert "media/tour.lo.vtt:3: video: captions: the cue ends before it starts" in found
    assert "media/fake.mp4:0: video: video is not a readable video" in found
    with pytest.raises(PackSourceError):
        build_pack(src, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_lint_checks_duration_codec_and_size_from_ffprobe() -> None:
    def answer(**stream: object) -> dict[str, object]:
        base: dict[str, object] = {"codec_type": "video", "codec_name": "h264", "width": 1920,
                                   "height": 1080, "avg_frame_rate": "25/1"}  # fmt: skip
        base.update(stream)
        duration = str(base.pop("duration", "12.5"))
        return {"format": {"format_name": str(base.pop("container", "mov,mp4,m4a,3gp,3g2,mj2")),
                           "duration": duration}, "streams": [base]}  # fmt: skip

    info = check_probe(answer())
    assert info == VideoInfo(1920, 1080, Fraction(25), 12500, "h264", False)
    for bad, says in (
        (answer(duration="601"), "is 601 s long; videos may be at most 10 minutes"),
        (answer(codec_name="cinepak"), "uses the cinepak codec"),
        (answer(width=8000, height=4000), "is 8000x4000; the limit is 4096x4096"),
        (answer(container="avi"), "is a avi file; videos must be MP4, MOV, MKV or WebM"),
        (answer(codec_type="audio"), "has no video stream"),
        (answer(avg_frame_rate="240/1"), "240 frames per second"),
    ):
        with pytest.raises(VideoProblem, match=says):
            check_probe(bad)


def test_frames_fit_the_screen_and_are_never_enlarged() -> None:
    def size(w: int, h: int, rotation: int = 0) -> tuple[int, int]:
        return target_size(VideoInfo(w, h, Fraction(30), 1000, "h264", False, rotation))

    assert size(3840, 2160) == (1920, 1080)
    assert size(2160, 3840) == (1080, 1920)
    assert size(1920, 1080, rotation=90) == (1080, 1920)
    assert size(640, 360) == (640, 360)
    assert size(641, 361) == (640, 360)


def test_a_video_cannot_be_a_page_icon(tmp_path: Path) -> None:
    src = video_pack(tmp_path / "mini")
    toml = src / "pack.toml"
    toml.write_text(toml.read_text().replace('icon = "media/dot.png"', 'icon = "media/tour.mkv"'))
    assert any("an icon is a picture, not a video" in f for f in findings_of(src))


def test_a_real_high_frame_rate_hd_video_is_scaled_to_1080p30(tmp_path: Path) -> None:
    from server.packs.transcode import transcode

    src = make_video(tmp_path / "big.mp4", seconds=0.2, size="2560x1440", rate=50, codec="libx264")
    video = transcode(src, sound=False)
    out = tmp_path / "out.mp4"
    out.write_bytes(video.data)
    stream = probe(out)["streams"][0]  # type: ignore[index]
    assert (stream["width"], stream["height"], stream["avg_frame_rate"]) == (1920, 1080, "30/1")


def slideshow_pack(dest: Path, block: str) -> Path:
    shutil.copytree(MINI, dest)
    toml = dest / "pack.toml"
    toml.write_text(toml.read_text().replace("[[pages]]", block + "\n[[pages]]", 1))
    for page in (dest / "pages" / "welcome").glob("*.md"):
        page.write_text(page.read_text() + "\n![](media/slides.mp4)\n")
    return dest


def test_a_slideshow_is_drawn_by_the_build_from_the_pack_pictures(
    tmp_path: Path, font_cache: Path
) -> None:
    src = slideshow_pack(
        tmp_path / "mini",
        '[[videos]]\npath = "media/slides.mp4"\npictures = ["media/dot.png", "media/dot.png"]\n'
        "seconds = 2\n",
    )
    assert lint_pack(src).ok, lint_pack(src).findings.errors
    cache = tmp_path / "videos"
    first = build_pack(src, tmp_path / "a", font_cache=font_cache, video_cache=cache)
    entry = first.manifest.videos["media/slides.mp4"]
    assert (entry.width, entry.height) == (1280, 720)
    assert 2900 <= entry.duration_ms <= 3100, "two 2 s pictures with a 1 s cross-fade"
    kept = sorted(cache.iterdir())
    again = build_pack(src, tmp_path / "b", font_cache=font_cache, video_cache=cache)
    assert again.manifest.to_bytes() == first.manifest.to_bytes()
    assert sorted(cache.iterdir()) == kept, "the second build took it from the cache"


@pytest.mark.parametrize(
    ("block", "says"),
    [
        ('path = "media/slides.mkv"\npictures = ["media/dot.png"]', "must end with .mp4"),
        ('path = "media/slides.mp4"\npictures = []', "pictures must list 1 to 60"),
        ('path = "media/slides.mp4"\npictures = ["media/dot.png"]\nseconds = 99', "from 2 to 30"),
        ('path = "media/slides.mp4"\npictures = ["media/none.png"]', "'media/none.png' does not"),
    ],
)
def test_bad_slideshows_are_lint_errors(tmp_path: Path, block: str, says: str) -> None:
    src = slideshow_pack(tmp_path / "mini", f"[[videos]]\n{block}\n")
    found = findings_of(src)
    assert any(says in f for f in found), found
