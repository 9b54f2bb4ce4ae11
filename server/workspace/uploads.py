"""Pictures uploaded into a draft: the same limits as `bgk pack lint` (PNG or JPEG,
at most 20 MB and 40 megapixels, decoded whole before it is kept), the type
taken from the bytes, never from the name, and the size counted while the
upload streams in (the API stops reading past the limit)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from PIL import Image

from server.packs.media import (
    MAX_FILE_BYTES,
    MAX_PIXELS,
    MIN_SIDE,
    MediaProblem,
    check_image,
    prepare_image,
)
from server.workspace.drafts import DraftError

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,80}\.(png|jpg|jpeg)$")
_SUFFIX = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG"}
MAX_MB = MAX_FILE_BYTES // 1024 // 1024


class UploadRefused(DraftError):
    """A picture refused; `code` and `args` name the editor's sentence
    (server/words: ws.err.<code>), the message is the English one."""

    def __init__(self, message: str, code: str, **args: object) -> None:
        super().__init__(message)
        self.code = code
        self.args_ = {k: str(v) for k, v in args.items()}


#: what sniff() says, as the words' kind (ws.err.kind.<kind>)
KINDS = {"HTML or XML text": "html", "a GIF picture": "gif", "a WebP picture": "webp",
         "a PDF document": "pdf", "not a picture": "other"}  # fmt: skip


def sniff(head: bytes) -> str:
    """What the first bytes of a file say it is."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"GIF8"):
        return "a GIF picture"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "a WebP picture"
    text = head[:512].lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html", b"<script", b"<svg", b"<?xml", b"<")):
        return "HTML or XML text"
    if head.startswith(b"%PDF"):
        return "a PDF document"
    return "not a picture"


def picture_name(name: str) -> str:
    clean = name.strip().lower().replace(" ", "-")
    if not _NAME.match(clean):
        raise UploadRefused(
            f"{name!r}: name a picture with lowercase letters, digits, '-', '_' and end it "
            ".png or .jpg",
            "upload-name",
            name=name,
        )
    return clean


def accept_picture(name: str, data: bytes) -> str:
    """The path media/<name> the picture is saved under; UploadRefused says why not."""
    clean = picture_name(name)
    if len(data) > MAX_FILE_BYTES:
        raise UploadRefused(too_big(len(data)), "upload-too-big", most=MAX_MB)
    found = sniff(data[:1024])
    wanted = _SUFFIX[clean.rsplit(".", 1)[1]]
    if found not in ("PNG", "JPEG"):
        raise UploadRefused(
            f"{name} is {found}, not a PNG or JPEG picture: nothing was saved",
            "upload-not-picture",
            name=name,
            kind=KINDS.get(found, "other"),
        )
    if found != wanted:
        right = clean.rsplit(".", 1)[0] + (".png" if found == "PNG" else ".jpg")
        raise UploadRefused(
            f"{name} is a {found} picture but its name says {wanted}: rename it {right}",
            "upload-wrong-name",
            name=name,
            found=found,
            wanted=wanted,
            right=right,
        )
    with tempfile.TemporaryDirectory(prefix="bgk-upload-") as tmp:
        path = Path(tmp) / clean
        path.write_bytes(data)
        try:
            check_image(path)  # size, pixel count (decompression bombs), from the header
            prepare_image(path)  # and the whole picture decodes
        except MediaProblem as exc:
            code, args = _media_words(path)
            raise UploadRefused(
                f"{name} {exc}: nothing was saved", code, name=name, **args
            ) from None
    return f"media/{clean}"


def _media_words(path: Path) -> tuple[str, dict[str, object]]:
    """Which of lint's picture limits `path` breaks, as the editor's sentence."""
    try:
        with Image.open(path) as img:
            width, height = img.size
    except (OSError, ValueError, Image.DecompressionBombError):
        return "upload-pixels", {"most": MAX_PIXELS // 1_000_000}
    if width * height > MAX_PIXELS:
        return "upload-pixels", {"most": MAX_PIXELS // 1_000_000}
    if min(width, height) < MIN_SIDE:
        return "upload-small", {"least": MIN_SIDE}
    return "upload-unreadable", {}


def too_big(size: int | None = None) -> str:
    got = f" ({size / 1024 / 1024:.0f} MB)" if size else ""
    return (
        f"the picture is over {MAX_FILE_BYTES // 1024 // 1024} MB{got}: scale it to at most "
        "1920 pixels on its long side before uploading; nothing was saved"
    )
