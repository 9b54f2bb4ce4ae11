"""Errors of the kiosk UI, by who is at fault.

BgkError (kiosk.protocol.errors)
└── UiError                     anything the UI reports to a person
    ├── PackLoadError           the installed (or just built) pack cannot be read
    │                           or drawn: keep showing the previous pack, report
    │                           ok=false with this message in ui/health.json
    ├── DisplayError            no screen to draw on: no X display and no Xvfb,
    │                           or SDL could not open the window (machine set-up)
    └── PreviewError            `bgk pack preview` was asked for something the
                                pack does not have, or its build failed
"""

from __future__ import annotations

from kiosk.protocol.errors import BgkError


class UiError(BgkError):
    """An error of the kiosk UI."""


class PackLoadError(UiError):
    """The pack cannot be loaded or drawn; the previous one stays on screen."""

    def __init__(self, message: str, pack: tuple[str, int] | None = None) -> None:
        super().__init__(message)
        #: (id, version) of the pack that failed, when its manifest could be read
        self.pack = pack


class DisplayError(UiError):
    """No display: install Xvfb, or run on a machine with a screen."""


class PreviewError(UiError):
    """A preview cannot be made from what was asked."""
