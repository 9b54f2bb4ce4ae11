"""Urgent notices every traveller can read: no box for an arrow, ⚠, ① or an emoji,
every language on the attract screen, a fallback language marked as such, and an
acknowledgement that says how many characters were not drawn.

Glyphs are checked twice: each drawn piece's characters against its font's
character map, and each character rendered alone against the font's .notdef box.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from uikit import Kiosk, install

from kiosk.local import Notice

#: the notice of the field report, and its like in the other four languages
HOSTILE = {
    "vi": "Đường 9 → đi Đường 12 ⚠ Tạm dừng ① 24h — №5",
    "en": "Route 9 → Route 12 ⚠️ Closed ① 24 h — №5 ⛔ Call 📞 113 ✅",
    "lo": "ທາງ 9 → ທາງ 12 ⚠ ປິດ ① 24 ຊມ — №5 ໂທ 📞 +856 20 5555 1234",
    "th": "ทาง 9 → ทาง 12 ⚠ ปิด ①–⑳ 24 ชม. — №5 🚧 ±2 °C",
    "zh": "9号路 → 12号路 ⚠️ 暂停 ① 24小时 — №5 🚫",
}


@pytest.fixture
def kiosk(window: Any, built_sample: Path, tmp_path: Path) -> Iterator[Kiosk]:
    install(tmp_path / "state", built_sample, "lao-bao-1")
    k = Kiosk(window, tmp_path / "state", tmp_path / "work")
    yield k
    k.close()


def post(kiosk: Kiosk, text: dict[str, str], notice_id: str = "n1") -> None:
    kiosk.channel.write_notice(Notice(id=notice_id, text=text, expires=kiosk.time.now + 600))
    kiosk.link.poll()
    kiosk.frames()


def font_names(kiosk: Kiosk) -> dict[str, str]:
    """Font file Kivy opens -> its path in the pack (fonts/Laoo-Regular.ttf, ...)."""
    pack = kiosk.ui.pack
    assert pack is not None
    return {str(path): Path(rel).name for rel, path in pack.paths.items()}


def pieces(kiosk: Kiosk) -> list[tuple[str, str]]:
    """(text, font file) of every piece drawn in the notice's bodies."""
    return [
        (run.text, font)
        for _lang, body in kiosk.ui.overlay.bodies
        for _l, run, font, *_r in body.drawn
    ]


def notdef_free(pieces: list[tuple[str, str]], size: float = 48) -> list[str]:
    """Characters drawn as a box: not in their font's cmap, or rendered like .notdef."""
    from kivy.core.text import Label as CoreLabel

    from kiosk.protocol.glyphs import drawable
    from kiosk.ui.fonts import SPLIT_BY_SHAPER, _render, character_map

    def pixels(font: str, text: str) -> bytes | None:
        rendered = _render(CoreLabel(text=text, font_name=font, font_size=size))
        return None if rendered is None else rendered[2][3::4]

    boxes = []
    for text, font in pieces:
        cmap = character_map(font)
        box = pixels(font, "\ue000")  # a private-use character no font has: .notdef
        assert box and any(box), f"{font} has no visible .notdef to compare with"
        for ch in drawable(text):
            if ch.isspace():
                continue
            needed = SPLIT_BY_SHAPER.get(ch, ch)
            if any(ord(c) not in cmap for c in needed) or pixels(font, ch) == box:
                boxes.append(ch)
    return boxes


def test_the_fallback_chain_draws_a_lao_line_with_an_arrow_and_a_phone_number(
    kiosk: Kiosk,
) -> None:
    """Unit of the chain: Lao with the Lao font, the arrow and ⚠ from the symbol
    fonts, the Latin phone number with the Latin font, nothing left over."""
    from kiosk.ui.plaintext import text_tokens

    book = kiosk.ui.fontbook
    assert book is not None and len(book.fallbacks) == 4
    line = "ໂທ → ⚠ +856 20 5555 1234 ✅"
    segments = [
        seg for tok in text_tokens(line, "lo") for seg in book.segments(tok.t, tok.s, tok.b)
    ]
    names = font_names(kiosk)
    by_font: dict[str, list[str]] = {}
    for text, font in segments:
        if text.strip():
            by_font.setdefault(names[font], []).append(text.strip())
    assert by_font["Laoo-Regular.ttf"] == ["ໂທ"]
    assert "+856 20 5555 1234" in " ".join(by_font["Latn-Regular.ttf"])
    symbols = {
        name: texts for name, texts in by_font.items() if name.startswith(("1-", "2-", "3-", "4-"))
    }
    assert sorted(t for texts in symbols.values() for t in texts) == ["→", "⚠", "✅"]
    assert "✅" in by_font["4-Symbola.ttf"]  # the emoji face comes last
    assert not any(book.missing(tok.t, tok.s, tok.b) for tok in text_tokens(line, "lo"))
    # a pack without fallback fonts would draw three boxes, and says so
    from kiosk.ui.fonts import FontBook

    bare = FontBook(
        {
            ("Laoo", False): Path(book.font_file("Laoo", False)),
            ("Latn", False): Path(book.font_file("Latn", False)),
        }
    )
    assert [c for tok in text_tokens(line, "lo") for c in bare.missing(tok.t, tok.s, tok.b)] == [
        "→",
        "⚠",
        "✅",
    ]


def test_a_hostile_notice_is_drawn_without_a_box_in_every_language(kiosk: Kiosk) -> None:
    post(kiosk, HOSTILE)
    overlay = kiosk.ui.overlay
    assert overlay.parent is not None and overlay.stacked  # short: all five at once
    assert [lang for lang, _w in overlay.bodies] == ["vi", "en", "lo", "th", "zh"]
    drawn = pieces(kiosk)
    assert notdef_free(drawn) == []
    fonts = {font_names(kiosk)[font] for _t, font in drawn}
    assert {"2-NotoSansSymbols2.ttf", "4-Symbola.ttf"} <= fonts
    assert overlay.missing_glyphs() == dict.fromkeys(HOSTILE, 0)
    kiosk.screenshot("notice-hostile-stacked")
    # every language the traveller may choose: their own text, no box
    for lang in HOSTILE:
        kiosk.ui.touched()
        kiosk.ui.choose_language(lang)
        kiosk.frames()
        assert overlay.lang == lang and not overlay.fallback and not overlay.note
        assert notdef_free(pieces(kiosk)) == []
        kiosk.screenshot(f"notice-hostile-{lang}")
        kiosk.ui.show_attract()


def test_a_character_no_font_has_is_counted_not_hidden(kiosk: Kiosk) -> None:
    """鬱 is not among the pack's Chinese characters (GB 2312 level 1 + its text):
    the kiosk cannot draw it and says so (the server refuses it before sending)."""
    post(kiosk, {"vi": "Đóng cửa", "zh": "关闭 鬱 鬱"})
    assert kiosk.ui.overlay.missing_glyphs() == {"vi": 0, "zh": 2}
    shown = kiosk.channel.read_notice_shown()
    assert shown is not None and shown.id == "n1" and shown.missing_glyphs == {"vi": 0, "zh": 2}


def test_on_the_attract_loop_a_long_notice_takes_turns_with_the_loop(kiosk: Kiosk) -> None:
    long = {lang: " ".join([text] * 7) for lang, text in HOSTILE.items()}
    post(kiosk, long)
    ui, overlay = kiosk.ui, kiosk.ui.overlay
    assert overlay.parent is not None and not overlay.stacked
    assert ui.attract.line_seconds > 6  # the loop waits for a reader
    seen: list[str] = []
    for _ in range(2 * len(long)):  # (the loop's own timer may also turn meanwhile)
        assert overlay.lang == ui.attract.lang  # in step with the loop's language
        assert [lang for lang, _w in overlay.bodies] == [ui.attract.lang]
        if overlay.lang not in seen:
            assert notdef_free(pieces(kiosk)) == []
            seen.append(overlay.lang)
            kiosk.screenshot(f"notice-attract-turn-{overlay.lang}")
        if len(seen) == len(long):
            break
        ui.attract.next_line()
        kiosk.frames()
    assert sorted(seen) == sorted(long)
    # the notice gone, the loop has its own pace back
    kiosk.time.advance(601)
    kiosk.link.poll()
    assert overlay.parent is None and ui.attract.line_seconds == 3.0


def test_a_missing_language_falls_back_to_vietnamese_then_english_marked(kiosk: Kiosk) -> None:
    ui, overlay = kiosk.ui, kiosk.ui.overlay
    post(kiosk, {"vi": "Cửa khẩu đóng lúc 17:00 → Đường 12", "en": "The gate closes at 17:00"})
    ui.touched()
    ui.choose_language("lo")
    kiosk.frames()
    assert overlay.lang == "vi" and overlay.fallback
    note = "".join(t.t for t in overlay.note)
    assert note.startswith("ແຈ້ງການນີ້ບໍ່ມີເປັນພາສາລາວ") and note.endswith("Tiếng Việt")
    kiosk.screenshot("notice-fallback-lo-reads-vi")
    ui.show_language()
    ui.choose_language("en")
    kiosk.frames()
    assert overlay.lang == "en" and not overlay.fallback and not overlay.note
    ui.show_attract()
    post(kiosk, {"en": "The gate closes at 17:00", "th": "ด่านปิด 17:00"}, "n2")
    ui.touched()
    ui.choose_language("zh")
    kiosk.frames()
    assert overlay.lang == "en" and overlay.fallback  # no Vietnamese: English
    assert "".join(t.t for t in overlay.note).endswith("English")


def test_the_acknowledgement_carries_the_glyphs_not_drawn(kiosk: Kiosk, tmp_path: Path) -> None:
    """The agent's command runner writes the notice, waits for the screen to show
    it, and acknowledges with 0 characters missing in every language."""
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from kiosk.agent.outbox import Outbox
    from kiosk.agent.remote import Actions, CommandRunner
    from kiosk.protocol.payloads import Command, CommandAck, command_signing_bytes

    key = Ed25519PrivateKey.generate()
    box = Outbox(tmp_path / "outbox.db")
    noop = Actions(lambda: None, lambda: None, lambda _b: None, lambda _t: None)
    now = kiosk.time.now
    runner = CommandRunner("lb-01", key.public_key(), box, kiosk.channel, noop, clock=lambda: now)
    cmd = Command(
        cmd_id="c1",
        op="notice",
        args={"id": "n9", "text": HOSTILE, "expires": now + 600},
        kiosk="lb-01",
        iat=now,
        exp=now + 60,
    )
    cmd = cmd.model_copy(
        update={"sig": base64.b64encode(key.sign(command_signing_bytes(cmd))).decode()}
    )
    kiosk.link.write_health()
    result: list[str] = []
    worker = threading.Thread(target=lambda: result.append(runner.handle(cmd.to_bytes())))
    worker.start()
    kiosk.wait(lambda: kiosk.channel.read_notice() is not None, "the notice file")
    kiosk.link.poll()  # the UI's next look at the channel
    worker.join(10)
    assert result == ["done"]
    acks = [CommandAck.model_validate_json(r.body) for r in box.pending(0, 10)]
    done = acks[-1]
    assert done.state == "done" and done.reason == "notice shown"
    assert done.missing_glyphs == dict.fromkeys(HOSTILE, 0)
    box.close()
