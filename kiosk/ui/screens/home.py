"""Home: a large tile for every top-level page shown today."""

from __future__ import annotations

from typing import Any

from kivy.properties import ObjectProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui import theme as colours
from kiosk.ui.content import LoadedPack
from kiosk.ui.pictures import PictureBook
from kiosk.ui.widgets import Tile, icon_side


class HomeScreen(Screen):  # type: ignore[misc]
    #: the window's clear colour while this screen shows (no full-screen fill of its own)
    background = colours.PAPER
    fontbook: Any = ObjectProperty(None, allownone=True)
    theme: Any = ObjectProperty(None)
    title: Any = ObjectProperty(())

    __events__ = ("on_page", "on_nav")

    def on_page(self, page_id: str) -> None:
        pass

    def on_nav(self, what: str) -> None:
        pass

    def show(
        self,
        pack: LoadedPack,
        lang: str,
        fontbook: Any,
        pictures: PictureBook,
        theme: Any,
        pages: list[Any],
    ) -> None:
        """Draw the tiles of `pages` (the top-level pages visible today) in `lang`."""
        self.fontbook = fontbook
        self.theme = theme
        self.title = pack.title(lang)
        grid = self.ids.tiles
        grid.clear_widgets()
        grid.cols = theme.tile_columns
        height = _tile_height(theme, len(pages))
        side = icon_side(height, theme.portrait)
        for page in pages:
            tile = Tile(
                name=f"tile:{page.id}",
                page_id=page.id,
                title=pack.page_title(page.id, lang),
                icon_texture=(
                    pictures.texture(pack.paths[page.icon], (side, side)) if page.icon else None
                ),
                fontbook=fontbook,
                text_size=theme.tile_text,
                size_hint_y=None,
                height=height,
                vertical=theme.portrait,
            )
            tile.bind(on_release=lambda t: self.dispatch("on_page", t.page_id))
            grid.add_widget(tile)
        bar = self.ids.bar
        bar.fontbook = fontbook
        bar.labels = {key: pack.ui(key, lang) for key in ("back", "home", "language", "large_text")}
        bar.large_text = theme.large
        bar.text_size = theme.nav_text
        bar.height = theme.bar_height
        self.ids.scroll.scroll_y = 1

    def on_leave(self, *_args: Any) -> None:
        """The tiles go with their icons and texts (drawn afresh when home is shown again)."""
        self.ids.tiles.clear_widgets()
        self.title = ()
        self.ids.bar.labels = {}


def _tile_height(theme: Any, count: int) -> float:
    """Tiles fill the screen when there are few of them (up to 1.5 times their height)."""
    rows = max(1, -(-count // theme.tile_columns))
    spare = theme.height - theme.header_height - theme.bar_height - 2 * theme.margin
    fill = (spare - theme.px(28) * (rows - 1)) / rows
    return float(max(theme.tile_height, min(fill, theme.tile_height * 1.5)))
