"""Alignment of two video fingerprints into matched segments, and the score and decision.

1. Votes: samples of the shorter video (at most VOTE_ROWS of them) against every sample of the
   other; each sample's most similar partners (above VOTE_SIMILARITY) vote for the lines
   target_time = ratio * source_time + offset through them, a Hough grid over offsets and speed ratios
   from 0.5 to 2. Votes are weighted so that stills count once. This is done for every pairing of
   descriptors (whole/central, each 90-degree rotation and flip, each split-screen pane against the middle
   of the picture it shows, either way round); the pairings with strong votes are followed.
2. Follow: each candidate line is snapped to the best-aligned samples near it (a least-squares fit
   of offset and speed, the speed kept at 1 unless the points say otherwise), then to the sample pairs near it
   that are each other's best match (a short clip's look-alike neighbourhood does not tilt it), then walked sample
   by sample; matching samples form runs, gaps of up to MAX_GAP seconds bridged (black or flat stretches
   never break a run). Run ends are placed between the last matching sample and the next one, or at
   a video's own start or end, whichever both videos allow. A run must fit its line clearly better than
   it fits the other video as a whole (a fixed camera's background matches at every offset), or, where
   every moment looks alike (a test card), change from sample to sample as its partners do. A pair's weight
   counts the moments of the video the line runs faster through (a line slower than 1 meets each of b's samples
   more than once). Where runs were found, the votes they do not explain vote again, and runs at the same speed on
   the lines found then are added: another clip cut into b elsewhere.
3. Runs overlapping a stronger one are dropped; the rest are the segments and give the score: the
   share of the shorter video covered (or, for a clip inside longer videos, the share of FULL_COPY_SECONDS
   matched at EXACT_SIMILARITY), times the mean similarity inside the segments (a pane's score
   counts only from PANE_SCORE up).
4. Where no pairing matches, the keypoints (video_local) look for the copy inside a part of the other's frame
   (upright, else mirrored), judged on the share of the shorter video or of FULL_COPY_SECONDS their segments cover;
   where one matches without settling (below SETTLED_SCORE), their line is taken instead when it differs from
   the strongest run's and covers at least as much of the shorter video. The ends of the keypoints' segments
   (frames a second apart) move to the splice near them: a cut between two samples of one video that the other
   does not make at the same moment, where the copy was cut into other content.
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np
from threadpoolctl import ThreadpoolController

from medialayer.matchers.base import Comparison, Segment, comes_first
from medialayer.matchers.video_local import LINE_TOLERANCE, LOCAL_STEP, MIN_FRAMES, compare_local
from medialayer.matchers.video_orientation import ORIENTATIONS
from medialayer.matchers.video_parts import PANE_SHOWS, PARTS

MIN_RATIO, MAX_RATIO = 0.5, 2.0  # speed changes searched (target seconds per source second)
RATIO_STEP = 1.02  # the ratios voted for form a geometric grid through 1; the fit then frees the ratio
RATIOS = RATIO_STEP ** np.arange(np.floor(np.log(MIN_RATIO) / np.log(RATIO_STEP)),
                                 np.ceil(np.log(MAX_RATIO) / np.log(RATIO_STEP)) + 1)
VOTE_ROWS = 600  # samples of the shorter video that vote: compare time stays ~linear in the longer one
VOTE_SIMILARITY = 0.7  # cosine of two samples above which they vote for their offset ...
VOTES_PER_SAMPLE = 8  # ... among the most similar samples of the other video to each voting sample
VOTE_BIN = 0.2  # seconds
CANDIDATES = 6  # offset lines followed per descriptor pairing, at least ...
SECONDS_PER_CANDIDATE = 20.0  # ... and one per this many seconds of the shorter video (re-edited compilations)
MAX_CANDIDATES = 30
MATCH_SIMILARITY = 0.6  # cosine above which a sample matches along an offset (unrelated pictures: < 0.45)
CONTINUE_SIMILARITY = 0.45  # cosine above which a sample carries on a run already seeded
TOLERANCE = 0.25  # seconds between the expected time and the nearest sample of the other video
SNAP_REACH = 0.6  # seconds searched either side of an offset line before refitting it
SNAP_ROUNDS = 4
MIN_FIT_POINTS = 5
PEAK_MARGIN = 0.01  # cosine by which a sample's best match must beat those further away to place the line
MAX_GAP = 2.0  # seconds of informative, unmatched samples bridged inside one segment
MUTUAL_REACH = 2.0  # seconds either side of a settled line searched for each sample's best partner, both ways
MIN_SEGMENT_EVIDENCE = 2.0  # weighted matched samples a segment needs
MIN_EVIDENCE = 4.0  # weighted matched samples a match needs: about a second of moving picture
FULL_COPY_SECONDS = 5.0  # seconds of moving picture matched at EXACT_SIMILARITY that score as all of the shorter
# video: the decision then needs 2.25 s of it (tune side's negatives: at most 1.4 s, two halves of one slideshow;
# at 8 s, clips of 3-4 s inside other videos, a still in them counting once, stayed under the decision)
EXACT_SIMILARITY = 0.95  # cosine of a sample and its copy's (re-encoded: 0.97 and more; a painting's fixed camera
# against a slideshow of paintings of its style: up to 0.92)
MATCH_SCORE = 0.45  # coverage x mean similarity at the decision threshold (calibrated on negatives)
PANE_SCORE = 0.8  # a split-screen pane counts from this score up: a pane is small, and still backgrounds (a
# fixed camera, one painting) fill it alike at other moments (those scored up to 0.62 on the tune side); a copy
# in a pane fits the picture's middle almost exactly (0.97 and more there); a picture-in-picture near a pane's
# place scores in between and is left to the keypoints, which place it exactly
SETTLED_SCORE = 0.9  # a pairing scoring this stops the search through the other pairings
FOLLOW_SHARE = 0.3  # pairings whose strongest vote is below this share of the best pairing's are not followed
LOCAL_COVERAGE = 0.3  # share of the shorter video, or of FULL_COPY_SECONDS of it, the keypoint path must cover
CONFIDENT_FRAMES = 10  # frames verified on the keypoints' line(s) that make their match high-confidence
SPLICE_CONTRAST = 0.5  # 1 - cosine of consecutive samples by which one video changes more than the other at the
# same moment: where a copy was cut into other content (tune side's embedded clips: 0.66-1.3 at the cut in the
# host, under 0.05 at the same moment in the source)
DISTINCT_MARGIN = 0.3  # mean similarity by which a run's samples must fit the line better than b's median sample
MOTION_AGREEMENT = 0.9  # ... or correlation of its sample-to-sample changes with those of its partners (tune side:
# fixed-camera and other negative runs reached 0.46; a file against itself is 1)
CHUNK = 8192  # samples of the longer video per similarity block: memory bounded for any length
# Descriptor pairings tried: (descriptor of a, descriptor of b, orientation of b). whole/center covers
# crops of about 10% a side, center/center drops corner logos; every rotation and flip is tried on both.
# Split screens: the middle of one picture that a pane shows against that pane of the other, either way round.
PAIRINGS = (("whole", "whole", "upright"), ("center", "center", "upright"), ("whole", "center", "upright"),
            ("center", "whole", "upright")) + tuple(
    (region, region, orientation) for orientation in ORIENTATIONS if orientation != "upright"
    for region in ("whole", "center")) + tuple(
    pairing for pane, shows in PANE_SHOWS.items() for pairing in ((shows, pane, "upright"), (pane, shows, "upright")))


_BLAS = ThreadpoolController()  # the similarity products are small: BLAS threads only fight over the cores


@dataclasses.dataclass
class _Side:
    times: np.ndarray
    weight: np.ndarray
    duration: float

    @functools.cached_property  # every walk along every line asks
    def step(self) -> float:
        """Typical seconds between samples (they sit on decoded frames: a frame or two off the grid)."""
        return float(np.median(np.diff(self.times))) if len(self.times) > 1 else 0.2


@dataclasses.dataclass
class _Run:
    source_start: float
    source_end: float
    target_start: float
    target_end: float
    evidence: float
    exact: float  # weighted matched samples at EXACT_SIMILARITY or more: the picture itself
    similarity_sum: float  # weighted similarity of the informative samples inside
    weight_sum: float
    ratio: float  # target seconds per source second along the run


def compare_fingerprints(a, b) -> Comparison:
    """One answer whichever order the pair comes in (round order20): judged with the shorter video as the source (a
    clip is looked for in a longer video; the other way round, one of the tune side's clips inside longer videos was
    placed 3.2 s off), and where that answer is unsure (below high confidence), also the other way round, the higher
    score kept (the keypoints look one video's frames up among the other's: the tune side's cropped, flipped copy
    with bars was placed 4.6 s off looked for in its source, exactly the other way round); mapped back to the
    caller's order."""
    if comes_first(b, a):
        return _compare_both_ways(b, a)[1]
    return _compare_both_ways(a, b)[0]


def compare_both_orders(a, b) -> tuple[Comparison, Comparison]:
    """(compare_fingerprints(a, b), compare_fingerprints(b, a)) from the one judgement in the pair's order."""
    if comes_first(b, a):
        return _compare_both_ways(b, a)[::-1]
    if comes_first(a, b):
        return _compare_both_ways(a, b)
    return compare_fingerprints(a, b), compare_fingerprints(b, a)  # identical fingerprints: no order to judge in


def _compare_both_ways(first, second) -> tuple[Comparison, Comparison]:
    """The comparisons of (first, second) and of (second, first) from first's frames looked for in second's and, where
    that is unsure, the other way too."""
    with _BLAS.limit(limits=1, user_api="blas"):
        judged, region_of_first = _compare(first, second)
        if judged.confidence != "high":
            other, region_of_second = _compare(second, first)
            if other.similarity_score > judged.similarity_score:
                return other.swapped(region_of_second), other
        return judged, judged.swapped(region_of_first)


def _compare(a, b) -> tuple[Comparison, tuple[float, float, float, float] | None]:
    """(The comparison of a with b, where b's picture sits in a's frame: the region of (b, a)'s comparison.)"""
    side_a = _Side(a.times.astype(np.float64), a.weight.astype(np.float32), a.duration)
    side_b = _Side(b.times.astype(np.float64), b.weight.astype(np.float32), b.duration)
    voted = []
    for name_a, name_b, orientation in PAIRINGS:
        votes = _vote(side_a, a.descriptors(name_a), side_b, b.descriptors(name_b, orientation))
        lines, peak = votes.lines() if votes else ([], 0.0)
        voted.append((peak, (name_a, name_b, orientation), lines, votes))
    strongest = max(peak for peak, *_ in voted)
    best = (-1.0, 0.0, [], None, 0.0)
    for peak, (name_a, name_b, orientation), lines, votes in sorted(voted, key=lambda v: -v[0]):
        if peak <= 0 or peak < FOLLOW_SHARE * strongest:
            break
        fa, fb = a.descriptors(name_a), b.descriptors(name_b, orientation)
        followed = []

        def follow(lines) -> list[_Run]:
            runs = []
            for line in lines:
                if not any(_same_line(line, done, side_a.duration) for done in followed):
                    found, settled = _follow(side_a, fa, side_b, fb, *line)
                    runs += found
                    followed.extend([line, settled])
            return runs
        runs = _keep_distinct(follow(lines))
        if runs:  # another clip cut in at the same speed, on a line of the votes the runs found do not explain
            more = follow(votes.lines(votes.unexplained(runs))[0])
            runs = _keep_distinct(runs + [r for r in more if any(_same_speed(r, run) for run in runs)])
        raw, evidence, coverage = _score(side_a, side_b, runs)
        if (name_a in PANE_SHOWS or name_b in PANE_SHOWS) and raw < PANE_SCORE:
            continue
        if raw > best[0]:
            best = (raw, evidence, runs, (name_a, name_b), coverage)
        if raw >= SETTLED_SCORE:  # this pairing explains the shorter video: no other can do much better
            break
    raw, evidence, runs, pairing, coverage = best
    match = raw >= MATCH_SCORE and evidence >= MIN_EVIDENCE
    # What the whole picture cannot see: a part of the frame, turned or cropped. And where it matched without
    # settling (a crop or a picture inside another frame: through slow or still pictures, lines at other offsets
    # and speeds fit it almost as well), the keypoints, verified frame by frame, place the copy in time when they
    # put it on another line and cover at least as much.
    if not match or raw < SETTLED_SCORE:
        local = _compare_keypoints(a, b)
        local_coverage = _local_coverage(local, a.duration <= b.duration)
        if (not match and _found(local, local_coverage)) or (match and _found(local, local.coverage) and (
                local.coverage >= coverage and not _same_alignment(local, max(runs, key=lambda r: r.evidence)))):
            score = 0.5 + 0.5 * local_coverage
            confident = local.frames >= CONFIDENT_FRAMES and local_coverage >= 2 * LOCAL_COVERAGE
            whole_a, whole_b = a.descriptors("whole"), b.descriptors("whole")
            segments = tuple(_at_splices(side_a, whole_a, side_b, whole_b, s) for s in local.segments)
            return Comparison(match=True, similarity_score=round(score, 4),
                              confidence="high" if confident else "medium", segments=segments,
                              region=local.region, speed_ratio=1 / local.ratio), local.region_of_b
    if not match:
        return Comparison(match=False, similarity_score=round(_calibrated(raw, match), 4),
                          confidence=_confidence(raw, evidence)), None
    segments = tuple(Segment(r.source_start, r.source_end, r.target_start, r.target_end)
                     for r in sorted(runs, key=lambda r: r.source_start))
    strongest = max(runs, key=lambda r: r.evidence)
    return Comparison(match=True, similarity_score=round(_calibrated(raw, match), 4),
                      confidence=_confidence(raw, evidence), segments=segments, region=_region(pairing, b.box),
                      speed_ratio=1 / strongest.ratio), _region(pairing[::-1], a.box)


def _same_speed(run: _Run, other: _Run) -> bool:
    """Whether two runs' speed ratios are within the three steps of the votes' grid that count as one line."""
    return abs(np.log(run.ratio / other.ratio)) <= 3 * np.log(RATIO_STEP) + 1e-9


def _compare_keypoints(a, b):
    """The keypoint path's match of a in b, upright or else mirrored (ORB keypoints are not mirror-invariant)."""
    local = compare_local(a.local, b.local, a.duration, b.duration)
    if _found(local, _local_coverage(local, a.duration <= b.duration)):
        return local
    mirrored = compare_local(a.local.mirror(), b.local, a.duration, b.duration)
    if mirrored.region_of_b is None:
        return mirrored
    left, top, right, bottom = mirrored.region_of_b  # in a's mirrored picture: a's own the other way across
    return dataclasses.replace(mirrored, region_of_b=(1 - right, top, 1 - left, bottom))


def _local_coverage(local, shorter_is_a: bool) -> float:
    """The share of the shorter video the keypoints' segments cover, or of FULL_COPY_SECONDS of it: a clip copied into
    a longer video is judged on the span copied, as the descriptors' exact seconds are (each second of it a frame
    verified on its own or where the line's frames put the copy)."""
    spans = sorted((s.source_start, s.source_end) if shorter_is_a else (s.target_start, s.target_end)
                   for s in local.segments)
    seconds, reached = 0.0, 0.0
    for start, end in spans:  # the segments' union: segments of two lines may overlap in one video
        seconds += max(0.0, end - max(start, reached))
        reached = max(reached, end)
    return max(local.coverage, min(1.0, seconds / FULL_COPY_SECONDS))


def _found(local, coverage: float) -> bool:
    """Whether the keypoint path verified enough of the shorter video (``coverage``), on enough frames, to count."""
    return coverage >= LOCAL_COVERAGE and local.frames >= MIN_FRAMES


def _at_splices(a: _Side, fa: np.ndarray, b: _Side, fb: np.ndarray, segment: Segment) -> Segment:
    """A keypoint segment with each end (placed half a LOCAL_STEP beyond the last frame verified) moved to the splice
    within reach of it, if any: where one video cuts from one picture to another while the other, at the same moment
    on the segment's line, goes on (a copy cut into other content), found to a sample. Ends at a video's own start
    or end stay."""
    ratio = (segment.target_end - segment.target_start) / max(segment.source_end - segment.source_start, 1e-6)
    offset = segment.target_start - ratio * segment.source_start
    change_a, change_b = _changes(a, fa), _changes(b, fb)
    fixed = [not (1e-3 < t < a.duration - 1e-3 and 1e-3 < ratio * t + offset < b.duration - 1e-3)
             for t in (segment.source_start, segment.source_end)]
    start, end = (t if at_end else _splice(a, change_a, b, change_b, ratio, offset, t, inward)
                  for t, at_end, inward in zip((segment.source_start, segment.source_end), fixed, (1.0, -1.0)))
    if end <= start:
        return segment
    return Segment(start, end, float(np.clip(ratio * start + offset, 0, b.duration)),
                   float(np.clip(ratio * end + offset, 0, b.duration)))


def _changes(side: _Side, f: np.ndarray) -> np.ndarray:
    """1 - cosine of each sample and the next (0 between two uninformative samples: black or flat, no cut)."""
    change = 1.0 - np.sum(f[1:] * f[:-1], axis=1)
    return np.where((side.weight[1:] > 0) | (side.weight[:-1] > 0), change, 0.0)


def _most_change(times: np.ndarray, change: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The largest change between consecutive samples (at ``times``) within half a LOCAL_STEP of each time ``t``: the
    keypoints place their line to about that, so a cut both videos show may seem that far apart."""
    middles = (times[:-1] + times[1:]) / 2
    low = np.searchsorted(middles, t - LOCAL_STEP / 2)
    high = np.searchsorted(middles, t + LOCAL_STEP / 2, "right")
    return np.array([change[lo:hi].max() if hi > lo else 0.0 for lo, hi in zip(low, high)])


def _splice(a: _Side, change_a: np.ndarray, b: _Side, change_b: np.ndarray, ratio: float, offset: float,
            estimate: float, inward: float) -> float:
    """Source time of the innermost splice near ``estimate`` on the line target = ratio * source + offset (a cut
    between two samples of one video, SPLICE_CONTRAST more of a change than any of the other video's around the
    same moment: the shared picture cannot go on across it), else ``estimate``. Looked for from the next described
    frame (half a LOCAL_STEP and a sample outside) to LINE_TOLERANCE inside the last verified one (``inward``: +1
    into the segment from its start, -1 from its end): a frame of a still picture verifies against a moment of b up
    to LINE_TOLERANCE off the line."""
    if len(change_a) == 0 or len(change_b) == 0:
        return estimate

    def near(cuts: np.ndarray) -> np.ndarray:
        into = (cuts - estimate) * inward  # seconds into the segment
        return np.flatnonzero((into >= -(LOCAL_STEP / 2 + a.step)) & (into <= LOCAL_STEP / 2 + LINE_TOLERANCE))
    cut_a = (a.times[:-1] + a.times[1:]) / 2  # between consecutive samples, in a's time
    cut_b = ((b.times[:-1] + b.times[1:]) / 2 - offset) / ratio  # ... and b's, in a's time
    in_a, in_b = near(cut_a), near(cut_b)
    cuts = np.concatenate([cut_a[in_a], cut_b[in_b]])
    contrast = np.concatenate([change_a[in_a] - _most_change(b.times, change_b, ratio * cut_a[in_a] + offset),
                               change_b[in_b] - _most_change(a.times, change_a, cut_b[in_b])])
    splices = np.flatnonzero(contrast >= SPLICE_CONTRAST)
    return float(cuts[splices[np.argmax((cuts[splices] - estimate) * inward)]]) if len(splices) else estimate


def _same_alignment(local, run: _Run) -> bool:
    """Whether the keypoints' line stays within their own precision (LINE_TOLERANCE) of the run's line over the
    keypoints' segments."""
    run_offset = run.target_start - run.ratio * run.source_start
    return all(abs((local.ratio - run.ratio) * t + local.offset - run_offset) <= LINE_TOLERANCE
               for segment in local.segments for t in (segment.source_start, segment.source_end))


def _region(pairing: tuple[str, str], box: tuple[float, float, float, float]):
    """Where the source's whole picture sits in the target's frame (left, top, right, bottom), 0..1: the target's
    content box, or the box a pane's picture extends to (cut at the frame). None when the target shows more
    around the source's picture than the descriptors place (its centre matched the source's whole picture; the
    source is the split screen)."""
    top, bottom, left, right = box
    name_a, name_b = pairing
    if pairing == ("whole", "center") or name_a in PANE_SHOWS:
        return None
    x0, x1, y0, y1 = PARTS.get(name_b, (0.0, 1.0, 0.0, 1.0))
    sx0, sx1, sy0, sy1 = PARTS.get(name_a, (0.0, 1.0, 0.0, 1.0))  # the part of the source the pane shows
    width, height = (x1 - x0) / (sx1 - sx0), (y1 - y0) / (sy1 - sy0)
    x0, x1, y0, y1 = x0 - sx0 * width, x0 + (1 - sx0) * width, y0 - sy0 * height, y0 + (1 - sy0) * height
    return (float(np.clip(left + x0 * (right - left), 0, 1)), float(np.clip(top + y0 * (bottom - top), 0, 1)),
            float(np.clip(left + x1 * (right - left), 0, 1)), float(np.clip(top + y1 * (bottom - top), 0, 1)))


@dataclasses.dataclass
class _Votes:
    """Pairs of similar samples (their times in a and b) and the strength of each one's vote."""
    source: np.ndarray
    target: np.ndarray
    strength: np.ndarray
    wanted: int  # lines taken from them

    def lines(self, pairs: np.ndarray | None = None) -> tuple[list[tuple[float, float]], float]:
        """Candidate (speed ratio, offset) lines, target_time = ratio * source_time + offset, voted by ``pairs`` (a
        mask; all pairs when None), best first, and the strongest line's vote."""
        source, target, strength = (x if pairs is None else x[pairs] for x in (self.source, self.target, self.strength))
        if not len(source):
            return [], 0.0
        # Hough grid: one offset histogram per speed ratio, peaks taken over all of them at once.
        bins = np.round((target[None, :] - RATIOS[:, None] * source[None, :]) / VOTE_BIN).astype(np.int64)
        low = bins.min()
        width = int(bins.max() - low + 1)
        cells = (np.arange(len(RATIOS))[:, None] * width + bins - low).ravel()
        histogram = np.bincount(cells, weights=np.tile(strength, len(RATIOS)), minlength=len(RATIOS) * width)
        histogram = histogram.reshape(len(RATIOS), width)
        histogram[:, 1:-1] += 0.5 * (histogram[:, :-2] + histogram[:, 2:])  # an offset between two bins
        candidates, strongest = [], float(histogram.max())
        for _ in range(self.wanted):
            r, peak = np.unravel_index(int(np.argmax(histogram)), histogram.shape)
            if histogram[r, peak] <= 0:
                break
            candidates.append((float(RATIOS[r]), float((peak + low) * VOTE_BIN)))
            histogram[max(0, r - 3):r + 4, max(0, peak - 3):peak + 4] = 0  # neighbouring lines are the same line
        return candidates, strongest

    def unexplained(self, runs: list[_Run]) -> np.ndarray:
        """The pairs not within MUTUAL_REACH of a run: around a found copy, slow or still picture matches the
        moments either side too, and those pairs vote for lines crossing the copy at a slant, enough to leave a
        second copied clip elsewhere without a candidate line."""
        explained = np.zeros(len(self.source), bool)
        for run in runs:
            offset = run.target_start - run.ratio * run.source_start
            beside = (self.source > run.source_start - MUTUAL_REACH) & (self.source < run.source_end + MUTUAL_REACH)
            explained |= beside & (np.abs(self.target - run.ratio * self.source - offset) < MUTUAL_REACH)
        return ~explained


def _vote(a: _Side, fa: np.ndarray, b: _Side, fb: np.ndarray) -> _Votes | None:
    """The votes of the pairs of similar samples (None when there are none)."""
    rows = np.flatnonzero(a.weight > 0)
    cols = np.flatnonzero(b.weight > 0)
    if a.duration <= b.duration:
        rows = rows[::max(1, -(-len(rows) // VOTE_ROWS))]
    else:
        cols = cols[::max(1, -(-len(cols) // VOTE_ROWS))]
    if not len(rows) or not len(cols):
        return None
    pairs_i, pairs_j, strength = [], [], []
    for start in range(0, len(cols), CHUNK):
        block = cols[start:start + CHUNK]
        similarity = fa[rows] @ fb[block].T
        # np.nonzero on a 2-d array is several times slower than on the flat one
        i, j = np.divmod(np.flatnonzero(similarity > VOTE_SIMILARITY), similarity.shape[1])
        crowded = np.flatnonzero(np.bincount(i, minlength=len(rows)) > VOTES_PER_SAMPLE)
        if len(crowded):  # only each sample's closest partners vote: a still shot, a slow pan or a fixed
            # camera would otherwise cast a vote for every offset along it (sorting only the rows that need it)
            top = np.argpartition(-similarity[crowded], VOTES_PER_SAMPLE - 1, axis=1)[:, :VOTES_PER_SAMPLE]
            keep = ~np.isin(i, crowded)
            i = np.concatenate([i[keep], np.repeat(crowded, VOTES_PER_SAMPLE)])
            j = np.concatenate([j[keep], top.ravel()])  # all above VOTE_SIMILARITY: a crowded row has more
        pairs_i.append(rows[i])
        pairs_j.append(block[j])
        strength.append(similarity[i, j] - VOTE_SIMILARITY)
    i, j, strength = np.concatenate(pairs_i), np.concatenate(pairs_j), np.concatenate(strength)
    if not len(i):
        return None
    wanted = int(np.clip(min(a.duration, b.duration) / SECONDS_PER_CANDIDATE, CANDIDATES, MAX_CANDIDATES))
    return _Votes(a.times[i], b.times[j], strength * a.weight[i] * b.weight[j], wanted)


def _walk(a: _Side, fa: np.ndarray, b: _Side, fb: np.ndarray, ratio: float, offset: float, reach: float):
    """Per sample of a: the most similar sample of b within ``reach`` seconds of ratio * t + offset, its
    similarity, whether there was one, whether it is a clear peak, and whether the search window lies
    wholly inside b (the last two say which samples may place the line)."""
    expected = ratio * a.times + offset
    after = np.searchsorted(b.times, expected)
    steps = int(np.ceil(reach / b.step))
    near = np.clip(after[:, None] + np.arange(-steps, steps)[None, :], 0, len(b.times) - 1)
    similarity = np.einsum("id,ikd->ik", fa, np.take(fb, near, axis=0))  # np.take: a faster copy than fb[near]
    similarity[np.abs(b.times[near] - expected[:, None]) > reach] = -1.0
    pick = np.argmax(similarity, axis=1)
    rows = np.arange(len(expected))
    partner, best = near[rows, pick], similarity[rows, pick]
    # A clear peak beats every sample two or more steps away, and its window is not cut by an end of b:
    # near-still pictures match equally well anywhere around and would only add noise (or bias, at the ends).
    far = np.abs(np.arange(similarity.shape[1])[None, :] - pick[:, None]) >= 2
    runner_up = np.max(np.where(far, similarity, -1.0), axis=1)
    uncut = (expected - reach >= b.times[0]) & (expected + reach <= b.times[-1])
    return partner, best, best > -1.0, uncut & (best - runner_up > PEAK_MARGIN), uncut


def _same_line(line: tuple[float, float], other: tuple[float, float], duration: float) -> bool:
    """Whether two (ratio, offset) lines stay within SNAP_REACH of each other over the source video."""
    return all(abs((line[0] - other[0]) * t + line[1] - other[1]) < SNAP_REACH for t in (0.0, duration))


def _follow(a: _Side, fa: np.ndarray, b: _Side, fb: np.ndarray, ratio: float,
            offset: float) -> tuple[list[_Run], tuple[float, float]]:
    """The runs along a candidate line, and the line it settled on."""
    # Snap the line to the best-aligned samples nearby until it settles, then walk it closely.
    for _ in range(SNAP_ROUNDS):
        partner, similarity, present, clear, uncut = _walk(a, fa, b, fb, ratio, offset, SNAP_REACH)
        matched = present & (a.weight > 0) & (b.weight[partner] > 0) & (similarity >= MATCH_SIMILARITY)
        fit = next((m for m in (matched & clear, matched & uncut) if np.sum(m) >= MIN_FIT_POINTS), matched)
        fitted = _fit_line(a.times[fit], b.times[partner[fit]], ratio, offset)
        if fitted is None:  # the samples along the line follow another slope: a chance line (see _fit_line)
            return [], (ratio, offset)
        settled = abs(fitted[0] - ratio) < 1e-3 and abs(fitted[1] - offset) < 0.02
        ratio, offset = fitted
        if settled:
            break
    ratio, offset = _mutual_line(a, fa, b, fb, ratio, offset)
    partner, similarity, present, _, _ = _walk(a, fa, b, fb, ratio, offset, TOLERANCE)
    informative = present & (a.weight > 0) & (b.weight[partner] > 0)
    # Hysteresis: a run is seeded by samples above MATCH_SIMILARITY and carried on by samples above
    # CONTINUE_SIMILARITY (a big logo or caption lowers similarity without changing the alignment).
    strong = informative & (similarity >= MATCH_SIMILARITY)
    matched = informative & (similarity >= CONTINUE_SIMILARITY)
    indices = np.flatnonzero(matched)
    if not len(indices):
        return [], (ratio, offset)
    # A gap breaks the run when it holds more than MAX_GAP seconds of informative, unmatched samples,
    # or leaves the other video; black or flat stretches in between do not break it.
    breaking = np.cumsum((informative & ~matched) + ~present * 1e6)
    breaks = np.flatnonzero(np.diff(breaking[indices]) * a.step > MAX_GAP) + 1
    # Each pair counts as the moments it shows of the video the line runs faster through: along a line slower than 1
    # (ratio < 1) consecutive samples of a share one partner in b, so a's samples would count b's moments over again
    # (a zoom or pan read at half speed, each of b's samples matched twice, outscored the copy's own line).
    pair_weight = np.minimum(a.weight, b.weight[partner]) * min(1.0, ratio)
    runs = []
    for run in np.split(indices, breaks):
        evidence = float(np.sum(pair_weight[run][strong[run]]))
        if evidence < MIN_SEGMENT_EVIDENCE or not _distinct(a, fa, b, fb, run, partner[run], similarity[run]):
            continue
        first, last = _widen(run[0], run[-1], present, informative)
        inside = np.arange(first, last + 1)
        inside = inside[informative[inside]]
        weight = pair_weight[inside]
        start = _boundary(a, b, first, partner[first], ratio, offset, at_start=True)
        end = _boundary(a, b, last, partner[last], ratio, offset, at_start=False)
        exact = float(np.sum(pair_weight[run][similarity[run] >= EXACT_SIMILARITY]))
        runs.append(_Run(start, end, float(np.clip(ratio * start + offset, 0, b.duration)),
                         float(np.clip(ratio * end + offset, 0, b.duration)), evidence, exact,
                         float(np.sum(weight * np.clip(similarity[inside], 0, 1))), float(np.sum(weight)), ratio))
    return runs, (ratio, offset)


def _mutual_line(a: _Side, fa: np.ndarray, b: _Side, fb: np.ndarray, ratio: float,
                 offset: float) -> tuple[float, float]:
    """The line through the sample pairs near a settled line that are each other's most similar partner. Where
    a copied clip of slow or still-ish picture sits between unrelated content, the source's samples around the
    clip look like its first and last moments too: the look-alike pairs fill a block longer in the source than
    in the copy, the votes and the snapped line cross it at a slant (a 6-s clip read as 10 s at 0.6x), and the
    run spills over the cut by seconds. Each moment's exact partner is the other's best match both ways."""
    partner, similarity, present, _, _ = _walk(a, fa, b, fb, ratio, offset, MUTUAL_REACH)
    back, _, back_present, _, _ = _walk(b, fb, a, fa, 1 / ratio, -offset / ratio, MUTUAL_REACH)
    rows = np.arange(len(a.times))
    mutual = (present & back_present[partner] & (back[partner] == rows) & (a.weight > 0) & (b.weight[partner] > 0)
              & (similarity >= MATCH_SIMILARITY))
    fitted = _fit_line(a.times[mutual], b.times[partner[mutual]], ratio, offset)
    return fitted if fitted is not None else (ratio, offset)


def _distinct(a: _Side, fa: np.ndarray, b: _Side, fb: np.ndarray, rows: np.ndarray, partners: np.ndarray,
              similarity: np.ndarray) -> bool:
    """Whether the samples ``rows`` of a, on the line with ``partners`` in b, are an alignment and not the best
    of many look-alike lines. Either they fit their partners (``similarity``) clearly better than they fit b
    as a whole (its median sample): the background of a fixed camera, a still or a recurring picture fits
    every moment alike. Or, where the picture hardly changes (a test card, a fixed camera: every moment fits
    nearly as well as the aligned one), what changes from one sample to the next changes alike in both."""
    cols = np.flatnonzero(b.weight > 0)
    cols = cols[::max(1, -(-len(cols) // VOTE_ROWS))]
    typical = np.median(fa[rows] @ fb[cols].T, axis=1)
    weight = np.maximum(a.weight[rows], 1e-3)
    if float(np.sum(weight * (similarity - typical)) / np.sum(weight)) >= DISTINCT_MARGIN:
        return True
    return _motion_agreement(fa, fb, rows, partners) >= MOTION_AGREEMENT


def _motion_agreement(fa: np.ndarray, fb: np.ndarray, rows: np.ndarray, partners: np.ndarray) -> float:
    """Correlation of the sample-to-sample changes of a (consecutive samples of the run) with the changes
    between their partners in b, over the whole run (large changes weigh most; sensor noise and figures
    moving differently at another moment of one scene do not correlate)."""
    step = np.flatnonzero(np.diff(rows) == 1)
    if not len(step):
        return 0.0
    change_a = fa[rows[step + 1]] - fa[rows[step]]
    change_b = fb[partners[step + 1]] - fb[partners[step]]
    energy = np.sqrt(np.sum(change_a * change_a) * np.sum(change_b * change_b))
    return float(np.sum(change_a * change_b) / energy) if energy > 0 else 0.0


def _widen(first: int, last: int, present: np.ndarray, informative: np.ndarray) -> tuple[int, int]:
    """Carry a run's ends over the black or flat samples next to them (nothing there contradicts the
    alignment), up to an informative sample or the end of either video."""
    while first > 0 and present[first - 1] and not informative[first - 1]:
        first -= 1
    while last < len(present) - 1 and present[last + 1] and not informative[last + 1]:
        last += 1
    return first, last


def _fit_line(source: np.ndarray, target: np.ndarray, ratio: float, offset: float) -> tuple[float, float] | None:
    """Least-squares line target = ratio * source + offset through matched sample times, outliers
    dropped. The speed stays exactly 1 unless the points say otherwise beyond their noise; the given
    line is kept when there are too few points. None when the points follow a speed far from the given
    line's: a line crossing slow or still pictures at a slant matches them at every step, and its
    samples, pulled towards the true line on either side, say so."""
    if len(source) < MIN_FIT_POINTS or np.ptp(source) < 2.0:
        return ratio, offset
    slope, intercept = np.polyfit(source, target, 1)
    inliers = np.abs(target - (slope * source + intercept)) < 0.3
    if inliers.sum() >= MIN_FIT_POINTS and np.ptp(source[inliers]) >= 2.0:
        source, target = source[inliers], target[inliers]
        slope, intercept = np.polyfit(source, target, 1)
    residual = target - (slope * source + intercept)
    slope_error = residual.std() / (source.std() * np.sqrt(len(source))) + 1e-4
    if abs(slope - 1) < 3 * slope_error:
        return 1.0, float(np.mean(target - source))
    if not MIN_RATIO <= slope <= MAX_RATIO:
        return ratio, offset
    return (float(slope), float(intercept)) if abs(slope / ratio - 1) < 0.06 else None  # near the voted ratio


def _boundary(a: _Side, b: _Side, i: int, j: int, ratio: float, offset: float, at_start: bool) -> float:
    """Source time of a segment's start or end: where the content changes lies between the last matched
    sample and the next one (or exactly at the video's own start or end) in both videos; take the middle
    of what both allow."""
    def interval(side: _Side, k: int):
        if at_start:
            return (0.0, 0.0) if k == 0 else (side.times[k - 1], side.times[k])
        return (side.duration, side.duration) if k == len(side.times) - 1 else (side.times[k], side.times[k + 1])

    low_a, high_a = interval(a, i)
    low_b, high_b = ((t - offset) / ratio for t in interval(b, j))
    low, high = max(low_a, low_b), min(high_a, high_b)
    return float(np.clip((low + high) / 2, 0, a.duration))


def _keep_distinct(runs: list[_Run]) -> list[_Run]:
    """Best-fitting runs first (the most similarity summed over their samples: through slow or still pictures,
    a line a little off the true one matches too, at lower similarity, and may even run longer); a run
    overlapping a kept one by more than half its length, in either video, is dropped."""
    kept: list[_Run] = []
    for run in sorted(runs, key=lambda r: -r.similarity_sum):
        if all(_overlap(run.source_start, run.source_end, k.source_start, k.source_end) <= 0.5 and
               _overlap(run.target_start, run.target_end, k.target_start, k.target_end) <= 0.5 for k in kept):
            kept.append(run)
    return kept


def _overlap(start: float, end: float, other_start: float, other_end: float) -> float:
    shared = min(end, other_end) - max(start, other_start)
    return max(0.0, shared) / max(end - start, 1e-6)


def _score(a: _Side, b: _Side, runs: list[_Run]) -> tuple[float, float, float]:
    """(share of the shorter video covered, or of FULL_COPY_SECONDS of it, x mean similarity inside the segments,
    total evidence, share of the shorter video covered)."""
    if not runs:
        return 0.0, 0.0, 0.0
    shorter, use_source = (a, True) if a.duration <= b.duration else (b, False)
    covered = np.zeros(len(shorter.times), bool)
    for run in runs:
        start, end = (run.source_start, run.source_end) if use_source else (run.target_start, run.target_end)
        covered |= (shorter.times >= start - 1e-6) & (shorter.times <= end + 1e-6)
    total = float(shorter.weight.sum())
    coverage = min(1.0, float(shorter.weight[covered].sum()) / total) if total > 0 else 0.0
    # A copied clip inside longer videos: FULL_COPY_SECONDS of moving picture matching the picture itself, moment by
    # moment, prove a copy as well as all of the shorter video (stills count once: a shared intro card or logo
    # never adds up to it; look-alike footage matches for seconds, below EXACT_SIMILARITY).
    exact = min(1.0, sum(r.exact for r in runs) / (FULL_COPY_SECONDS / shorter.step))
    weight = sum(r.weight_sum for r in runs)
    similarity = sum(r.similarity_sum for r in runs) / weight if weight > 0 else 0.0
    return max(coverage, exact) * similarity, sum(r.evidence for r in runs), coverage


def _calibrated(raw: float, match: bool) -> float:
    """Raw score mapped piecewise-linearly so that the decision threshold sits at 0.5."""
    score = raw / MATCH_SCORE * 0.5 if raw < MATCH_SCORE else 0.5 + (raw - MATCH_SCORE) / (1 - MATCH_SCORE) * 0.5
    return float(np.clip(score if match else min(score, 0.49), 0.0, 1.0))


def _confidence(raw: float, evidence: float) -> str:
    if raw >= MATCH_SCORE and evidence < MIN_EVIDENCE:  # looks alike but too little moving picture to say
        return "low"
    margin = abs(raw - MATCH_SCORE)
    return "high" if margin >= 0.25 else "medium" if margin >= 0.1 else "low"
