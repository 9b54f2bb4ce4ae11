"""What the UI keeps in memory stays bounded, and what a screen no longer shows is let go.

Without a GPU every texture lives in the UI's own memory (on a Pi, in the
memory the GPU shares), so these tests count the live textures themselves:
after a traveller has read every page in every language, the textures not
on screen are only those the caches keep, within their budgets; the attract
loop holds one picture (two while fading) and none once a traveller starts;
the end of a session lets go of what was read.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from uikit import Kiosk, install

#: Kivy's own small textures (the 1-pixel one of empty text, the scroll bar's...)
KIVY_SLACK = 64 * 1024


@pytest.fixture
def sample(window: Any, built_sample: Path, tmp_path: Path) -> Iterator[Kiosk]:
    install(tmp_path / "state", built_sample, "lao-bao-1")
    k = Kiosk(window, tmp_path / "state", tmp_path / "work", idle_timeout_s=60)
    yield k
    k.close()


def texture_bytes(texture: Any) -> int:
    per_pixel = {"luminance_alpha": 2, "luminance": 1, "alpha": 1, "rgb": 3}
    return int(texture.width * texture.height * per_pixel.get(texture.colorfmt, 4))


def live_textures() -> list[Any]:
    from kivy.graphics.texture import Texture

    gc.collect()
    found = []
    for obj in gc.get_objects():
        try:
            if isinstance(obj, Texture):
                found.append(obj)
        except ReferenceError:  # a weak proxy whose object is gone
            continue
    return found


def drawn_textures(root: Any) -> set[int]:
    """Ids of the textures the widget tree under `root` draws (screen, notice...)."""
    ids: set[int] = set()

    def visit(instructions: Any) -> None:
        for instruction in instructions.children:
            texture = getattr(instruction, "texture", None)
            if texture is not None:
                ids.add(id(texture))
            if hasattr(instruction, "children"):
                visit(instruction)

    for widget in root.walk(restrict=True):
        for canvas in (widget.canvas.before, widget.canvas, widget.canvas.after):
            if canvas is not None:
                visit(canvas)
    return ids


def kept_textures(ui: Any) -> set[int]:
    return {id(t) for t in ui.fontbook.kept_textures() + ui.pictures.kept_textures()}


def read_everything(k: Kiosk) -> None:
    """A traveller touches the attract loop and opens every page in every language."""
    ui = k.ui
    ui.touched()
    assert ui.pack is not None
    for lang in ui.pack.manifest.languages:
        ui.choose_language(lang)
        k.frames(1)
        for page in ui.pack.manifest.pages:
            ui.open_page(page.id)
            k.frames(1)
    k.frames(2)


def test_the_window_is_not_multisampled(window: Any) -> None:
    """4 samples a pixel of colour and depth cost 71 MB at 1080p without a GPU."""
    from kivy.graphics.opengl import glGetIntegerv

    gl_samples = 0x80A9
    assert glGetIntegerv(gl_samples)[0] == 0


def test_after_every_page_in_every_language_only_the_caches_hold_textures(
    sample: Kiosk,
) -> None:
    from kiosk.ui.fonts import TEXTURE_BUDGET
    from kiosk.ui.pictures import PICTURE_BUDGET, SMALL_BUDGET

    ui = sample.ui
    read_everything(sample)
    assert ui.fontbook is not None
    assert ui.fontbook.texture_bytes <= TEXTURE_BUDGET
    assert ui.pictures.kept_bytes <= PICTURE_BUDGET + SMALL_BUDGET
    # the screens not shown keep nothing: no tiles at home, no picture on the loop
    assert not ui.home.ids.tiles.children
    assert ui.attract.textures() == [] and not ui.attract.running
    on_screen = drawn_textures(ui.root)
    kept = kept_textures(ui)
    stray = [t for t in live_textures() if id(t) not in on_screen and id(t) not in kept]
    assert sum(texture_bytes(t) for t in stray) <= KIVY_SLACK, [t.size for t in stray][:10]
    budgets = TEXTURE_BUDGET + PICTURE_BUDGET + SMALL_BUDGET
    assert sum(texture_bytes(t) for t in live_textures() if id(t) not in on_screen) <= (
        budgets + KIVY_SLACK
    )


def test_the_attract_loop_holds_one_picture_two_while_fading_none_once_left(
    sample: Kiosk,
) -> None:
    ui = sample.ui
    attract = ui.attract
    assert ui.screen_name == "attract" and attract.running
    assert len(attract.sources) == 3
    (first,) = attract.textures()
    # the picture is fitted to where it is drawn, not kept at the file's 1920x1080
    box_width, box_height = attract.picture_box()
    assert first.width <= box_width and first.height <= box_height
    attract.next_picture()
    sample.wait(lambda: len(attract.textures()) == 2, "the next picture to fade in")
    sample.wait(lambda: len(attract.textures()) == 1, "the fade to end")
    assert attract.textures()[0] is not first
    ui.touched()  # a traveller starts
    sample.frames(1)
    assert ui.screen_name == "language"
    assert attract.textures() == [] and not attract.running


def test_the_end_of_a_session_lets_go_of_what_was_read(sample: Kiosk) -> None:
    ui = sample.ui
    ui.touched()
    ui.choose_language("th")
    for page in ("procedures", "friendship", "emergency"):
        ui.open_page(page)
        sample.frames(1)
    assert ui.fontbook is not None
    assert ui.pack is not None
    pack = ui.pack
    loop_lines = "\n".join(
        "".join(token.t for token in line)
        for lang in pack.manifest.languages
        for line in (pack.title(lang), pack.ui("touch_to_start", lang))
    )
    assert ui.pictures.kept > 0
    assert [t for t in ui.fontbook.kept_texts() if t not in loop_lines]  # the pages' text
    sample.time.advance(61)
    ui.check_idle()  # nobody touched for the idle timeout: back to the loop
    sample.frames(2)
    assert ui.screen_name == "attract"
    assert ui.pictures.kept == 0
    # what is kept now is only what the loop itself draws: its lines (it turns to the
    # next language on its own clock, so which of them is on screen now is not fixed)
    assert ui.fontbook.kept_texts()
    assert [t for t in ui.fontbook.kept_texts() if t not in loop_lines] == []
    assert not ui.page.ids.holder.children


def test_page_documents_are_kept_as_bytes_and_a_few_parsed(built_sample: Path) -> None:
    from kiosk.protocol.pack import parse_page
    from kiosk.ui.content import PARSED_DOCS, load_pack

    pack = load_pack(built_sample, built_sample.parent / "links")
    assert len(pack.docs) == sum(len(p.docs) for p in pack.manifest.pages) > PARSED_DOCS
    for page in pack.manifest.pages:
        for lang, rel in page.docs.items():
            doc = pack.doc(page.id, lang)
            assert doc == parse_page(
                (built_sample / "blobs" / "sha256" / _sha(pack, rel)).read_bytes()
            )
            assert pack.docs.parsed <= PARSED_DOCS


def _sha(pack: Any, rel: str) -> str:
    return str(pack.manifest.file(rel).sha256)


def test_pictures_are_reduced_to_the_size_drawn_and_kept_within_budgets(
    window: Any, tmp_path: Path
) -> None:
    from PIL import Image

    from kiosk.ui.pictures import PictureBook

    icon = tmp_path / "icon.png"
    Image.new("RGBA", (512, 512), (200, 30, 30, 255)).save(icon)
    large = []
    for n in range(4):
        path = tmp_path / f"photo-{n}.png"
        Image.new("RGB", (1000, 1000), (n * 40, 90, 160)).save(path)
        large.append(path)
    book = PictureBook(budget=6 * 1024 * 1024, small_budget=1024 * 1024)
    tile_icon = book.texture(icon, (143, 143))
    # 512 px reduced by the largest whole factor that keeps it at least 143 px
    assert tile_icon.size == (171, 171)
    for path in large:
        assert book.texture(path).size == (1000, 1000)
    assert book.kept_bytes <= 6 * 1024 * 1024 + 1024 * 1024
    # large pictures pushed each other out; the icon stayed
    assert book.texture(icon, (143, 143)) is tile_icon
    assert book.texture(large[-1]) is book.texture(large[-1])
    assert book.texture(tmp_path / "missing.png") is None


def measure_at(book: Any, size: float) -> Any:
    def measure(text: str, script: str, bold: bool) -> float:
        return float(book.measure(text, script, bold, size))

    return measure


def test_shrinking_text_lands_where_trying_every_step_would_opening_fewer_sizes(
    sample: Kiosk,
) -> None:
    """A text whose word does not fit shrinks; the sizes the widest word cannot fit at
    are skipped (each size measured opens the font at that size, and Kivy keeps it
    open), yet it lands on the size trying every step lands on."""
    from kiosk.protocol.pack import Token
    from kiosk.ui.fonts import FontBook
    from kiosk.ui.layout import break_lines
    from kiosk.ui.textview import MIN_SHRINK, SHRINK_STEP, TokenText

    assert sample.ui.pack is not None
    cases = [  # one word each, too wide for its box at its size
        ("ตัวอักษรใหญ่", "Thai", 30.0, 120.0),
        ("ຕົວອັກສອນໃຫຍ່", "Laoo", 30.0, 150.0),
        ("Internationalisation", "Latn", 38.0, 260.0),
        ("老保国际口岸", "Hans", 52.0, 200.0),
    ]
    for text, script, size, width in cases:
        font = sample.ui.pack.font(script, False)
        assert font is not None
        tokens = (Token(t=text, s=script),)
        every_step = FontBook({(script, False): font})
        steps = [size]
        while True:
            lines = break_lines(tokens, width, measure_at(every_step, steps[-1]))
            if not any(line.split for line in lines) or steps[-1] * SHRINK_STEP < size * MIN_SHRINK:
                break
            steps.append(round(steps[-1] * SHRINK_STEP))
        book = FontBook({(script, False): font})
        widget = TokenText(
            tokens=tokens, fontbook=book, font_size=size, wrap_width=width, size_hint=(None, None)
        )
        widget.relayout_now()
        assert widget.drawn_size == steps[-1] < size, text
        opened = {size for _font, size in book.font_sizes}
        assert opened <= {size, *steps[-2:]}, f"{text}: {sorted(opened)} of {steps}"
