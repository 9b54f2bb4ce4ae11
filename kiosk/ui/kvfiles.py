"""Loading the .kv files of the UI (once per process, after the window exists)."""

from __future__ import annotations

from pathlib import Path

from kivy.lang import Builder

HERE = Path(__file__).resolve().parent

#: shared widgets first: the screens' rules use them
KV_FILES = (
    HERE / "widgets.kv",
    HERE / "notice.kv",
    HERE / "screens" / "attract.kv",
    HERE / "screens" / "language.kv",
    HERE / "screens" / "home.kv",
    HERE / "screens" / "page.kv",
    HERE / "screens" / "preparing.kv",
)


#: decoded pictures Kivy keeps (the attract loop's and a page's); more are read again
PICTURES_KEPT = 6


def load_all() -> None:
    """Load every .kv file not loaded yet (Builder keeps the list of loaded files),
    and bound Kivy's picture caches (by default: everything seen in the last minute)."""
    from kivy.cache import Cache

    for category in ("kv.image", "kv.texture"):
        if Cache._categories.get(category, {}).get("limit") != PICTURES_KEPT:
            Cache.register(category, limit=PICTURES_KEPT, timeout=60)
    # The widget classes must be registered (imported) before their rules load.
    import kiosk.ui.notice
    import kiosk.ui.screens.attract
    import kiosk.ui.screens.home
    import kiosk.ui.screens.language
    import kiosk.ui.screens.page
    import kiosk.ui.screens.preparing
    import kiosk.ui.textview
    import kiosk.ui.widgets  # noqa: F401

    for path in KV_FILES:
        if str(path) not in Builder.files:
            Builder.load_file(str(path))
