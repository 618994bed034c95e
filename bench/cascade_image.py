"""Image compare cascade (issue 18): do its cheap stages reject unrelated pairs without costing recall?

    python bench/cascade_image.py --media-dir ../shared/media-dev --split report       # the held-out check
    python bench/cascade_image.py --media-dir ../shared/media-dev --split tune --fit   # REJECTED_LOGIT
    python bench/cascade_image.py --media-dir ../shared/media-dev --train-vocabulary   # image_vocabulary.npy

The pairs are bench/quality_image.py's for the split (every edit kind's positives, the hard negatives and
``--random-pairs`` random pairs), its variant files reused or made. Each pair is compared on cached
fingerprints twice: with the cascade, and with ``CASCADE = False`` (every pair verified and scored in full:
the code before the cascade). Printed per kind: the fewest word matches (``image.word_match_count``) of a
copy that the full path matches through keypoint verification at a hash distance the hash cannot accept
(the copies the cascade could lose), the fraction of pairs the word stage rejects, every pair whose
decision changed, and compares per CPU second of both paths on the random pairs. ``--fit`` also fits the
score of the pairs the cascade scores from the hash distance alone (far and not verified) on them;
``--train-vocabulary`` runs the k-means that made the shipped vocabulary (tuning split only).
"""
from __future__ import annotations

import argparse
import hashlib
import inspect
import os
import pickle
import sys
import time

import cv2
import faiss
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root
from bench import quality_image  # noqa: E402
from bench.common import print_table  # noqa: E402

from medialayer.limits import Limits  # noqa: E402
from medialayer.matchers import image as matcher  # noqa: E402
from medialayer.matchers import image_sketch  # noqa: E402
from medialayer.media import Blob  # noqa: E402
from medialayer.synthetic import image as synthetic  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VOCABULARY_SAMPLE = 150_000  # descriptors the k-means sees


def split_rows(media_dir: str, workdir: str, split: str, random_pairs: int, seed: int = 7) -> list[dict]:
    """The quality bench's pairs for ``split`` (its variants made where missing, in its own work folder)."""
    code = inspect.getsource(synthetic) + inspect.getsource(quality_image)
    media = os.path.join(workdir, "image", f"media-{hashlib.sha1(code.encode()).hexdigest()[:10]}-s{seed}-{split}")
    os.makedirs(media, exist_ok=True)
    sources = quality_image.load_sources(media_dir, split)
    artwork = quality_image.make_artwork(sources, media, split)
    variants = (quality_image.make_variants(sources, quality_image.TRANSFORMS, sources, media, 2, seed, split)
                + quality_image.make_variants(artwork, quality_image.ART_TRANSFORMS, sources, media, 2, seed, split))
    low_information = quality_image.make_low_information(media, seed)
    hard = quality_image.make_hard_negatives(sources, artwork, media, seed, split)
    return quality_image.build_pairs(sources, artwork, variants, low_information, hard, random_pairs, seed)


def fingerprints(rows: list[dict], workdir: str, split: str) -> dict:
    """path -> fingerprint (or the MediaError), cached per version of the matcher's code and vocabulary."""
    version = hashlib.sha1()
    for path in (matcher.__file__, image_sketch.__file__, image_sketch.VOCABULARY_PATH):
        with open(path, "rb") as f:
            version.update(f.read())
    cache = os.path.join(workdir, "image-cascade", f"fingerprints-{split}-{version.hexdigest()[:10]}.pkl")
    if os.path.exists(cache):
        with open(cache, "rb") as f:
            return pickle.load(f)
    result = {}
    for path in sorted({p for r in rows for p in (r["source_url"], r["target_url"])}):
        with open(path, "rb") as f:
            try:
                result[path] = matcher.MATCHER.fingerprint(Blob(data=f.read()), Limits())
            except Exception as e:  # noqa: BLE001 - an error is a value here, counted below
                result[path] = e
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    with open(cache, "wb") as f:
        pickle.dump(result, f)
    return result


def train_vocabulary(fps: dict) -> None:
    """Two-level k-means over the tuning split's upright descriptors (bits as floats, centroids binarised)."""
    faiss.omp_set_num_threads(1)
    descriptors = np.vstack([np.frombuffer(f.descriptors, np.uint8).reshape(-1, 32) for f in fps.values()
                             if not isinstance(f, Exception) and not f.low_information])
    rng = np.random.default_rng(1)
    descriptors = descriptors[rng.choice(len(descriptors), min(len(descriptors), VOCABULARY_SAMPLE), replace=False)]
    bits = np.unpackbits(descriptors, axis=1).astype(np.float32)

    def kmeans(points: np.ndarray, k: int) -> np.ndarray:
        if len(points) <= k:  # too few to cluster: the points themselves, repeated
            return np.resize(np.packbits(points > 0.5, axis=1), (k, 32))
        means = faiss.Kmeans(256, k, niter=15, seed=1)
        means.train(points)
        return np.packbits(means.centroids > 0.5, axis=1)

    coarse = kmeans(bits, image_sketch.COARSE)
    index = faiss.IndexBinaryFlat(256)
    index.add(coarse)
    cell = index.search(descriptors, 1)[1].ravel()
    fine = [kmeans(bits[cell == c], image_sketch.FINE) for c in range(image_sketch.COARSE)]
    np.save(image_sketch.VOCABULARY_PATH, np.vstack([coarse, *fine]).astype(np.uint8))
    print(f"{image_sketch.VOCABULARY_PATH}: {image_sketch.COARSE} x {image_sketch.FINE} words from "
          f"{len(descriptors)} descriptors of {len(fps)} images")


def compare_both(rows: list[dict], fps: dict) -> list[dict]:
    """Per pair: the full path's and the cascade's Comparison, the word matches and the hash distance."""
    out = []
    for r in rows:
        a, b = fps[r["source_url"]], fps[r["target_url"]]
        if isinstance(a, Exception) or isinstance(b, Exception):
            out.append({**r, "error": True})
            continue
        matcher.CASCADE = False
        full = matcher.MATCHER.compare(a, b)
        matcher.CASCADE = True
        cascade = matcher.MATCHER.compare(a, b)
        flat = a.low_information or b.low_information
        distance = matcher.hash_distance(a, b)
        out.append({**r, "error": False, "full": full, "cascade": cascade, "flat": flat, "distance": distance,
                    "word_matches": matcher.word_match_count(a, b),
                    "rejected": not flat and not matcher.may_verify(a, b) and distance > matcher.ACCEPT_DISTANCE})
    return out


def compares_per_second(pairs, min_cpu_seconds: float = 2.0) -> float:
    start = time.process_time()
    n = 0
    while n == 0 or time.process_time() - start < min_cpu_seconds:
        for a, b in pairs:
            matcher.MATCHER.compare(a, b)
        n += len(pairs)
    return n / (time.process_time() - start)


def report(results: list[dict], fps: dict) -> None:
    done = [r for r in results if not r["error"]]
    print(f"{len(results)} pairs, {len(results) - len(done)} with a fingerprint error (left out of both paths alike)")
    table = []
    for kind in dict.fromkeys(r["kind"] for r in done):
        rows = [r for r in done if r["kind"] == kind]
        at_risk = [r for r in rows if r["label"] and r["full"].match and not r["flat"]
                   and r["distance"] > matcher.ACCEPT_DISTANCE]
        table.append([kind, len(rows), sum(r["full"].match for r in rows), len(at_risk),
                      min((r["word_matches"] for r in at_risk), default=""), np.mean([r["rejected"] for r in rows]),
                      sum(r["full"].match != r["cascade"].match for r in rows),
                      sum(r["full"].confidence != r["cascade"].confidence for r in rows)])
    print(f"\nMIN_WORD_MATCHES = {image_sketch.MIN_WORD_MATCHES} within {image_sketch.WORD_MATCH_DISTANCE} bits; "
          f"'verified copies': matched by the full path at a hash distance > {matcher.ACCEPT_DISTANCE} (through "
          f"keypoint verification)")
    print_table(["kind", "pairs", "full-path matches", "verified copies", "fewest word matches",
                 "rejected by words", "decisions changed", "confidence changed"], table)
    changed = [r for r in done if r["full"].match != r["cascade"].match]
    print(f"\npairs whose decision changed: {len(changed)}")
    for r in changed:
        print(f"  {r['kind']}: {r['source_url']} vs {r['target_url']} word matches {r['word_matches']} "
              f"full {r['full']}")
    random_pairs = [(fps[r["source_url"]], fps[r["target_url"]]) for r in done if r["kind"] == "random"]
    matcher.CASCADE = False
    full_rate = compares_per_second(random_pairs)
    matcher.CASCADE = True
    cascade_rate = compares_per_second(random_pairs)
    print(f"\ncompare on cached fingerprints, {len(random_pairs)} random pairs, one thread, CPU time: "
          f"full path {full_rate:.0f} pairs/s, cascade {cascade_rate:.0f} pairs/s")
    # Where the cascade's time goes: the pairs the words stop, and the others (keypoint verification).
    for name, stage in (("rejected by the words", True), ("verified (passed by the words, or close hashes)", False)):
        subset = [(fps[r["source_url"]], fps[r["target_url"]]) for r in done
                  if r["kind"] == "random" and not r["flat"] and r["rejected"] == stage]
        if subset:
            rate = compares_per_second(subset)
            print(f"  {name}: {len(subset)} pairs at {rate:.0f} pairs/s, "
                  f"{1000 * len(subset) / rate / len(random_pairs):.3f} CPU-ms of the mean random pair's")


def fit_rejected_score(results: list[dict], fps: dict) -> None:
    def from_distance_alone(r) -> bool:  # as compare() scores it: far, and rejected by the words or not verified
        a, b = fps[r["source_url"]], fps[r["target_url"]]
        return (not r["flat"] and r["distance"] > matcher.ACCEPT_DISTANCE
                and (r["rejected"] or not matcher.verify(a, b, r["distance"], 0, colour_check=False).verified))

    rejected = [r for r in results if not r["error"] and from_distance_alone(r)
                and min(fps[r["source_url"]].quality, fps[r["target_url"]].quality) >= matcher.MIN_QUALITY]
    weights = quality_image.logistic_fit([[r["distance"] / 256.0] for r in rejected], [r["label"] for r in rejected])
    print(f"REJECTED_LOGIT = {weights}  ({len(rejected)} rejected pairs, {sum(r['label'] for r in rejected)} of them "
          f"copies)")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--media-dir", required=True)
    parser.add_argument("--workdir", default=os.path.join(REPO, "bench", "work"))
    parser.add_argument("--split", choices=quality_image.SPLITS, default="report")
    parser.add_argument("--random-pairs", type=int, default=2000)
    parser.add_argument("--fit", action="store_true", help="also fit REJECTED_LOGIT (on the tuning split)")
    parser.add_argument("--train-vocabulary", action="store_true", help="k-means on the tuning split's descriptors")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    split = "tune" if args.fit or args.train_vocabulary else args.split
    rows = split_rows(args.media_dir, args.workdir, split, args.random_pairs)
    fps = fingerprints(rows, args.workdir, split)
    if args.train_vocabulary:
        train_vocabulary(fps)
        return
    results = compare_both(rows, fps)
    report(results, fps)
    if args.fit:
        fit_rejected_score(results, fps)


if __name__ == "__main__":
    main()
