"""The build's part for videos: transcoded files, posters, captions, manifest entries.

Each video is transcoded once however many pages name it, several at a time
(one encoder thread each, see transcode.py), and its captions are written in
the normal WebVTT form the kiosk reads (kiosk/protocol/webvtt.py).
"""

from __future__ import annotations

import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from kiosk.protocol.pack import Token, Video, VideoEntry
from kiosk.protocol.webvtt import format_vtt
from server.packs.errors import PackSourceError
from server.packs.slideshow import render, slideshow_key
from server.packs.transcode import PreparedVideo, cached, transcode
from server.packs.videolint import PackVideos, caption_path, output_path, poster_path
from server.packs.videoprobe import VideoProblem


@dataclass(frozen=True)
class BuiltVideos:
    #: logical path -> bytes of every file the videos add
    files: dict[str, bytes]
    #: output path -> manifest entry
    entries: dict[str, VideoEntry]


def build_videos(
    videos: PackVideos,
    languages: list[str],
    pictures: dict[str, Path],
    *,
    sound: bool,
    cache_dir: Path | None,
) -> BuiltVideos:
    """Transcode every video of the pack (drawing the slideshows from `pictures` first);
    PackSourceError names the one that failed."""
    todo = sorted(set(videos.files) | set(videos.slides))
    if not todo:
        return BuiltVideos({}, {})

    def one(rel: str) -> PreparedVideo:
        try:
            if rel in videos.files:
                return transcode(videos.files[rel], sound=sound, cache_dir=cache_dir)
            show = videos.slides[rel]
            key = slideshow_key(show, pictures)
            kept = cached(cache_dir, key)
            if kept is not None:
                return kept
            with tempfile.TemporaryDirectory(prefix="bgk-slides-") as tmp:
                drawn = Path(tmp) / "slides.mkv"
                render(show, pictures, drawn)
                return transcode(drawn, sound=False, cache_dir=cache_dir, key=key)
        except VideoProblem as exc:
            raise PackSourceError(f"{rel}: video {exc}") from None

    workers = max(1, min(len(todo), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        prepared = dict(zip(todo, pool.map(one, todo), strict=True))
    files: dict[str, bytes] = {}
    entries: dict[str, VideoEntry] = {}
    for rel, video in prepared.items():
        out = output_path(rel)
        files[out] = video.data
        files[poster_path(rel)] = video.poster
        captions: dict[str, str] = {}
        for lang in languages:
            cues = videos.captions.get(rel, {}).get(lang)
            if cues:
                captions[lang] = caption_path(rel, lang)
                files[captions[lang]] = format_vtt(cues).encode("utf-8")
        entries[out] = VideoEntry(
            poster=poster_path(rel),
            width=video.width,
            height=video.height,
            duration_ms=video.duration_ms,
            sound=video.sound,
            captions=captions,
        )
    return BuiltVideos(files, entries)


def video_block(built: BuiltVideos, rel: str, lang: str, caption: tuple[Token, ...]) -> Video:
    """The page block of the video `rel` (its source path) in one language."""
    out = output_path(rel)
    entry = built.entries[out]
    return Video(
        src=out,
        poster=entry.poster,
        width=entry.width,
        height=entry.height,
        duration_ms=entry.duration_ms,
        captions=entry.captions.get(lang),
        caption=caption,
    )
