"""Videos for tests, made at run time with ffmpeg's test sources (never a committed binary),
and the mini pack with a video on its welcome page and in its attract loop."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MINI = REPO / "tests" / "fixtures" / "packs" / "mini"

#: one cue per second of a 3-second video, in every language of the mini pack
CAPTION_WORDS = {
    "vi": ("Xin chào", "Cửa khẩu", "Tạm biệt"),
    "en": ("Hello", "Border gate", "Goodbye"),
    "lo": ("ສະບາຍດີ", "ດ່ານ", "ລາກ່ອນ"),
    "th": ("สวัสดี", "ด่าน", "ลาก่อน"),
    "zh": ("你好", "口岸", "再见"),
}


def make_video(
    path: Path,
    *,
    seconds: float = 3.0,
    size: str = "320x240",
    rate: int = 60,
    audio: bool = False,
    codec: str = "mpeg4",
) -> Path:
    """A video of ffmpeg's moving test pattern (every frame differs), optionally with a tone."""
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y",
           "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}"]  # fmt: skip
    if audio:
        cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:a", "aac"]
    cmd += ["-c:v", codec, "-q:v", "5", "-pix_fmt", "yuv420p", str(path)]
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(cmd, check=True)
    return path


def write_captions(video: Path, languages: tuple[str, ...] = tuple(CAPTION_WORDS)) -> None:
    for lang in languages:
        cues = "".join(
            f"\n{i + 1}\n00:0{i}.000 --> 00:0{i}.900 line:90%\n<b>{word}</b>\n"
            for i, word in enumerate(CAPTION_WORDS[lang])
        )
        video.with_suffix(f".{lang}.vtt").write_text(f"WEBVTT - {lang}\n{cues}", "utf-8")


def video_pack(dest: Path, *, sound: bool = False, audio: bool = False) -> Path:
    """The mini pack with `media/tour.mkv` (3 s, 60 fps, captions in 5 languages) on the
    welcome page and first in the attract loop."""
    shutil.copytree(MINI, dest)
    make_video(dest / "media" / "tour.mkv", audio=audio)
    write_captions(dest / "media" / "tour.mkv")
    toml = (dest / "pack.toml").read_text()
    toml = toml.replace(
        'attract = ["media/dot.png"]', 'attract = ["media/tour.mkv", "media/dot.png"]'
    )
    if sound:
        toml = toml.replace("[title]", "[video]\nsound = true\n\n[title]")
    (dest / "pack.toml").write_text(toml)
    for page in (dest / "pages" / "welcome").glob("*.md"):
        page.write_text(page.read_text() + "\n![Tour](media/tour.mkv)\n")
    return dest


def probe(path: Path) -> dict[str, object]:
    import json

    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        check=True,
        capture_output=True,
    ).stdout
    data: dict[str, object] = json.loads(out)
    return data
