"""Screenshots travel as scaled JPEGs: a 1080p PNG is megabytes, a 960 px JPEG
about a hundred kilobytes (well inside the screenshot topic's 1 MiB limit)."""

from __future__ import annotations

import io

from kiosk.protocol.errors import ProtocolError


def png_to_jpeg(png: bytes, max_width: int, quality: int) -> tuple[bytes, int, int]:
    """(JPEG bytes, width, height) of `png` scaled down to at most `max_width`."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(png)) as image:
            image.load()
            picture = image.convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ProtocolError(f"the UI's screenshot is not a readable picture: {exc}") from None
    if picture.width > max_width:
        height = max(1, round(picture.height * max_width / picture.width))
        picture = picture.resize((max_width, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue(), picture.width, picture.height
