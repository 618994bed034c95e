"""Recall and false positives of the image matcher on a family of edits the quality bench does not generate,
at the matcher's own decision, on one split's images. The family files (``bench/stretch_image.py``, ...) name
their edits and call ``main``; this module is their shared runner.

Each image of the split is saved as a JPEG q85 file and compared with every edit of it (a copy: counted as
found or missed). Each edit is also applied to the split's next image (the list's order, the last wraps to the
first; the awkward neighbours, such as photos of one series, are kept) and that is compared with the image (a
different picture under the same edit) and with the image's own edit (two different pictures under one edit,
the negative an overlay makes hardest). Every match of a negative is a false positive. ``--designs`` adds the
split's flat designs and products on white, drawn as the quality bench draws them (``make_artwork``) into a
temporary folder. Run a family file on a ``git archive`` of another commit for a side by side. ``--order
copy-first`` compares each pair the other way round (the edit first, the edited picture of the pair first for the
negatives; a pairs file may hold either order), ``--order both`` prints a row of each order per edit.
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
from typing import Callable

from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root
from bench.quality_image import load_sources, make_artwork  # noqa: E402

from medialayer.limits import Limits  # noqa: E402
from medialayer.matchers.image import MATCHER  # noqa: E402
from medialayer.media import Blob  # noqa: E402

Edit = Callable[[Image.Image], Image.Image]
ORDERS = ("original-first", "copy-first")  # which picture of a pair compare() gets first


def jpeg_fingerprint(image: Image.Image, quality: int = 85):
    data = io.BytesIO()
    image.convert("RGB").save(data, "JPEG", quality=quality)
    return MATCHER.fingerprint(Blob(data=data.getvalue()), Limits())


def _matched(order: str, original, copy) -> bool:
    """compare()'s decision on the pair, given in ``order``."""
    return (MATCHER.compare(original, copy) if order == ORDERS[0] else MATCHER.compare(copy, original)).match


def _fraction(found: list[bool]) -> str:
    return f"{sum(found)} of {len(found)} ({sum(found) / len(found):.3f})" if found else "-"


def main(edits: dict[str, Edit], doc: str, argv=None, are_copies: bool = True) -> None:
    """Run a family of ``edits`` (each a copy of the picture, or with ``are_copies`` off, each a negative: a picture
    edited so it is no copy, whose matches are false positives)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--media-dir", required=True)
    parser.add_argument("--split", default="report", choices=("tune", "report"))
    parser.add_argument("--no-negatives", action="store_true", help="copies only (a third of the work)")
    parser.add_argument("--only", nargs="*", help="the edits to run (names as printed); all by default")
    parser.add_argument("--designs", action="store_true", help="the split's flat designs and products on white too")
    parser.add_argument("--order", choices=ORDERS + ("both",), default=ORDERS[0],
                        help="which picture of each pair compare() gets first")
    args = parser.parse_args(argv)
    chosen = {name: edit for name, edit in edits.items() if not args.only or name in args.only}
    sources = load_sources(args.media_dir, args.split)
    with tempfile.TemporaryDirectory() as folder:
        designs = make_artwork(sources, folder, args.split) if args.designs else []
        images = [Image.open(source["path"]).convert("RGB") for source in sources + designs]
    originals = [jpeg_fingerprint(image) for image in images]
    print(f"split {args.split}: {len(images)} images, {len(chosen)} edits, {args.order}", flush=True)
    edited_column = "copies matched" if are_copies else "the picture edited, matched (false positives)"
    print(f"| edit | {edited_column} | another picture edited, matched (false positives) |"
          " two pictures both edited, matched (false positives) |\n|---|---|---|---|", flush=True)
    orders = ORDERS if args.order == "both" else (args.order,)
    for name, edit in chosen.items():
        edited = [jpeg_fingerprint(edit(image)) for image in images]
        for order in orders:
            copies = [_matched(order, original, copy) for original, copy in zip(originals, edited)]
            other, both = [], []
            if not args.no_negatives and len(images) > 1:
                shifted = edited[1:] + edited[:1]
                other = [_matched(order, original, copy) for original, copy in zip(originals, shifted)]
                both = [_matched(order, mine, theirs) for mine, theirs in zip(edited, shifted)]
            label = name if len(orders) == 1 else f"{name}, {order}"
            print(f"| {label} | {_fraction(copies)} | {_fraction(other)} | {_fraction(both)} |", flush=True)
