"""Catalog dedupe benchmark: candidate recall of the index keys against exhaustive all-pairs verification,
and group quality, per media type; for images beside PDQ hashes in a FAISS binary index (Meta's HMA).

    python bench/dedupe.py --media-dir ../shared/media-dev [--media-type image] [--copies 3] [--seed 1]
    python bench/dedupe.py --media-dir ../shared/media-dev --media-type audio [--seed 7] [--max-sources 12] [--first-source 6] [--crowd 9]
    python bench/dedupe.py --media-dir ../shared/media-dev --media-type video [--split held-out]

The image catalog: every image of media-dev, plus ``--copies`` transformed copies of each (parameters drawn
at random per copy: JPEG quality, resize, crop keeping 45-85% of the area at any position, mirror, 90-degree
turns, a caption bar, letterbox, brightness/gamma, and combinations). Truth: copies of one source form
one group; different sources (same-series photos included) are distinct.

The audio and video catalogs are the files the quality benchmarks build. bench/quality_audio.py: every
track of media-dev (or ``--max-sources`` of them) and its variants: codecs, noise, voiceover, reverb,
excerpts, and on the held-out tracks speed, tempo and pitch edits; silence, hiss, tones and noise as
distractors. bench/quality_video.py: every video of the split and the variants of issue 12: rotations and
flips, crops, speed, captions, colour, picture-in-picture, split screens, excerpts, composed longer videos,
and the hard negatives: halves of one recording, branded intros, same-style slideshows. Truth: two files are
duplicates when they share content (the quality benches know which source each file holds); groups are
compared with the connected components of that. With ``--crowd N`` (audio) the files of N other tracks
join the candidate step only: the catalog's matches then compete for each file's candidate limit with files
sharing keys by chance, as in a bigger catalog (the crowd's own matches are not computed: recall and groups
are the catalog's).

Measured on the same fingerprints the pipeline computes (``MATCHER.fingerprint``):
  * all pairs verified with ``compare`` (the exhaustive answer, which dedupe can at best reproduce);
  * candidates as the pipeline forms them (``index_keys``, buckets capped at ``--max-bucket``,
    ``min_shared_keys``; the same functions of medialayer.candidates): the share of the all-pairs
    matches among the candidates, per transformation of the copy involved;
  * groups (connected components of the verified candidates) against the truth: pairwise precision and
    recall; for images the same for PDQ + FAISS (IndexBinaryFlat, Hamming radius 31, union-find over the hits).
"""
from __future__ import annotations

import argparse
import collections
import dataclasses
import glob
import hashlib
import io
import itertools
import os
import pickle
import random
import sys
import time

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageOps

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root

from bench.common import manifest_rows, print_table  # noqa: E402
from medialayer.candidates import (DEFAULT_MAX_BUCKET, is_candidate, limit_per_asset,  # noqa: E402
                                   max_candidates, shared_key_counts)
from medialayer.grouping import connected_groups  # noqa: E402
from medialayer.limits import Limits  # noqa: E402
from medialayer.matchers import get_matcher  # noqa: E402
from medialayer.media import Blob  # noqa: E402

WORK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "work")


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


@dataclasses.dataclass
class Item:
    """One asset of the catalog: the content it holds (two assets are duplicates when theirs meet), how it
    was made, and how to read it (a PIL image, or a file path)."""

    name: str
    content: frozenset
    edit: str
    media: object


def image_catalog(media_dir: str, copies: int, seed: int) -> list[Item]:
    rng = np.random.default_rng(seed)
    catalog = []
    for index, row in enumerate(manifest_rows(media_dir, "image")):
        original = Image.open(os.path.join(media_dir, row["path"])).convert("RGB")
        catalog.append(Item(row["path"], frozenset([index]), "original", original))
        for edit in rng.choice(list(EDITS), copies, replace=False):
            catalog.append(Item(f"{row['path']}#{edit}", frozenset([index]), str(edit), EDITS[edit](original, rng)))
    return catalog


def audio_catalog(media_dir: str, seed: int, max_sources: int | None, first_source: int = 0) -> list[Item]:
    from bench import quality_audio

    sources, positives, _ = quality_audio.build(media_dir, os.path.join(WORK, "audio"), seed, max_sources,
                                                first_source=first_source)
    catalog = [Item(s["path"], frozenset([s["name"]]), "original", s["path"]) for s in sources]
    catalog += [Item(p["query"], frozenset([p["source"]["name"], *p["contains"]]), p["edit"] or p["case"],
                     p["query"]) for p in positives]
    catalog += [Item(path, frozenset([path]), "distractor", path)
                for path in quality_audio.low_information_files(os.path.join(WORK, "audio"))]
    return catalog


CROWD_FIRST_SOURCE = 3  # the spread of --crowd tracks (3, 7, 11, ... for 9) meets neither catalog's (0, 12, 24; 6, 18, 30)


def audio_crowd(media_dir: str, seed: int, tracks: int, catalog: list[Item]) -> list[Item]:
    """The files of ``tracks`` other tracks (their originals and variants), without the catalog's own files."""
    taken = {item.media for item in catalog}
    return [item for item in audio_catalog(media_dir, seed, tracks, CROWD_FIRST_SOURCE) if item.media not in taken]


def video_catalog(media_dir: str, split: str) -> list[Item]:
    from bench import quality_video

    files, positives = quality_video.build_dataset(media_dir, os.path.join(WORK, "video"), None, split, classic=False)
    category = {path: kind for source, variant, kind, _ in positives for path in (variant,)}
    return [Item(path, frozenset(content), "original" if role == "source" else
                 "hard negative" if role == "hard" else category.get(path, "composed"), path)
            for path, (content, role, _) in files.items()]


def fingerprint(matcher, item: Item):
    if isinstance(item.media, str):
        return matcher.fingerprint(Blob(path=item.media), Limits())
    buffer = io.BytesIO()
    item.media.save(buffer, "PNG")
    return matcher.fingerprint(Blob(data=buffer.getvalue()), Limits())


def matcher_version() -> str:
    """A digest of the matchers' source: cached fingerprints and matches belong to the code that made them."""
    sources = sorted(glob.glob(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                            "medialayer", "matchers", "*.py")))
    return hashlib.sha1(b"".join(open(path, "rb").read() for path in sources)).hexdigest()[:10]


def cache_path(name: str) -> str:
    return os.path.join(WORK, f"matchers-{matcher_version()}", name)


def cached(name: str, compute):
    """``compute()``, kept in bench/work between runs of the same matchers' code (the candidate step is always
    computed afresh)."""
    path = cache_path(name)
    if os.path.exists(path):
        with open(path, "rb") as f:
            return pickle.load(f)
    value = compute()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(value, f)
    return value


def candidate_pairs(matcher, fingerprints, max_bucket: int, max_candidates: int) -> set:
    """The candidates as the pipeline forms them (one shard holding every key gives the same counts)."""
    members = [(i, matcher.index_keys(fp)) for i, fp in enumerate(fingerprints)]
    shared, capped = shared_key_counts(members, max_bucket)
    keys = len({key for _, keys in members for key in keys})
    enough = {pair: n for pair, n in shared.items() if is_candidate(n, matcher.min_shared_keys)}
    return set(limit_per_asset(enough, max_candidates)), len(capped), keys


def pairwise(groups_of: dict, truth: set) -> tuple[float, float]:
    """Pairwise precision and recall of a grouping (item -> group id, singletons absent) against the pairs
    ``truth`` puts in one group."""
    predicted = {(i, j) for members in _members(groups_of).values() for i, j in itertools.combinations(members, 2)}
    correct = len(predicted & truth)
    return correct / max(1, len(predicted)), correct / max(1, len(truth))


def _members(groups_of: dict) -> dict:
    members = collections.defaultdict(list)
    for item, group in groups_of.items():
        members[group].append(item)
    return {g: sorted(m) for g, m in members.items()}


def groups_from_links(links) -> dict:
    return {item: g for g, members in enumerate(connected_groups(links)) for item in members}


def pdq_faiss_groups(images) -> dict:
    """Meta's HMA approach for images: PDQ hashes, a FAISS binary index, a Hamming radius of 31."""
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
    parser.add_argument("--media-type", choices=("image", "audio", "video"), default="image")
    parser.add_argument("--copies", type=int, default=3, help="images: transformed copies of each source")
    parser.add_argument("--seed", type=int, help="the draw of edits and parameters (default: 1 for images, 7 for audio, as in bench/quality_audio.py)")
    parser.add_argument("--max-sources", type=int, help="audio: at most this many tracks (spread over the list)")
    parser.add_argument("--first-source", type=int, default=0,
                        help="audio: the spread of --max-sources tracks starts at this one (0: where the keys were tuned)")
    parser.add_argument("--crowd", type=int, default=0,
                        help="audio: add the files of this many other tracks (every n-th from track %d: in neither "
                             "catalog), not compared: the catalog's matches must then win their place among more "
                             "candidates" % CROWD_FIRST_SOURCE)
    parser.add_argument("--time-compares", type=int, default=0, metavar="N",
                        help="time compare on N of the candidates (a fixed sample), in CPU time of this process")
    parser.add_argument("--split", default="held-out", choices=("all", "held-out", "tune"), help="video: the sources")
    parser.add_argument("--max-bucket", type=int, default=DEFAULT_MAX_BUCKET)
    parser.add_argument("--max-candidates", type=int,
                        help="candidates verified per asset (default: the pipeline's for the media type)")
    args = parser.parse_args(argv)
    if args.seed is None:
        args.seed = 7 if args.media_type == "audio" else 1

    kind, matcher = args.media_type, get_matcher(args.media_type)
    run_name = {"image": f"image-{args.copies}-{args.seed}", "audio": f"audio-{args.seed}-{args.max_sources}"
                + (f"-from{args.first_source}" if args.first_source else ""),
                "video": f"video-{args.split}"}[kind]
    catalog = {"image": lambda: image_catalog(args.media_dir, args.copies, args.seed),
               "audio": lambda: audio_catalog(args.media_dir, args.seed, args.max_sources, args.first_source),
               "video": lambda: video_catalog(args.media_dir, args.split)}[kind]()
    truth = {(i, j) for i, j in itertools.combinations(range(len(catalog)), 2)
             if catalog[i].content & catalog[j].content}
    true_groups = groups_from_links(truth)
    started = time.process_time()
    fingerprints = cached(f"dedupe-fingerprints-{run_name}.pkl", lambda: [fingerprint(matcher, item) for item in catalog])
    print(f"catalog: {len(catalog)} {kind} assets, {len(truth):,} pairs sharing content; fingerprints "
          f"{time.process_time() - started:.1f} CPU-s")

    started = time.process_time()
    all_pairs = list(itertools.combinations(range(len(catalog)), 2))
    matched = cached(f"dedupe-matches-{run_name}.pkl", lambda: {
        pair for pair in all_pairs if matcher.compare(fingerprints[pair[0]], fingerprints[pair[1]]).match})
    print(f"all pairs: {len(all_pairs):,} compared, {len(matched):,} match ({time.process_time() - started:.1f} CPU-s)")

    crowd = []
    if args.crowd and kind == "audio":  # indexed after the catalog, so the catalog's pairs keep their numbers
        crowd_items = audio_crowd(args.media_dir, args.seed, args.crowd, catalog)
        crowd = cached(f"dedupe-fingerprints-audio-{args.seed}-crowd{args.crowd}.pkl",
                       lambda: [fingerprint(matcher, item) for item in crowd_items])
        print(f"crowd: {len(crowd)} files of {args.crowd} other tracks, not compared (their pairs count as "
              f"candidates per asset, never as matches)")
    indexed = fingerprints + crowd

    started = time.process_time()
    limit = max_candidates(kind, args.max_candidates)
    candidates, capped, keys = candidate_pairs(matcher, indexed, args.max_bucket, limit)
    verified = {pair for pair in candidates if pair in matched}  # compare is deterministic: same answer
    per_asset = np.bincount(np.array(list(candidates), int).ravel(), minlength=len(indexed)) if candidates else [0]
    in_catalog = {(i, j) for i, j in candidates if j < len(catalog)}  # i < j
    print(f"candidates (at most {limit} per asset): {len(candidates):,} pairs (per asset: mean "
          f"{np.mean(per_asset):.1f}, p99 {np.percentile(per_asset, 99):.0f}) from {keys:,} keys, {capped:,} capped "
          f"({time.process_time() - started:.1f} CPU-s); {len(in_catalog - truth):,} of the catalog's "
          f"{len(all_pairs) - len(truth):,} pairs sharing no content"
          + (f", {len(candidates - in_catalog):,} with the crowd" if crowd else ""))
    if args.time_compares:
        sample = random.Random(1).sample(sorted(in_catalog), min(args.time_compares, len(in_catalog)))
        cpu_ms = []
        for i, j in sample:
            started = time.process_time()
            matcher.compare(fingerprints[i], fingerprints[j])
            cpu_ms.append(1000 * (time.process_time() - started))
        print(f"compare on {len(sample)} of the catalog's candidates: mean {np.mean(cpu_ms):.1f}, p99 "
              f"{np.percentile(cpu_ms, 99):.0f} CPU-ms; at the mean, the candidates cost "
              f"{np.mean(cpu_ms) * np.mean(per_asset) / 2000:.1f} CPU-s per asset")
    keys_per_asset = [len(matcher.index_keys(fp)) for fp in indexed]
    minutes = sum(getattr(fp, "duration", 0.0) for fp in indexed) / 60
    print(f"keys per asset: mean {np.mean(keys_per_asset):,.0f}, max {max(keys_per_asset):,}"
          + (f", {sum(keys_per_asset) / minutes:,.0f} per minute of media" if minutes else ""))

    rows = []
    edits = sorted({item.edit for item in catalog} - {"original"})
    for edit in ["all", *edits]:
        involved = [p for p in matched if edit == "all" or edit in (catalog[p[0]].edit, catalog[p[1]].edit)]
        if involved:
            found = sum(p in candidates for p in involved)
            rows.append([edit, len(involved), found, found / len(involved)])
    print("\nCandidate recall: all-pairs matches that the candidate step proposes, by the edit of the copies involved")
    print_table(["edit", "all-pairs matches", "among candidates", "candidate recall"], rows)

    same_group = {(i, j) for members in _members(true_groups).values() for i, j in itertools.combinations(members, 2)}
    methods = [["dedupe (candidates, verified)", *pairwise(groups_from_links(verified), same_group)],
               ["all pairs verified", *pairwise(groups_from_links(matched), same_group)]]
    if kind == "image":
        methods.append(["PDQ + FAISS, radius 31", *pairwise(pdq_faiss_groups([item.media for item in catalog]),
                                                            same_group)])
    print("\nGroups against the truth (pairwise), and the verified links against the pairs sharing content")
    print_table(["method", "precision", "recall"], methods)
    link_precision = len(verified & truth) / max(1, len(verified))
    print(f"verified links: {len(verified):,}, of which share content: {link_precision:.3f}; pairs sharing "
          f"content found as links: {len(verified & truth) / max(1, len(truth)):.3f}")


if __name__ == "__main__":
    main()
