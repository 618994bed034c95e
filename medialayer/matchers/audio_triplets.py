"""Landmarks that survive speed, tempo and pitch changes: triplets of spectral peaks (after Six and Leman's
Panako, 2014, and Olaf).

On a log-frequency axis a pitch shift adds one constant to every peak's frequency and a tempo change scales
every time difference by one factor; a speed change (resampling) does both. A triplet of peaks
t1 < t2 < t3 is hashed on what none of these edits changes: the frequency differences f2 - f1 and f3 - f2
and the ratio (t2 - t1) / (t3 - t1). The hashes are plain integers, the same whatever the edit, so an index
can key on them. A hash the two files share gives, besides where it sits in each, an estimate of the time
scale (the ratio of the two spans t3 - t1) and of the pitch shift (the difference of the two f1): the hits
of one edit gather in one (pitch shift, time scale) cell, and those of unrelated music spread over all.
"""
from __future__ import annotations

import dataclasses

import numpy as np
from scipy import ndimage

TRIPLET_RANK = 6  # peaks of salience rank below this in their quota cell make triplets (24 per second)
LOOKAHEAD = 14  # the second and third peak are among the next this many of those peaks
MIN_GAP = 2  # frames between consecutive peaks of a triplet: closer timings are too coarse for a ratio
MAX_SPAN = 48  # frames from the first to the third peak (1.5 s)
MAX_DF = 24  # log-frequency steps (2/3 octave) between consecutive peaks of a triplet
RATIO_LEVELS = 8  # the ratio (t2 - t1) / (t3 - t1) quantised into this many levels
MAX_REPEATS = 24  # a hash held this many times by one side says nothing about alignment
MAX_SHIFT = 22  # log-frequency steps (7.3 semitones): a speed change of 30% is 13.6 steps up, 18.5 down
SCALE_BIN = 0.04  # log2 width of a time-scale cell (2.8%)
MAX_LOG2_SCALE = 0.6  # time scales searched: 0.66 to 1.52
# a cell must hold this many times the hits of the average cell to be examined: the busiest cells of two
# unrelated 5-minute recordings hold ~2x, every cell whose edit matched on the tuning half >= 5x
MIN_PROMINENCE = 3.0


@dataclasses.dataclass(frozen=True)
class Triplets:
    hashes: np.ndarray  # uint16, sorted
    starts: np.ndarray  # float32, t1 (frames)
    ends: np.ndarray  # float32, t3 (frames)
    pitches: np.ndarray  # float32, f1 (log-frequency steps)


def triplets(frames: np.ndarray, log_freqs: np.ndarray, ranks: np.ndarray, freq_scale: int) -> Triplets:
    """The triplet hashes of one fingerprint's salient peaks (sorted by hash)."""
    keep = ranks < TRIPLET_RANK
    t = frames[keep].astype(np.int32)
    f = (log_freqs[keep] / freq_scale).astype(np.float32)
    n = len(t)
    steps = range(1, min(LOOKAHEAD, n - 1) + 1)
    # time and rounded log-frequency differences to the k-th next peak, and whether the two may be consecutive
    # peaks of a triplet (spaced, near in frequency) or its first and last (within MAX_SPAN)
    dt = {k: t[k:] - t[:-k] for k in steps}
    df = {k: np.rint(f[k:] - f[:-k]).astype(np.int32) for k in steps}
    linked = {k: (dt[k] >= MIN_GAP) & (np.abs(df[k]) <= MAX_DF) for k in steps}
    short = {k: dt[k] <= MAX_SPAN for k in steps}
    hashes, starts, spans = [], [], []
    for second in steps:
        for third in range(second + 1, steps.stop):
            m = n - third
            span = dt[third]
            i = np.nonzero(linked[second][:m] & linked[third - second][second:] & short[third])[0]
            ratio = RATIO_LEVELS * dt[second][i] // span[i]  # integer arithmetic: no rounding at level edges
            hashes.append(((df[second][i] + MAX_DF) * (2 * MAX_DF + 1) + df[third - second][second + i] + MAX_DF)
                          * RATIO_LEVELS + ratio)
            starts.append(i)
            spans.append(span[i])
    if not hashes:
        empty = np.zeros(0, np.float32)
        return Triplets(np.zeros(0, np.uint16), empty, empty, empty)
    hashes, first, spans = (np.concatenate(column) for column in (hashes, starts, spans))
    hashes = hashes.astype(np.uint16)  # (2 * MAX_DF + 1) ** 2 * RATIO_LEVELS values: a stable sort is then a radix sort
    order = np.argsort(hashes, kind="stable")
    first, spans = first[order], spans[order]
    return Triplets(hashes[order], t[first].astype(np.float32), (t[first] + spans).astype(np.float32), f[first])


def hash_join(hashes_a: np.ndarray, hashes_b: np.ndarray, max_repeats: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices into ``hashes_a`` (sorted) and ``hashes_b`` of every hash the two share, leaving out hashes
    A holds more than ``max_repeats`` times (too repetitive to say anything about alignment)."""
    starts = np.flatnonzero(np.diff(hashes_a, prepend=hashes_a[:1] - 1, append=hashes_a[-1:] + 1))  # runs of A
    if len(starts) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    run = np.minimum(np.searchsorted(hashes_a[starts[:-1]], hashes_b), len(starts) - 2)  # one search of A's values
    lo, count = starts[run], np.diff(starts)[run]
    count[(hashes_a[lo] != hashes_b) | (count > max_repeats)] = 0
    rows_b = np.repeat(np.arange(len(hashes_b)), count)
    # the k-th hit of a B row is A row lo + k: its place among all hits less the hits of earlier B rows
    return np.arange(len(rows_b)) + np.repeat(lo - (np.cumsum(count) - count), count), rows_b


def hits(a: Triplets, b: Triplets) -> tuple[np.ndarray, np.ndarray]:
    """Row indices into A's and B's triplets of every hash the two share."""
    return hash_join(a.hashes, b.hashes, MAX_REPEATS)


def edit_cells(a: Triplets, b: Triplets, rows_a: np.ndarray, rows_b: np.ndarray, top: int):
    """The ``top`` (pitch shift, time scale) cells holding the most hits (after smoothing over neighbours),
    of those that stand out (MIN_PROMINENCE): for each, the shift in steps, the time scale (B frames per A
    frame) and the hits in it (a mask). Also the number of cells there were to choose from."""
    shift = b.pitches[rows_b] - a.pitches[rows_a]
    log_scale = np.log2((b.ends[rows_b] - b.starts[rows_b]) / (a.ends[rows_a] - a.starts[rows_a]))
    shift_bins, scale_bins = 2 * MAX_SHIFT + 1, int(round(2 * MAX_LOG2_SCALE / SCALE_BIN)) + 1
    i = np.rint(shift).astype(np.int64) + MAX_SHIFT
    j = np.rint(log_scale / SCALE_BIN).astype(np.int64) + scale_bins // 2
    inside = (i >= 0) & (i < shift_bins) & (j >= 0) & (j < scale_bins)
    cell = np.where(inside, i * scale_bins + j, shift_bins * scale_bins)  # outside: one past the last cell
    votes = np.bincount(cell[inside], minlength=shift_bins * scale_bins).astype(np.float32)
    votes = votes.reshape(shift_bins, scale_bins)
    votes = ndimage.uniform_filter(votes, size=(3, 3), mode="constant") * 9
    floor = max(MIN_PROMINENCE * float(votes.mean()), 1e-9)
    cells = []
    for _ in range(top):
        ci, cj = np.unravel_index(int(np.argmax(votes)), votes.shape)
        if votes[ci, cj] < floor:
            break
        votes[max(0, ci - 2):ci + 3, max(0, cj - 2):cj + 3] = 0
        neighbours = np.zeros((shift_bins, scale_bins), bool)
        neighbours[max(0, ci - 1):ci + 2, max(0, cj - 1):cj + 2] = True
        mask = np.append(neighbours.ravel(), False)[cell]  # the hits in the cell and its eight neighbours
        cells.append((int(ci) - MAX_SHIFT, 2.0 ** ((int(cj) - scale_bins // 2) * SCALE_BIN), mask))
    return cells, shift_bins * scale_bins
