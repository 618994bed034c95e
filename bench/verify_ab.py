"""Image compare, this code against another copy of it: are the outputs identical, and what does verify cost?

    mkdir -p /tmp/image-old && git archive COMMIT medialayer | tar -x -C /tmp/image-old
    python bench/verify_ab.py --media-dir ../shared/media-dev --old /tmp/image-old [--split tune] [--every 2]

The quality bench's pairs of ``--split`` (``bench/cascade_image.py:split_rows``, its 2,000 random pairs included)
are fingerprinted once by this code (``cascade_image.fingerprints``, cached). The other copy's
``medialayer`` is imported beside this one under its own modules, and every pair is compared by both
(``MATCHER.compare``); every pair that is not low-information is also verified by both
(``verify(a, b, *hash_match(a, b))``, as ``bench/quality_image.py --fit`` does) and every field of the evidence
compared exactly. Then each ``--every``-th such pair's ``verify`` is timed alone (``time.process_time``, one
thread), old and new in turn, the order swapped every pair, twice over: the CPU-ms a pair of each and the ratio.
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import sys
import time

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root
from bench import quality_image  # noqa: E402
from bench.cascade_image import fingerprints, split_rows  # noqa: E402
from medialayer.matchers import image as new  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def import_other_copy(root: str):
    """``medialayer.matchers.image`` of the copy under ``root``, imported beside this process's own."""
    own = {name: module for name, module in sys.modules.items() if name.split(".")[0] == "medialayer"}
    for name in own:
        del sys.modules[name]
    sys.path.insert(0, root)
    try:
        return importlib.import_module("medialayer.matchers.image")
    finally:
        sys.path.remove(root)
        for name in [n for n in sys.modules if n.split(".")[0] == "medialayer"]:
            del sys.modules[name]
        sys.modules.update(own)


def same(x, y) -> bool:
    """Exact equality of two evidence or comparison values, arrays and floats bit for bit (NaN equals NaN)."""
    if dataclasses.is_dataclass(x) and dataclasses.is_dataclass(y):
        return all(same(getattr(x, f.name), getattr(y, f.name)) for f in dataclasses.fields(x))
    if isinstance(x, (tuple, list)) and isinstance(y, (tuple, list)):
        return len(x) == len(y) and all(same(a, b) for a, b in zip(x, y))
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        return np.array_equal(np.asarray(x), np.asarray(y), equal_nan=True)
    if isinstance(x, float) and isinstance(y, float):
        return x == y or (x != x and y != y)
    return x == y


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--media-dir", required=True)
    parser.add_argument("--old", required=True, help="a folder holding the other copy's medialayer/")
    parser.add_argument("--workdir", default=os.path.join(REPO, "bench", "work"))
    parser.add_argument("--split", choices=quality_image.SPLITS, default="tune")
    parser.add_argument("--every", type=int, default=2, help="time every n-th verifiable pair")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    old = import_other_copy(os.path.abspath(args.old))
    rows = split_rows(args.media_dir, args.workdir, args.split, 2000)
    fps = fingerprints(rows, args.workdir, args.split)
    pairs = [(fps[r["source_url"]], fps[r["target_url"]]) for r in rows
             if not isinstance(fps[r["source_url"]], Exception) and not isinstance(fps[r["target_url"]], Exception)]
    compares_differing = sum(not same(new.MATCHER.compare(a, b), old.MATCHER.compare(a, b)) for a, b in pairs)
    verifiable = [(a, b) for a, b in pairs if not (a.low_information or b.low_information)]
    evidence = [(new.verify(a, b, *new.hash_match(a, b)), old.verify(a, b, *old.hash_match(a, b)))
                for a, b in verifiable]
    evidence_differing = sum(not same(e_new, e_old) for e_new, e_old in evidence)
    verified = sum(e_new.verified for e_new, _ in evidence)
    print(f"split {args.split}: {len(pairs)} pairs, compare() differing: {compares_differing}; verify() evidence "
          f"differing: {evidence_differing} of {len(verifiable)} ({verified} verified)")

    seconds = {"old": 0.0, "new": 0.0}
    timed = verifiable[::args.every]
    for _ in range(2):
        for i, (a, b) in enumerate(timed):
            order = (("new", new), ("old", old)) if i % 2 else (("old", old), ("new", new))
            for name, module in order:
                started = time.process_time()
                module.verify(a, b, *module.hash_match(a, b))
                seconds[name] += time.process_time() - started
    count = 2 * len(timed)
    print(f"verify, CPU-ms a pair ({len(timed)} pairs x 2, one thread): old {1000 * seconds['old'] / count:.2f}, "
          f"new {1000 * seconds['new'] / count:.2f}, ratio new/old {seconds['new'] / seconds['old']:.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
