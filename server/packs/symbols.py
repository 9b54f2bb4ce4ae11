"""The symbol fallback fonts a pack carries for urgent notices.

A notice is typed at run time, by a duty officer on a phone or a desk
computer, so the pack cannot know its characters. Besides the scripts'
fonts (server.packs.fonts, whose Latin face now keeps the whole of its
punctuation, currency, letterlike and number-form blocks: №, ℃, ‰, ½, ₭),
every pack carries a chain of symbol fonts, subset to one fixed repertoire:

1. Noto Sans Symbols   circled numbers ①–⑳ ❶–❿ ⓐ, 🅿, ⛽, ...
2. Noto Sans Symbols 2 arrows ➡ ⬅, ⚠ ⛔ ☎ ✓ ✗ ★ ● ■ ▲ ♿ ⚡ ☀ ❄ ✈, 🟢 🟥
3. Noto Sans Math      arrows → ⇒ ↔, ≤ ≥ ≠ ≈ ± and the rest of the operators
4. Symbola             the emoji officers paste from a phone (monochrome)

The repertoire is decided by what duty officers type: whole blocks of text
symbols (arrows, enclosed numbers, geometric shapes, miscellaneous symbols,
dingbats, miscellaneous technical, mathematical operators) and a list of
emoji about what notices are about (closures and warnings, transport,
weather, time, places, papers and money, communication, pointing hands,
a few faces and hearts), with flags' regional letters and keycaps. Each
font keeps only what no font before it in the chain (the Latin face
included) draws, so nothing is carried twice.

The subsets depend on the fonts and this repertoire only, never on a pack's
text: every pack and every version carries byte-identical files, so a
kiosk downloads them once (content addressing). bench/notice_glyphs.py
measures the bytes and the UI memory they cost.
Debian: fonts-noto-core (Noto), fonts-symbola (Symbola).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path

from kiosk.protocol.glyphs import FALLBACK_FONT_DIR
from server.packs.fonts import FontSource, coverage_of, shaping_closure, subset_font


def _fallback(order: int, name: str, files: tuple[str, ...], package: str) -> FontSource:
    # the pack's path names the order: kiosks try the fallback fonts in path order
    return FontSource(
        "Zsym", name, files, out=f"{FALLBACK_FONT_DIR}{order}-{name}.ttf", package=package
    )


FALLBACK_SOURCES: tuple[FontSource, ...] = (
    _fallback(1, "NotoSansSymbols", ("NotoSansSymbols-Regular.ttf",), "fonts-noto-core"),
    _fallback(2, "NotoSansSymbols2", ("NotoSansSymbols2-Regular.ttf",), "fonts-noto-core"),
    _fallback(3, "NotoSansMath", ("NotoSansMath-Regular.ttf",), "fonts-noto-core"),
    _fallback(4, "Symbola", ("Symbola_hint.ttf", "Symbola.ttf"), "fonts-symbola"),
)

#: blocks of text symbols kept whole (everything the chain's fonts have in them)
SYMBOL_BLOCKS: tuple[tuple[int, int], ...] = (
    (0x2000, 0x206F),  # general punctuation: ‰ ′ ″ ‼ ⁉
    (0x2070, 0x209F),  # superscripts and subscripts
    (0x20A0, 0x20CF),  # currency: ₫ ₭ € ฿
    (0x20D0, 0x20FF),  # combining marks for symbols: the keycap ⃣ of 1️⃣
    (0x2100, 0x214F),  # letterlike: № ℃ ™ ℹ
    (0x2150, 0x218F),  # number forms: ½ ⅓ Ⅻ
    (0x2190, 0x21FF),  # arrows
    (0x2200, 0x22FF),  # mathematical operators: ≤ ≥ ≠ ≈
    (0x2300, 0x23FF),  # miscellaneous technical: ⌛ ⏰ ⏳ ⏩
    (0x2460, 0x24FF),  # enclosed alphanumerics: ① ⑳ ⓐ ⓪
    (0x25A0, 0x25FF),  # geometric shapes: ● ■ ▲ ▶
    (0x2600, 0x26FF),  # miscellaneous symbols: ⚠ ⛔ ☎ ☀ ⛽ ♿
    (0x2700, 0x27BF),  # dingbats: ✓ ✗ ✈ ❶ ➡ ❌ ❗
    (0x27F0, 0x27FF),  # supplemental arrows-A: ⟶
    (0x2B00, 0x2BFF),  # miscellaneous symbols and arrows: ⬅ ⬆ ⭐ ⭕
    (0x1F100, 0x1F1FF),  # enclosed alphanumeric supplement: 🅿 🆘 🆗, flags' letters
    (0x1F780, 0x1F7FF),  # geometric shapes extended: 🟢 🟥
)

#: emoji duty officers paste into notices, beyond the blocks above
COMMON_EMOJI = (
    # closures, warnings, safety
    "🚫🛑🚧🔥💥☢☣🔞📵🚭🚯🚱🚳🚷🚸🆘🆗🆕🆓🔴🟠🟡🟢🔵⚫⚪"
    # transport and the crossing
    "🚗🚕🚙🚌🚎🚐🚑🚒🚓🚔🚚🚛🚜🏍🛵🚲🛴🚶🏃✈🛫🛬🚁🚂🚆🚉🚏⛽🚦🚥🛣🛤🅿🚢⛴🛳🚤⚓🛂🛃🛄🛅♿🚻🚹🚺🚼🚾"
    # places
    "🏥🏨🏦🏧🏪🏛🏠🏢🏫🏬🏤🗺📍📌🚩🏁⛺🌉⛰🏞🌐"
    # weather and time
    "☀🌤⛅☁🌧⛈🌩🌨❄☃🌪🌫🌊💧☔☂🌡🌙⭐🌟⏰⏱⏲⌚⌛⏳📅📆🗓"
    "🕐🕑🕒🕓🕔🕕🕖🕗🕘🕙🕚🕛🕜🕝🕞🕟🕠🕡🕢🕣🕤🕥🕦🕧"
    # communication
    "📞☎📱📲📧✉📨📩📢📣🔔🔕📶📡💬🗨🔗📷📹🔒🔓🔑🔌🔋💡🔦"
    # papers and money
    "📄📃📋📝✏🖊📎📑💳💵💴💶💷💰"
    # hands and people
    "👉👈👆👇☝👍👎👋👏🙏✋✌👌👀👤👥👨👩👶👮💂👷"
    # health
    "😷💊💉🤒🤕⚕"
    # faces and hearts people put in friendly notices
    "😀😃😄😊🙂😉😢😭😡😱❤💙💚💛💔"
    # arrows and signs in emoji form
    "🔄🔃🔙🔚🔛🔜🔝🔼🔽🔶🔷🔸🔹🔺🔻"
)


@cache
def repertoire() -> frozenset[int]:
    """Every character the fallback chain keeps (where its fonts have it)."""
    chars = {cp for low, high in SYMBOL_BLOCKS for cp in range(low, high + 1)}
    chars.update(ord(ch) for ch in COMMON_EMOJI)
    chars.update(range(0x30, 0x3A))  # digits: the base of a keycap 1️⃣ is drawn with it
    chars.add(0x20)  # every font keeps a space
    return frozenset(chars)


def fallback_fonts(latin: Iterable[int], cache_dir: Path | None = None) -> dict[str, bytes]:
    """The symbol fallback fonts, by path in the pack, subset by server.packs.fonts:
    each keeps the repertoire's characters that neither the Latin face (`latin`: the
    characters it keeps) nor a font before it in the chain draws, plus the space
    and the digits (the base of a keycap 1️⃣ is drawn with its keycap's font)."""
    base = {0x20, *range(0x30, 0x3A)}
    left = set(repertoire()) - shaping_closure(latin) - base
    out: dict[str, bytes] = {}
    for src in FALLBACK_SOURCES:
        has = coverage_of(src)
        take = (left & has) | (base & has)
        left -= has
        out[src.out_name] = subset_font(src, take, cache_dir)
    return out
