"""The image compare cascade's cheap stage: visual words of the ORB descriptors, and their geometry.

Every descriptor (upright and mirrored) is quantised to its ``WORDS_PER_DESCRIPTOR`` nearest of 128 visual
words, trained offline by k-means on the tuning split's descriptors (``bench/cascade_image.py
--train-vocabulary``) and shipped as ``image_vocabulary.npy``; a fingerprint keeps them (at most 480 x 3 uint8)
and each keypoint's ORB angle and pyramid level (``keypoint_geometry``, 2 bytes a keypoint). A word match is a
descriptor of a with the nearest descriptor of b whose nearest word is one of a's words, when that is within
``WORD_MATCH_DISTANCE`` bits (two close descriptors either side of a word's border still meet). Two unrelated
photos have word matches by chance, but they point every which way; a copy's say alike how b is turned and
scaled against a. So compare counts the most word matches of one orientation that agree with one of them on a
similarity transform (``consistent_group``) and rejects a pair with fewer than ``MIN_CONSISTENT_MATCHES``
without the descriptor search, RANSAC or the colour check. (Finer words, 16,384 of them, lost copies: close
descriptors of a copy fall into different fine words; counting matches without their geometry let too many
unrelated pairs through.) The bounds are set on the tuning split, about 60% of the fewest consistent word
matches of a keypoint-verified copy there (7), and checked on the held-out split (``bench/cascade_image.py``,
docs/benchmarks.md).
"""
from __future__ import annotations

import math
import os

import faiss
import numpy as np

WORDS = 128  # visual words
WORDS_PER_DESCRIPTOR = 3  # nearest words kept per descriptor (with 1, close descriptors of copies missed each other)
WORD_MATCH_DISTANCE = 56  # bits (of 256) within which two descriptors of one word count as a word match
PYRAMID_SCALE = 1.2  # ORB's scale factor between pyramid levels
MAX_TURN_DEVIATION = 20.0  # degrees two word matches' rotations may differ and still agree
MAX_LOG_SCALE_DEVIATION = 1.5 * math.log(PYRAMID_SCALE)  # how far their scales may differ (levels are coarse)
MAX_SCALE = 5.0  # nor may they scale b against a beyond this (or its inverse), as verification demands
MIN_MATCH_SEPARATION = 8.0  # working-image pixels between two matches' keypoints for their line to say anything
MIN_CONSISTENT_MATCHES = 4  # fewer word matches agreeing on a transform: no keypoint verification is attempted
VOCABULARY_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "image_vocabulary.npy")
_INDEX = []  # the vocabulary's FAISS index, loaded once per process


def _index():
    if not _INDEX:
        centroids = np.load(VOCABULARY_PATH)  # WORDS x 32 packed bits
        if centroids.shape != (WORDS, 32) or centroids.dtype != np.uint8:
            raise ValueError(f"{VOCABULARY_PATH}: not a binary vocabulary of {WORDS} words")
        index = faiss.IndexBinaryFlat(256)
        index.add(centroids)
        _INDEX.append(index)
    return _INDEX[0]


def visual_words(descriptors: np.ndarray) -> np.ndarray:
    """The WORDS_PER_DESCRIPTOR nearest visual words (uint8, nearest first) of each of ``descriptors`` (N x 32
    packed ORB bits): N x WORDS_PER_DESCRIPTOR; exact search on one thread, so a descriptor gets the same words
    every time."""
    if len(descriptors) == 0:
        return np.zeros((0, WORDS_PER_DESCRIPTOR), np.uint8)
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        return _index().search(descriptors, WORDS_PER_DESCRIPTOR)[1].astype(np.uint8)
    finally:
        faiss.omp_set_num_threads(threads)


def word_match_pairs(words_a: np.ndarray, descriptors_a: np.ndarray, words_b: np.ndarray,
                     descriptors_b: np.ndarray) -> np.ndarray:
    """(index in a, index in b): each descriptor of a with the nearest descriptor of b whose nearest word is one of
    its words (``words_a``: N x WORDS_PER_DESCRIPTOR; ``words_b``: b's nearest words; the first of those equally
    near), where that is within WORD_MATCH_DISTANCE bits."""
    order = np.argsort(words_b, kind="stable")
    per_word = np.bincount(words_b, minlength=WORDS)
    first, counts = (np.cumsum(per_word) - per_word)[words_a.ravel()], per_word[words_a.ravel()]
    # every (a, b) pair of descriptors sharing a word, by descriptor of a
    query = np.repeat(np.arange(words_a.size) // words_a.shape[1], counts)
    if len(query) == 0:
        return np.zeros((0, 2), np.int64)
    candidate = order[np.arange(len(query)) + np.repeat(first - (np.cumsum(counts) - counts), counts)]
    distances = np.bitwise_count(descriptors_a[query].view(np.uint64) ^ descriptors_b[candidate].view(np.uint64))
    # The nearest per descriptor of a: the least (query, distance, candidate), packed into one number.
    packed = (query * 512 + distances.sum(axis=1).astype(np.int64)) * 512 + candidate
    nearest = np.minimum.reduceat(packed, np.flatnonzero(np.r_[True, query[1:] != query[:-1]]))
    nearest = nearest[nearest // 512 % 512 <= WORD_MATCH_DISTANCE]
    return np.stack([nearest // (512 * 512), nearest % 512], axis=1)


def consistent_group(points_a: np.ndarray, angles_a: np.ndarray, levels_a: np.ndarray, points_b: np.ndarray,
                     angles_b: np.ndarray, levels_b: np.ndarray, layer: np.ndarray) -> int:
    """The most of these word matches (keypoint i of a with keypoint i of b: position, ORB angle in degrees,
    pyramid level) that agree with one of them on a similarity transform, that one included; matches of
    different ``layer`` (a upright, a mirrored) never agree. Each match says how b is turned and scaled against
    a (its keypoints' angles and levels); two matches of a copy say it alike, and the line between their points
    in b is the line in a turned and scaled so."""
    if len(points_a) < 2:
        return len(points_a)
    turn = angles_b - angles_a  # per match
    log_scale = (levels_b - levels_a) * math.log(PYRAMID_SCALE)
    order = np.arange(len(points_a))
    i, j = np.nonzero((order[:, None] < order) & (layer[:, None] == layer)  # the cheap tests first
                      & (_angle_apart(turn[:, None], turn) <= MAX_TURN_DEVIATION)
                      & (np.abs(log_scale[:, None] - log_scale) <= 2 * MAX_LOG_SCALE_DEVIATION))
    line_a, line_b = points_a[j] - points_a[i], points_b[j] - points_b[i]
    length_a, length_b = np.hypot(line_a[:, 0], line_a[:, 1]), np.hypot(line_b[:, 0], line_b[:, 1])
    line_turn = np.degrees(np.arctan2(line_b[:, 1], line_b[:, 0]) - np.arctan2(line_a[:, 1], line_a[:, 0]))
    line_log_scale = np.log(np.maximum(length_b, 1e-6) / np.maximum(length_a, 1e-6))
    agree = ((length_a >= MIN_MATCH_SEPARATION) & (length_b >= MIN_MATCH_SEPARATION)
             & (np.abs(line_log_scale) <= math.log(MAX_SCALE))
             & (_angle_apart(line_turn, turn[i]) <= MAX_TURN_DEVIATION)
             & (_angle_apart(line_turn, turn[j]) <= MAX_TURN_DEVIATION)
             & (np.abs(line_log_scale - log_scale[i]) <= MAX_LOG_SCALE_DEVIATION)
             & (np.abs(line_log_scale - log_scale[j]) <= MAX_LOG_SCALE_DEVIATION))
    votes = np.bincount(np.r_[i[agree], j[agree]], minlength=len(points_a))
    return int(votes.max()) + 1


def _angle_apart(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Degrees between two angles (degrees), 0-180."""
    return np.abs((x - y + 180.0) % 360.0 - 180.0)


# Score of a pair the cascade rejects (hash distance beyond ACCEPT_DISTANCE, and too few word matches or no
# verified transform): 1 / (1 + exp(-(w * distance / 256 + b))), fitted by ``bench/cascade_image.py --fit``
# on the tuning split's rejected pairs, capped below the match threshold.
REJECTED_LOGIT = (-12.076, 1.589)


def rejected_score(distance: int) -> float:
    """The calibrated probability that a rejected pair is a duplicate all the same (never a match)."""
    weight, intercept = REJECTED_LOGIT
    return min(1.0 / (1.0 + math.exp(-(weight * distance / 256.0 + intercept))), 0.49)
