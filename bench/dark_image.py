"""Dark pictures against each other (issue 13's dedupe regression): space photos, night skies, pictures mostly on
black share their black ground, and some a foreground (the tuxmath series' lunar horizon); copies of each must
match and every pair of two different ones must not, whatever the edit: recall and false positives at the
matcher's own decision, on one split's dark photos.

    python bench/dark_image.py --media-dir ../shared/media-dev --split tune

The dark photos of a split: those of the MANIFEST's space groups (DARK_GROUPS) and any other at least
DARK_SHARE of whose pixels are near black (under DARK_LEVEL). Each is saved as a JPEG q85 file and compared with
every edit of it (a copy), and with every edit of every other dark photo of the split (another picture edited);
every two dark photos' edits are compared too (both edited), as are the originals. Every match of two different
pictures is a false positive. The edits are the catalog dedupe bench's (a caption bar, a mirror, a quarter turn,
crops keeping 45-85% of the area at any place, a smaller copy, a black letterbox) and composites
(``bench/collage_image.py``) whose other cells hold photos that are not dark, drawn for each dark photo from a part
of them no other dark photo draws from (so that two dark photos' composites share no picture). Parameters are
drawn per photo and edit, off any grid. None of these values is a constant of the matcher. Run it on a ``git
archive`` of another commit for a side by side.
"""
from __future__ import annotations

import argparse
import itertools
import os
import random
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageOps

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root
from bench import collage_image  # noqa: E402
from bench.edits_image import _fraction, jpeg_fingerprint  # noqa: E402
from bench.quality_image import load_sources  # noqa: E402

from medialayer.matchers.image import MATCHER  # noqa: E402

DARK_GROUPS = ("photo:nasa-space", "photo:tuxmath-moon-horizon (same lunar foreground)")
DARK_SHARE, DARK_LEVEL = 0.5, 24  # of the pixels, of 255 (luminance)
CROPS = 3  # crops drawn per photo
OTHER_CELLS = 3  # other pictures a composite holds at most (a collage of 4 cells)


def _dark(source: dict) -> bool:
    if source["group"] in DARK_GROUPS:
        return True
    gray = np.asarray(Image.open(source["path"]).convert("L").resize((256, 256)))
    return bool((gray < DARK_LEVEL).mean() >= DARK_SHARE)


def _caption(image: Image.Image, rng: random.Random) -> Image.Image:
    bar = int(image.height * rng.uniform(0.08, 0.2))
    out = Image.new("RGB", (image.width, image.height + bar), "white")
    out.paste(image, (0, bar))
    ImageDraw.Draw(out).text((10, bar // 3), "when the copy detector works", fill="black")
    return out


def _crop(image: Image.Image, rng: random.Random) -> Image.Image:
    keep = rng.uniform(0.45, 0.85)  # of the area
    width, height = int(image.width * keep ** 0.5), int(image.height * keep ** 0.5)
    left, top = rng.randint(0, image.width - width), rng.randint(0, image.height - height)
    return image.crop((left, top, left + width, top + height))


def _letterbox(image: Image.Image, rng: random.Random) -> Image.Image:
    side = int(max(image.size) * rng.uniform(1.1, 1.4))
    out = Image.new("RGB", (side, side), "black")
    out.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    return out


def _smaller(image: Image.Image, rng: random.Random) -> Image.Image:
    scale = rng.uniform(0.2, 0.7)
    return image.resize((max(32, int(image.width * scale)), max(32, int(image.height * scale))))


def _quarter_turn(image: Image.Image, rng: random.Random) -> Image.Image:
    return image.transpose(rng.choice([Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_270]))


EDITS = {
    "caption bar": _caption,
    "mirror": lambda image, rng: ImageOps.mirror(image),
    "mirror + caption bar": lambda image, rng: _caption(ImageOps.mirror(image), rng),
    "quarter turn": _quarter_turn,
    **{f"crop {k + 1}": _crop for k in range(CROPS)},
    "smaller": _smaller,
    "black letterbox": _letterbox,
}
COMPOSITES = {
    "collage 2 cells": lambda image, others: collage_image._collage(image, 2, "collage 2 cells", others=others),
    "collage 3-4 cells": lambda image, others: collage_image._collage(
        image, 3 + collage_image._rng(image, "cells").randint(0, 1), "collage 3-4 cells", others=others),
    "meme 2 panels": lambda image, others: collage_image._meme(image, "meme 2 panels", others=others),
}


def _own_share(light: list, k: int, count: int) -> list:
    """Dark photo k's other cells: its own share of the light photos, so that no two dark photos' composites share
    a picture; a share too small for a collage of 4 cells is repeated (one picture in two cells, cut differently)."""
    own = light[k::count]
    return own if len(own) >= OTHER_CELLS else (own * OTHER_CELLS)[:OTHER_CELLS]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--media-dir", required=True)
    parser.add_argument("--split", default="report", choices=("tune", "report"))
    parser.add_argument("--only", nargs="*", help="the edits to run (names as printed); all by default")
    args = parser.parse_args(argv)
    sources = [source for source in load_sources(args.media_dir, args.split) if source["group"].startswith("photo:")]
    dark = [source for source in sources if _dark(source)]
    images = [Image.open(source["path"]).convert("RGB") for source in dark]
    light = [Image.open(source["path"]).convert("RGB") for source in sources if not _dark(source)]
    pools = [_own_share(light, k, len(images)) for k in range(len(images))]
    originals = [jpeg_fingerprint(image) for image in images]
    pairs = list(itertools.permutations(range(len(images)), 2))
    print(f"split {args.split}: {len(images)} dark photos ({', '.join(s['name'] for s in dark)}), "
          f"{len(light)} other photos for the composites' other cells", flush=True)
    print("| edit | copies matched | another picture edited, matched (false positives) |"
          " two pictures both edited, matched (false positives) |\n|---|---|---|---|", flush=True)
    false_positives = []

    def matched(a, b, label: str) -> bool:  # (label: the pair, for the list of false positives)
        result = MATCHER.compare(a, b)
        if result.match and label:
            false_positives.append(f"{label}: {result.similarity_score:.3f} {result.confidence}")
        return result.match

    names = [source["name"] for source in dark]
    originals_matched = [matched(originals[i], originals[j], f"{names[i]} / {names[j]}") for i, j in pairs if i < j]
    print(f"| (originals) | - | {_fraction(originals_matched)} | - |", flush=True)
    edits = {name: (lambda image, k, edit=edit, name=name: edit(image, collage_image._rng(image, name)))
             for name, edit in EDITS.items()}
    edits.update({name: (lambda image, k, edit=edit: edit(image, pools[k])) for name, edit in COMPOSITES.items()})
    for name, edit in edits.items():
        if args.only and name not in args.only:
            continue
        edited = [jpeg_fingerprint(edit(image, k)) for k, image in enumerate(images)]
        copies = [matched(original, copy, "") for original, copy in zip(originals, edited)]
        other = [matched(originals[i], edited[j], f"{names[i]} / {names[j]}, {name}") for i, j in pairs]
        both = [matched(edited[i], edited[j], f"{names[i]}, {name} / {names[j]}, {name}") for i, j in pairs if i < j]
        print(f"| {name} | {_fraction(copies)} | {_fraction(other)} | {_fraction(both)} |", flush=True)
    print("\nFalse positives:" if false_positives else "\nNo false positive.", *false_positives, sep="\n")


if __name__ == "__main__":
    main()
