"""Small widgets shared by the screens (their look is in widgets.kv).

* Tap: a touch target that reacts on release inside it, highlights while
  pressed and ignores a finger that slid away (a traveller scrolling).
* NavButton: icon + label of the navigation bar (back, home, language,
  large text), drawn icons so that a traveller who cannot read the label
  still recognises them.
* Tile: a home tile / sub-page card: pack icon and title.
* Picture: a pack picture scaled to a width, keeping its proportions.

Pictures are textures from kiosk.ui.pictures, never file names: Kivy's own
image cache would keep each one whole for a while whatever its size.
"""

from __future__ import annotations

from typing import Any

from kivy.graphics import Color, InstructionGroup, Line, Rectangle, Triangle
from kivy.properties import (
    BooleanProperty,
    ColorProperty,
    DictProperty,
    NumericProperty,
    ObjectProperty,
    OptionProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.image import Image
from kivy.uix.widget import Widget

from kiosk.ui import theme


class Tap(ButtonBehavior, FloatLayout):  # type: ignore[misc]
    """A touch target; `on_release` fires when the finger lifts inside it."""

    background: Any = ColorProperty(theme.CARD)
    pressed_background: Any = ColorProperty(theme.YELLOW)
    border_color: Any = ColorProperty(theme.LINE)
    radius: Any = NumericProperty(14)
    #: a name tests and health reports can find the target by
    name: Any = StringProperty("")

    def on_touch_up(self, touch: Any) -> bool:
        # A finger that left the target (or scrolled) does not press it.
        if touch.grab_current is self and not self.collide_point(*touch.pos):
            touch.ungrab(self)
            self.state = "normal"
            return True
        return bool(super().on_touch_up(touch))


class NavIcon(Widget):  # type: ignore[misc]
    """A simple drawn icon: back arrow, house, globe, two letters A, or a cross."""

    kind: Any = OptionProperty("back", options=["back", "home", "language", "text", "close"])
    color: Any = ColorProperty(theme.YELLOW)

    def __init__(self, **kwargs: Any) -> None:
        # Instructions are added to a group of our own, never through a `with canvas`
        # block, so a redraw triggered while Kivy builds another canvas lands here.
        self._group = InstructionGroup()
        super().__init__(**kwargs)
        self.canvas.add(self._group)
        for name in ("pos", "size", "kind", "color"):
            self.fbind(name, self._draw)
        self._draw()

    def _draw(self, *_args: Any) -> None:
        g = self._group
        g.clear()
        s = min(self.width, self.height)
        # not self.center: that alias is updated after our pos observer runs
        cx, cy = self.x + self.width / 2, self.y + self.height / 2
        w = max(2.0, s / 11)
        g.add(Color(*self.color))
        if self.kind == "back":
            g.add(
                _line(
                    [cx + s * 0.1, cy + s * 0.32, cx - s * 0.22, cy, cx + s * 0.1, cy - s * 0.32], w
                )
            )
            g.add(_line([cx - s * 0.2, cy, cx + s * 0.36, cy], w))
        elif self.kind == "home":
            g.add(
                Triangle(
                    points=[
                        cx - s * 0.42,
                        cy + s * 0.02,
                        cx + s * 0.42,
                        cy + s * 0.02,
                        cx,
                        cy + s * 0.4,
                    ]
                )
            )
            g.add(Rectangle(pos=(cx - s * 0.28, cy - s * 0.38), size=(s * 0.56, s * 0.42)))
            g.add(Color(*theme.NAVY_LIGHT))
            g.add(Rectangle(pos=(cx - s * 0.08, cy - s * 0.38), size=(s * 0.16, s * 0.24)))
        elif self.kind == "language":
            r = s * 0.4
            g.add(Line(circle=(cx, cy, r), width=w * 0.7))
            g.add(Line(ellipse=(cx - r * 0.45, cy - r, r * 0.9, 2 * r), width=w * 0.6))
            g.add(_line([cx - r, cy, cx + r, cy], w * 0.6))
            g.add(_line([cx - r * 0.85, cy + r * 0.5, cx + r * 0.85, cy + r * 0.5], w * 0.5))
            g.add(_line([cx - r * 0.85, cy - r * 0.5, cx + r * 0.85, cy - r * 0.5], w * 0.5))
        elif self.kind == "text":
            for letter_x, height, width in (
                (cx - s * 0.22, s * 0.42, w * 0.8),
                (cx + s * 0.2, s * 0.72, w),
            ):
                half = height * 0.38
                base = cy - s * 0.36
                g.add(
                    _line(
                        [letter_x - half, base, letter_x, base + height, letter_x + half, base],
                        width,
                    )
                )
                bar = base + height * 0.36
                g.add(_line([letter_x - half * 0.55, bar, letter_x + half * 0.55, bar], width))
        else:  # close
            d = s * 0.3
            g.add(_line([cx - d, cy - d, cx + d, cy + d], w))
            g.add(_line([cx - d, cy + d, cx + d, cy - d], w))


def _line(points: list[float], width: float) -> Line:
    return Line(points=points, width=width, cap="round", joint="round")


class NavButton(Tap):
    icon: Any = OptionProperty("back", options=["back", "home", "language", "text", "close"])
    label: Any = ObjectProperty(())
    fontbook: Any = ObjectProperty(None, allownone=True)
    text_size: Any = NumericProperty(30)
    #: for a toggle (large text): drawn as pressed while on
    active: Any = BooleanProperty(False)


class LanguageButton(Tap):
    """A language's own name, large, in its own script."""

    label: Any = ObjectProperty(())
    fontbook: Any = ObjectProperty(None, allownone=True)
    text_size: Any = NumericProperty(60)


#: a tile's icon is this share of the tile's height (side by side; icon above the title)
ICON_SHARE = 0.62
ICON_SHARE_VERTICAL = 0.4


def icon_side(tile_height: float, vertical: bool) -> float:
    """The side of the square a tile draws its icon in."""
    return tile_height * (ICON_SHARE_VERTICAL if vertical else ICON_SHARE)


class Tile(Tap):
    """A page's card on the home screen or under "In this section"."""

    page_id: Any = StringProperty("")
    title: Any = ObjectProperty(())
    #: the icon's texture (kiosk.ui.pictures), None for a tile without one
    icon_texture: Any = ObjectProperty(None, allownone=True)
    #: icon above the title instead of beside it
    vertical: Any = BooleanProperty(False)
    fontbook: Any = ObjectProperty(None, allownone=True)
    text_size: Any = NumericProperty(38)


class Picture(Image):  # type: ignore[misc]
    """A pack picture (its `texture` from kiosk.ui.pictures) at `target_width`, never more
    than twice its own size (`natural_width`, as the pack's manifest says)."""

    natural_width: Any = NumericProperty(1)
    natural_height: Any = NumericProperty(1)
    target_width: Any = NumericProperty(100)
    max_height: Any = NumericProperty(100000)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("fit_mode", "contain")
        super().__init__(**kwargs)
        self.size_hint = (None, None)
        for name in ("natural_width", "natural_height", "target_width", "max_height"):
            self.fbind(name, self._fit)
        self._fit()

    def _fit(self, *_args: Any) -> None:
        width = min(float(self.target_width), float(self.natural_width) * 2)
        height = width * float(self.natural_height) / max(1.0, float(self.natural_width))
        if height > self.max_height:
            height = float(self.max_height)
            width = height * float(self.natural_width) / max(1.0, float(self.natural_height))
        self.size = (round(width), round(height))


class NavBar(BoxLayout):  # type: ignore[misc]
    """Back, home, language and large text: on every screen after the language choice."""

    fontbook: Any = ObjectProperty(None, allownone=True)
    #: tokens per button: {"back": ..., "home": ..., "language": ..., "large_text": ...}
    labels: Any = DictProperty()
    large_text: Any = BooleanProperty(False)
    text_size: Any = NumericProperty(30)

    __events__ = ("on_nav",)

    def on_nav(self, what: str) -> None:
        pass


class Header(BoxLayout):  # type: ignore[misc]
    """The navy band at the top of a screen: a small line above a large title."""

    fontbook: Any = ObjectProperty(None, allownone=True)
    kicker: Any = ObjectProperty(())
    title: Any = ObjectProperty(())
    title_size: Any = NumericProperty(52)
    kicker_size: Any = NumericProperty(28)
    #: left and right padding; 0 = in proportion to the title
    side: Any = NumericProperty(0)
    halign: Any = OptionProperty("left", options=["left", "center"])
