"""Errors of the pack tools, by who must act:

BgkError (kiosk.protocol.errors)
└── PackError                 something about packs stopped the command
    ├── PackSourceError       the editor's sources are wrong: fix the listed files
    ├── FontMissingError      the build machine lacks a font: install it
    └── OutputError           the output folder cannot be used: pick another
"""

from __future__ import annotations

from kiosk.protocol.errors import BgkError
from server.packs.findings import Finding


class PackError(BgkError):
    pass


class PackSourceError(PackError):
    def __init__(self, message: str, findings: list[Finding] | None = None) -> None:
        super().__init__(message)
        self.findings = findings or []


class FontMissingError(PackError):
    pass


class OutputError(PackError):
    pass
