"""Pieces shared by the pack models (pack.py) and the video models (packvideo.py):
the base model, path checks, and the token of segmented text."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer

from kiosk.protocol.errors import ProtocolError
from kiosk.protocol.paths import check_pack_path, check_sha256


def valid_path(v: str) -> str:
    try:
        return check_pack_path(v)
    except ProtocolError as exc:  # pydantic reports ValueErrors with their field
        raise ValueError(str(exc)) from None


def valid_sha(v: str) -> str:
    try:
        return check_sha256(v)
    except ProtocolError as exc:
        raise ValueError(str(exc)) from None


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Token(Model):
    """A piece of text the UI never splits: a word (with trailing space), in one script."""

    t: str
    #: script: Latn | Laoo | Thai | Hans
    s: str
    #: bold
    b: bool = False
    #: link to this page id
    l: str | None = None  # noqa: E741 - short keys keep page documents small
    #: joins the token before: no line break may come between them
    j: bool = False

    @model_serializer(mode="wrap")
    def _compact(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Page documents hold thousands of tokens: leave out false/empty fields.
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if k in ("t", "s") or v}


Tokens = tuple[Token, ...]
