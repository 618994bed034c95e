"""Image quality benchmark: transformed variants and hard negatives from real photos, through the pipeline.

    python bench/quality.py --media-type image --media-dir ../shared/media-dev [--variants 3] [--fit]

For every source image (MANIFEST.tsv rows of media_type image) it derives ``--variants`` copies per
transformation class with the functions of ``medialayer.synthetic.image`` (written under
``--workdir``, never into the repo), and builds negatives:

  * hard: every pair of different photos of one series (MANIFEST ``group``), original and transformed;
    different flat colours, gradients and two-tone images; images made from one template around
    different photos;
  * random: ``--random-pairs`` pairs of photos from different series (a transformed copy against an original).

All pairs go through the real pipeline (``bench/common.run_pipeline``). The table gives per class the
recall at the score threshold that keeps the false-positive rate <= 1% on hard negatives and <= 0.1% on
random pairs, next to imagehash pHash (distance <= 10 of 64) and PDQ (``pdqhash``, distance <= 31 of 256)
on the same pairs, then precision/recall/F1 with each method's own match decision.

``--fit`` skips the pipeline and fits the matcher's logistic score calibration (``HASH_LOGIT`` and
``VERIFY_LOGIT`` in ``medialayer/matchers/image.py``) to the same pairs by maximum likelihood.
"""
from __future__ import annotations

import argparse
import hashlib
import inspect
import itertools
import math
import os
import sys
import time

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root
from bench.common import manifest_rows, precision_recall_f1, print_table, run_pipeline, threshold_at_fpr  # noqa: E402

from medialayer.synthetic import image as synthetic  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PHASH_MATCH, PDQ_MATCH = 10, 31
HARD_FPR, RANDOM_FPR = 0.01, 0.001
TARGETS = {"jpeg": 0.995, "resize": 0.995, "format": 0.995, "photometric": 0.995, "overlay": 0.97,
           "crop": 0.95, "padding": 0.98, "rotate5": 0.95, "rotate10": 0.85, "hflip": 0.97, "combined": 0.90}


def _pick(rng, low, high):
    return float(rng.uniform(low, high))


def _words(rng) -> str:
    return " ".join(rng.choice(synthetic.WORDS, size=int(rng.integers(1, 4))))


def _overlay(image, rng, area):
    position = (_pick(rng, 0, 1), _pick(rng, 0, 1))
    if rng.random() < 0.5:
        return synthetic.overlay_text(image, _words(rng), area, position, tuple(int(c) for c in rng.integers(0, 256, 3)))
    return synthetic.overlay_logo(image, area, position, seed=int(rng.integers(1 << 30)),
                                  opacity=_pick(rng, 0.6, 1.0))


def _photometric(image, rng):
    kind = ("brightness", "contrast", "saturation", "gamma")[int(rng.integers(0, 4))]
    return synthetic.adjust(image, **{kind: 1.0 + rng.choice([-1, 1]) * _pick(rng, 0.1, 0.3)})


def _padding(image, rng):
    colour = [(0, 0, 0), (255, 255, 255), tuple(int(c) for c in rng.integers(0, 256, 3))][int(rng.integers(0, 3))]
    if rng.random() < 0.5:
        aspect = image.width / image.height * math.exp(rng.choice([-1, 1]) * _pick(rng, 0.2, 0.5))
        return synthetic.letterbox(image, aspect, colour)
    return synthetic.pad(image, *(_pick(rng, 0, 0.2) for _ in range(4)), colour=colour)


def _crop(image, rng, area):
    return synthetic.crop(image, area, (_pick(rng, 0, 1), _pick(rng, 0, 1)), math.exp(_pick(rng, -0.2, 0.2)))


def _rotate(image, rng, low, high):
    return synthetic.rotate(image, rng.choice([-1, 1]) * _pick(rng, low, high), fill_corners=bool(rng.random() < 0.5))


# class -> rng, image -> (image, format, quality)
TRANSFORMS = {
    "jpeg": lambda im, rng: (im, "JPEG", int(rng.integers(20, 61))),
    "resize": lambda im, rng: (synthetic.resize(im, math.exp(_pick(rng, math.log(0.25), math.log(2.0)))), "JPEG", 90),
    "format": lambda im, rng: (im, ("PNG", "WEBP")[int(rng.integers(0, 2))], 80),
    "photometric": lambda im, rng: (_photometric(im, rng), "JPEG", 90),
    "overlay": lambda im, rng: (_overlay(im, rng, _pick(rng, 0.05, 0.15)), "JPEG", 90),
    "crop": lambda im, rng: (_crop(im, rng, _pick(rng, 0.1, 0.3)), "JPEG", 90),
    "padding": lambda im, rng: (_padding(im, rng), "JPEG", 90),
    "rotate5": lambda im, rng: (_rotate(im, rng, 1, 5), "JPEG", 90),
    "rotate10": lambda im, rng: (_rotate(im, rng, 5, 10), "JPEG", 90),
    "hflip": lambda im, rng: (synthetic.hflip(im), "JPEG", 90),
    "combined": lambda im, rng: (_overlay(_crop(im, rng, 0.2), rng, _pick(rng, 0.05, 0.1)), "JPEG", 30),
}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}


def load_sources(media_dir: str) -> list[dict]:
    rows = manifest_rows(media_dir, "image")
    return [{"path": os.path.join(media_dir, r["path"]), "group": r["group"],
             "name": os.path.splitext(os.path.basename(r["path"]))[0]} for r in rows]


def _save(image, path, fmt, quality):
    if not os.path.exists(path):
        with open(path + ".tmp", "wb") as f:
            f.write(synthetic.encode(image.convert("RGB"), fmt, quality))
        os.replace(path + ".tmp", path)
    return path


def make_variants(sources, directory, per_class, seed) -> list[dict]:
    """(source index, class, path) for every transformed copy; existing files are reused."""
    variants = []
    for index, source in enumerate(sources):
        image = None
        for name, transform in TRANSFORMS.items():
            for k in range(per_class):
                rng = np.random.default_rng([seed, index, list(TRANSFORMS).index(name), k])
                probe = os.path.join(directory, f"{source['name']}__{name}{k}")
                existing = [p for p in (f"{probe}.{e}" for e in EXTENSIONS.values()) if os.path.exists(p)]
                if existing:
                    path = existing[0]
                else:
                    image = image or Image.open(source["path"]).convert("RGB")
                    variant, fmt, quality = transform(image, rng)
                    path = _save(variant, f"{probe}.{EXTENSIONS[fmt]}", fmt, quality)
                variants.append({"source": index, "kind": name, "path": path})
    return variants


def make_low_information(directory, seed) -> dict[str, list[str]]:
    """Flat colours, gradients and two-tone splits, well apart in colour."""
    rng = np.random.default_rng([seed, 1])
    palette = []
    while len(palette) < 12:
        colour = rng.integers(0, 256, 3)
        if all(np.abs(colour - p).max() > 60 for p in palette):
            palette.append(colour)
    colours = [tuple(int(c) for c in p) for p in palette]
    images = {
        "flat": [synthetic.flat(c, 480, 360) for c in colours],
        "gradient": [synthetic.gradient(colours[i], colours[(i + 5) % 12], 480, 360, 30.0 * i) for i in range(12)],
        "two_tone": [synthetic.two_tone(colours[i], colours[(i + 3) % 12], 480, 360, 0.3 + 0.05 * i, i % 2 == 0)
                     for i in range(8)],
    }
    return {kind: [_save(im, os.path.join(directory, f"{kind}{i}.png"), "PNG", 0) for i, im in enumerate(ims)]
            for kind, ims in images.items()}


def make_templated(sources, directory, seed, templates=4, contents=6) -> list[list[str]]:
    """For each template, the same layout around ``contents`` different photos."""
    rng = np.random.default_rng([seed, 2])
    out = []
    for t in range(templates):
        chosen = rng.choice(len(sources), size=contents, replace=False)
        out.append([_save(synthetic.templated(Image.open(sources[i]["path"]).convert("RGB"), seed=100 + t),
                          os.path.join(directory, f"template{t}_{k}.jpg"), "JPEG", 90)
                    for k, i in enumerate(chosen)])
    return out


def build_pairs(sources, variants, low_information, templated, random_pairs, seed) -> list[dict]:
    rows = []

    def add(kind, label, a, b):
        rows.append({"pair_id": f"{kind}-{len(rows)}", "source_url": a, "target_url": b, "media_type": "image",
                     "kind": kind, "label": label})

    for v in variants:
        add(v["kind"], True, sources[v["source"]]["path"], v["path"])
    by_source = {}
    for v in variants:
        by_source.setdefault(v["source"], []).append(v["path"])
    rng = np.random.default_rng([seed, 3])
    for i, j in itertools.combinations(range(len(sources)), 2):
        if sources[i]["group"] == sources[j]["group"]:
            add("hard:series", False, sources[i]["path"], sources[j]["path"])
            add("hard:series", False, by_source[i][int(rng.integers(len(by_source[i])))], sources[j]["path"])
    for kind, paths in low_information.items():
        for a, b in itertools.combinations(paths, 2):
            add("hard:low_information", False, a, b)
    for a, b in zip(low_information["flat"], low_information["gradient"]):
        add("hard:low_information", False, a, b)
    for group in templated:
        for a, b in itertools.combinations(group, 2):
            add("hard:template", False, a, b)
    while sum(r["kind"] == "random" for r in rows) < random_pairs:
        i, j = rng.choice(len(sources), size=2, replace=False)
        if sources[i]["group"] != sources[j]["group"]:  # pairs within a series are the hard negatives above
            add("random", False, by_source[i][int(rng.integers(len(by_source[i])))], sources[j]["path"])
    return rows


def baseline_hashes(paths) -> tuple[dict, dict, float, float]:
    """pHash and PDQ of every image, and the seconds each took (decode included)."""
    import imagehash
    import pdqhash
    phash, pdq = {}, {}
    start = time.perf_counter()
    for path in paths:
        phash[path] = imagehash.phash(Image.open(path))
    phash_seconds = time.perf_counter() - start
    start = time.perf_counter()
    for path in paths:
        image = Image.open(path).convert("RGB")
        image.thumbnail((512, 512))  # as PDQ's reference hashers do before hashing (DOWNSAMPLE_DIMS = 512)
        bits, _quality = pdqhash.compute(np.asarray(image))
        pdq[path] = bits.astype(bool)
    return phash, pdq, phash_seconds, time.perf_counter() - start


def recall_row(positives, hard, random):
    """Recall of ``score > t`` at the lowest t meeting both false-positive budgets."""
    threshold = max(threshold_at_fpr(hard, HARD_FPR), threshold_at_fpr(random, RANDOM_FPR))
    return float(np.mean(np.asarray(positives) > threshold))


def evaluate(rows, scores: dict[str, dict], decisions: dict[str, dict]) -> None:
    methods = list(scores)
    kinds = list(TRANSFORMS)
    hard = [r["pair_id"] for r in rows if r["kind"].startswith("hard:")]
    random = [r["pair_id"] for r in rows if r["kind"] == "random"]
    # Flat images collide for pHash, which pins its threshold at distance 0: also show the baselines without them.
    textured = [r["pair_id"] for r in rows if r["kind"].startswith("hard:") and r["kind"] != "hard:low_information"]
    baselines = methods[1:]
    header = (["transformation", "pairs", "target"] + [f"{m} R@FPR" for m in methods]
              + [f"{m} R@FPR no-flat" for m in baselines])
    table = []
    for kind in kinds:
        ids = [r["pair_id"] for r in rows if r["kind"] == kind]
        table.append([kind, len(ids), TARGETS[kind]] + [
            recall_row([scores[m][i] for i in ids], [scores[m][i] for i in hard], [scores[m][i] for i in random])
            for m in methods] + [
            recall_row([scores[m][i] for i in ids], [scores[m][i] for i in textured], [scores[m][i] for i in random])
            for m in baselines])
    print(f"\nRecall at FPR <= {HARD_FPR:.0%} on {len(hard)} hard negatives and <= {RANDOM_FPR:.1%} on "
          f"{len(random)} random pairs (threshold chosen per method on the negatives; 'no-flat': the "
          f"{len(hard) - len(textured)} flat/gradient/two-tone negatives left out)")
    print_table(header, table)

    negatives = hard + random
    header = ["transformation"] + [f"{m} {x}" for m in methods for x in ("P", "R", "F1")]
    table = []
    for kind in kinds:
        ids = [r["pair_id"] for r in rows if r["kind"] == kind]
        labels = [True] * len(ids) + [False] * len(negatives)
        row = [kind]
        for m in methods:
            row += list(precision_recall_f1(labels, [decisions[m][i] for i in ids + negatives]))
        table.append(row)
    print("\nPrecision / recall / F1 with each method's own match decision (positives of the row + all negatives)")
    print_table(header, table)
    print("\nFalse-positive rate of the own decision")
    fp_rows = []
    for kind in sorted({r["kind"] for r in rows if r["label"] is False}):
        ids = [r["pair_id"] for r in rows if r["kind"] == kind]
        fp_rows.append([kind, len(ids)] + [float(np.mean([decisions[m][i] for i in ids])) for m in methods])
    print_table(["negatives", "pairs"] + methods, fp_rows)


def fit_calibration(rows) -> None:
    """Fit the logistic score calibration of the matcher on these pairs, outside the pipeline."""
    from medialayer.limits import Limits
    from medialayer.matchers import image as matcher
    from medialayer.media import Blob
    fingerprints = {}
    for path in sorted({p for r in rows for p in (r["source_url"], r["target_url"])}):
        with open(path, "rb") as f:
            fingerprints[path] = matcher.MATCHER.fingerprint(Blob(data=f.read()), Limits())
    evidence = [(matcher.verify(fingerprints[r["source_url"]], fingerprints[r["target_url"]]), r["label"]) for r in rows
                if not (fingerprints[r["source_url"]].low_information or fingerprints[r["target_url"]].low_information)]
    unverified = [(e, y) for e, y in evidence if not e.verified]  # where the hash is the only evidence
    print("HASH_LOGIT =", logistic_fit([[e.hash_distance] for e, _ in unverified], [y for _, y in unverified]))
    verified = [(e, y) for e, y in evidence if e.verified]
    print("VERIFY_LOGIT =", logistic_fit([matcher.verify_features(e) for e, _ in verified], [y for _, y in verified]))
    print(f"({len(unverified)} pairs for the hash, {len(verified)} verified pairs)")


def logistic_fit(features, labels, iterations=50) -> tuple[float, ...]:
    """Maximum-likelihood weights (w_1..w_k, intercept) of P(y=1) = 1 / (1 + exp(-(w . x + intercept))) by
    Newton's method, with a small ridge so a perfectly separated set still gives finite weights."""
    x = np.asarray(features, float)
    y = np.asarray(labels, float)
    design = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(design.shape[1])
    ridge = 1e-2 * np.eye(len(w))
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-design @ w))
        gradient = design.T @ (y - p) - ridge @ w
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + ridge
        w += np.linalg.solve(hessian, gradient)
    return tuple(round(float(v), 3) for v in w)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--media-dir", required=True)
    parser.add_argument("--workdir", default=os.path.join(REPO, "bench", "work", "image"))
    parser.add_argument("--variants", type=int, default=3, help="variants per source image and class")
    parser.add_argument("--random-pairs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fit", action="store_true", help="fit the score calibration instead of benchmarking")
    args, pipeline_args = parser.parse_known_args(argv)

    # Variants live in a folder named after the code that made them, so an edit never reuses stale files.
    makers = (_overlay, _photometric, _padding, _crop, _rotate, make_variants, make_low_information, make_templated)
    code = inspect.getsource(synthetic) + "".join(inspect.getsource(f) for f in makers + tuple(TRANSFORMS.values()))
    version = hashlib.sha1(code.encode())
    media = os.path.join(args.workdir, f"media-{version.hexdigest()[:10]}-s{args.seed}")
    os.makedirs(media, exist_ok=True)
    start = time.perf_counter()
    sources = load_sources(args.media_dir)
    variants = make_variants(sources, media, args.variants, args.seed)
    low_information = make_low_information(media, args.seed)
    templated = make_templated(sources, media, args.seed)
    rows = build_pairs(sources, variants, low_information, templated, args.random_pairs, args.seed)
    print(f"{len(sources)} source images, {len(variants)} variants, {len(rows)} pairs "
          f"({time.perf_counter() - start:.1f} s to prepare in {media})")
    if args.fit:
        fit_calibration(rows)
        return

    records, summary = run_pipeline([{k: r[k] for k in ("pair_id", "source_url", "target_url", "media_type")}
                                     for r in rows], os.path.join(args.workdir, "run"), pipeline_args)
    errors = [r for r in records.values() if r["error"]]
    ours = {i: (r["similarity_score"] if not r["error"] else 0.0) for i, r in records.items()}
    our_decisions = {i: bool(r["match"]) for i, r in records.items()}

    paths = sorted({p for r in rows for p in (r["source_url"], r["target_url"])})
    phash, pdq, phash_seconds, pdq_seconds = baseline_hashes(paths)
    phash_distance = {r["pair_id"]: phash[r["source_url"]] - phash[r["target_url"]] for r in rows}
    pdq_distance = {r["pair_id"]: int(np.sum(pdq[r["source_url"]] != pdq[r["target_url"]])) for r in rows}
    scores = {"ours": ours, "pHash": {i: -d for i, d in phash_distance.items()},
              "PDQ": {i: -d for i, d in pdq_distance.items()}}
    decisions = {"ours": our_decisions, "pHash": {i: d <= PHASH_MATCH for i, d in phash_distance.items()},
                 "PDQ": {i: d <= PDQ_MATCH for i, d in pdq_distance.items()}}
    evaluate(rows, scores, decisions)

    confidences = {}
    for r in records.values():
        if not r["error"]:
            confidences[r["confidence"]] = confidences.get(r["confidence"], 0) + 1
    print(f"\npairs: {len(rows)}  unique images: {len(paths)}  errors: {len(errors)} {summary['errors_by_code']}  "
          f"confidence: {confidences}")
    print(f"ours (pipeline, {summary['fingerprints']} fingerprints, wall {summary['wall_time_s']:.1f} s): "
          f"{len(rows) / summary['wall_time_s']:.1f} pairs/s")
    print(f"pHash: hashing {len(paths)} images {phash_seconds:.1f} s -> {len(rows) / phash_seconds:.1f} pairs/s;  "
          f"PDQ: {pdq_seconds:.1f} s -> {len(rows) / pdq_seconds:.1f} pairs/s (compare time not counted)")
