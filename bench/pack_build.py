"""How fast `bgk pack build` is: the sample pack and a generated 300-picture pack.

Prints, per pack: build time, files/s, input MB/s and output size; and, as a
baseline measured in the same run, the time to merely read, hash and write
the same source bytes (what any build must at least do), with the ratio.

    .venv/bin/python bench/pack_build.py [--images 300] [--keep DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

from server.packs.build import build_pack

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "content_packs" / "lao-bao"
MINI = REPO / "tests" / "fixtures" / "packs" / "mini"


def source_bytes(root: Path) -> tuple[int, int]:
    files = [p for p in root.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def baseline(root: Path, scratch: Path) -> float:
    """Read, SHA-256 and write every source file: the floor of any build."""
    out = scratch / "baseline"
    out.mkdir()
    started = time.perf_counter()
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            (out / hashlib.sha256(data).hexdigest()).write_bytes(data)
    elapsed = time.perf_counter() - started
    shutil.rmtree(out)
    return elapsed


def photos(rng: random.Random, count: int) -> list[Image.Image]:
    """Photo-like base pictures (gradients, shapes, noise), larger than the screen."""
    bases = []
    for _ in range(count):
        size = (rng.choice([2400, 3000, 4000]), rng.choice([1600, 2000, 3000]))
        img = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
        draw = ImageDraw.Draw(img)
        for _ in range(40):
            x, y, r = rng.randrange(size[0]), rng.randrange(size[1]), rng.randrange(50, 600)
            draw.ellipse(
                (x - r, y - r, x + r, y + r), fill=tuple(rng.randrange(256) for _ in range(3))
            )
        img = img.filter(ImageFilter.GaussianBlur(3))
        bases.append(Image.blend(img, Image.effect_noise(size, 40).convert("RGB"), 0.15))
    return bases


def generated_pack(root: Path, images: int, seed: int = 7) -> Path:
    """The mini pack with `images` extra photos (all different) on its first page."""
    rng = random.Random(seed)
    pack = root / "gen"
    shutil.copytree(MINI, pack)
    bases = photos(rng, 8)
    lines = []
    for i in range(images):
        name = f"media/photo-{i:03d}.jpg"
        img = bases[i % len(bases)].copy()
        draw = ImageDraw.Draw(img)
        for _ in range(5):
            x, y = rng.randrange(img.width - 200), rng.randrange(img.height - 200)
            draw.rectangle(
                (x, y, x + 200, y + 120), fill=tuple(rng.randrange(256) for _ in range(3))
            )
        img.save(pack / name, "JPEG", quality=90)
        lines.append(f"\n![]({name})\n")
    for lang in ("vi", "en", "lo", "th", "zh"):
        path = pack / "pages" / "welcome" / f"{lang}.md"
        path.write_text(path.read_text(encoding="utf-8") + "".join(lines), encoding="utf-8")
    return pack


def measure(name: str, root: Path, scratch: Path, font_cache: Path) -> None:
    n_files, n_bytes = source_bytes(root)
    base = baseline(root, scratch)
    result = build_pack(root, scratch / f"out-{name}", font_cache=font_cache)
    secs = result.seconds
    print(
        f"{name:12s} sources {n_files:4d} files {n_bytes / 1e6:7.1f} MB | build {secs:6.2f} s "
        f"{n_files / secs:7.1f} files/s {n_bytes / 1e6 / secs:6.1f} MB/s | out {result.files} files "
        f"{result.bytes / 1e6:6.1f} MB | baseline read+hash+write {base:5.2f} s "
        f"({n_bytes / 1e6 / base:6.0f} MB/s) ratio {secs / base:6.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--keep", type=Path, help="keep the generated pack here")
    parser.add_argument("--sample", type=Path, default=SAMPLE, help="the real pack to time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        cache = scratch / "fonts"
        started = time.perf_counter()
        build_pack(args.sample, scratch / "cold", font_cache=cache)
        print(
            f"{args.sample.name}, cold font cache (subsetting every font): "
            f"{time.perf_counter() - started:.2f} s"
        )
        shutil.rmtree(scratch / "cold")
        measure(args.sample.name, args.sample, scratch, cache)
        t0 = time.perf_counter()
        gen = generated_pack(scratch, args.images)
        print(f"(generated {args.images} photos in {time.perf_counter() - t0:.1f} s)")
        measure(f"{args.images}-images", gen, scratch, cache)
        if args.keep:
            shutil.copytree(gen, args.keep, dirs_exist_ok=True)


if __name__ == "__main__":
    main()
