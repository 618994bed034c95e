"""Compare two 10-minute video fingerprints with the medialayer of a given checkout: a whole process to time, so two
versions of the compare can be timed side by side with farm-bench (old and new run in turn), and their outputs
checked for identity:

    git archive <commit> medialayer bench | tar -x -C /tmp/old
    farm-bench --vs "python bench/compare_long.py --code /tmp/old" -- python bench/compare_long.py --code .
    python bench/compare_long.py --code /tmp/old --both --dump /tmp/old.pkl
    python bench/compare_long.py --code . --both --same-as /tmp/old.pkl

The three compares of `bench/quality.py --media-type video --speed` (the sources' fingerprints laid end to end: the
first half of the sources against the second half (unrelated), against the first half in reverse order, and
against itself); --both adds the first two the other way round. The sources' fingerprints are made once and cached
in bench/work/video/long_sources.pkl (by the code that runs first: both versions then compare the same
fingerprints). Prints the CPU seconds of each compare (imports and loading excluded) and its result.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import pickle
import sys
import time

CACHE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "work", "video", "long_sources.pkl")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", default=".", help="the checkout whose medialayer is imported")
    parser.add_argument("--media-dir", default="../shared/media-dev")
    parser.add_argument("--both", action="store_true", help="the unrelated and reordered pairs both ways round")
    parser.add_argument("--dump", help="pickle the Comparisons to this file")
    parser.add_argument("--same-as", help="a --dump of another run: print which Comparisons differ, field by field")
    args = parser.parse_args(argv)
    sys.path.insert(0, os.path.abspath(args.code))
    import cv2

    from bench.quality_video import _laid_end_to_end, manifest_rows
    from medialayer.limits import Limits
    from medialayer.matchers.video import MATCHER, fingerprint_path

    cv2.setNumThreads(1)
    if not os.path.exists(CACHE):
        os.makedirs(os.path.dirname(CACHE), exist_ok=True)
        sources = [os.path.join(args.media_dir, r["path"]) for r in manifest_rows(args.media_dir, "video")]
        with open(CACHE, "wb") as f:
            pickle.dump([fingerprint_path(src, Limits()) for src in sources], f)
    with open(CACHE, "rb") as f:
        fingerprints = pickle.load(f)
    half = len(fingerprints) // 2
    long = {name: _laid_end_to_end(order, 600.0) for name, order in
            (("a", fingerprints[:half]), ("b", fingerprints[half:]), ("a_reordered", fingerprints[:half][::-1]))}
    pairs = [("a", "b"), ("a", "a_reordered"), ("a", "a")] + [("b", "a"), ("a_reordered", "a")] * args.both
    results = {}
    for x, y in pairs:
        started = time.process_time()
        c = results[(x, y)] = MATCHER.compare(long[x], long[y])
        print(f"{x} against {y}: {time.process_time() - started:.3f} CPU-s; match={c.match}, score "
              f"{c.similarity_score}, {len(c.segments)} segments")
    if args.dump:
        with open(args.dump, "wb") as f:
            pickle.dump(results, f)
    if args.same_as:
        with open(args.same_as, "rb") as f:
            other = pickle.load(f)
        differ = [pair for pair in results if pair not in other or
                  repr(dataclasses.asdict(results[pair])) != repr(dataclasses.asdict(other[pair]))]
        print(f"{len(results) - len(differ)} of {len(results)} Comparisons identical (every field, floats exactly)"
              + "".join(f"; differs: {x} against {y}" for x, y in differ))


if __name__ == "__main__":
    main()
