"""Catalog dedupe benchmark (images): candidate recall of the index keys against exhaustive all-pairs
verification, and group quality, beside PDQ hashes in a FAISS binary index (Meta's HMA approach).

    python bench/dedupe.py --media-dir ../shared/media-dev [--copies 3] [--seed 1]

The catalog: every image of media-dev, plus ``--copies`` transformed copies of each (parameters drawn at
random per copy: JPEG quality, resize, crop keeping 45-85% of the area at any position, mirror, 90-degree
turns, a caption bar, letterbox, brightness/gamma, and combinations). Truth: copies of one source form
one group; different sources (same-series photos included) are distinct.

Measured on the same fingerprints the pipeline computes (``MATCHER.fingerprint``):
  * all pairs verified with ``compare`` (the exhaustive answer, which dedupe can at best reproduce);
  * candidates as the pipeline forms them (``index_keys``, buckets capped at ``--max-bucket``,
    ``min_shared_keys``; the same functions of medialayer.candidates): the share of the all-pairs
    matches among the candidates, per transformation of the copy involved;
  * groups (connected components of the verified candidates) against the truth: pairwise precision and
    recall; the same for PDQ + FAISS (IndexBinaryFlat, Hamming radius 31, union-find over the hits).
"""
from __future__ import annotations

import argparse
import collections
import io
import itertools
import os
import pickle
import sys
import time

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageOps

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root

from bench.common import manifest_rows, print_table  # noqa: E402
from medialayer.candidates import DEFAULT_MAX_BUCKET, bucket_pairs, is_candidate  # noqa: E402
from medialayer.grouping import connected_groups  # noqa: E402
from medialayer.limits import Limits  # noqa: E402
from medialayer.matchers.image import MATCHER  # noqa: E402
from medialayer.media import Blob  # noqa: E402


def _jpeg(image, quality):
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=int(quality))
    return Image.open(io.BytesIO(buffer.getvalue()))


def _crop(image, rng):
    keep = rng.uniform(0.45, 0.85)  # of the area
    w, h = image.size
    cw, ch = int(w * np.sqrt(keep)), int(h * np.sqrt(keep))
    x, y = int(rng.uniform(0, w - cw)), int(rng.uniform(0, h - ch))
    return image.crop((x, y, x + cw, y + ch))


def _caption(image, rng):
    w, h = image.size
    bar = int(h * rng.uniform(0.08, 0.2))
    out = Image.new("RGB", (w, h + bar), "white")
    out.paste(image, (0, bar))
    ImageDraw.Draw(out).text((10, bar // 3), "when the copy detector works", fill="black")
    return out


def _letterbox(image, rng):
    w, h = image.size
    side = int(max(w, h) * rng.uniform(1.1, 1.4))
    out = Image.new("RGB", (side, side), "black")
    out.paste(image, ((side - w) // 2, (side - h) // 2))
    return out


EDITS = {
    "jpeg": lambda im, rng: _jpeg(im, rng.uniform(20, 60)),
    "resize": lambda im, rng: im.resize((max(32, int(im.width * (s := rng.uniform(0.2, 0.7)))),
                                         max(32, int(im.height * s)))),
    "crop": _crop,
    "mirror": lambda im, rng: ImageOps.mirror(im),
    "rotate90": lambda im, rng: im.transpose(rng.choice([Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_270])),
    "caption": _caption,
    "letterbox": _letterbox,
    "photometric": lambda im, rng: ImageEnhance.Contrast(ImageEnhance.Brightness(im).enhance(
        rng.uniform(0.7, 1.3))).enhance(rng.uniform(0.7, 1.3)),
    "combined": lambda im, rng: _jpeg(_crop(ImageOps.mirror(im), rng).resize(
        (max(32, im.width // 2), max(32, im.height // 2))), rng.uniform(30, 70)),
}


def build_catalog(media_dir: str, copies: int, seed: int):
    """[(name, source index, edit or "original", PIL image)]"""
    rng = np.random.default_rng(seed)
    catalog = []
    for index, row in enumerate(manifest_rows(media_dir, "image")):
        original = Image.open(os.path.join(media_dir, row["path"])).convert("RGB")
        catalog.append((row["path"], index, "original", original))
        for edit in rng.choice(list(EDITS), copies, replace=False):
            catalog.append((f"{row['path']}#{edit}", index, str(edit), EDITS[edit](original, rng)))
    return catalog


def fingerprint(image):
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return MATCHER.fingerprint(Blob(data=buffer.getvalue()), Limits())


def cached(name: str, compute):
    """``compute()``, kept in bench/work between runs (delete the files after changing the fingerprint or
    compare; the candidate step is always computed afresh)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "work", name)
    if os.path.exists(path):
        with open(path, "rb") as f:
            return pickle.load(f)
    value = compute()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(value, f)
    return value


def candidate_pairs(fingerprints, max_bucket: int) -> set:
    buckets = collections.defaultdict(list)
    for i, fp in enumerate(fingerprints):
        for key in MATCHER.index_keys(fp):
            buckets[key].append(i)
    shared, capped = collections.Counter(), 0
    for members in buckets.values():
        pairs = bucket_pairs(members, max_bucket)
        if pairs is None:
            capped += 1
            continue
        shared.update(pairs)
    return {pair for pair, n in shared.items() if is_candidate(n, MATCHER.min_shared_keys)}, capped, len(buckets)


def pairwise(groups_of: dict, truth: list[int]) -> tuple[float, float]:
    """Pairwise precision and recall of a grouping (item -> group id, singletons absent) against the truth."""
    predicted = {(i, j) for members in _members(groups_of).values() for i, j in itertools.combinations(members, 2)}
    actual = {(i, j) for members in _members(dict(enumerate(truth))).values()
              for i, j in itertools.combinations(members, 2)}
    correct = len(predicted & actual)
    return correct / max(1, len(predicted)), correct / max(1, len(actual))


def _members(groups_of: dict) -> dict:
    members = collections.defaultdict(list)
    for item, group in groups_of.items():
        members[group].append(item)
    return {g: sorted(m) for g, m in members.items()}


def groups_from_links(links) -> dict:
    return {item: g for g, members in enumerate(connected_groups(links)) for item in members}


def pdq_faiss_groups(images) -> dict:
    import faiss
    import pdqhash

    hashes = np.stack([np.packbits(pdqhash.compute(np.asarray(image.convert("RGB")))[0].astype(np.uint8))
                       for image in images])
    index = faiss.IndexBinaryFlat(256)
    index.add(hashes)
    limits, _, labels = index.range_search(hashes, 32)  # distance < 32: PDQ's radius of 31
    links = [(i, int(j)) for i in range(len(images)) for j in labels[limits[i]:limits[i + 1]] if i < j]
    return groups_from_links(links)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media-dir", required=True)
    parser.add_argument("--copies", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-bucket", type=int, default=DEFAULT_MAX_BUCKET)
    args = parser.parse_args(argv)

    catalog = build_catalog(args.media_dir, args.copies, args.seed)
    truth = [source for _, source, _, _ in catalog]
    edits = [edit for _, _, edit, _ in catalog]
    started = time.process_time()
    fingerprints = cached(f"dedupe-fingerprints-{args.copies}-{args.seed}.pkl",
                          lambda: [fingerprint(image) for _, _, _, image in catalog])
    print(f"catalog: {len(catalog)} images ({len(set(truth))} sources x (1 + {args.copies} copies)); "
          f"fingerprints {time.process_time() - started:.1f} CPU-s")

    started = time.process_time()
    all_pairs = list(itertools.combinations(range(len(catalog)), 2))
    matched = cached(f"dedupe-matches-{args.copies}-{args.seed}.pkl", lambda: {
        pair for pair in all_pairs if MATCHER.compare(fingerprints[pair[0]], fingerprints[pair[1]]).match})
    print(f"all pairs: {len(all_pairs):,} compared, {len(matched):,} match ({time.process_time() - started:.1f} CPU-s)")

    started = time.process_time()
    candidates, capped, keys = candidate_pairs(fingerprints, args.max_bucket)
    verified = {pair for pair in candidates if pair in matched}  # compare is deterministic: same answer
    per_asset = np.bincount(np.array(list(candidates), int).ravel(), minlength=len(catalog)) if candidates else [0]
    print(f"candidates: {len(candidates):,} pairs (per asset: mean {np.mean(per_asset):.1f}, p99 "
          f"{np.percentile(per_asset, 99):.0f}) from {keys:,} keys, {capped:,} capped "
          f"({time.process_time() - started:.1f} CPU-s)")

    rows = []
    for edit in ["all", *EDITS]:
        involved = [p for p in matched if edit == "all" or edit in (edits[p[0]], edits[p[1]])]
        if involved:
            found = sum(p in candidates for p in involved)
            rows.append([edit, len(involved), found, found / len(involved)])
    print("\nCandidate recall: all-pairs matches that the candidate step proposes, by the copy's edit")
    print_table(["edit", "all-pairs matches", "among candidates", "candidate recall"], rows)

    ours = groups_from_links(verified)
    exhaustive = groups_from_links(matched)
    baseline = pdq_faiss_groups([image for _, _, _, image in catalog])
    print("\nGroups against the truth (pairwise)")
    print_table(["method", "precision", "recall"],
                [["dedupe (candidates, verified)", *pairwise(ours, truth)],
                 ["all pairs verified", *pairwise(exhaustive, truth)],
                 ["PDQ + FAISS, radius 31", *pairwise(baseline, truth)]])


if __name__ == "__main__":
    main()
