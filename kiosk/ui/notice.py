"""The urgent-notice overlay: the agent's notice over whatever is on screen, until it expires."""

from __future__ import annotations

from typing import Any

from kivy.properties import ObjectProperty, StringProperty
from kivy.uix.floatlayout import FloatLayout

from kiosk.local import Notice


def notice_language(notice: Notice, wanted: list[str]) -> str | None:
    """The first language of `wanted` the notice is written in, else any it has."""
    for lang in wanted:
        if notice.text.get(lang, "").strip():
            return lang
    for lang, text in sorted(notice.text.items()):
        if text.strip():
            return lang
    return None


class NoticeOverlay(FloatLayout):  # type: ignore[misc]
    """Modal while shown: touches do not reach the screen underneath."""

    fontbook: Any = ObjectProperty(None, allownone=True)
    theme: Any = ObjectProperty(None)
    heading: Any = ObjectProperty(())
    text: Any = ObjectProperty(())
    close_label: Any = ObjectProperty(())
    notice_id: Any = StringProperty("")
    lang: Any = StringProperty("")

    __events__ = ("on_close",)

    def on_close(self) -> None:
        pass

    def on_touch_down(self, touch: Any) -> bool:
        super().on_touch_down(touch)
        return True

    def on_touch_move(self, touch: Any) -> bool:
        super().on_touch_move(touch)
        return True

    def on_touch_up(self, touch: Any) -> bool:
        super().on_touch_up(touch)
        return True
