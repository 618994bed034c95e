"""Candidate generation for catalog dedupe: which assets to compare, from the keys they share.

Every fingerprint yields index keys (the matcher's ``index_keys``); assets that share a key fall in one
bucket. A bucket of ``n`` assets yields its n(n-1)/2 pairs, so a key shared by very many assets (a black
frame, silence, a logo) is capped: a bucket over ``max_bucket`` assets yields no pairs at all and is
counted. Its assets still meet through their other keys; what that costs in recall is measured by the
benchmark. A pair becomes a candidate when it shares at least the matcher's ``min_shared_keys`` keys.
"""
from __future__ import annotations

import itertools

DEFAULT_MAX_BUCKET = 200  # assets per key beyond which the key is too common to say anything


def bucket_pairs(members, max_bucket: int = DEFAULT_MAX_BUCKET):
    """The (url, url) pairs, smaller URL first, of one key's bucket; None when the bucket is over the cap."""
    urls = sorted(set(members))
    if len(urls) > max_bucket:
        return None
    return itertools.combinations(urls, 2)


def is_candidate(shared_keys: int, min_shared_keys: int) -> bool:
    return shared_keys >= min_shared_keys
