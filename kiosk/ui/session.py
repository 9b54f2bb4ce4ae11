"""What one traveller did, counted anonymously, and where they are in the pages.

A session starts with the first touch on the attract loop and ends when the
kiosk has been left alone for the idle timeout (or the UI stops). It records
only the languages chosen, the pages viewed and how long it lasted: no
touch positions, no images, nothing that could identify a person.

Pure: times are passed in (`wall` = epoch seconds for the record, `mono` =
monotonic seconds for durations).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kiosk.local import Session


@dataclass
class SessionTracker:
    started_wall: float | None = None
    started_mono: float = 0.0
    last_mono: float = 0.0
    languages: list[str] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.started_wall is not None

    def touch(self, wall: float, mono: float) -> None:
        """A touch: starts a session if none is running."""
        if self.started_wall is None:
            self.started_wall = wall
            self.started_mono = mono
            self.languages = []
            self.pages = []
        self.last_mono = mono

    def language(self, lang: str) -> None:
        if self.active and (not self.languages or self.languages[-1] != lang):
            self.languages.append(lang)

    def page(self, page_id: str) -> None:
        if self.active:
            self.pages.append(page_id)

    def finish(self) -> Session | None:
        """End the running session: its record (None when there was none)."""
        if self.started_wall is None:
            return None
        session = Session(
            started=round(self.started_wall, 3),
            seconds=round(max(0.0, self.last_mono - self.started_mono), 1),
            languages=list(self.languages),
            pages=list(self.pages),
        )
        self.started_wall = None
        self.languages = []
        self.pages = []
        return session


@dataclass
class History:
    """The traveller's way through the pages: what Back returns to."""

    stack: list[str] = field(default_factory=list)

    @property
    def current(self) -> str | None:
        return self.stack[-1] if self.stack else None

    def open(self, page_id: str) -> None:
        if self.current != page_id:
            self.stack.append(page_id)

    def back(self) -> str | None:
        """Leave the current page; the page to show now, or None for home."""
        if self.stack:
            self.stack.pop()
        return self.current

    def clear(self) -> None:
        self.stack.clear()

    def keep(self, known: set[str]) -> None:
        """Forget pages a new pack no longer has (or no longer shows)."""
        kept: list[str] = []
        for page in self.stack:
            if page in known and (not kept or kept[-1] != page):
                kept.append(page)
        self.stack = kept
