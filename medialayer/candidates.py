"""Candidate generation for catalog dedupe: which assets to compare, from the keys they share.

Every fingerprint yields index keys (the matcher's ``index_keys``); assets that share a key fall in one
bucket. A bucket of ``n`` assets yields its n(n-1)/2 pairs, so a key shared by very many assets (a black
frame, silence, a logo, or a popular picture copied a thousand times) is capped: a bucket over
``max_bucket`` assets yields only each member's next ``CAPPED_NEIGHBOURS`` members in one fixed order of all
assets (by a hash of the URL), and is counted. That is linear in the bucket, and still finds a big group of
copies: its members share most of their keys, so the same neighbours meet in bucket after bucket and reach
``min_shared_keys``, while assets that share only a common key meet different neighbours in each. A pair
becomes a candidate when it shares at least the matcher's ``min_shared_keys`` keys.

Each asset is verified against at most ``max_candidates`` others (by media type): its candidates with the most
shared keys (a pair stays when either side keeps it). Without that bound a catalog of look-alike media (generated
patterns, product shots on one white background) makes every pair a candidate and the work quadratic; how many
pairs the bound dropped is counted.

Keys travel in ``KEY_SHARDS`` shards: an asset sends one element per shard with its keys of that shard, not
one element per key (an image has some 2,000 keys, and a runner's cost is per element), and each shard counts
its pairs' shared keys before they leave it.
"""
from __future__ import annotations

import collections
import hashlib
import itertools

# Assets per key beyond which only neighbours in the fixed order are paired: a pair's partial counts leave a
# key's shard one element each, so on a catalog of look-alikes the cap sets the shuffle's size (bench/dedupe_scale.py
# --candidates-only); 32 found every candidate that 200 found on bench/dedupe.py's image and video catalogs.
DEFAULT_MAX_BUCKET = 32
CAPPED_NEIGHBOURS = 3  # pairs per member of a capped bucket
DEFAULT_MAX_CANDIDATES = 50  # candidates verified per asset (a group's members need only a few links to meet)
# Media types that need more: a track's short clips and edits share few keys with each other, fewer than each
# shares by chance with long unrelated tracks (200 found 0.999 of the audio tune catalog's matches where 50
# found 0.863, at ~0.16 CPU-s per compare: docs/benchmarks.md, "Catalog dedupe", Audio).
MAX_CANDIDATES_BY_TYPE = {"audio": 200}
KEY_SHARDS = 128  # enough to spread the work and bound a shard's memory; few enough that an asset sends few elements


def asset_order(url: str) -> bytes:
    """The fixed order of all assets that capped buckets pair neighbours in (the same on every worker)."""
    return hashlib.blake2b(str(url).encode(), digest_size=8).digest()


def bucket_pairs(members, max_bucket: int = DEFAULT_MAX_BUCKET):
    """(the (url, url) pairs, smaller URL first, of one key's bucket, whether the bucket is over the cap)."""
    urls = sorted(set(members))
    if len(urls) <= max_bucket:
        return itertools.combinations(urls, 2), False
    ordered = sorted(urls, key=asset_order)
    return ((min(a, b), max(a, b)) for i, a in enumerate(ordered)
            for b in ordered[i + 1:i + 1 + CAPPED_NEIGHBOURS]), True


def key_shard(key: int) -> int:
    """A key's shard, from its bits mixed (keys are raw descriptor or hash bits, far from uniform)."""
    mixed = (key & 0xFFFFFFFFFFFFFFFF) * 0x9E3779B97F4A7C15 & 0xFFFFFFFFFFFFFFFF  # Fibonacci hashing
    return (mixed >> 40) % KEY_SHARDS


def shard_keys(keys) -> dict:
    """shard -> the keys of that shard."""
    shards = collections.defaultdict(list)
    for key in keys:
        shards[key_shard(key)].append(key)
    return shards


def shared_key_counts(members, max_bucket: int = DEFAULT_MAX_BUCKET):
    """One shard's (url, keys) members -> ({(url, url): keys shared in this shard}, [size of each capped bucket])."""
    buckets = collections.defaultdict(list)
    for url, keys in members:
        for key in keys:
            buckets[key].append(url)
    shared, capped = collections.Counter(), []
    for urls in buckets.values():
        pairs, over = bucket_pairs(urls, max_bucket)
        shared.update(pairs)
        if over:
            capped.append(len(set(urls)))
    return shared, capped


def is_candidate(shared_keys: int, min_shared_keys: int) -> bool:
    return shared_keys >= min_shared_keys


def max_candidates(media_type: str, chosen: int | None = None) -> int:
    """Candidates verified per asset of a media type: ``chosen`` (``--max-candidates``) or the type's default."""
    return chosen if chosen is not None else MAX_CANDIDATES_BY_TYPE.get(media_type, DEFAULT_MAX_CANDIDATES)


def strongest_partners(partners, max_candidates: int = DEFAULT_MAX_CANDIDATES) -> list:
    """One asset's (other, shared keys) candidates -> the ``max_candidates`` sharing the most keys (ties broken
    by the other's name, so every runner keeps the same ones)."""
    return sorted(partners, key=lambda partner: (-partner[1], partner[0]))[:max_candidates]


def limit_per_asset(shared: dict, max_candidates: int = DEFAULT_MAX_CANDIDATES) -> dict:
    """{(a, b): shared keys} -> the pairs that either side keeps among its strongest (the pipeline's rule, in
    one process)."""
    partners = collections.defaultdict(list)
    for (a, b), count in shared.items():
        partners[a].append((b, count))
        partners[b].append((a, count))
    kept = {}
    for asset, others in partners.items():
        for other, count in strongest_partners(others, max_candidates):
            kept[min(asset, other), max(asset, other)] = count
    return kept
