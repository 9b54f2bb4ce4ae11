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


#: seconds Kivy keeps a decoded picture nobody shows (its default: 60). A time, not
#: a count: Kivy 2.3's count-limited purge leaks every picture it drops (~125 KB
#: each, measured), and a kiosk runs for months.
PICTURE_SECONDS = 15


def load_all() -> None:
    """Load every .kv file not loaded yet (Builder keeps the list of loaded files),
    and make Kivy forget pictures sooner than it does by default."""
    from kivy.cache import Cache

    for category in ("kv.image", "kv.texture"):
        if Cache._categories.get(category, {}).get("timeout") != PICTURE_SECONDS:
            Cache.register(category, timeout=PICTURE_SECONDS)

    for path in KV_FILES:
        if str(path) not in Builder.files:
            Builder.load_file(str(path))
