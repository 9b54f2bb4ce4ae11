"""What the notices' symbol fallback fonts cost: pack bytes, UI memory, layout time.

Prints:
* pack size: the sample pack built, its fallback fonts (fonts/fallback/*) each
  and together, as a share of the pack; whether a rebuild as another version
  keeps them byte-identical (then a kiosk downloads them once, ever); and the
  size the emoji font would have with whole emoji blocks instead of the list
  of common emoji (the repertoire decision, server.packs.symbols);
* UI memory (RSS) on a private Xvfb: the sample pack on the attract loop with
  a notice in plain text in five languages (baseline), then the same notice
  with the field report's symbols (→ ⚠ ① № 📞 ⛔ ✅ 🚧 🚫: the fallback fonts
  opened), and the difference;
* layout time: every text of every page in every language measured and broken
  into lines through the fallback chain, against the same without it (a run
  is one font: the baseline), median of several passes, and the ratio.

    .venv/bin/python bench/notice_glyphs.py [--passes 5]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from ui import memory_kib, settle, start_kivy  # noqa: E402

SAMPLE = REPO / "content_packs" / "lao-bao"
PLAIN = {
    "vi": "Đường 9 tạm dừng 24 giờ, đi Đường 12",
    "en": "Route 9 closed for 24 hours, take Route 12",
    "lo": "ທາງ 9 ປິດ 24 ຊົ່ວໂມງ ໃຫ້ໄປທາງ 12",
    "th": "ทาง 9 ปิด 24 ชั่วโมง ไปทาง 12",
    "zh": "9号路暂停24小时，请走12号路",
}
SYMBOLS = {
    "vi": "Đường 9 → đi Đường 12 ⚠ Tạm dừng ① 24h — №5",
    "en": "Route 9 → Route 12 ⚠ Closed ① 24 h — №5 ⛔ 📞 113 ✅",
    "lo": "ທາງ 9 → ທາງ 12 ⚠ ປິດ ① 24 ຊມ — №5 📞 1900 1234",
    "th": "ทาง 9 → ทาง 12 ⚠ ปิด ① 24 ชม. — №5 🚧",
    "zh": "9号路 → 12号路 ⚠ 暂停 ① 24小时 — №5 🚫",
}


def pack_sizes(tmp: Path) -> dict[str, Any]:
    from kiosk.protocol.glyphs import FALLBACK_FONT_DIR
    from server.packs import fonts
    from server.packs.build import build_pack
    from server.packs.symbols import FALLBACK_SOURCES, SYMBOL_BLOCKS

    cache = tmp / "font-cache"
    one = build_pack(SAMPLE, tmp / "v1", version=1, font_cache=cache).manifest
    two = build_pack(SAMPLE, tmp / "v2", version=2, font_cache=cache).manifest
    fallback = {f.path: f.length for f in one.files if f.path.startswith(FALLBACK_FONT_DIR)}
    same = {f.path: f.sha256 for f in one.files if f.path in fallback} == {
        f.path: f.sha256 for f in two.files if f.path in fallback
    }
    # the alternative: Symbola with the whole emoji blocks, not the common list
    blocks = {cp for low, high in SYMBOL_BLOCKS for cp in range(low, high + 1)}
    emoji_blocks = {
        cp
        for low, high in ((0x1F300, 0x1F64F), (0x1F680, 0x1F6FF), (0x1F900, 0x1F9FF))
        for cp in range(low, high + 1)
    }
    earlier = set().union(*(fonts.coverage_of(src) for src in FALLBACK_SOURCES[:-1]))
    symbola = FALLBACK_SOURCES[-1]
    whole = (blocks | emoji_blocks) - earlier - fonts.coverage("Latn")
    whole_bytes = len(fonts.subset_font(symbola, whole | {0x20}, cache))
    return {
        "total": one.total_bytes,
        "fallback": fallback,
        "identical_across_versions": same,
        "symbola_whole_blocks": whole_bytes,
    }


def ui_memory_and_layout(pack: Path, passes: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        window = start_kivy((1920, 1080), Path(tmp) / "kivy")
        from kivy.base import EventLoop

        from kiosk.config import UiConfig
        from kiosk.local import Notice
        from kiosk.ui.controller import KioskUi
        from kiosk.ui.fonts import FontBook
        from kiosk.ui.layout import break_lines

        ui = KioskUi(pack, UiConfig(), Path(tmp) / "work")
        window.add_widget(ui.root)
        ui.load_now()
        assert ui.pack is not None and ui.fontbook is not None, ui.error
        expires = time.time() + 3600
        ui.set_notice(Notice(id="plain", text=PLAIN, expires=expires))
        settle()
        plain = memory_kib()
        ui.set_notice(Notice(id="symbols", text=SYMBOLS, expires=expires))
        for _ in range(3):
            EventLoop.idle()
        settle()
        symbols = memory_kib()
        missing = ui.overlay.missing_glyphs()
        names = {str(path): rel for rel, path in ui.pack.paths.items()}
        fonts_open = sorted({names.get(f, Path(f).name) for f, _size in ui.fontbook.font_sizes})

        book = ui.fontbook
        texts = []
        for (page_id, lang), _data in ui.pack.docs.items():
            for block in ui.pack.doc(page_id, lang).blocks:
                for attr in ("text", "caption"):
                    if getattr(block, attr, None):
                        texts.append(getattr(block, attr))
                for item in getattr(block, "items", ()):
                    texts.append(item)

        class OneFont(FontBook):  # the baseline: every run drawn with its own font only
            def segments(self, text: str, script: str, bold: bool) -> Any:
                return ((text, self.font_file(script, bold)),) if text else ()

        fonts = {k: Path(v) for k, v in book._fonts.items()}
        chained = FontBook(fonts, [Path(f) for f in book.fallbacks])
        single = OneFont(fonts)

        def lay_out(b: FontBook) -> float:
            started = time.perf_counter()
            for tokens in texts:
                break_lines(tokens, 1500, lambda t, s, bold: b.measure(t, s, bold, 34))
            return time.perf_counter() - started

        lay_out(chained), lay_out(single)  # fonts opened, widths cached: measure the rest
        with_chain, warm, without = [], [], []
        for _ in range(passes):
            chained._segments.clear()  # a first visit: every text cut into segments
            with_chain.append(lay_out(chained))
            warm.append(lay_out(chained))  # a visit again: segments kept
            without.append(lay_out(single))
        return {
            "plain": plain,
            "symbols": symbols,
            "missing": missing,
            "fonts_open": fonts_open,
            "texts": len(texts),
            "with_chain": statistics.median(with_chain),
            "warm": statistics.median(warm),
            "without": statistics.median(without),
        }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--passes", type=int, default=5)
    args = parser.parse_args()
    from kiosk.ui.xvfb import Xvfb

    with tempfile.TemporaryDirectory() as tmp:
        sizes = pack_sizes(Path(tmp))
        with Xvfb(1920, 1920) as display:
            os.environ["DISPLAY"] = display
            r = ui_memory_and_layout(Path(tmp) / "v1", args.passes)

    kib = 1024
    total, fallback = sizes["total"], sizes["fallback"]
    print(f"sample pack lao-bao: {total / kib / kib:.2f} MiB")
    for path, length in fallback.items():
        print(f"  {path}: {length / kib:.0f} KiB")
    share = sum(fallback.values()) / total
    print(
        f"  fallback fonts together: {sum(fallback.values()) / kib:.0f} KiB = {share:.1%} of the pack"
        f"; byte-identical in a rebuilt version: {sizes['identical_across_versions']}"
    )
    print(
        f"  (Symbola with whole emoji blocks instead of the common list: "
        f"{sizes['symbola_whole_blocks'] / kib:.0f} KiB)"
    )
    plain, symbols = r["plain"], r["symbols"]
    print(
        f"UI RSS with a plain five-language notice: {plain['VmRSS'] / kib:.1f} MiB; with the "
        f"symbols: {symbols['VmRSS'] / kib:.1f} MiB "
        f"(+{(symbols['VmRSS'] - plain['VmRSS']) / kib:.1f} MiB; anon "
        f"+{(symbols['RssAnon'] - plain['RssAnon']) / kib:.1f}, file "
        f"+{(symbols['RssFile'] - plain['RssFile']) / kib:.1f})"
    )
    print(f"  glyphs not drawn, per language: {r['missing']}")
    print(f"  font files open: {', '.join(r['fonts_open'])}")
    print(
        f"layout of {r['texts']} page texts (widths cached): one font per run (baseline) "
        f"{r['without'] * 1000:.1f} ms; through the chain, first visit "
        f"{r['with_chain'] * 1000:.1f} ms (ratio {r['with_chain'] / r['without']:.2f}), "
        f"again {r['warm'] * 1000:.1f} ms (ratio {r['warm'] / r['without']:.2f})"
    )
    digest = hashlib.sha256(repr(sorted(fallback.items())).encode()).hexdigest()[:12]
    print(f"(fallback set {digest})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
