"""What image copies and unrelated look-alikes share, per key scheme: why keys stay unspecific (issue 15).

    python bench/dedupe.py --media-dir ../shared/media-dev --media-type image --seed 1   # first: its caches
    python bench/dedupe_keys.py --seed 1 [--lookalikes 400]

Four sets of pairs: the all-pairs matches of bench/dedupe.py's image catalog (``--seed``: its cached
fingerprints and matches in bench/work), that catalog's pairs of different sources, and among the first
``--lookalikes`` generated images of bench/throughput.py (random 16x16 colour patterns upscaled to 128 px,
each with a 0.75x JPEG-40 copy: the images of bench/dedupe_scale.py, fingerprinted once and cached) the copy
pairs and the pairs of different patterns.

For each way of describing an image as a set, the Jaccard index and the count of shared elements of each set
of pairs (percentiles): the visual words of its descriptors (image_sketch; a pair's best of upright against
upright and upright against mirrored either way), the index keys of medialayer.matchers.image by family (hash
words; 32-bit descriptor selections), and wider descriptor selections. Then min-hash sketches over the word
sets (Chum, Philbin and Zisserman 2008: a sketch is ``k`` min-hashes of the set, a copy sharing it with
probability J^k), upright and mirrored words sketched alike into one key space: per ``k`` and number of
sketches, the share of the catalog's matches sharing at least 1, 2 and 3 sketches, and the share of the
look-alike pairs of different patterns sharing at least one, which times a catalog's size is the distinct
pairs per asset that catalog of look-alikes would carry (the runner's partial counts).
"""
from __future__ import annotations

import argparse
import collections
import itertools
import os
import pickle
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root

from bench.common import print_table  # noqa: E402
from bench.dedupe import WORK, cache_path  # noqa: E402
from bench.dedupe_scale import cached_fingerprints  # noqa: E402
from bench.throughput import generate_images  # noqa: E402
from medialayer.matchers.image import _CENTRE_KEYS, _COLOUR_KEYS, _DESCRIPTOR_KEYS, _HASH_KEYS, index_keys  # noqa: E402
from medialayer.matchers.image_sketch import COARSE, FINE  # noqa: E402

SKETCHES = [(1, 64), (2, 64), (2, 256), (3, 256)]  # (min-hashes per sketch, sketches per word set)


def word_sets(fp) -> tuple[set, set]:
    """(the visual words of the upright descriptors, of the mirrored ones)."""
    words = np.frombuffer(fp.descriptor_words, np.uint16)
    upright = len(fp.descriptors) // 32
    return set(words[:upright].tolist()), set(words[upright:].tolist())


def jaccard(a: set, b: set) -> float:
    return len(a & b) / max(1, len(a | b))


def word_overlap(a, b) -> tuple[float, int]:
    """The best (Jaccard, shared words) of a's and b's upright words, and of one's upright and the other's mirrored."""
    (upright_a, mirrored_a), (upright_b, mirrored_b) = word_sets(a), word_sets(b)
    return max((jaccard(x, y), len(x & y)) for x, y in ((upright_a, upright_b), (upright_a, mirrored_b),
                                                         (mirrored_a, upright_b)))


def key_family(fp, namespaces) -> set:
    return {key for key in index_keys(fp) if key >> 48 << 48 in namespaces}


def selections(fp, bits: int, tables: int = 4, unique_within: int | None = None) -> set:
    """``tables`` fixed selections of ``bits`` bits of every descriptor, upright and mirrored; with
    ``unique_within``, only of the keypoints whose upright descriptor has no other of the image within that many
    bits (a bursty, repeated structure: Jegou, Douze and Schmid 2009)."""
    upright, mirrored = (np.frombuffer(b, np.uint8).reshape(-1, 32) for b in (fp.descriptors, fp.mirrored))
    if unique_within is not None and len(upright) > 1:
        words = upright.view(np.uint64)
        distances = np.bitwise_count(words[:, None, :] ^ words[None, :, :]).sum(axis=2)
        np.fill_diagonal(distances, 256)
        unique = distances.min(axis=1) > unique_within
        upright, mirrored = upright[unique], mirrored[unique[:len(mirrored)]]
    unpacked = np.unpackbits(np.vstack([upright, mirrored]), axis=1)
    keys = set()
    for table in range(tables):  # the 32-bit selections are index_keys' own (DESCRIPTOR_KEY_BITS)
        chosen = np.random.default_rng(20261201 + table).choice(256, bits, replace=False)
        picked = np.packbits(unpacked[:, chosen], axis=1)
        keys.update((table, row.tobytes()) for row in picked)
    return keys


_PERMUTATIONS = {}


def sketches(fp, per_sketch: int, count: int) -> set:
    """``count`` min-hash sketches of ``per_sketch`` min-hashes each, of the upright and of the mirrored word set."""
    if (per_sketch, count) not in _PERMUTATIONS:
        _PERMUTATIONS[per_sketch, count] = np.random.default_rng(per_sketch * 1000 + count).permuted(
            np.tile(np.arange(COARSE * FINE, dtype=np.uint32), (per_sketch * count, 1)), axis=1)  # each row its own
    ranks = _PERMUTATIONS[per_sketch, count]
    keys = set()
    for words in word_sets(fp):
        if words:
            minima = ranks[:, np.fromiter(words, np.int64)].min(axis=1).reshape(count, per_sketch)
            keys.update((sketch, row.tobytes()) for sketch, row in enumerate(minima))
    return keys


def shared_counts(sets: list[set], pairs) -> np.ndarray:
    return np.array([len(sets[i] & sets[j]) for i, j in pairs])


def stranger_counts(sets: list[set], same) -> np.ndarray:
    """Shared elements of every pair of ``sets`` that ``same(i, j)`` says are not copies (zeros included), by
    an inverted index."""
    members = collections.defaultdict(list)
    for i, elements in enumerate(sets):
        for element in elements:
            members[element].append(i)
    shared = collections.Counter(pair for group in members.values() if len(group) > 1
                                 for pair in itertools.combinations(group, 2) if not same(*pair))
    strangers = sum(not same(i, j) for i, j in itertools.combinations(range(len(sets)), 2))
    return np.concatenate([np.fromiter(shared.values(), int), np.zeros(strangers - len(shared), int)])


def percentiles(values, qs) -> str:
    return " / ".join(f"{v:.3g}" for v in np.percentile(values, qs))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1, help="bench/dedupe.py's image catalog (its cached run)")
    parser.add_argument("--copies", type=int, default=3)
    parser.add_argument("--lookalikes", type=int, default=400)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--workdir", default=os.path.join(WORK, "scale"), help="where the generated images are")
    args = parser.parse_args(argv)

    run_name = f"image-{args.copies}-{args.seed}"
    with open(cache_path(f"dedupe-fingerprints-{run_name}.pkl"), "rb") as f:
        catalog = pickle.load(f)
    with open(cache_path(f"dedupe-matches-{run_name}.pkl"), "rb") as f:
        matches = sorted(pickle.load(f))
    source = [i // (args.copies + 1) for i in range(len(catalog))]  # image_catalog: each source, then its copies
    strangers = [(i, j) for i, j in itertools.combinations(range(len(catalog)), 2) if source[i] != source[j]]
    paths = generate_images(os.path.join(args.workdir, f"images{args.size}"), args.lookalikes, args.size)
    looks = cached_fingerprints(paths)
    look_copies = [(i, i + 1) for i in range(0, len(looks) - 1, 2)]  # generate_images: pattern i is 2i and 2i+1

    def same_pattern(i, j):
        return i // 2 == j // 2

    print(f"catalog {run_name}: {len(catalog)} images, {len(matches):,} all-pairs matches, {len(strangers):,} pairs "
          f"of different sources; look-alikes: {len(looks)} images, {len(look_copies)} copy pairs")
    qs, tail = (1, 5, 50), (50, 99, 100)
    rows = []
    overlap = [[word_overlap(fps[i], fps[j]) for i, j in pairs]
               for fps, pairs in ((catalog, matches), (catalog, strangers[::10]), (looks, look_copies),
                                  (looks, [p for p in itertools.combinations(range(len(looks)), 2)
                                           if not same_pattern(*p)][::10]))]
    rows.append(["visual words (every 10th stranger pair)", "-",
                 *(f"J {percentiles([o[0] for o in pairs], q)}; {percentiles([o[1] for o in pairs], q)}"
                   for pairs, q in zip(overlap, (qs, tail, qs, tail))), "-", "-"])
    hash_keys = {_HASH_KEYS, _CENTRE_KEYS, _COLOUR_KEYS}  # (a flat image has only colour keys)
    schemes = [("index_keys (all)", index_keys), ("hash-word keys", lambda fp: key_family(fp, hash_keys)),
               ("descriptor keys (4 x 32 bits)", lambda fp: key_family(fp, {_DESCRIPTOR_KEYS})),
               *[(f"descriptor selections, 4 x {bits} bits", lambda fp, bits=bits: selections(fp, bits))
                 for bits in (48, 64)],
               *[(f"hash keys + 4 x 32 bits of descriptors with no twin within {bits} bits in their image",
                  lambda fp, bits=bits: key_family(fp, hash_keys) | selections(fp, 32, unique_within=bits))
                 for bits in (20, 30, 40)]]
    for name, describe in schemes:
        sets, look_sets = [set(describe(fp)) for fp in catalog], [set(describe(fp)) for fp in looks]
        shared, look_strangers = shared_counts(sets, matches), stranger_counts(look_sets, same_pattern)
        rows.append([name, f"{np.mean([len(s) for s in sets]):,.0f} / {np.mean([len(s) for s in look_sets]):,.0f}",
                     percentiles(shared, qs), percentiles(shared_counts(sets, strangers), tail),
                     percentiles(shared_counts(look_sets, look_copies), qs), percentiles(look_strangers, tail),
                     f"{np.mean(shared >= 3):.4f}", f"{look_strangers.mean():.2f}; {np.mean(look_strangers >= 1):.3f}"])
    print("\nWhat pairs share: copies p1 / p5 / p50, strangers p50 / p99 / max (words: Jaccard; shared words)")
    print_table(["set", "elements per image (catalog / look-alikes)", "catalog matches", "catalog strangers",
                 "look-alike copies", "look-alike strangers", "matches sharing >= 3",
                 "look-alike strangers: mean shared; share sharing >= 1"], rows)

    rows = []
    for per_sketch, count in SKETCHES:
        sets, look_sets = ([sketches(fp, per_sketch, count) for fp in fps] for fps in (catalog, looks))
        shared = shared_counts(sets, matches)
        strangers_shared = stranger_counts(look_sets, same_pattern)
        chance = np.mean(strangers_shared >= 1)
        rows.append([per_sketch, count, *(f"{np.mean(shared >= m):.3f}" for m in (1, 2, 3)),
                     f"{np.mean(shared_counts(look_sets, look_copies) >= 1):.3f}", f"{chance:.4f}",
                     f"{chance * 10_000:,.0f}", f"{chance * 200_000:,.0f}"])
    print("\nMin-hash sketches of the word sets: matches sharing >= 1 / 2 / 3 sketches; look-alike pairs sharing >= 1")
    print_table(["min-hashes per sketch", "sketches per set", "matches >= 1", ">= 2", ">= 3", "look-alike copies >= 1",
                 "look-alike strangers >= 1", "distinct pairs per asset at 10,000", "at 200,000"], rows)


if __name__ == "__main__":
    main()
