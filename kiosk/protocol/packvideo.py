"""The videos of a pack in its manifest and page documents (content_packs/README.md,
"Videos"; built by server/packs/transcode.py, played by kiosk/ui/video.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from kiosk.protocol.languages import LANGUAGES
from kiosk.protocol.packbase import Model, Tokens, valid_path


class VideoEntry(Model):
    """A video of the pack (content_packs/README.md, "Videos"): H.264 MP4 at its path."""

    #: JPEG shown while the video loads and in previews
    poster: str
    width: Annotated[int, Field(ge=1)]
    height: Annotated[int, Field(ge=1)]
    duration_ms: Annotated[int, Field(ge=1)]
    #: whether the file has a sound track (kiosks are muted unless the pack asks)
    sound: bool = False
    #: WebVTT captions per language (empty: the video has none)
    captions: dict[str, str] = Field(default_factory=dict)

    @field_validator("poster")
    @classmethod
    def _poster(cls, v: str) -> str:
        return valid_path(v)

    @field_validator("captions")
    @classmethod
    def _captions(cls, v: dict[str, str]) -> dict[str, str]:
        for lang, path in v.items():
            if lang not in LANGUAGES:
                raise ValueError(f"captions in unknown language {lang!r}")
            valid_path(path)
        return v


class Video(Model):
    """A video on a page: shown as its poster with a play mark; a tap plays it."""

    type: Literal["video"] = "video"
    src: str
    poster: str
    width: Annotated[int, Field(ge=1)]
    height: Annotated[int, Field(ge=1)]
    duration_ms: Annotated[int, Field(ge=1)]
    #: WebVTT captions in the page's language, if the video has them
    captions: str | None = None
    #: caption shown under the video (may be empty)
    caption: Tokens = ()

    @field_validator("src", "poster")
    @classmethod
    def _src(cls, v: str) -> str:
        return valid_path(v)

    @field_validator("captions")
    @classmethod
    def _captions(cls, v: str | None) -> str | None:
        return None if v is None else valid_path(v)
