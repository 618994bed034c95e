"""Local features of a video: ORB keypoints on frames sampled every LOCAL_STEP seconds, for what the
global descriptors cannot see: picture-in-picture, split screens, heavy crops, rotations with crops.

Fingerprint: per sampled frame, up to KEYPOINTS keypoints spread over a CELLS x CELLS grid (so a
quarter of the frame still has its own) and COARSE_KEYPOINTS more from ORB's coarse levels (a copy shown at half
size or less meets those with its finest), position (float16 pixels), 32-byte descriptor, and the 32-byte
descriptor of the mirrored picture at the mirrored point (ORB is not mirror-invariant; a mirrored copy's
keypoints are these, so mirrored copies inside other frames or heavily cropped are found too). Keypoints
found at the same place in most of the frames STATIC_LAGS seconds away are dropped: a fixed camera's
background, a channel logo or a permanent frame says nothing about *when* two videos agree.

Compare: every descriptor of a is looked up among b's (multi-index hashing, bounded cost); the matches
vote for frame pairs; the best-voted pairs are verified by a RANSAC similarity transform (rotation and
scale free, so the copy may sit anywhere in the frame at any size): MIN_INLIERS keypoints agreeing verify a pair
on its own; WEAK_INLIERS count only at a place and on a line that a pair verified on its own shares (a dark or
sparse picture shown small keeps few keypoints its copy shows). The pairs that put the copy at the
place where the most frames put it (one copy keeps its place and size; chance agreements and frames a
second off along a zoom land elsewhere) give time lines (through every two of them, speed ratio 0.5 to 2);
the best-supported line must be a clear peak over the lines a few seconds away, and runs of its frames make
the matched segments. Along the line, the frames that did not verify on their own are checked again where
the copy sits (guided matching), and runs are joined where nothing verified in between says the copy
stopped: a copy is not cut where verification failed, nor where neither video shows a described frame.
"""
from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from medialayer.matchers.base import Segment

LOCAL_STEP = 1.0  # seconds of media time between frames described by keypoints
LOCAL_SIDE = 480  # long side of the grey picture keypoints are found on (scaled up or down)
KEYPOINTS = 128  # this many per frame (more where WEAK_FAST adds some) ...
CELLS = 4  # ... at most KEYPOINTS / CELLS**2 of them strongest in each cell of a CELLS x CELLS grid first
COARSE_KEYPOINTS, COARSE_OCTAVE = 32, 4  # and this many more, spread alike, from ORB's pyramid levels from this one
# up (at 1 / 1.2**4 = 0.48 of the picture's size and smaller): the corners a copy shown at half size or less has
WEAK_FAST = 10  # FAST threshold (ORB's: 20) in the cells where ORB's finds fewer corners than their share
STATIC_LAGS = (3.0, 6.0, 12.0, 24.0, 48.0)  # seconds to the frames a keypoint is looked for again
STATIC_SHARE = 0.5  # found again (same place, a look-alike) in this share of those frames: static, dropped
STATIC_RADIUS = 0.03  # "the same place": within this fraction of the frame's long side

MATCH_DISTANCE = 64  # Hamming distance under which two keypoints may be the same point
MAX_BUCKET = 16  # descriptors of b sharing one 16-bit word above which the word is not looked up
NEIGHBOURS = 3  # frames of b a descriptor of a votes for (its nearest descriptor in each), nearest first
MIN_VOTES = 6  # matched keypoints a frame pair needs before it is verified
MAX_VERIFIED = 400  # frame pairs verified at most, most voted first: bounded compare time
MIN_INLIERS = 8  # keypoints agreeing with one similarity transform for a verified frame pair
WEAK_INLIERS = 5  # ... or this many, counted only at a place and on a line that a pair of MIN_INLIERS shares, ...
PLACE_MARGIN = 3.0  # ... where the line's inliers outweigh those of the pairs at its place off it this much (tune
# side: the lines weak pairs made of dark copies 7.8 and more; a fixed camera's background, at every moment, 1.35)
REPROJECTION = 0.02  # RANSAC inlier distance, as a fraction of the target frame's long side
LINE_TOLERANCE = 1.0  # seconds between a verified pair's target time and the line through it
MIN_FRAMES = 4  # verified frames a line needs in each video (4 s of picture at LOCAL_STEP: a clip of 4-5 s inside
# other content has 4 or 5 described frames, and along a zoom or a pan they verify at two places or offsets; on the
# tune side a line of 3 matched a negative, paintings of one series; a line of 4 frames of one video on 2 of the
# other's, a shared logo at half speed, another)
STRONG_FRAMES = 5  # frames verified on their own (MIN_INLIERS) a line needs unless it outweighs its place's other
# moments (PLACE_MARGIN): a fixed camera's background verified 4 such frames on a line of a tune negative
MAX_GAP = 4.0  # seconds of source without a verified frame inside one segment
END_REACH = 2 * LOCAL_STEP  # a segment reaches a video's start or end this close to its first or last frame
PLACE = (0.03, 0.03, 0.02)  # one copy's pairs: log scale, angle (radians), shifts (of b's long side) within these
# of each other (tune side's copies: p95 0.023 / 0.007 / 0.015; pairs a second off along a zoom differ by ~0.05)
GUIDED_MATCHES = 5  # keypoints of a frame found again where the line's transform puts them: the copy is there
GUIDED_RADIUS = 0.03  # ... within this fraction of b's long side of that place
LINE_MARGIN = 1.15  # support of the best time line against the best line 2 s or more away from it
MIN_RATIO, MAX_RATIO = 0.5, 2.0  # speed changes searched
LINE_HYPOTHESES = 4000  # time lines tried, each through two verified frame pairs
SAME_SPEED_SUPPORT = 0.8  # a same-speed line with this share of the best line's support is preferred


@dataclasses.dataclass(frozen=True)
class LocalFeatures:
    times: np.ndarray  # float32 (m,): media time of each described frame
    frame: np.ndarray  # uint16 (k,): index into times of each keypoint
    points: np.ndarray  # float16 (k, 2): x, y in pixels of the LOCAL_SIDE picture
    descriptors: np.ndarray  # uint8 (k, 32): ORB descriptors
    mirrored: np.ndarray  # uint8 (k, 32): ORB descriptors of the mirrored picture at the mirrored points
    size: tuple[int, int]  # width, height of the picture the points are in

    @property
    def nbytes(self) -> int:
        return (self.times.nbytes + self.frame.nbytes + self.points.nbytes + self.descriptors.nbytes
                + self.mirrored.nbytes)

    def mirror(self) -> LocalFeatures:
        """The features of the mirrored picture: a mirrored copy matches them as an upright copy matches these."""
        points = self.points.astype(np.float32) * [-1.0, 1.0] + [self.size[0] - 1.0, 0.0]
        return dataclasses.replace(self, points=points.astype(np.float16), descriptors=self.mirrored,
                                   mirrored=self.descriptors)


def local_size(shape: tuple[int, ...]) -> tuple[int, int]:
    h, w = shape[:2]
    scale = LOCAL_SIDE / max(h, w)  # small videos too: ORB needs room for its 31-pixel patches
    return max(16, int(round(w * scale))), max(16, int(round(h * scale)))


_ORB: dict[int, cv2.ORB] = {}


def _orb(fast_threshold: int = 20):
    if fast_threshold not in _ORB:  # one detector per threshold and process, reused for every frame
        # 31-pixel patches: distinctive enough at half size
        _ORB[fast_threshold] = cv2.ORB_create(nfeatures=KEYPOINTS * 4, fastThreshold=fast_threshold)
    return _ORB[fast_threshold]


def keypoints(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(points n x 2 float32, descriptors n x 32, descriptors of the mirrored picture at the mirrored points
    n x 32) of one grey picture, spread over the grid: the strongest KEYPOINTS / CELLS**2 corners of each cell,
    then the strongest of the rest up to KEYPOINTS, then COARSE_KEYPOINTS of the rest found at COARSE_OCTAVE
    and coarser, spread alike; a cell where ORB's corner threshold finds fewer gets weaker corners (WEAK_FAST)
    on top, up to its share: a dark or low-contrast picture shown inside a bright frame keeps keypoints where
    its copy has them."""
    nothing = np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8), np.zeros((0, 32), np.uint8)
    h, w = grey.shape
    row_cell, column_cell = np.arange(h) * CELLS // h, np.arange(w) * CELLS // w

    def strongest_first(found) -> tuple[list, np.ndarray]:
        """The keypoints, strongest first, and the grid cell of each."""
        found = sorted(found, key=lambda k: -k.response)
        points = np.asarray(cv2.KeyPoint_convert(found), np.float32).reshape(-1, 2).astype(int)
        return found, row_cell[np.minimum(h - 1, points[:, 1])] * CELLS + column_cell[np.minimum(w - 1, points[:, 0])]

    found, cell = strongest_first(_orb().detect(grey, None))
    per_cell = KEYPOINTS // (CELLS * CELLS)
    strongest = _spread(cell, KEYPOINTS)
    # A corner is sharper (its response higher) at ORB's finest levels, so nearly all of the strongest are from
    # them; a copy shown at half the size or less (a small picture-in-picture) has its finest corners where the
    # picture itself has them only at its coarse levels: COARSE_KEYPOINTS more of those.
    coarse = np.setdiff1d(np.flatnonzero([k.octave >= COARSE_OCTAVE for k in found]), strongest)
    chosen = [found[i] for i in np.concatenate([strongest, coarse[_spread(cell[coarse], COARSE_KEYPOINTS)]])]
    counts = np.minimum(np.bincount(cell, minlength=CELLS * CELLS), per_cell)
    short = counts < per_cell  # every corner of such a cell is already chosen
    if short.any():
        mask = short.reshape(CELLS, CELLS)[row_cell[:, None], column_cell[None, :]].astype(np.uint8)
        known = {(k.pt, k.octave) for k in found}
        weak, cell = strongest_first([k for k in _orb(WEAK_FAST).detect(grey, mask) if (k.pt, k.octave) not in known])
        chosen += [weak[i] for i in np.flatnonzero(_rank_in_cell(cell) < per_cell - counts[cell])]
    if not chosen:
        return nothing
    chosen, descriptors = _orb().compute(grey, chosen)
    if descriptors is None:
        return nothing
    # ORB describes a given keypoint at its given angle: the mirrored point at the mirrored angle gives exactly
    # the descriptor a mirrored copy's own detection gives (class_id: compute may reorder or drop keypoints).
    flipped = [cv2.KeyPoint(w - 1 - k.pt[0], k.pt[1], k.size, (180.0 - k.angle) % 360.0, k.response, k.octave, i)
               for i, k in enumerate(chosen)]
    flipped, mirrored = _orb().compute(cv2.flip(grey, 1), flipped)
    if mirrored is None:
        return nothing
    both = np.array([k.class_id for k in flipped])
    points = np.float32([k.pt for k in chosen])
    return points[both], descriptors[both], mirrored


def _spread(cell: np.ndarray, count: int) -> np.ndarray:
    """Positions of at most ``count`` keypoints (strongest first, in grid cells ``cell``): the strongest
    count / CELLS**2 of each cell first, then the strongest of the rest."""
    taken = _rank_in_cell(cell) < count // (CELLS * CELLS)
    return np.concatenate([np.flatnonzero(taken), np.flatnonzero(~taken)])[:count]


def _rank_in_cell(cell: np.ndarray) -> np.ndarray:
    """For each keypoint (strongest first), how many stronger ones its cell holds."""
    order = np.argsort(cell, kind="stable")
    rank = np.empty(len(cell), int)
    rank[order] = np.arange(len(cell)) - np.searchsorted(cell[order], cell[order])
    return rank


def build(times: list[float], points: list[np.ndarray], descriptors: list[np.ndarray], mirrored: list[np.ndarray],
          size: tuple[int, int]) -> LocalFeatures:
    """The fingerprint's local part from each described frame's keypoints, static ones dropped."""
    keep = _moving(np.asarray(times), points, descriptors, max(size))
    frame = [np.full(int(k.sum()), i, np.uint16) for i, k in enumerate(keep)]

    def kept(arrays: list[np.ndarray], empty: np.ndarray) -> np.ndarray:
        return np.concatenate([x[k] for x, k in zip(arrays, keep)] or [empty])
    return LocalFeatures(
        times=np.asarray(times, np.float32), frame=np.concatenate(frame or [np.zeros(0)]).astype(np.uint16),
        points=kept(points, np.zeros((0, 2))).astype(np.float16),
        descriptors=kept(descriptors, np.zeros((0, 32), np.uint8)),
        mirrored=kept(mirrored, np.zeros((0, 32), np.uint8)), size=size)


def _moving(times: np.ndarray, points: list[np.ndarray], descriptors: list[np.ndarray], side: int) -> list[np.ndarray]:
    """Per frame, which keypoints are not static: static ones have a look-alike (a descriptor that could
    match it across videos) within STATIC_RADIUS in at least STATIC_SHARE of the frames STATIC_LAGS
    seconds before and after (two such frames at least)."""
    keep = []
    for i, (p, d) in enumerate(zip(points, descriptors)):
        seen, checks = np.zeros(len(d), int), 0
        for lag in STATIC_LAGS:
            for other in (times[i] - lag, times[i] + lag):
                j = int(np.argmin(np.abs(times - other)))
                if abs(times[j] - other) > LOCAL_STEP or not len(d) or not len(descriptors[j]):
                    continue
                checks += 1
                # Look-alikes are only looked for among the few keypoints at the same place.
                mine, theirs = np.nonzero(np.hypot(*(p[:, None, :] - points[j][None, :, :]).transpose(2, 0, 1))
                                          <= STATIC_RADIUS * side)
                alike = np.bitwise_count(d.view(np.uint64)[mine] ^ descriptors[j].view(np.uint64)[theirs]).sum(axis=1)
                seen[np.unique(mine[alike <= MATCH_DISTANCE])] += 1
        keep.append(seen < STATIC_SHARE * checks if checks >= 2 else np.ones(len(d), bool))
    return keep


# --- compare ---------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class LocalMatch:
    coverage: float  # share of the shorter video's described frames inside the segments
    frames: int  # verified frames on the line(s)
    segments: tuple[Segment, ...]
    ratio: float | None = None  # target seconds per source second on the best line ...
    offset: float | None = None  # ... target = ratio * source + offset
    region: tuple[float, float, float, float] | None = None  # a's frame in b's (left, top, right, bottom), 0..1
    region_of_b: tuple[float, float, float, float] | None = None  # b's frame in a's, the same way


def compare_local(a: LocalFeatures, b: LocalFeatures, duration_a: float, duration_b: float) -> LocalMatch:
    pairs, placement = _verified_pairs(a, b)
    if len(pairs) < MIN_FRAMES:
        return LocalMatch(0.0, 0, ())
    ta, tb = a.times[pairs[:, 0]].astype(np.float64), b.times[pairs[:, 1]].astype(np.float64)
    inliers = pairs[:, 2].astype(np.float64)
    strong = inliers >= MIN_INLIERS
    segments, frames_used, covered_a, covered_b = [], 0, set(), set()
    best_line = regions = None  # (ratio, offset) of the first line with a segment, and where it puts the copy
    remaining = np.ones(len(pairs), bool)
    for _ in range(4):  # a few lines: reordered or repeated parts
        # The line is looked for among the pairs that put the copy at the place where most frames put it: along
        # a zoom, frames a second off the copy's moments verify too, each at another place and size, and would
        # pull the line off the copy's moments.
        placed = _one_place(placement, remaining, pairs[:, 0])
        line = _best_line(ta[placed], tb[placed], inliers[placed])
        if line is None:
            remaining &= ~placed
            continue
        ratio, offset = line
        on = placed & (np.abs(tb - (ratio * ta + offset)) <= LINE_TOLERANCE)
        ratio, offset = _refit(ta[on], tb[on], ratio, offset)
        near = remaining & (np.abs(tb - (ratio * ta + offset)) <= LINE_TOLERANCE)
        elsewhere = inliers[placed & ~near].sum()  # the line's place at other moments (static content is there)
        placed &= near
        remaining &= ~near
        rows = np.unique(pairs[placed, 0])
        if min(len(rows), len(np.unique(pairs[placed, 1]))) < MIN_FRAMES or not strong[placed].any() or (
                len(np.unique(pairs[placed & strong, 0])) < STRONG_FRAMES and
                inliers[placed].sum() < PLACE_MARGIN * elsewhere):
            continue
        transform = _typical(placement[placed])
        # Frames that did not verify on their own (too few votes, RANSAC's luck) but show the copy where the
        # line's frames put it: segments are not cut where verification merely failed.
        followed = np.union1d(rows, np.flatnonzero(_guided(a, b, ratio, offset, transform)))
        off_line = strong & (np.abs(tb - (ratio * ta + offset)) > LINE_TOLERANCE)
        # A run of guided frames alone, seconds from any verified one, is not joined on: a few look-alike
        # keypoints near the copy's place carried a clip's segment across the host's next shots to its end.
        runs = [followed[run] for run in _runs(a.times[followed].astype(np.float64))
                if np.isin(followed[run], rows).any()]
        for run in _bridge(runs, a.times.astype(np.float64), ta[off_line], tb[off_line], ratio, offset):
            if np.isin(run, rows).sum() < MIN_FRAMES:
                continue
            start, end = _ends(a.times[run].astype(np.float64), ratio, offset, a.times, b.times, duration_a,
                               duration_b)
            segment = Segment(start, end, float(np.clip(ratio * start + offset, 0, duration_b)),
                              float(np.clip(ratio * end + offset, 0, duration_b)))
            if any(_overlaps(segment, kept) for kept in segments):  # the same part a little off the line
                continue
            segments.append(segment)
            frames_used += int(np.isin(run, rows).sum())
            if best_line is None:
                best_line = ratio, offset
                regions = _region(transform, a.size, b.size), _region(_inverse(transform, a.size, b.size), b.size,
                                                                       a.size)
            covered_a.update(np.flatnonzero((a.times >= start) & (a.times <= end)))
            covered_b.update(np.flatnonzero((b.times >= ratio * start + offset) & (b.times <= ratio * end + offset)))
    if not segments:
        return LocalMatch(0.0, 0, ())
    coverage = len(covered_a) / len(a.times) if duration_a <= duration_b else len(covered_b) / len(b.times)
    return LocalMatch(min(1.0, coverage), frames_used, tuple(sorted(segments, key=lambda s: s.source_start)),
                      *best_line, *regions)


def _verified_pairs(a: LocalFeatures, b: LocalFeatures) -> tuple[np.ndarray, np.ndarray]:
    """Frame pairs whose matched keypoints (at least WEAK_INLIERS) agree with one similarity transform (rotation,
    scale, shift): (frame of a, frame of b, inliers) as ints (n, 3), and the transform as (log scale, angle, x shift,
    y shift), shifts in units of b's long side (n, 4)."""
    nothing = np.zeros((0, 3), int), np.zeros((0, 4))
    if len(a.descriptors) < MIN_INLIERS or len(b.descriptors) < MIN_INLIERS:
        return nothing
    query, train = _close_descriptors(a.descriptors, b.descriptors, b.frame.astype(np.int64))
    if not len(query):
        return nothing
    frame_pair = a.frame[query].astype(np.int64) * len(b.times) + b.frame[train]
    order = np.argsort(frame_pair, kind="stable")
    frame_pair, query, train = frame_pair[order], query[order], train[order]
    keys, starts, votes = np.unique(frame_pair, return_index=True, return_counts=True)
    candidates = np.flatnonzero(votes >= MIN_VOTES)
    candidates = candidates[np.argsort(-votes[candidates], kind="stable")][:MAX_VERIFIED]
    threshold = REPROJECTION * max(b.size)
    verified, placement = [], []
    for c in candidates:
        span = slice(starts[c], starts[c] + votes[c])
        source = a.points[query[span]].astype(np.float32)
        target = b.points[train[span]].astype(np.float32)
        transform, mask = cv2.estimateAffinePartial2D(source, target, method=cv2.RANSAC,
                                                      ransacReprojThreshold=threshold, maxIters=200)
        if transform is None:
            continue
        # One keypoint of a may have voted with several neighbours: count each source point once.
        count = len(np.unique(query[span][mask.ravel() > 0]))
        scale = np.hypot(*transform[0, :2])
        if count >= WEAK_INLIERS and 0.2 <= scale <= 5.0:
            verified.append((keys[c] // len(b.times), keys[c] % len(b.times), count))
            placement.append((np.log(scale), np.arctan2(transform[1, 0], transform[0, 0]),
                              transform[0, 2] / max(b.size), transform[1, 2] / max(b.size)))
    return np.asarray(verified, int).reshape(-1, 3), np.asarray(placement, float).reshape(-1, 4)


def _close_descriptors(a: np.ndarray, b: np.ndarray, b_frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices (into a, into b) of descriptor pairs within MATCH_DISTANCE bits that share at least one of
    their sixteen 16-bit words exactly (multi-index hashing: pairs within 30 bits share one 9 times in 10,
    within 40 bits 2 times in 3; a keypoint recurs over several frames, so a missed pair is rarely missed
    evidence). Words that more than MAX_BUCKET descriptors of b share are not looked up (flat gradients,
    repeated textures), so the cost stays near linear in the descriptors."""
    words_a, words_b = a.view(np.uint16), b.view(np.uint16)
    found = []
    for column in range(words_a.shape[1]):
        order = np.argsort(words_b[:, column], kind="stable")
        bucket_size = np.bincount(words_b[:, column], minlength=1 << 16)  # a table, not a binary search per word
        low = (np.cumsum(bucket_size) - bucket_size)[words_a[:, column]]
        count = bucket_size[words_a[:, column]]
        count[count > MAX_BUCKET] = 0
        rank = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)  # place inside the bucket
        query = np.repeat(np.arange(len(a), dtype=np.int64), count)
        train = order[np.repeat(low, count) + rank]
        # np.repeat and np.take copy rows several times faster than fancy indexing does; xor in place: one
        # big temporary less to fault in.
        differ = np.repeat(a.view(np.uint64), count, axis=0)
        differ ^= np.take(b.view(np.uint64), train, axis=0)
        ones = np.bitwise_count(differ)
        distance = (ones[:, 0] + ones[:, 1]).astype(np.int64) + (ones[:, 2] + ones[:, 3])  # uint8: 128 at most a half
        close = distance <= MATCH_DISTANCE
        found.append((distance[close] << 48) | (query[close] << 24) | train[close])
    # Nearest first; per descriptor of a, the nearest in each frame of b, and only the NEIGHBOURS nearest of
    # those: a texture repeated in b would otherwise vote for every frame pair with its noise.
    found = np.sort(np.concatenate(found))
    # A pair sharing several words was found once per word: equal keys, next to each other once sorted (a sort
    # and a comparison of neighbours cost a fraction of np.unique's hashing on these arrays).
    distinct = np.ones(len(found), bool)
    distinct[1:] = found[1:] != found[:-1]
    found = found[distinct]
    query, train = (found >> 24) & 0xFFFFFF, found & 0xFFFFFF
    _, first = np.unique(query * 65536 + b_frames[train], return_index=True)
    first = np.sort(first)
    query, train = query[first], train[first]
    order = np.argsort(query, kind="stable")
    query, train = query[order], train[order]
    rank = np.arange(len(query)) - np.searchsorted(query, query, "left")
    keep = rank < NEIGHBOURS
    return query[keep], train[keep]


def _best_line(ta: np.ndarray, tb: np.ndarray, weight: np.ndarray):
    """The line target = ratio * source + offset (ratio in 0.5-2) through two verified pairs that gathers the
    most inliers within LINE_TOLERANCE, or None without enough pairs or without a clear peak. Every pair of
    pairs is a hypothesis (at most LINE_HYPOTHESES of them, drawn with a fixed seed): exact for the few
    frames of a short clip."""
    if len(ta) < MIN_FRAMES:
        return None
    i, j = np.triu_indices(len(ta), 1)
    if len(i) > LINE_HYPOTHESES:
        keep = np.random.default_rng(0).choice(len(i), LINE_HYPOTHESES, replace=False)
        i, j = i[keep], j[keep]
    span = ta[j] - ta[i]
    ok = np.abs(span) >= LOCAL_STEP
    ratio = np.where(ok, (tb[j] - tb[i]) / np.where(ok, span, 1.0), 0.0)
    ok &= (ratio >= MIN_RATIO) & (ratio <= MAX_RATIO)
    # Same-speed lines through each pair too: a copy plays at its own speed unless clearly not, and a few
    # frames sampled a second apart leave the slope loose.
    ratio = np.concatenate([np.ones(len(ta)), ratio[ok]])
    offset = np.concatenate([tb - ta, tb[i[ok]] - ratio[len(ta):] * ta[i[ok]]])
    support = (np.abs(tb[None, :] - (ratio[:, None] * ta[None, :] + offset[:, None])) <= LINE_TOLERANCE) @ weight
    same_speed = int(np.argmax(support[:len(ta)]))
    best = same_speed if support[same_speed] >= SAME_SPEED_SUPPORT * support.max() else int(np.argmax(support))
    # A peak, not a ridge: static or recurring content verifies at every moment alike, so lines two or more
    # seconds away (at the middle of the best line's frames) gather nearly as much.
    on = np.abs(tb - (ratio[best] * ta + offset[best])) <= LINE_TOLERANCE
    middle = float(np.median(ta[on]))
    away = np.abs((ratio - ratio[best]) * middle + offset - offset[best]) >= 2.0
    if away.any() and support[best] < LINE_MARGIN * support[away].max():
        return None
    return float(ratio[best]), float(offset[best])


def _refit(ta: np.ndarray, tb: np.ndarray, ratio: float, offset: float) -> tuple[float, float]:
    """Least-squares line through the pairs on it; speed 1 unless they say otherwise beyond their noise."""
    if len(ta) < 3 or np.ptp(ta) < 2.0:
        return ratio, offset
    slope, intercept = np.polyfit(ta, tb, 1)
    residual = tb - (slope * ta + intercept)
    slope_error = residual.std() / (ta.std() * np.sqrt(len(ta))) + 1e-3
    if abs(slope - 1) < 3 * slope_error:
        return 1.0, float(np.mean(tb - ta))
    return (float(slope), float(intercept)) if MIN_RATIO <= slope <= MAX_RATIO else (ratio, offset)


def _guided(a: LocalFeatures, b: LocalFeatures, ratio: float, offset: float, placement: np.ndarray) -> np.ndarray:
    """Per frame of a: whether at least GUIDED_MATCHES of its keypoints, moved by the line's transform
    (placement: log scale, angle, shifts), find a look-alike within GUIDED_RADIUS of that place in a frame of
    b within LINE_TOLERANCE of the line's time. Where the copy is and when are known, so far fewer matches
    than an unguided verification needs say it is there."""
    log_scale, angle, dx, dy = placement
    side = max(b.size)
    turn = np.exp(log_scale) * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    starts_a = np.searchsorted(a.frame, np.arange(len(a.times) + 1))
    starts_b = np.searchsorted(b.frame, np.arange(len(b.times) + 1))
    expected = ratio * a.times.astype(np.float64) + offset
    first = np.searchsorted(b.times, expected - LINE_TOLERANCE)
    last = np.searchsorted(b.times, expected + LINE_TOLERANCE, "right")
    seen = np.zeros(len(a.times), bool)
    for i in range(len(a.times)):
        span_a = slice(starts_a[i], starts_a[i + 1])
        moved = a.points[span_a].astype(np.float32) @ turn.T + [dx * side, dy * side]
        for j in range(first[i], last[i]):
            span_b = slice(starts_b[j], starts_b[j + 1])
            near = np.hypot(*(moved[:, None, :] - b.points[span_b].astype(np.float32)[None, :, :]).transpose(2, 0, 1))
            mine, theirs = np.nonzero(near <= GUIDED_RADIUS * side)
            alike = np.bitwise_count(a.descriptors[span_a].view(np.uint64)[mine] ^
                                     b.descriptors[span_b].view(np.uint64)[theirs]).sum(axis=1) <= MATCH_DISTANCE
            if len(np.unique(mine[alike])) >= GUIDED_MATCHES:
                seen[i] = True
                break
    return seen


def _region(placement: np.ndarray, size_a: tuple[int, int], size_b: tuple[int, int]):
    """Where a's frame lands in b's under a (log scale, angle, x shift, y shift) transform: the box around its
    four corners, as fractions of b's width and height (left, top, right, bottom), or None outside b."""
    log_scale, angle, dx, dy = placement
    scale, side = np.exp(log_scale), max(size_b)
    turn = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    corners = np.array([[0, 0], [size_a[0], 0], [0, size_a[1]], [size_a[0], size_a[1]]], float) @ turn.T
    corners = (corners + [dx * side, dy * side]) / size_b
    left, top = np.clip(corners.min(axis=0), 0, 1)
    right, bottom = np.clip(corners.max(axis=0), 0, 1)
    return (float(left), float(top), float(right), float(bottom)) if left < right and top < bottom else None


def _inverse(placement: np.ndarray, size_a: tuple[int, int], size_b: tuple[int, int]) -> np.ndarray:
    """The (log scale, angle, x shift, y shift) transform of b's frame into a's, of one of a's into b's."""
    log_scale, angle, dx, dy = placement
    unturn = np.exp(-log_scale) * np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
    shift = -(unturn @ [dx, dy]) * max(size_b) / max(size_a)
    return np.array([-log_scale, -angle, *shift])


def _typical(placement: np.ndarray) -> np.ndarray:
    """The median transform; the angle's median is taken around the circular mean (a half turn is both +pi
    and -pi)."""
    typical = np.median(placement, axis=0)
    around = np.angle(np.exp(1j * placement[:, 1]).sum())
    typical[1] = around + np.median(np.angle(np.exp(1j * (placement[:, 1] - around))))
    return typical


def _difference(placement: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Absolute differences of (log scale, angle, x shift, y shift) transforms, angles wrapped around."""
    difference = np.abs(placement - other)
    difference[..., 1] = np.abs(np.angle(np.exp(1j * (placement[..., 1] - other[..., 1]))))
    return difference


def _one_place(placement: np.ndarray, candidates: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """The ``candidates`` pairs whose transform is within PLACE of the place where the most frames of a (distinct
    ``frames``) put the copy: a copy keeps its place and size, chance agreements land anywhere."""
    index = np.flatnonzero(candidates)
    if not len(index):
        return candidates
    limit = np.array([PLACE[0], PLACE[1], PLACE[2], PLACE[2]])
    close = np.all(_difference(placement[index][:, None, :], placement[index][None, :, :]) <= limit, axis=2)
    _, frame = np.unique(frames[index], return_inverse=True)
    seen = np.zeros((len(index), frame.max() + 1), bool)
    near, other = np.nonzero(close)
    seen[near, frame[other]] = True
    typical = _typical(placement[index[close[int(np.argmax(seen.sum(axis=1)))]]])
    return candidates & np.all(_difference(placement, typical) <= limit, axis=1)


def _overlaps(segment: Segment, other: Segment) -> bool:
    """Whether ``segment`` shares more than half its length with ``other`` in either video."""
    def share(start, end, other_start, other_end):
        return max(0.0, min(end, other_end) - max(start, other_start)) / max(end - start, 1e-6)
    return (share(segment.source_start, segment.source_end, other.source_start, other.source_end) > 0.5 or
            share(segment.target_start, segment.target_end, other.target_start, other.target_end) > 0.5)


def _runs(times: np.ndarray) -> list[np.ndarray]:
    """Positions in ``times`` (source times of frames showing the copy) split where more than MAX_GAP
    seconds pass without one."""
    return np.split(np.arange(len(times)), np.flatnonzero(np.diff(times) > MAX_GAP) + 1) if len(times) else []


def _bridge(runs: list[np.ndarray], times: np.ndarray, ta_elsewhere: np.ndarray, tb_elsewhere: np.ndarray,
            ratio: float, offset: float) -> list[np.ndarray]:
    """Consecutive runs (frames of a) of one line joined where no frame verified off the line lies between
    them, in either video: some frames verify nowhere (few keypoints, a slow zoom), and nothing says the
    copy stopped there."""
    merged = runs[:1]
    for run in runs[1:]:
        gap_start, gap_end = times[merged[-1][-1]], times[run[0]]
        elsewhere = np.any((ta_elsewhere > gap_start) & (ta_elsewhere < gap_end)) or np.any(
            (tb_elsewhere > ratio * gap_start + offset) & (tb_elsewhere < ratio * gap_end + offset))
        if elsewhere:
            merged.append(run)
        else:
            merged[-1] = np.concatenate([merged[-1], run])
    return merged


def _ends(run: np.ndarray, ratio: float, offset: float, times_a: np.ndarray, times_b: np.ndarray, duration_a: float,
          duration_b: float) -> tuple[float, float]:
    """Source times of a segment's ends: where the line enters or leaves the two videos when that is at most
    END_REACH seconds past the first or last verified frame (a sampled frame may fail verification) or when
    neither video has a described frame in between (black or flat stretches are not described and say nothing
    against the copy), else half a step beyond them."""
    first, last = max(0.0, -offset / ratio), min(duration_a, (duration_b - offset) / ratio)

    def undescribed(start: float, end: float) -> bool:
        return not (np.any((times_a > start) & (times_a < end)) or
                    np.any((times_b > ratio * start + offset) & (times_b < ratio * end + offset)))

    start = first if run[0] - first <= END_REACH or undescribed(first, run[0]) else run[0] - LOCAL_STEP / 2
    end = last if last - run[-1] <= END_REACH or undescribed(run[-1], last) else run[-1] + LOCAL_STEP / 2
    return float(max(start, first)), float(min(end, last))
