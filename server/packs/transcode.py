"""Videos prepared for the kiosk: one format every Raspberry Pi kiosk plays.

H.264 High profile, level 4.0, at most 1920x1080 (1080x1920 for portrait
videos), at most 30 frames per second, yuv420p, MP4 with the index at the
front (`+faststart`: playback starts before the whole file is read), no
metadata, and no sound unless the pack asks for it (`[video] sound = true`;
then AAC stereo 128 kbit/s). The Pi 4 decodes this in hardware (its H.264
block is specified for 1080p60 High profile up to level 4.2); the Pi 5 has no
H.264 decoder and decodes it in software on its A76 cores, which 1080p30
allows comfortably (content_packs/README.md, "Videos").

Reproducible: the encoder runs on one thread with its settings pinned and
FFmpeg's bit-exact flags, so the same source and the same FFmpeg build give
the same bytes (tests check it). A different FFmpeg/x264 build may encode
differently, so transcodes are also kept in a cache keyed by the source's
SHA-256, the recipe and the FFmpeg version: rebuilding a pack re-uses them
and does not spend minutes per video.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from fractions import Fraction
from functools import cache
from pathlib import Path

from PIL import Image

from server.packs.videoprobe import VideoInfo, VideoProblem, probe, tool

BOX_LONG, BOX_SHORT = 1920, 1080
MAX_FPS = 30
#: bump when the settings below change, so cached transcodes are not reused
RECIPE = "1"
X264 = [
    "-c:v",
    "libx264",
    "-profile:v",
    "high",
    "-level:v",
    "4.0",
    "-preset",
    "medium",
    "-crf",
    "23",
    "-maxrate",
    "8M",
    "-bufsize",
    "16M",
    "-g",
    "60",
    "-threads",
    "1",
    "-x264-params",
    "threads=1:lookahead-threads=1:sliced-threads=0",
]
AAC = ["-c:a", "aac", "-b:a", "128k", "-ac", "2", "-ar", "48000", "-flags:a", "+bitexact"]
BITEXACT = [
    "-fflags",
    "+bitexact",
    "-flags:v",
    "+bitexact",
    "-map_metadata",
    "-1",
    "-map_chapters",
    "-1",
    "-movflags",
    "+faststart",
]
POSTER_QUALITY = 85


@dataclass(frozen=True)
class PreparedVideo:
    data: bytes
    #: a JPEG of a frame one second in (the middle of shorter videos)
    poster: bytes
    width: int
    height: int
    duration_ms: int
    sound: bool


def target_size(info: VideoInfo) -> tuple[int, int]:
    """The frame size on the kiosk: the source fitted into the screen, never enlarged,
    even sides (yuv420p needs them)."""
    width, height = info.display_size
    box = (BOX_LONG, BOX_SHORT) if width >= height else (BOX_SHORT, BOX_LONG)
    scale = min(Fraction(1), Fraction(box[0], width), Fraction(box[1], height))
    w = max(2, int(width * scale) // 2 * 2)
    h = max(2, int(height * scale) // 2 * 2)
    return w, h


def command(src: Path, out: Path, info: VideoInfo, sound: bool) -> list[str]:
    """The ffmpeg command line of one transcode."""
    w, h = target_size(info)
    filters = []
    if info.fps == 0 or info.fps > MAX_FPS:
        filters.append(f"fps={MAX_FPS}")
    filters += [f"scale={w}:{h}:flags=bicubic", "setsar=1", "format=yuv420p"]
    audio = AAC if (sound and info.has_audio) else ["-an"]
    return [
        tool("ffmpeg"), "-nostdin", "-v", "error", "-y", "-threads", "1",
        "-i", str(src),
        "-map", "0:v:0", *(["-map", "0:a:0"] if audio is AAC else []),
        "-sn", "-dn",
        "-vf", ",".join(filters),
        *X264, *audio, *BITEXACT,
        str(out),
    ]  # fmt: skip


@cache
def ffmpeg_version() -> str:
    run = subprocess.run([tool("ffmpeg"), "-version"], capture_output=True, check=False)
    return run.stdout.decode("utf-8", "replace").split("\n", 1)[0].strip()


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bgk" / "videos"


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def cache_key(src: Path, sound: bool) -> str:
    """Source bytes + recipe + FFmpeg build: what decides the output."""
    text = f"{RECIPE}|{ffmpeg_version()}|sound={sound}|{' '.join(X264)}|{_file_sha256(src)}"
    return hashlib.sha256(text.encode()).hexdigest()


def _run(cmd: list[str], timeout: float, what: str) -> None:
    try:
        run = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise VideoProblem(f"{what} took longer than {timeout:.0f} s: shorten the video") from None
    if run.returncode != 0:
        lines = run.stderr.decode("utf-8", "replace").strip().splitlines()
        raise VideoProblem(
            f"{what} failed ({lines[-1] if lines else 'ffmpeg exit ' + str(run.returncode)}): "
            "re-save it as MP4 (H.264)"
        )


def _poster(video: Path, duration_ms: int, work: Path) -> tuple[bytes, int, int]:
    at = min(1000, duration_ms // 2)
    png = work / "poster.png"
    _run(
        [
            tool("ffmpeg"),
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-threads",
            "1",
            "-ss",
            f"{at / 1000:.3f}",
            "-i",
            str(video),
            "-frames:v",
            "1",
            "-fflags",
            "+bitexact",
            "-flags:v",
            "+bitexact",
            str(png),
        ],
        120,
        "taking the poster frame",
    )
    with Image.open(png) as img:
        rgb = img.convert("RGB")
    out = io.BytesIO()
    rgb.save(out, "JPEG", quality=POSTER_QUALITY, optimize=True, progressive=True)
    return out.getvalue(), rgb.width, rgb.height


def transcode(
    src: Path, *, sound: bool, cache_dir: Path | None = None, key: str | None = None
) -> PreparedVideo:
    """Check and transcode one video (or take it from the cache; `key` replaces the
    one made of the source's bytes)."""
    info = probe(src)
    keep_sound = sound and info.has_audio
    if cache_dir is not None:
        key = key or cache_key(src, keep_sound)
        cached = _from_cache(cache_dir, key)
        if cached is not None:
            return cached
    with tempfile.TemporaryDirectory(prefix="bgk-video-") as tmp:
        work = Path(tmp)
        out = work / "video.mp4"
        timeout = max(300.0, info.duration_ms / 1000 * 30)
        _run(command(src, out, info, keep_sound), timeout, "transcoding")
        done = probe(out)
        poster, width, height = _poster(out, done.duration_ms, work)
        video = PreparedVideo(out.read_bytes(), poster, width, height, done.duration_ms, keep_sound)
    if cache_dir is not None and key:
        _to_cache(cache_dir, key, video)
    return video


def cached(cache_dir: Path | None, key: str) -> PreparedVideo | None:
    """A transcode kept under `key`, if there is a good one."""
    return None if cache_dir is None else _from_cache(cache_dir, key)


def _from_cache(cache_dir: Path, key: str) -> PreparedVideo | None:
    meta = cache_dir / f"{key}.json"
    try:
        fields = json.loads(meta.read_text())
        data = (cache_dir / f"{key}.mp4").read_bytes()
        poster = (cache_dir / f"{key}.jpg").read_bytes()
    except (OSError, ValueError):
        return None
    if hashlib.sha256(data).hexdigest() != fields.pop("sha256", None):
        return None  # a half-written or damaged entry: transcode again
    return PreparedVideo(data=data, poster=poster, **fields)


def _to_cache(cache_dir: Path, key: str, video: PreparedVideo) -> None:
    cache_dir.mkdir(parents=True, exist_ok=True)
    fields = asdict(video)
    del fields["data"], fields["poster"]
    fields["sha256"] = hashlib.sha256(video.data).hexdigest()
    # media first, the JSON (which vouches for them) last
    for suffix, data in (
        (".mp4", video.data),
        (".jpg", video.poster),
        (".json", json.dumps(fields, sort_keys=True).encode()),
    ):
        final = cache_dir / f"{key}{suffix}"
        tmp = final.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, final)
