"""Other captures of one scene off the quality bench's grid: how often the matcher takes a stereo pair or a burst of
the split's photos for a copy. Every pair here is a negative (issue 13: different captures of one scene are no
copies), so the counts are false positives: at the matcher's decision (0.5) and at a score threshold given.

    python bench/capture_image.py --media-dir ../shared/media-dev --split tune

The quality bench's ``hard:stereo`` and ``hard:burst`` draw one pair a photo (``synthetic.stereo_pair``, baseline 0.04-
0.08 of the width; ``synthetic.burst_pair``, windows 0.25-0.4 of the width apart) from its own seeds; here every photo
gets a pair at each of the baselines 0.03 / 0.05 / 0.07 / 0.09 and shifts 0.2 / 0.3 / 0.45, from other seeds (``--seed``
and up, 1000 by default: another near layer, other windows; one seed a photo, the same at every baseline and shift),
each view saved as JPEG 90.
"""
from __future__ import annotations

import argparse
import os
import sys

from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root
from bench.edits_image import jpeg_fingerprint  # noqa: E402
from bench.quality_image import load_sources  # noqa: E402

from medialayer.matchers.image import MATCHER  # noqa: E402
from medialayer.synthetic import image as synthetic  # noqa: E402

CAPTURES = {"stereo": (synthetic.stereo_pair, (0.03, 0.05, 0.07, 0.09)),
            "burst": (synthetic.burst_pair, (0.2, 0.3, 0.45))}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--media-dir", required=True)
    parser.add_argument("--split", default="report", choices=("tune", "report"))
    parser.add_argument("--threshold", type=float, default=0.6232,
                        help="a score threshold (default: the tune split's R@FPR threshold on merge23, which round "
                             "neg25's figures in docs/benchmarks.md used; the quality bench prints today's)")
    parser.add_argument("--seed", type=int, default=1000, help="the first photo's seed (other draws of the pairs)")
    args = parser.parse_args(argv)
    photos = [Image.open(s["path"]).convert("RGB") for s in load_sources(args.media_dir, args.split)]
    print(f"split {args.split}: {len(photos)} photos\n| capture | matched (false positives) | at {args.threshold} | "
          "highest score |\n|---|---|---|---|", flush=True)
    for kind, (capture, values) in CAPTURES.items():
        for value in values:
            scores = [MATCHER.compare(*(jpeg_fingerprint(view, 90) for view in capture(photo, args.seed + i, value)))
                      .similarity_score for i, photo in enumerate(photos)]
            print(f"| {kind} {value} | {sum(s >= 0.5 for s in scores)} of {len(scores)} | "
                  f"{sum(s >= args.threshold for s in scores)} | {max(scores):.4f} |", flush=True)


if __name__ == "__main__":
    main()
