"""What the matcher saw in ``bench/strip_image.py``'s pairs that it matched: for each match (a strip pair, a false
positive, or a composite against its background, a copy), the verdicts of ``_seam_kind`` on the seams ``_cell``
looked at, the grid the cell was found on (b's, a's, or none) and its share of that grid, and the share of each
picture's low-pass detail (``ImageFingerprint.low_pass_detail``) inside the box of the verified inliers (the best
fit's). A measurement for round strip24 (issue 13), not a benchmark: it wraps private functions of the matcher.

    python bench/strip_evidence.py --media-dir ../shared/media-dev --split tune
"""
from __future__ import annotations

import argparse
import itertools
import os
import random
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root
from bench.collage_image import _key  # noqa: E402
from bench.dark_image import _dark  # noqa: E402
from bench.edits_image import jpeg_fingerprint  # noqa: E402
from bench.quality_image import load_sources  # noqa: E402
from bench.strip_image import _strip_pair, _third  # noqa: E402

import medialayer.matchers.image as image_matcher  # noqa: E402

seen = {"seams": [], "cells": [], "fits": []}  # what the wrapped functions saw during one compare()


def _recording(name: str, kind: str, keep):
    original = getattr(image_matcher, name)

    def wrapped(*args):
        result = original(*args)
        seen[kind].append(keep(args, result))
        return result
    setattr(image_matcher, name, wrapped)


_recording("_seam_kind", "seams", lambda args, kind: kind[0])
_recording("_cell", "cells", lambda args, found: None if found[0] is None else
           ("b" if args[7] is args[6] else "a", float(found[0].mean())))
_recording("_inlier_coverage", "fits", lambda args, _: args[:1] + args[2:])  # (inverse, inliers in b, a, b)


def _detail_in_box(fingerprint, points: np.ndarray) -> float:
    """The share of the fingerprint's low-pass detail inside the box of ``points`` (working-image pixels)."""
    detail = fingerprint.low_pass_detail.astype(float)
    n = len(detail)
    scale = [n / fingerprint.width, n / fingerprint.height]
    low = np.clip(np.floor(points.min(axis=0) * scale).astype(int), 0, n - 1)
    high = np.clip(np.ceil(points.max(axis=0) * scale).astype(int), 1, n)
    return float(detail[low[1]:high[1], low[0]:high[0]].sum() / max(detail.sum(), 1.0))


def _explain(first, second, label: str) -> None:
    for values in seen.values():
        values.clear()
    result = image_matcher.MATCHER.compare(first, second)
    if not result.match:
        return
    cells = [cell for cell in seen["cells"] if cell is not None]
    inverse, inliers_b, a, b = max(seen["fits"], key=lambda fit: len(fit[1]))  # (the fit of most inliers)
    print(f"{label}\t{result.similarity_score:.3f}\tseams {''.join(seen['seams']) or '-'}\t"
          f"cell {' '.join(f'{grid}:{share:.2f}' for grid, share in cells) or '-'}\t"
          f"detail in the inliers' box a {_detail_in_box(a, image_matcher._project(inverse, inliers_b)):.2f}"
          f" b {_detail_in_box(b, inliers_b):.2f}", flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--media-dir", required=True)
    parser.add_argument("--split", default="tune", choices=("tune", "report"))
    args = parser.parse_args(argv)
    sources = load_sources(args.media_dir, args.split)
    images = [Image.open(source["path"]).convert("RGB") for source in sources]
    dark = [k for k, source in enumerate(sources) if _dark(source)]
    rows = {  # (as bench/strip_image.py draws them)
        "strip along one edge, any photos": [(i, (i + 1) % len(images), {}) for i in range(len(images))],
        "dark photos, strip along the bottom": [(i, j, {"edge": "bottom", "wavy": True})
                                                for i, j in itertools.combinations(dark, 2)],
    }
    print("pair\tscore\tseam verdicts (c cell, s shared, e ends)\tcell found (grid: share of it)\tdetail")
    originals = {}
    for name, pairs in rows.items():
        for i, j, kind in pairs:
            rng = random.Random(_key(images[i]) + _key(images[j]) + name.encode())
            composites = [jpeg_fingerprint(composite) for composite in
                          _strip_pair(images[i], images[j], _third(images, i, j, rng), rng, **kind)]
            for k, composite in zip((i, j), composites):
                originals.setdefault(k, jpeg_fingerprint(images[k]))
                _explain(originals[k], composite, f"copy {sources[k]['name']}")
            _explain(*composites, f"NEGATIVE {sources[i]['name']} / {sources[j]['name']}")


if __name__ == "__main__":
    main()
