"""TokenText: a widget that draws pack tokens, wrapped between words, one font per run.

Every text of the kiosk goes through it (pages, tiles, buttons, notices), so
every text gets the same treatment: lines from kiosk.ui.layout, each run
drawn with its own script's font (characters that font lacks, such as an
arrow or ⚠ in a notice, with the next font of the book's fallback chain:
kiosk.ui.fonts), all pieces of a line on one baseline, link
runs underlined and tappable (the `on_link` event with the page id).

The widget's height follows its text (set `size_hint_y: None`). The wrap
width is `wrap_width` when set, else the widget's width. A word that does
not fit on a line at all makes the text smaller (down to 60 %) rather than
being cut.
"""

from __future__ import annotations

import logging
from typing import Any

from kivy.clock import Clock
from kivy.graphics import (
    Color,
    Ellipse,
    InstructionGroup,
    PopMatrix,
    PushMatrix,
    Rectangle,
    Translate,
)
from kivy.properties import (
    BooleanProperty,
    ColorProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    OptionProperty,
    StringProperty,
)
from kivy.uix.widget import Widget

from kiosk.protocol.pack import Token
from kiosk.ui import theme
from kiosk.ui.fonts import FontBook
from kiosk.ui.layout import Line, Measure, Run, break_lines, widest_group

log = logging.getLogger(__name__)

#: extra height around a link for the finger (the line itself is ~45 px)
_LINK_SLOP = 14
#: a word wider than its box (a long Thai word on a narrow tile) makes the whole
#: text smaller in steps, down to this share of its size, before it is cut
SHRINK_STEP = 0.92
MIN_SHRINK = 0.6


class TokenText(Widget):  # type: ignore[misc]
    tokens: Any = ObjectProperty((), allownone=False)
    fontbook: Any = ObjectProperty(None, allownone=True)
    font_size: Any = NumericProperty(34)
    bold: Any = BooleanProperty(False)
    color: Any = ColorProperty(theme.INK)
    link_color: Any = ColorProperty(theme.LINK)
    halign: Any = OptionProperty("left", options=["left", "center", "right"])
    #: line height as a multiple of the fonts' own height
    line_spacing: Any = NumericProperty(1.0)
    #: wrap at this width; 0 = the widget's width
    wrap_width: Any = NumericProperty(0)
    #: the laid-out lines (kiosk.ui.layout.Line), for tests and previews
    lines: Any = ListProperty()
    #: what was drawn: (line, run, font file, x, y, width, height) per piece of a run
    #: drawn with one font (a symbol from a fallback font is a piece of its own), in
    #: widget coordinates (for tests: which font drew which text, and where)
    drawn: Any = ListProperty()
    text_width: Any = NumericProperty(0)
    #: distance from the top of the widget to the first line's baseline
    first_baseline: Any = NumericProperty(0)
    #: the size drawn: font_size, or less when one word is wider than the box
    drawn_size: Any = NumericProperty(0)
    #: empty space above and below the text (part of the height: one widget
    #: per paragraph instead of spacer widgets keeps a page switch fast)
    pad_top: Any = NumericProperty(0)
    pad_bottom: Any = NumericProperty(0)
    #: left indent of every line, and what stands in it on the first line:
    #: "" (nothing), "dot" (a list bullet) or a number such as "3." (Latin digits)
    indent: Any = NumericProperty(0)
    marker: Any = StringProperty("")
    marker_color: Any = ColorProperty(theme.RED)

    __events__ = ("on_link",)

    def __init__(self, **kwargs: Any) -> None:
        self._group = InstructionGroup()
        self._translate = Translate(0, 0)
        self._links: list[tuple[str, float, float, float, float]] = []
        self._pressed: str | None = None
        super().__init__(**kwargs)
        self.canvas.add(PushMatrix())
        self.canvas.add(self._translate)
        self.canvas.add(self._group)
        self.canvas.add(PopMatrix())
        self._trigger = Clock.create_trigger(self._relayout, -1)
        for name in (
            "tokens",
            "fontbook",
            "font_size",
            "bold",
            "color",
            "link_color",
            "halign",
            "line_spacing",
            "wrap_width",
            "pad_top",
            "pad_bottom",
            "indent",
            "marker",
            "marker_color",
        ):
            self.fbind(name, self._trigger)
        self.fbind("width", self._on_width)
        self.fbind("pos", self._on_pos)
        self._trigger()

    def on_link(self, page_id: str) -> None:
        pass

    def _on_width(self, *_args: Any) -> None:
        if not self.wrap_width or self.halign != "left":
            self._trigger()

    def _on_pos(self, *_args: Any) -> None:
        self._translate.x = self.x
        self._translate.y = self.y

    def relayout_now(self) -> None:
        """Lay out at once (instead of before the next frame)."""
        self._trigger.cancel()
        self._relayout()

    def _relayout(self, *_args: Any) -> None:
        self._group.clear()
        self._links = []
        book: FontBook | None = self.fontbook
        tokens: tuple[Token, ...] = tuple(self.tokens or ())
        if book is None or not tokens:
            self.lines, self.drawn, self.text_width = [], [], 0.0
            self.height = 0.0
            return
        size = float(self.font_size)
        width = float(self.wrap_width or self.width) - float(self.indent)
        if width <= 1:
            return
        try:
            self._draw_lines(book, tokens, size, width)
        except (OSError, ValueError, AssertionError) as exc:
            # A font that cannot be opened must not take the whole UI down.
            log.error("cannot draw %r: %s", "".join(t.t for t in tokens)[:40], exc)
            self._group.clear()
            self._links = []
            self.lines, self.drawn = [], []

    def _fit(
        self, book: FontBook, tokens: tuple[Token, ...], size: float, width: float
    ) -> tuple[float, list[Line]]:
        """Lines at `size`, or at a smaller size when a word would not fit on a line.

        The sizes tried are `size` shrunk step by step; widths grow in proportion to
        the size, so the steps at which the widest word cannot fit are skipped (each
        size measured opens every font of the text at that size, which costs memory
        for as long as Kivy keeps it open), one step short of the estimate."""

        def at(size: float) -> Measure:
            def measure(text: str, script: str, bold: bool) -> float:
                return book.measure(text, script, bold, size)

            return measure

        lines = break_lines(tokens, width, at(size))
        if not any(line.split for line in lines):
            return size, lines
        steps = [size]
        while steps[-1] * SHRINK_STEP >= size * MIN_SHRINK:
            steps.append(round(steps[-1] * SHRINK_STEP))
        widest = widest_group(tokens, at(size))
        fits = [i for i, s in enumerate(steps) if widest * s / size <= width]
        first = max(1, (fits[0] if fits else len(steps)) - 1)
        for step in steps[first:]:
            lines = break_lines(tokens, width, at(step))
            if not any(line.split for line in lines):
                break
        return step, lines

    def _draw_lines(
        self, book: FontBook, tokens: tuple[Token, ...], size: float, width: float
    ) -> None:
        tokens = _weights(book, tokens, bool(self.bold))
        size, lines = self._fit(book, tokens, size, width)
        self.drawn_size = size
        # every font a line is drawn with (fallbacks included) sets the line height
        fonts = {book.font_file(tok.s, tok.b) for tok in tokens}
        pieces = [
            [(run, book.segments(run.text, run.script, run.bold)) for run in line.runs]
            for line in lines
        ]
        fonts |= {font for line in pieces for _run, segs in line for _t, font in segs}
        ascent = max(book.font_metrics(font, size)[0] for font in fonts)
        descent = max(book.font_metrics(font, size)[1] for font in fonts)
        line_height = (ascent + descent) * float(self.line_spacing)
        top = float(self.pad_top)
        height = top + line_height * len(lines) + float(self.pad_bottom)
        indent = float(self.indent)
        box_width = float(self.width - indent if self.halign != "left" else width)
        drawn: list[tuple[Line, Any, str, float, float, float, float]] = []
        widest = 0.0
        if self.marker:
            self._draw_marker(book, size, height - top - ascent)
        for number, (line, runs) in enumerate(zip(lines, pieces, strict=True)):
            baseline = height - top - number * line_height - ascent
            textures = [
                [(text, font, book.font_texture(text, font, size)) for text, font in segs]
                for _run, segs in runs
            ]
            line_width = float(sum(tex.width for run in textures for _t, _f, tex in run))
            widest = max(widest, line_width)
            x = indent + self._offset(box_width, line_width)
            for (run, _segs), segments in zip(runs, textures, strict=True):
                start = x
                self._group.add(Color(*(self.link_color if run.link else self.color)))
                for text, font, tex in segments:
                    y = baseline - book.font_metrics(font, size)[1]
                    self._group.add(Rectangle(texture=tex, pos=(x, y), size=tex.size))
                    piece = Run(text, run.script, run.bold, run.link, x - indent, float(tex.width))
                    drawn.append((line, piece, font, x, y, float(tex.width), float(tex.height)))
                    x += float(tex.width)
                if run.link:
                    thick = max(2.0, round(size / 14))
                    under = baseline - max(2.0, round(size * 0.12))
                    self._group.add(Rectangle(pos=(start, under), size=(x - start, thick)))
                    low = baseline - book.metrics(run.script, run.bold, size)[1]
                    self._links.append((run.link, start, low, x - start, ascent + descent))
        self.first_baseline = top + ascent
        self.lines = lines
        self.drawn = drawn
        self.text_width = widest
        self.height = height

    def _draw_marker(self, book: FontBook, size: float, baseline: float) -> None:
        """The list bullet or number in the indent, on the first line's baseline."""
        self._group.add(Color(*self.marker_color))
        if self.marker == "dot":
            d = max(6.0, round(size * 0.36))
            middle = baseline + size * 0.3  # the middle of a lower-case letter
            self._group.add(Ellipse(pos=(size * 0.35, middle - d / 2), size=(d, d)))
            return
        tex = book.texture(self.marker, "Latn", False, size)
        y = baseline - book.metrics("Latn", False, size)[1]
        self._group.add(Rectangle(texture=tex, pos=(0, y), size=tex.size))

    def _offset(self, box_width: float, line_width: float) -> float:
        if self.halign == "center":
            return max(0.0, (box_width - line_width) / 2)
        if self.halign == "right":
            return max(0.0, box_width - line_width)
        return 0.0

    # --- links -----------------------------------------------------------------
    def link_at(self, x: float, y: float) -> str | None:
        """The page a link at window point (x, y) leads to, if any."""
        lx, ly = x - self.x, y - self.y
        for page_id, rx, ry, rw, rh in self._links:
            if rx - _LINK_SLOP <= lx <= rx + rw + _LINK_SLOP and (
                ry - _LINK_SLOP <= ly <= ry + rh + _LINK_SLOP
            ):
                return page_id
        return None

    def on_touch_down(self, touch: Any) -> bool:
        if self.collide_point(*touch.pos):
            page_id = self.link_at(*touch.pos)
            if page_id is not None:
                self._pressed = page_id
                touch.grab(self)
                return True
        return bool(super().on_touch_down(touch))

    def on_touch_up(self, touch: Any) -> bool:
        if touch.grab_current is self:
            touch.ungrab(self)
            pressed, self._pressed = self._pressed, None
            if pressed is not None and self.link_at(*touch.pos) == pressed:
                self.dispatch("on_link", pressed)
            return True
        return bool(super().on_touch_up(touch))


def _weights(book: FontBook, tokens: tuple[Token, ...], bold: bool) -> tuple[Token, ...]:
    """Tokens with their final weight: bold where asked and the bold face can draw them."""
    if not bold and not any(tok.b for tok in tokens):
        return tokens
    out = []
    for tok in tokens:
        has = (tok.b or bold) and book.covers(tok.t, tok.s, True)
        out.append(
            tok
            if has == tok.b
            else Token.model_construct(t=tok.t, s=tok.s, b=has, l=tok.l, j=tok.j)
        )
    return tuple(out)
