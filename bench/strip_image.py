"""Two different pictures sharing one composited strip of a third (issue 13's negative: the tuxmath backgrounds are
one lunar foreground composited under different space pictures): every match of two such composites is a false
positive, while each composite against its own background is a copy (the background covered along one edge).

    python bench/strip_image.py --media-dir ../shared/media-dev --split tune

For each photo of the split and the next one in the list (the last wraps to the first), a strip of a third photo
is composited along the same edge of both: the same rows of the same picture, the same share (15-40% of the side),
the same outline (straight, or a smooth horizon), on canvases of one size. The third photo comes from a quarter of
the split that holds neither of the two nor their neighbours. Rows: any photos; the split's dark photos against each
other, the strip along the bottom under a horizon (``bench/dark_image.py``'s dark photos: a black sky beyond the
strip shows no line to tell it from); and products on white cut from those dark composites
(``medialayer.synthetic.product_on_white``, as ``bench/art_image.py --designs`` draws them). Parameters are drawn per
pair, off any grid. None of these values is a constant of the matcher. Run it on a ``git archive`` of another commit
for a side by side.
"""
from __future__ import annotations

import argparse
import itertools
import math
import os
import random
import sys

from PIL import Image, ImageDraw

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root
from bench.collage_image import _cover, _key  # noqa: E402
from bench.dark_image import _dark  # noqa: E402
from bench.edits_image import _fraction, jpeg_fingerprint  # noqa: E402
from bench.quality_image import load_sources  # noqa: E402

from medialayer.synthetic import image as synthetic  # noqa: E402
from medialayer.matchers.image import MATCHER  # noqa: E402

EDGES = ("bottom", "top", "left", "right")


def _strip_mask(width: int, height: int, edge: str, share: float, wavy: bool, rng: random.Random) -> Image.Image:
    """White where the strip lies: ``share`` of the side along ``edge``, its inner outline straight or a smooth
    horizon (two low waves of up to 3% of the side)."""
    along, across = (width, height) if edge in ("bottom", "top") else (height, width)
    waves = [(rng.uniform(0, 0.03 * across) * wavy, rng.uniform(0.5, 3.0), rng.uniform(0, 2 * math.pi))
             for _ in range(2)]
    depth = [share * across + sum(a * math.sin(2 * math.pi * f * t / along + p) for a, f, p in waves)
             for t in range(along + 1)]
    outline = [(t, across - d) for t, d in enumerate(depth)] + [(along, across), (0, across)]  # (along the bottom)
    mask = Image.new("L", (along, across), 0)
    ImageDraw.Draw(mask).polygon(outline, fill=255)
    turn = {"bottom": None, "top": Image.Transpose.FLIP_TOP_BOTTOM, "right": Image.Transpose.TRANSPOSE,
            "left": Image.Transpose.TRANSVERSE}[edge]
    return mask if turn is None else mask.transpose(turn)


def _strip_pair(first: Image.Image, second: Image.Image, third: Image.Image, rng: random.Random,
                edge: str | None = None, wavy: bool | None = None) -> tuple[Image.Image, Image.Image]:
    """``first`` and ``second`` on one canvas size, each under the same strip of ``third``."""
    width = rng.randint(800, 1280)
    height = round(width * rng.uniform(0.6, 1.2))
    edge = edge or rng.choice(EDGES)
    mask = _strip_mask(width, height, edge, rng.uniform(0.15, 0.40), rng.random() < 0.5 if wavy is None else wavy, rng)
    strip = _cover(third, width, height, rng)
    composites = []
    for background in (first, second):
        canvas = _cover(background, width, height, rng)
        canvas.paste(strip, (0, 0), mask)
        composites.append(canvas)
    return composites[0], composites[1]


def _third(images: list[Image.Image], i: int, j: int, rng: random.Random) -> Image.Image:
    """A photo for the strip of pair (i, j): from the quarter of the list two places on from i, neither of the
    pair nor a neighbour of either."""
    n = len(images)
    near = {(k + d) % n for k in (i, j) for d in (-1, 0, 1)}
    return images[rng.choice([k for k in range(n) if k % 4 == (i + 2) % 4 and k not in near])]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--media-dir", required=True)
    parser.add_argument("--split", default="report", choices=("tune", "report"))
    args = parser.parse_args(argv)
    sources = load_sources(args.media_dir, args.split)  # (as bench/collage_image.py: paintings too)
    images = [Image.open(source["path"]).convert("RGB") for source in sources]
    dark = [k for k, source in enumerate(sources) if _dark(source)]
    print(f"split {args.split}: {len(images)} photos, {len(dark)} dark", flush=True)
    print("| composites | copies matched (each against its background) |"
          " two pictures under one strip, matched (false positives) |\n|---|---|---|", flush=True)
    rows = {
        "strip along one edge, any photos": [(i, (i + 1) % len(images), {}) for i in range(len(images))],
        "dark photos, strip along the bottom": [(i, j, {"edge": "bottom", "wavy": True})
                                                for i, j in itertools.combinations(dark, 2)],
    }
    originals: dict[int, object] = {}  # (fingerprinted once, when first needed)
    false_positives = []
    for name, pairs in rows.items():
        drawn = []
        for i, j, kind in pairs:
            rng = random.Random(_key(images[i]) + _key(images[j]) + name.encode())
            drawn.append((i, j, _strip_pair(images[i], images[j], _third(images, i, j, rng), rng, **kind)))
        variants = {name: drawn}
        if name.startswith("dark"):
            variants["products on white cut from those"] = [
                (i, j, tuple(synthetic.product_on_white(image, 2 * seed + k) for k, image in enumerate(pair)))
                for seed, (i, j, pair) in enumerate(drawn)]
        for label, composites in variants.items():
            copies, negatives = [], []
            for i, j, (first, second) in composites:
                fingerprints = [jpeg_fingerprint(image) for image in (first, second)]
                if not label.startswith("products"):  # (a product is cut from the composite: no background copy)
                    for k, fingerprint in zip((i, j), fingerprints):
                        if k not in originals:
                            originals[k] = jpeg_fingerprint(images[k])
                        copies.append(MATCHER.compare(originals[k], fingerprint).match)
                result = MATCHER.compare(*fingerprints)
                negatives.append(result.match)
                if result.match:
                    false_positives.append(f"{label}: {sources[i]['name']} / {sources[j]['name']}: "
                                           f"{result.similarity_score:.3f} {result.confidence}")
            print(f"| {label} | {_fraction(copies)} | {_fraction(negatives)} |", flush=True)
    print("\nFalse positives:" if false_positives else "\nNo false positive.", *false_positives, sep="\n")


if __name__ == "__main__":
    main()
