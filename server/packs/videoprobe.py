"""Videos of a pack, checked with ffprobe before anything is decoded.

What a pack may carry (content_packs/README.md, "Videos"): an MP4/MOV, MKV or
WebM file of at most MAX_FILE_BYTES, MAX_SECONDS long, with one video stream in
one of VIDEO_CODECS at most MAX_WIDTH x MAX_HEIGHT. The build turns every one
into the single format kiosks play (transcode.py).

ffprobe is Debian's `ffmpeg` package; without it lint says how to install it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

MAX_FILE_BYTES = 2 * 1024 * 1024 * 1024
MAX_SECONDS = 600
MAX_WIDTH, MAX_HEIGHT = 4096, 4096
MIN_SIDE = 16
MAX_FPS = 120
SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".webm")
#: ffprobe format names (any of the comma-separated names) a pack may use
CONTAINERS = {"mov", "mp4", "matroska", "webm"}
VIDEO_CODECS = {"h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "mpeg2video", "prores"}
PROBE_SECONDS = 60
INSTALL_HINT = "install ffmpeg (Debian: apt-get install ffmpeg)"


class VideoProblem(Exception):
    """A video the build will not take; the message says why and what to do."""


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    #: frames per second of the source (0 when the file does not say)
    fps: Fraction
    duration_ms: int
    codec: str
    has_audio: bool
    #: display rotation in degrees (phone videos: 90/-90)
    rotation: int = 0

    @property
    def display_size(self) -> tuple[int, int]:
        if self.rotation % 180:
            return self.height, self.width
        return self.width, self.height


def is_video(rel: str) -> bool:
    return rel.lower().endswith(SUFFIXES)


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise VideoProblem(f"cannot be checked: {name} is missing; {INSTALL_HINT}")
    return path


def _ratio(text: str | None) -> Fraction:
    try:
        value = Fraction(text or "0")
    except (ValueError, ZeroDivisionError):
        return Fraction(0)
    return value if value > 0 else Fraction(0)


def probe(path: Path) -> VideoInfo:
    """Check a video's size, container, codec, duration and frame size."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise VideoProblem(
            f"is {size / 1024**3:.1f} GB; videos may be at most "
            f"{MAX_FILE_BYTES // 1024**3} GB: shorten or compress it before adding it"
        )
    if not is_video(path.name):
        raise VideoProblem(f"is not one of {', '.join(SUFFIXES)}")
    try:
        run = subprocess.run(
            [
                tool("ffprobe"),
                "-v",
                "error",
                "-show_format",
                "-show_streams",
                "-of",
                "json",
                str(path),
            ],
            capture_output=True,
            timeout=PROBE_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise VideoProblem(
            f"could not be read by ffprobe within {PROBE_SECONDS} s: re-save it as MP4 (H.264)"
        ) from None
    if run.returncode != 0:
        reason = run.stderr.decode("utf-8", "replace").strip().splitlines()
        raise VideoProblem(
            f"is not a readable video ({reason[-1] if reason else 'ffprobe failed'}): "
            "re-save it as MP4 (H.264)"
        )
    try:
        data = json.loads(run.stdout)
    except ValueError:
        raise VideoProblem("could not be read by ffprobe: re-save it as MP4 (H.264)") from None
    return check_probe(data)


def check_probe(data: dict[str, object]) -> VideoInfo:
    """The limits applied to ffprobe's JSON (pure, so tests can feed any answer)."""
    fmt = data.get("format") if isinstance(data.get("format"), dict) else {}
    assert isinstance(fmt, dict)
    names = set(str(fmt.get("format_name", "")).split(","))
    if not names & CONTAINERS:
        raise VideoProblem(
            f"is a {fmt.get('format_name') or 'unknown'} file; videos must be MP4, MOV, MKV or WebM"
        )
    streams = [s for s in data.get("streams") or [] if isinstance(s, dict)]  # type: ignore[attr-defined]
    videos = [
        s
        for s in streams
        if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")
    ]
    if not videos:
        raise VideoProblem("has no video stream")
    stream = videos[0]
    codec = str(stream.get("codec_name", "unknown"))
    if codec not in VIDEO_CODECS:
        raise VideoProblem(
            f"uses the {codec} codec; use one of {', '.join(sorted(VIDEO_CODECS))} "
            "(any camera or editor can export H.264)"
        )
    width, height = int(stream.get("width") or 0), int(stream.get("height") or 0)
    if min(width, height) < MIN_SIDE:
        raise VideoProblem(f"is {width}x{height}; videos need at least {MIN_SIDE} pixels a side")
    if width > MAX_WIDTH or height > MAX_HEIGHT:
        raise VideoProblem(
            f"is {width}x{height}; the limit is {MAX_WIDTH}x{MAX_HEIGHT} (the kiosk shows "
            "at most 1920x1080): export it smaller"
        )
    duration = _ratio(str(fmt.get("duration") or stream.get("duration") or "0"))
    if duration <= 0:
        raise VideoProblem("does not say how long it is: re-save it as MP4 (H.264)")
    if duration > MAX_SECONDS:
        raise VideoProblem(
            f"is {float(duration):.0f} s long; videos may be at most {MAX_SECONDS // 60} "
            "minutes: cut it into shorter videos"
        )
    fps = _ratio(str(stream.get("avg_frame_rate"))) or _ratio(str(stream.get("r_frame_rate")))
    if fps > MAX_FPS:
        raise VideoProblem(f"has {float(fps):.0f} frames per second; at most {MAX_FPS}")
    rotation = 0
    for side in stream.get("side_data_list") or []:
        if isinstance(side, dict) and "rotation" in side:
            rotation = int(side["rotation"])
    tags = stream.get("tags") or {}
    if isinstance(tags, dict) and "rotate" in tags:
        rotation = int(tags["rotate"])
    has_audio = any(s.get("codec_type") == "audio" for s in streams)
    return VideoInfo(width, height, fps, int(duration * 1000), codec, has_audio, rotation)
