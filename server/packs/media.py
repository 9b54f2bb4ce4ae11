"""Pictures of a pack: checked without trusting them, prepared for the kiosk screen.

Checks happen before any pixel is decoded: file size from stat, pixel count
from the header, so a 2 GB file or a decompression bomb costs nothing.
Preparation fits the picture into a 1080p screen (1920x1080 for landscape
pictures, 1080x1920 for portrait ones), applies and then drops EXIF
orientation, and re-encodes without any metadata (EXIF, GPS, ICC, text).
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageFile, ImageOps, JpegImagePlugin, PngImagePlugin

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 40_000_000
MIN_SIDE = 16
SCREEN_LONG, SCREEN_SHORT = 1920, 1080
FORMATS = {"PNG": "PNG", "JPEG": "JPEG"}
SUFFIXES = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}


class MediaProblem(Exception):
    """A picture the build will not take; the message says why and what to do."""


@dataclass(frozen=True)
class PreparedImage:
    data: bytes
    width: int
    height: int


def _read_header(path: Path, expected: str) -> tuple[str, int, int]:
    """(format, width, height) from the file's header, without Pillow's own
    decompression-bomb refusal (nothing is decoded here; our limit follows)."""
    plugins: dict[str, type[ImageFile.ImageFile]] = {
        "PNG": PngImagePlugin.PngImageFile,
        "JPEG": JpegImagePlugin.JpegImageFile,
    }
    order = [expected, *(f for f in plugins if f != expected)]
    for fmt in order:
        try:
            with plugins[fmt](path) as img:
                width, height = img.size
                return fmt, width, height
        except (SyntaxError, ValueError, struct.error, EOFError):
            continue
        except OSError as exc:
            raise MediaProblem(f"cannot be read: {exc}") from None
    raise MediaProblem("is not a readable PNG or JPEG picture")


def check_image(path: Path) -> tuple[str, int, int]:
    """(format, width, height) of a picture, read from its header only."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise MediaProblem(
            f"is {size / 1024 / 1024:.1f} MB; pictures may be at most "
            f"{MAX_FILE_BYTES // 1024 // 1024} MB: scale it down before adding it"
        )
    expected = SUFFIXES.get(path.suffix.lower())
    if expected is None:
        raise MediaProblem("is not a .png, .jpg or .jpeg file")
    fmt, width, height = _read_header(path, expected)
    if fmt != expected:
        raise MediaProblem(f"is a {fmt} file named {path.suffix}: fix the name")
    if width * height > MAX_PIXELS:
        raise MediaProblem(
            f"is {width}x{height} pixels ({width * height / 1e6:.0f} megapixels); the limit is "
            f"{MAX_PIXELS // 1_000_000} megapixels (a larger picture could be a decompression "
            f"bomb): scale it to at most {SCREEN_LONG} pixels on its long side, all the kiosk "
            "screen shows"
        )
    if min(width, height) < MIN_SIDE:
        raise MediaProblem(f"is {width}x{height}; pictures need at least {MIN_SIDE} pixels a side")
    return fmt, width, height


def prepare_image(path: Path) -> PreparedImage:
    """Check, fit to the screen and re-encode a picture; deterministic."""
    fmt, _, _ = check_image(path)
    try:
        with Image.open(path) as img:
            if fmt == "JPEG":
                # Let the JPEG decoder scale by 1/2, 1/4 or 1/8 while decoding, never
                # below the screen box (in the file's own orientation, before EXIF
                # rotation): much faster for camera photos.
                w, h = img.size
                img.draft(
                    "RGB", (SCREEN_LONG, SCREEN_SHORT) if w >= h else (SCREEN_SHORT, SCREEN_LONG)
                )
            img.load()
            oriented = ImageOps.exif_transpose(img)
    except OSError as exc:
        raise MediaProblem(f"cannot be decoded: {exc}") from None
    w, h = oriented.size
    box = (SCREEN_LONG, SCREEN_SHORT) if w >= h else (SCREEN_SHORT, SCREEN_LONG)
    if w > box[0] or h > box[1]:
        oriented = ImageOps.contain(oriented, box, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if fmt == "JPEG":
        clean = oriented.convert("RGB")
        clean.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    else:
        mode = oriented.mode if oriented.mode in ("1", "L", "LA", "P", "RGB", "RGBA") else "RGBA"
        clean = oriented.convert(mode)
        clean.info = (
            {"transparency": oriented.info["transparency"]}
            if ("transparency" in oriented.info and mode == "P")
            else {}
        )
        clean.save(out, "PNG", optimize=True)
    return PreparedImage(out.getvalue(), clean.width, clean.height)
