"""Videos the build makes itself from the pack's pictures (`[[videos]]` in pack.toml).

    [[videos]]
    path = "media/crossing.mp4"     # the name pages and `attract` use
    pictures = ["media/crossing-steps.png", "media/map-corridor.png"]
    seconds = 4                      # each picture, 1 to 30

Each picture is fitted into a 1280x720 frame on the pack's navy, held, and
cross-faded into the next (still pictures: quick to draw and to encode, and
small to send); the result goes through the same
transcode as any other video (transcode.py), so a slideshow is checked,
cached and played like a filmed video, and needs no video file in the sources.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.protocol.errors import ProtocolError
from kiosk.protocol.paths import check_pack_path
from server.packs.findings import Findings
from server.packs.transcode import RECIPE, ffmpeg_version
from server.packs.videoprobe import MAX_SECONDS, VideoInfo, VideoProblem, tool

if TYPE_CHECKING:
    from server.packs.source_files import TomlLines

#: a slideshow of pictures needs no more (and draws four times faster than 1080p)
WIDTH, HEIGHT, FPS = 1280, 720, 30
FADE = 1
BACKGROUND = "0x12294d"
MIN_SECONDS, MAX_SLIDE_SECONDS = 2, 30
MAX_PICTURES = 60
KEYS = {"path", "pictures", "seconds"}


@dataclass(frozen=True)
class Slideshow:
    path: str
    pictures: tuple[str, ...]
    seconds: int
    line: int = 0

    @property
    def info(self) -> VideoInfo:
        # pictures after the first fade in over the one before
        ms = (self.seconds * len(self.pictures) - FADE * (len(self.pictures) - 1)) * 1000
        return VideoInfo(WIDTH, HEIGHT, Fraction(FPS), ms, "slideshow", False)


@dataclass
class Slideshows:
    by_path: dict[str, Slideshow] = field(default_factory=dict)


def read_slideshows(raw: dict[str, Any], lines: TomlLines, findings: Findings) -> Slideshows:
    """pack.toml's `[[videos]]` blocks; every problem is a finding on its line."""
    out = Slideshows()
    entries = raw.get("videos", [])
    if not isinstance(entries, list):
        findings.error("pack.toml", lines.key("videos"), "toml", "videos must be [[videos]] blocks")
        return out
    starts = [n for n, text in enumerate(lines.lines, 1) if text.strip() == "[[videos]]"]
    for index, entry in enumerate(entries):
        line = starts[index] if index < len(starts) else 0

        def error(message: str, at: int = line) -> None:
            findings.error("pack.toml", at, "video", f"[[videos]] {message}")

        if not isinstance(entry, dict):
            error("must be a table")
            continue
        for key in sorted(set(entry) - KEYS):
            error(f"unknown key {key!r}")
        path, pictures, seconds = entry.get("path"), entry.get("pictures"), entry.get("seconds", 5)
        try:
            check_pack_path(str(path))
        except ProtocolError:
            error(f'path {path!r} must be a pack path ending .mp4, e.g. "media/tour.mp4"')
            continue
        if not isinstance(path, str) or not path.endswith(".mp4"):
            error(f'path {path!r} must end with .mp4, e.g. "media/tour.mp4"')
            continue
        if path in out.by_path:
            error(f"{path!r} is made twice")
            continue
        if (
            not isinstance(pictures, list)
            or not pictures
            or len(pictures) > MAX_PICTURES
            or not all(isinstance(p, str) for p in pictures)
        ):
            error(f"{path!r}: pictures must list 1 to {MAX_PICTURES} picture paths")
            continue
        if isinstance(seconds, bool) or not isinstance(seconds, int):
            error(f"{path!r}: seconds must be a whole number")
            continue
        if not MIN_SECONDS <= seconds <= MAX_SLIDE_SECONDS:
            error(f"{path!r}: seconds must be from {MIN_SECONDS} to {MAX_SLIDE_SECONDS}")
            continue
        if seconds * len(pictures) > MAX_SECONDS:
            error(f"{path!r}: {seconds * len(pictures)} s is longer than {MAX_SECONDS} s")
            continue
        out.by_path[path] = Slideshow(path, tuple(pictures), seconds, line)
    return out


def slideshow_key(show: Slideshow, files: dict[str, Path]) -> str:
    """What decides a slideshow's bytes: its settings, its pictures' bytes, FFmpeg."""
    h = hashlib.sha256(
        f"slides2|{RECIPE}|{WIDTH}x{HEIGHT}@{FPS}|{FADE}|{show.seconds}|{ffmpeg_version()}".encode()
    )
    for rel in show.pictures:
        h.update(hashlib.sha256(files[rel].read_bytes()).digest())
    return h.hexdigest()


def render(show: Slideshow, files: dict[str, Path], out: Path) -> None:
    """Draw the slideshow into `out` (an intermediate MPEG-4 file, deterministic:
    one thread, bit-exact), which transcode.py then prepares like any video."""
    frames = show.seconds * FPS
    cmd = [tool("ffmpeg"), "-nostdin", "-v", "error", "-y", "-threads", "1"]
    for rel in show.pictures:
        cmd += ["-i", str(files[rel])]
    parts = []
    for i in range(len(show.pictures)):
        # each picture is decoded and fitted once, then its frame repeated
        parts.append(
            f"[{i}:v]scale={WIDTH}:{HEIGHT}:force_original_aspect_ratio=decrease:flags=bicubic,"
            f"pad={WIDTH}:{HEIGHT}:(ow-iw)/2:(oh-ih)/2:color={BACKGROUND},setsar=1,"
            f"format=yuv420p,loop=loop={frames - 1}:size=1:start=0,setpts=N/{FPS}/TB[s{i}]"
        )
    chain, offset = "[s0]", 0
    for i in range(1, len(show.pictures)):
        offset += show.seconds - FADE
        parts.append(f"{chain}[s{i}]xfade=transition=fade:duration={FADE}:offset={offset}[x{i}]")
        chain = f"[x{i}]"
    graph = ";".join(parts)
    cmd += ["-filter_complex", graph, "-map", chain, "-an", "-r", str(FPS),
            "-c:v", "mpeg4", "-q:v", "2", "-g", str(FPS),
            "-fflags", "+bitexact", "-flags:v", "+bitexact", "-map_metadata", "-1",
            str(out)]  # fmt: skip
    try:
        run = subprocess.run(cmd, capture_output=True, timeout=600, check=False)
    except subprocess.TimeoutExpired:
        raise VideoProblem("slideshow took longer than 600 s to draw") from None
    if run.returncode != 0:
        lines = run.stderr.decode("utf-8", "replace").strip().splitlines()
        raise VideoProblem(f"slideshow could not be drawn ({lines[-1] if lines else 'ffmpeg'})")
