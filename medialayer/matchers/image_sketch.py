"""The image compare cascade's cheap stage: visual words of the ORB descriptors.

Every descriptor (upright and mirrored) is quantised to the nearest of 16,384 visual words of a fixed
two-level vocabulary (128 coarse words, 128 fine words under each), trained offline by k-means on the
tuning split's descriptors (``bench/cascade_image.py --train-vocabulary``) and shipped as
``image_vocabulary.npy``. A fingerprint keeps each descriptor's word (at most 608 uint16, about 1 KB). Two
descriptors that keypoint verification pairs are close, and mostly fall in the same word; two photos that
merely share common words (sky, foliage, text) have few descriptors close within them. So compare counts the
word matches, a's descriptors with a descriptor of b in the same word within ``WORD_MATCH_DISTANCE`` bits,
and rejects a pair with fewer than ``MIN_WORD_MATCHES`` in both orientations without the descriptor search,
RANSAC or the colour check. Both bounds are set on the tuning split, well below the fewest word matches of a
keypoint-verified copy there (5), and checked on the held-out split, where two copies were lost
(``bench/cascade_image.py``, docs/benchmarks.md).
"""
from __future__ import annotations

import math
import os

import faiss
import numpy as np

COARSE = FINE = 128  # words per level: 16,384 in all (4,096 left unrelated photos sharing far too many)
WORD_MATCH_DISTANCE = 56  # bits (of 256) within which two descriptors of one word count as a word match
MIN_WORD_MATCHES = 3  # fewer word matches than this (in either orientation): no keypoint verification is attempted
VOCABULARY_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "image_vocabulary.npy")
_INDEX = []  # [coarse index, the vocabulary as an inverted index over it], built once per process


def _index():
    """The vocabulary as a FAISS binary IVF index: the coarse words are its lists, each holding its fine words
    (ids ``coarse * FINE + fine``), so a search probing one list is the two-level lookup in one call."""
    if not _INDEX:
        centroids = np.load(VOCABULARY_PATH)  # (COARSE + COARSE * FINE) x 32 packed bits
        if centroids.shape != (COARSE + COARSE * FINE, 32) or centroids.dtype != np.uint8:
            raise ValueError(f"{VOCABULARY_PATH}: not a {COARSE}x{FINE} binary vocabulary")
        coarse = faiss.IndexBinaryFlat(256)
        coarse.add(np.ascontiguousarray(centroids[:COARSE]))
        index = faiss.IndexBinaryIVF(coarse, 256, COARSE)
        index.is_trained, index.nprobe = True, 1
        for cell in range(COARSE):
            ids = np.arange(cell * FINE, (cell + 1) * FINE, dtype=np.int64)
            fine = np.ascontiguousarray(centroids[COARSE + cell * FINE:COARSE + (cell + 1) * FINE])
            index.invlists.add_entries(cell, FINE, faiss.swig_ptr(ids), faiss.swig_ptr(fine))  # copies both
        index.ntotal = COARSE * FINE
        _INDEX.extend([coarse, index])  # the IVF index only points at its coarse index: keep that alive too
    return _INDEX[1]


def visual_words(descriptors: np.ndarray) -> np.ndarray:
    """The visual word (uint16) of each of ``descriptors`` (N x 32 packed ORB bits), in their order: the
    nearest coarse word, then the nearest of its fine words; exact search on one thread, so a descriptor
    gets the same word every time."""
    if len(descriptors) == 0:
        return np.zeros(0, np.uint16)
    index = _index()
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        words = index.search(np.ascontiguousarray(descriptors), 1)[1].ravel()
    finally:
        faiss.omp_set_num_threads(threads)
    return words.astype(np.uint16)


def word_order(words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the descriptors in the order of their ``words``, stably; those words): b's side of word_matches."""
    order = words.argsort(kind="stable")
    return order, words[order]


def word_matches(words_a: np.ndarray, descriptors_a: np.ndarray, order: np.ndarray, sorted_b: np.ndarray,
                 descriptors_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The word matches, (indices in a, indices in b) ordered by a's: every pair of a descriptor of a and one of b
    of the same visual word within WORD_MATCH_DISTANCE bits; b's words given as word_order() of them. Only a's
    descriptors whose word b has at all (a few dozen of hundreds, found through a table of b's words) are joined
    with b's descriptors of that word."""
    # (ndarray methods rather than numpy's functions: on arrays this small their dispatch costs more than the work)
    in_b = np.zeros(COARSE * FINE, bool)
    in_b[sorted_b] = True
    query = in_b[words_a].nonzero()[0]
    shared = words_a[query]
    first = sorted_b.searchsorted(shared, "left")
    counts = sorted_b.searchsorted(shared, "right") - first
    if len(counts) and counts.max() > 1:  # a word b has several descriptors of: one (a, b) pair per descriptor of b
        within = np.arange(counts.sum()) - np.repeat(counts.cumsum() - counts, counts)
        query, first = np.repeat(query, counts), np.repeat(first, counts) + within
    candidate = order[first]
    # (take() rather than indexing: numpy's indexing of rows this narrow costs several times as much)
    distances = np.bitwise_count(descriptors_a.view(np.uint64).take(query, axis=0)
                                 ^ descriptors_b.view(np.uint64).take(candidate, axis=0))
    close = np.add.reduce(distances, axis=1) <= WORD_MATCH_DISTANCE
    return query[close], candidate[close]


# Score of a pair the cascade rejects (hash distance beyond ACCEPT_DISTANCE, and too few word matches or no
# verified transform): 1 / (1 + exp(-(w * distance / 256 + b))), fitted by ``bench/cascade_image.py --fit``
# on the tuning split's rejected pairs, capped below the match threshold.
REJECTED_LOGIT = (-12.076, 1.589)


def rejected_score(distance: int) -> float:
    """The calibrated probability that a rejected pair is a duplicate all the same (never a match)."""
    weight, intercept = REJECTED_LOGIT
    return min(1.0 / (1.0 + math.exp(-(weight * distance / 256.0 + intercept))), 0.49)
