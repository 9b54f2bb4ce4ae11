"""A content page: headings, paragraphs, lists, pictures, links, sub-pages; it scrolls."""

from __future__ import annotations

from typing import Any

from kivy.properties import NumericProperty, ObjectProperty
from kivy.uix.image import Image as KvImage
from kivy.uix.screenmanager import Screen
from kivy.uix.widget import Widget

from kiosk.protocol.pack import Heading, Image, ListBlock, PageDoc, Paragraph, Tokens, Video
from kiosk.ui import theme as colours
from kiosk.ui.content import LoadedPack
from kiosk.ui.pictures import PictureBook
from kiosk.ui.textview import TokenText
from kiosk.ui.theme import Theme
from kiosk.ui.video import VideoView, read_captions
from kiosk.ui.widgets import Picture, Tile, icon_side


class PageScreen(Screen):  # type: ignore[misc]
    #: the window's clear colour while this screen shows (no full-screen fill of its own)
    background = colours.PAPER
    fontbook: Any = ObjectProperty(None, allownone=True)
    theme: Any = ObjectProperty(None)
    title: Any = ObjectProperty(())
    kicker: Any = ObjectProperty(())
    #: margin left and right of the text column (the header lines up with it)
    side: Any = NumericProperty(0)

    __events__ = ("on_page", "on_nav")

    def on_page(self, page_id: str) -> None:
        pass

    def on_nav(self, what: str) -> None:
        pass

    def show(
        self,
        pack: LoadedPack,
        page_id: str,
        lang: str,
        fontbook: Any,
        pictures: PictureBook,
        theme: Theme,
        visible: set[str],
    ) -> None:
        """Draw page `page_id` in `lang`; links to pages not in `visible` are plain text."""
        self.fontbook = fontbook
        self.theme = theme
        doc = pack.doc(page_id, lang)
        entry = pack.page(page_id)
        parent = entry.parent if entry is not None else None
        self.kicker = pack.page_title(parent, lang) if parent else pack.title(lang)
        self.title = _links(doc.title, set())
        width = theme.width
        column = theme.column_width(width)
        self.stop_videos()
        body = _Body(self, pack, fontbook, pictures, theme, column, visible, lang)
        body.build(doc)
        children = [p for p in pack.manifest.children(page_id) if p.id in visible]
        if children:
            body.children_section(pack, lang, children)
        self._show_qr(pack.qr(page_id, lang), pack.ui("take_away", lang), body, width, column)
        holder = self.ids.holder
        holder.clear_widgets()
        self.side = (width - column) / 2
        holder.padding = [self.side, theme.px(36), self.side, theme.px(64)]
        for widget in body.widgets:
            holder.add_widget(widget)
        bar = self.ids.bar
        bar.fontbook = fontbook
        bar.labels = {key: pack.ui(key, lang) for key in ("back", "home", "language", "large_text")}
        bar.large_text = theme.large
        bar.text_size = theme.nav_text
        bar.height = theme.bar_height
        self.ids.scroll.scroll_y = 1

    def _show_qr(
        self, path: Any, caption: Tokens, body: _Body, width: float, column: float
    ) -> None:
        """The QR code to this page on the pack's web copy: in the right margin when
        the screen is wide enough, else at the end of the page."""
        box = self.ids.qr_box
        box.clear_widgets()
        box.opacity = 0
        t = self.theme
        side = round(t.px(180))
        texture = body.pictures.texture(path, (side, side)) if path is not None else None
        if texture is None:
            return
        image = KvImage(texture=texture, size_hint=(None, None), size=(side, side))
        image.name = "qr"
        if (width - column) / 2 >= side + 2 * t.px(14):
            label = body.text(caption, t.px(20), halign="center", color=colours.MUTED,
                              width=side, wrap_width=side, pad_top=t.px(8))  # fmt: skip
            box.width = side
            box.pos_hint = {"right": 1 - t.px(14) / width, "top": 1 - t.px(14) / max(1, t.height)}
            label.bind(height=lambda _w, h: setattr(box, "height", side + h))
            box.height = side + label.height
            box.add_widget(image)
            box.add_widget(label)
            box.opacity = 1
            return
        body.widgets.append(
            body.text(
                caption,
                t.caption,
                halign="center",
                color=colours.MUTED,
                pad_top=t.px(30),
                pad_bottom=t.px(10),
            )
        )
        image.pos_hint = {"center_x": 0.5}
        body.widgets.append(image)
        body.gap(28)

    def videos(self) -> list[VideoView]:
        """The videos of the page shown."""
        return [w for w in self.ids.holder.children if isinstance(w, VideoView)]

    def stop_videos(self) -> None:
        """Every video back to its poster, its decoder ended (page left, idle reset)."""
        for video in self.videos():
            video.stop()

    def _one_plays(self, playing: VideoView) -> None:
        for video in self.videos():
            if video is not playing:
                video.pause()

    def on_leave(self, *_args: Any) -> None:
        """The page's widgets go with their textures and pictures (drawn afresh when
        a page is shown again); a video playing stops."""
        self.stop_videos()
        self.ids.holder.clear_widgets()
        self.ids.qr_box.clear_widgets()
        self.title, self.kicker = (), ()
        self.ids.bar.labels = {}

    def text_widgets(self) -> list[TokenText]:
        """Every TokenText on the screen (header, body, navigation bar)."""
        return [w for w in self.walk(restrict=True) if isinstance(w, TokenText)]


class _Body:
    """Widgets of a page body for one column width."""

    def __init__(
        self,
        screen: PageScreen,
        pack: LoadedPack,
        fontbook: Any,
        pictures: PictureBook,
        theme: Theme,
        column: float,
        visible: set[str],
        lang: str,
    ) -> None:
        self.screen = screen
        self.lang = lang
        self.pack = pack
        self.fontbook = fontbook
        self.pictures = pictures
        self.theme = theme
        self.column = column
        self.visible = visible
        self.widgets: list[Widget] = []

    def text(self, tokens: Tokens, size: float, **kwargs: Any) -> TokenText:
        widget = TokenText(
            tokens=_links(tokens, self.visible),
            fontbook=self.fontbook,
            font_size=size,
            wrap_width=kwargs.pop("wrap_width", self.column),
            size_hint=(None, None),
            width=kwargs.pop("width", self.column),
            **kwargs,
        )
        widget.bind(on_link=lambda _w, page_id: self.screen.dispatch("on_page", page_id))
        return widget

    def gap(self, design_px: float) -> None:
        """Space before the next widget: added to the last text (a spacer widget costs
        as much as a paragraph to create)."""
        last = self.widgets[-1] if self.widgets else None
        if isinstance(last, TokenText):
            last.pad_bottom += self.theme.px(design_px)
        else:
            self.widgets.append(Widget(size_hint=(None, None), size=(1, self.theme.px(design_px))))

    def build(self, doc: PageDoc) -> None:
        t = self.theme
        for block in doc.blocks:
            if isinstance(block, Heading):
                top = t.px(26) if self.widgets else 0
                self.widgets.append(
                    self.text(
                        block.text,
                        t.heading(block.level),
                        bold=True,
                        color=colours.NAVY,
                        pad_top=top,
                        pad_bottom=t.px(10),
                    )
                )
            elif isinstance(block, Paragraph):
                self.widgets.append(self.text(block.text, t.body, pad_bottom=t.px(22)))
            elif isinstance(block, ListBlock):
                for number, item in enumerate(block.items, start=1):
                    self.widgets.append(
                        self.text(
                            item,
                            t.body,
                            indent=t.px(56),
                            marker=f"{number}." if block.ordered else "dot",
                            pad_bottom=t.px(12),
                        )
                    )
                self.gap(10)
            elif isinstance(block, Image):
                self.picture(block)
            elif isinstance(block, Video):
                self.video(block)

    def video(self, block: Video) -> None:
        """The poster with a play mark, at the width of the column (kiosk/ui/video.py)."""
        t = self.theme
        viewport = max(400.0, t.height - t.header_height - t.bar_height)
        size = Picture(
            natural_width=block.width,
            natural_height=block.height,
            target_width=self.column,
            max_height=viewport * 0.8,
        ).size
        entry = self.pack.manifest.videos.get(block.src)
        captions = self.pack.paths.get(block.captions) if block.captions else None
        view = VideoView(
            captions=read_captions(captions),
            source=str(self.pack.paths[block.src]),
            poster=self.pictures.texture(self.pack.paths[block.poster], size),
            muted=not (entry is not None and entry.sound),
            lang=self.lang,
            fontbook=self.fontbook,
            caption_size=t.body,
            name=f"video:{block.src}",
            size_hint=(None, None),
            size=size,
            pos_hint={"center_x": 0.5},
        )
        view.bind(on_play=self.screen._one_plays)
        self.gap(8)
        self.widgets.append(view)
        self.caption(block.caption)

    def picture(self, block: Image) -> None:
        t = self.theme
        viewport = max(400.0, t.height - t.header_height - t.bar_height)
        pic = Picture(
            natural_width=block.width,
            natural_height=block.height,
            target_width=self.column,
            max_height=viewport * 0.8,
            pos_hint={"center_x": 0.5},
        )
        pic.texture = self.pictures.texture(self.pack.paths[block.src], pic.size)
        self.gap(8)
        self.widgets.append(pic)
        self.caption(block.caption)

    def caption(self, caption: Tokens) -> None:
        """The caption under a picture or a video (or the same space without one)."""
        if not caption:
            self.gap(28)
            return
        t = self.theme
        self.widgets.append(
            self.text(
                caption,
                t.caption,
                halign="center",
                color=colours.MUTED,
                pad_top=t.px(10),
                pad_bottom=t.px(28),
            )
        )

    def children_section(self, pack: LoadedPack, lang: str, children: list[Any]) -> None:
        t = self.theme
        self.widgets.append(
            self.text(
                pack.ui("in_this_section", lang),
                t.heading(2),
                bold=True,
                color=colours.RED,
                pad_top=t.px(30),
                pad_bottom=t.px(16),
            )
        )
        height = t.px(150 if not t.large else 180)
        side = icon_side(height, False)
        for child in children:
            tile = Tile(
                name=f"child:{child.id}",
                page_id=child.id,
                title=pack.page_title(child.id, lang),
                icon_texture=(
                    self.pictures.texture(pack.paths[child.icon], (side, side))
                    if child.icon
                    else None
                ),
                fontbook=self.fontbook,
                text_size=t.tile_text,
                size_hint=(None, None),
                width=self.column,
                height=height,
            )
            tile.bind(on_release=lambda w: self.screen.dispatch("on_page", w.page_id))
            self.widgets.append(tile)
            self.gap(20)


def _links(tokens: Tokens, visible: set[str]) -> Tokens:
    """Tokens whose links lead to pages not shown today become plain text."""
    if all(tok.l is None or tok.l in visible for tok in tokens):
        return tokens
    return tuple(tok if tok.l in visible else tok.model_copy(update={"l": None}) for tok in tokens)
