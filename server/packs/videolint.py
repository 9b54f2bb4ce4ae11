"""Lint of a pack's videos and their captions (rule `video`, see lint.py).

A video is named like a picture, `![caption](media/intro.mp4)` on a page or in
`attract`; its captions are the files beside it, `media/intro.<lang>.vtt`.
A video with captions needs them in every language of the pack. The build
writes `media/intro.mp4` (transcoded), `media/intro.poster.jpg` and the
captions in normal form, so those names must not be taken by other files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from kiosk.protocol.webvtt import CaptionError, Cue, parse_vtt
from server.packs.findings import Findings
from server.packs.slideshow import Slideshow, read_slideshows
from server.packs.videoprobe import VideoInfo, VideoProblem, probe

if TYPE_CHECKING:
    from server.packs.source import PackSource
    from server.packs.source_files import TomlLines

VIDEO_KEYS = {"sound"}
PACK_TOML = "pack.toml"


def read_video_table(
    src: PackSource, raw: dict[str, Any], lines: TomlLines, findings: Findings
) -> None:
    """pack.toml's optional `[video]` table: `sound = true` keeps sound tracks."""
    video = raw.get("video", {})
    line = lines.table("video")
    if not isinstance(video, dict):
        findings.error(PACK_TOML, lines.key("video"), "toml", "video must be a [video] table")
        return
    for key in sorted(set(video) - VIDEO_KEYS):
        findings.error(PACK_TOML, line, "toml", f"[video]: unknown key {key!r}")
    sound = video.get("sound", False)
    if not isinstance(sound, bool):
        findings.error(PACK_TOML, line, "toml", "[video] sound must be true or false")
        return
    src.video_sound = sound


def read_videos(src: PackSource, raw: dict[str, Any], lines: TomlLines, findings: Findings) -> None:
    """`[video]` and `[[videos]]` of pack.toml."""
    read_video_table(src, raw, lines, findings)
    src.slideshows = read_slideshows(raw, lines, findings)


def output_path(rel: str) -> str:
    """Where the transcoded video goes in the built pack."""
    return str(PurePosixPath(rel).with_suffix(".mp4"))


def poster_path(rel: str) -> str:
    return str(PurePosixPath(rel).with_suffix(".poster.jpg"))


def caption_path(rel: str, lang: str) -> str:
    return str(PurePosixPath(rel).with_suffix(f".{lang}.vtt"))


@dataclass
class PackVideos:
    """The videos that passed their checks, by source path."""

    files: dict[str, Path] = field(default_factory=dict)
    #: videos the build draws from pictures ([[videos]]), by path
    slides: dict[str, Slideshow] = field(default_factory=dict)
    info: dict[str, VideoInfo] = field(default_factory=dict)
    #: source path -> language -> cues (empty: the video has no captions)
    captions: dict[str, dict[str, tuple[Cue, ...]]] = field(default_factory=dict)
    #: (caption file, language, text) of every caption file, for the glyph check
    caption_texts: list[tuple[str, str, str]] = field(default_factory=list)


def check_video(
    src: PackSource,
    rel: str,
    path: Path | None,
    videos: PackVideos,
    findings: Findings,
    read_text: Any,
) -> None:
    """Probe one video named by the sources (`path`; None: a slideshow the build
    draws) and read its captions."""
    if path is None:
        show = src.slideshows.by_path[rel]
        videos.slides[rel] = show
        info = show.info
    else:
        try:
            info = probe(path)
        except VideoProblem as exc:
            findings.error(rel, 0, "video", f"video {exc}")
            return
        videos.files[rel] = path
    videos.info[rel] = info
    captions: dict[str, tuple[Cue, ...]] = {}
    present = [lang for lang in src.languages if (src.root / caption_path(rel, lang)).is_file()]
    for lang in src.languages:
        vtt = caption_path(rel, lang)
        if lang not in present:
            if present:
                findings.error(
                    vtt,
                    0,
                    "missing-translation",
                    f"video {rel!r} has captions in {', '.join(present)} but not in {lang}: "
                    f"write {vtt}",
                )
            continue
        text = read_text(src.root / vtt, vtt, findings)
        if text is None:
            continue
        try:
            cues = parse_vtt(text)
        except CaptionError as exc:
            findings.error(vtt, exc.line, "video", f"captions: {exc.message}")
            continue
        late = [c for c in cues if c.start_ms >= info.duration_ms]
        if late:
            findings.warning(
                vtt,
                0,
                "video",
                f"{len(late)} caption(s) start after the video ends "
                f"({info.duration_ms / 1000:.1f} s): they are never shown",
            )
        captions[lang] = cues
        videos.caption_texts.append((vtt, lang, text))
    videos.captions[rel] = captions


def check_outputs(videos: PackVideos, pictures: dict[str, Path], findings: Findings) -> None:
    """Two videos may not become one file, nor a video's outputs overwrite a picture."""
    taken: dict[str, str] = {}
    for rel in sorted(set(videos.files) | set(videos.slides)):
        for out in (output_path(rel), poster_path(rel)):
            other = taken.get(out) or (out if out in pictures else None)
            if other is not None:
                findings.error(
                    rel,
                    0,
                    "video",
                    f"the build writes this video's {out!r}, which {other!r} also gives: "
                    "rename one of them",
                )
            taken[out] = rel


def is_caption_of(rel: str, videos: PackVideos, languages: list[str]) -> bool:
    """Whether `rel` is the caption file of a video the pack uses."""
    named = set(videos.files) | set(videos.slides)
    return any(rel == caption_path(v, lang) for v in named for lang in languages)
