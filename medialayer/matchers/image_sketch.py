"""The image compare cascade's cheap stage: a bag of visual words over the ORB descriptors.

Every descriptor (upright and mirrored) is quantised to the nearest of 16,384 visual words of a fixed
two-level vocabulary (128 coarse words, 128 fine words under each), trained offline by k-means on the
tuning split's descriptors (``bench/cascade_image.py --train-vocabulary``) and shipped as
``image_vocabulary.npy``. A fingerprint keeps the set of its words (at most 480 uint16, under 1 KB). A copy
that keypoint verification finds shares many of its words with the original, so compare rejects two images
that share fewer than ``MIN_SHARED_WORDS`` without the descriptor search, RANSAC or the colour check. The
bound is about 60% of the fewest words a keypoint-verified copy of the tuning split shares (13); on the
held-out split no decision changed (``bench/cascade_image.py``, docs/benchmarks.md).
"""
from __future__ import annotations

import math
import os

import faiss
import numpy as np

COARSE = FINE = 128  # words per level: 16,384 in all (4,096 left unrelated photos sharing far too many)
MIN_SHARED_WORDS = 8  # fewer shared words than this: no keypoint verification is attempted
VOCABULARY_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "image_vocabulary.npy")
_INDEXES = []  # [coarse index, fine index per coarse word], loaded once per process


def _indexes() -> list:
    if not _INDEXES:
        centroids = np.load(VOCABULARY_PATH)  # (COARSE + COARSE * FINE) x 32 packed bits
        if centroids.shape != (COARSE + COARSE * FINE, 32) or centroids.dtype != np.uint8:
            raise ValueError(f"{VOCABULARY_PATH}: not a {COARSE}x{FINE} binary vocabulary")
        for start in range(0, len(centroids), FINE):
            index = faiss.IndexBinaryFlat(256)
            index.add(np.ascontiguousarray(centroids[start:start + FINE]))
            _INDEXES.append(index)
    return _INDEXES


def _nearest(index, descriptors: np.ndarray) -> np.ndarray:
    return index.search(descriptors, 1)[1].ravel()


def visual_words(descriptors: np.ndarray) -> np.ndarray:
    """The sorted set of visual words (uint16) of ``descriptors`` (N x 32 packed ORB bits); exact search on
    one thread, so a descriptor gets the same word every time."""
    if len(descriptors) == 0:
        return np.zeros(0, np.uint16)
    coarse_index, *fine_indexes = _indexes()
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        coarse = _nearest(coarse_index, descriptors)
        words = np.empty(len(descriptors), np.int64)
        for cell in np.unique(coarse):
            members = coarse == cell
            words[members] = cell * FINE + _nearest(fine_indexes[cell], np.ascontiguousarray(descriptors[members]))
    finally:
        faiss.omp_set_num_threads(threads)
    return np.unique(words).astype(np.uint16)


def shared_words(words_a: bytes, words_b: bytes) -> int:
    """How many visual words two fingerprints have in common."""
    a, b = np.frombuffer(words_a, np.uint16), np.frombuffer(words_b, np.uint16)
    return len(np.intersect1d(a, b, assume_unique=True))


# Score of a pair the cascade rejects (hash distance beyond ACCEPT_DISTANCE, too few shared words):
# 1 / (1 + exp(-(w * distance / 256 + b))), fitted by ``bench/cascade_image.py --fit`` on the tuning split's
# rejected pairs, capped below the match threshold.
REJECTED_LOGIT = (-22.733, 4.813)


def rejected_score(distance: int) -> float:
    """The calibrated probability that a rejected pair is a duplicate all the same (never a match)."""
    weight, intercept = REJECTED_LOGIT
    return min(1.0 / (1.0 + math.exp(-(weight * distance / 256.0 + intercept))), 0.49)
