"""Image compare, this code against another copy of it: are the outputs identical, and what does verify cost?

    mkdir -p /tmp/image-old && git archive COMMIT medialayer | tar -x -C /tmp/image-old
    python bench/verify_ab.py --media-dir ../shared/media-dev --old /tmp/image-old [--split tune] [--every 2]
    python bench/verify_ab.py --media-dir ../shared/media-dev --old /tmp/image-old --split none --generated 500
    python bench/verify_ab.py --media-dir ../shared/media-dev --old /tmp/image-old --split none --photos 40 --rounds 100
    python bench/verify_ab.py ... --split none --photos 40 --generated 300 --own-fingerprints  (a fingerprint change)

The quality bench's pairs of ``--split`` (``bench/cascade_image.py:split_rows``, its 2,000 random pairs included)
are fingerprinted once by this code (``cascade_image.fingerprints``, cached). The other copy's
``medialayer`` is imported beside this one under its own modules, and every pair is compared by both
(``MATCHER.compare``); every pair that is not low-information is also verified by both
(``verify(a, b, *hash_match(a, b))``, as ``bench/quality_image.py --fit`` does) and every field of the evidence
compared exactly. Then each ``--every``-th such pair's ``verify`` is timed alone (``time.process_time``, one
thread), old and new in turn, the order swapped every pair, twice over: the CPU-ms a pair of each and the ratio.
With ``--photos N``, also ``bench/speed_image.py``'s unrelated photo pairs (its first N photos, each against the
next of another series: the row of its 5,000 pairs/s target), compare() by both checked exactly and timed the same
way, ``--rounds`` times over (the row's 40 pairs are few and mostly stopped by the word stage in tens of microseconds).
With ``--generated N``, also the pair-volume bench's images (``bench/throughput.py``: 128-px low-frequency patterns and
a resized, recompressed copy of each, the pairs it adds to 1,000 being half such copies and half random): N pairs of
an image and its copy and N random pairs of unrelated images, fingerprinted once, compare() by both checked exactly
and timed the same way (compare, not verify: the random ones are decided by the cascade's later stages).
``--own-fingerprints`` (a change to the fingerprint itself, such as its keypoints): the ``--photos`` and
``--generated`` images are fingerprinted by each copy, and each copy compares and is timed on its own fingerprints
(its matches counted instead of the exact check).
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
from bench.speed_image import photos_of, unrelated_pairs  # noqa: E402
from bench.throughput import generate_images  # noqa: E402
from medialayer.limits import Limits  # noqa: E402
from medialayer.matchers import image as new  # noqa: E402
from medialayer.media import Blob  # noqa: E402

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


def time_calls(pairs, old, call, old_pairs=None) -> tuple[float, float]:
    """(old, new) CPU-ms a pair of ``call(module, a, b)``, in turn pair by pair, the order swapped every pair, twice;
    the old copy's on ``old_pairs`` where given (its own fingerprints of the same images), else on ``pairs``."""
    seconds = {"old": 0.0, "new": 0.0}
    by_copy = {"new": pairs, "old": pairs if old_pairs is None else old_pairs}
    for _ in range(2):
        for i in range(len(pairs)):
            for name, module in (("new", new), ("old", old)) if i % 2 else (("old", old), ("new", new)):
                a, b = by_copy[name][i]
                started = time.process_time()
                call(module, a, b)
                seconds[name] += time.process_time() - started
    return 1000 * seconds["old"] / (2 * len(pairs)), 1000 * seconds["new"] / (2 * len(pairs))


def fingerprint_files(module, paths: list[str]) -> list:
    fps = []
    for path in paths:
        with open(path, "rb") as f:
            fps.append(module.MATCHER.fingerprint(Blob(data=f.read()), Limits()))
    return fps


def compare_both(pairs, old_pairs, old) -> str:
    """How compare() differs between the copies on the pairs: exactly, or where ``old_pairs`` holds the old copy's
    own fingerprints of them, in the matches of each."""
    if old_pairs is None:
        differing = sum(not same(new.MATCHER.compare(a, b), old.MATCHER.compare(a, b)) for a, b in pairs)
        return f"compare() differing: {differing}"
    old_matches = sum(old.MATCHER.compare(a, b).match for a, b in old_pairs)
    new_matches = sum(new.MATCHER.compare(a, b).match for a, b in pairs)
    return f"each copy on its own fingerprints, matched: old {old_matches}, new {new_matches}"


def compare_generated(workdir: str, count: int, old, own: bool) -> None:
    """The pair-volume bench's kinds of pairs (an image and its copy; two unrelated images): compare() by both copies,
    exact equality (``own``: the matches, each copy on its own fingerprints) and CPU-ms a pair."""
    paths = generate_images(os.path.join(workdir, "throughput", "images128"), 2 * count, 128)
    rng = np.random.default_rng(11)
    unrelated = [(i, j) for i, j in rng.integers(0, 2 * count, (3 * count, 2)) if i // 2 != j // 2][:count]

    def kinds_of(fps: list) -> dict:
        return {"copies": [(fps[i], fps[i + 1]) for i in range(0, 2 * count, 2)],
                "unrelated": [(fps[i], fps[j]) for i, j in unrelated]}

    old_kinds = kinds_of(fingerprint_files(old, paths)) if own else {}
    for kind, pairs in kinds_of(fingerprint_files(new, paths)).items():
        old_pairs = old_kinds.get(kind)
        old_ms, new_ms = time_calls(pairs, old, lambda module, a, b: module.MATCHER.compare(a, b), old_pairs)
        print(f"generated {kind}: {len(pairs)} pairs, {compare_both(pairs, old_pairs, old)}; compare, CPU-ms a pair "
              f"(x 2, one thread): old {old_ms:.3f}, new {new_ms:.3f}, ratio new/old {new_ms / old_ms:.3f}")


def compare_photos(media_dir: str, count: int, rounds: int, old, own: bool) -> None:
    """speed_image's unrelated photo pairs: compare() by both copies, exact equality (``own``: the matches, each copy
    on its own fingerprints) and CPU-ms a pair."""
    photos, groups = photos_of(media_dir, count)
    pairs = unrelated_pairs(fingerprint_files(new, photos), groups)
    old_pairs = unrelated_pairs(fingerprint_files(old, photos), groups) if own else None
    differing = compare_both(pairs, old_pairs, old)
    old_ms, new_ms = time_calls(pairs * rounds, old, lambda module, a, b: module.MATCHER.compare(a, b),
                                old_pairs and old_pairs * rounds)
    print(f"unrelated photos: {len(pairs)} pairs, {differing}; compare, CPU-ms a pair "
          f"(x {2 * rounds}, one thread): old {old_ms:.4f} ({1000 / old_ms:,.0f} pairs/CPU-s), new {new_ms:.4f} "
          f"({1000 / new_ms:,.0f}), ratio new/old {new_ms / old_ms:.3f}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--media-dir", required=True)
    parser.add_argument("--old", required=True, help="a folder holding the other copy's medialayer/")
    parser.add_argument("--workdir", default=os.path.join(REPO, "bench", "work"))
    parser.add_argument("--split", choices=(*quality_image.SPLITS, "none"), default="tune",
                        help="none: only the --generated pairs")
    parser.add_argument("--every", type=int, default=2, help="time every n-th verifiable pair")
    parser.add_argument("--generated", type=int, default=0,
                        help="also the pair-volume bench's kinds of pairs, this many of each")
    parser.add_argument("--photos", type=int, default=0, help="also speed_image's unrelated pairs of this many photos")
    parser.add_argument("--rounds", type=int, default=100, help="times the --photos pairs are timed over")
    parser.add_argument("--own-fingerprints", action="store_true",
                        help="--photos and --generated: each copy compares its own fingerprints of the images (a "
                             "change to the fingerprint, such as its keypoints)")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    old = import_other_copy(os.path.abspath(args.old))
    if args.photos:
        compare_photos(args.media_dir, args.photos, args.rounds, old, args.own_fingerprints)
    if args.generated:
        compare_generated(args.workdir, args.generated, old, args.own_fingerprints)
    if args.split == "none":
        return
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

    timed = verifiable[::args.every]
    old_ms, new_ms = time_calls(timed, old, lambda module, a, b: module.verify(a, b, *module.hash_match(a, b)))
    print(f"verify, CPU-ms a pair ({len(timed)} pairs x 2, one thread): old {old_ms:.2f}, new {new_ms:.2f}, "
          f"ratio new/old {new_ms / old_ms:.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
