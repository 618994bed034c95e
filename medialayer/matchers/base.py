"""The one small interface every matcher implements (one per media type, plain Python, no Beam).

    fingerprint(blob, limits) -> a compact, picklable fingerprint   (raises MediaError)
    compare(fp_a, fp_b)       -> Comparison                          (pure, deterministic)
    compare_both_orders(fp_a, fp_b) -> (compare(fp_a, fp_b), compare(fp_b, fp_a)), from one judgement where the
                                 matcher judges a pair in one order (a pairs file listing both costs one compare)
    index_keys(fp)            -> integer keys for candidate generation (catalog dedupe)
    min_shared_keys           -> how many keys two fingerprints must share to be compared

Index keys are how a catalog is deduplicated without comparing every pair: two fingerprints that
``compare`` would match share at least ``min_shared_keys`` of their keys, for the transformations the
matcher survives, while unrelated media share fewer; the keys of one media type never collide with
another's because candidates are only formed within a media type.

A fingerprint is computed once per unique URL and then compared against any number of others, so
everything the comparison needs must be in it: no media is decoded twice.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Protocol

import numpy as np

from medialayer.limits import Limits
from medialayer.media import Blob

CONFIDENCES = ("high", "medium", "low")


@dataclasses.dataclass(frozen=True)
class Segment:
    """A stretch of the source aligned with a stretch of the target, in seconds."""

    source_start: float
    source_end: float
    target_start: float
    target_end: float

    def to_dict(self) -> dict:
        return {k: round(float(v), 3) for k, v in dataclasses.asdict(self).items()}


@dataclasses.dataclass(frozen=True)
class Comparison:
    match: bool
    similarity_score: float  # in [0, 1]
    confidence: str  # "high" | "medium" | "low": how sure the match decision is, either way
    segments: tuple[Segment, ...] = ()
    # Where the source's picture sits in the target's frame, (left, top, right, bottom) as fractions of the
    # target's width and height, when the matcher located it (images and video); None otherwise.
    region: tuple[float, float, float, float] | None = None
    # The target's playback speed relative to the source (1.1: the target plays 10% faster), when the
    # matcher estimated one (audio and video); None otherwise.
    speed_ratio: float | None = None

    def __post_init__(self):
        # Plain Python types whatever the matcher computed with (numpy bools/floats do not serialise).
        object.__setattr__(self, "match", bool(self.match))
        object.__setattr__(self, "similarity_score", float(self.similarity_score))
        object.__setattr__(self, "segments", tuple(self.segments))
        if self.region is not None:
            region = tuple(round(min(max(float(v), 0.0), 1.0), 4) for v in self.region)
            if len(region) != 4 or region[0] >= region[2] or region[1] >= region[3]:
                raise ValueError(f"region {self.region} is not (left, top, right, bottom) with left < right, top < bottom")
            object.__setattr__(self, "region", region)
        if self.speed_ratio is not None:
            object.__setattr__(self, "speed_ratio", round(float(self.speed_ratio), 4))
        if not 0.0 <= self.similarity_score <= 1.0:
            raise ValueError(f"similarity_score {self.similarity_score} outside [0, 1]")
        if self.confidence not in CONFIDENCES:
            raise ValueError(f"confidence {self.confidence!r} not one of {CONFIDENCES}")

    def swapped(self, region: tuple[float, float, float, float] | None = None) -> Comparison:
        """This comparison for the pair in the other order (source and target exchanged): the same decision, score and
        confidence, each segment's source and target times exchanged, the speed ratio inverted, and ``region``: where
        the new source's picture sits in the new target's frame, which only the matcher can say (the inverse of this
        region is not it where the picture is cut at a frame's edge)."""
        return dataclasses.replace(
            self, segments=tuple(Segment(s.target_start, s.target_end, s.source_start, s.source_end)
                                 for s in self.segments),
            region=region, speed_ratio=None if self.speed_ratio is None else 1 / self.speed_ratio)


def comes_first(a, b) -> bool:
    """Whether ``a`` comes strictly before ``b`` in the one order a matcher of timed media (audio, video: fingerprints
    with a ``duration``), whose alignment is one-sided (a's samples or landmarks looked for in b), judges a pair in, so
    that its answer does not depend on which column of a pairs file holds which file (round order20): the shorter
    first, equal durations by the fingerprints' contents (read only then), so any two fingerprints but identical ones
    have exactly one order."""
    if a.duration != b.duration:
        return a.duration < b.duration
    return _contents(a) < _contents(b)


def _contents(value) -> list[bytes]:
    """A fingerprint's fields, arrays and nested dataclasses' fields too, as bytes in field order."""
    if isinstance(value, np.ndarray):
        return [value.tobytes()]
    if dataclasses.is_dataclass(value):
        return [part for field in dataclasses.fields(value) for part in _contents(getattr(value, field.name))]
    return [repr(value).encode()]


class Matcher(Protocol):
    media_type: str

    def fingerprint(self, blob: Blob, limits: Limits) -> Any: ...

    def compare(self, a: Any, b: Any) -> Comparison: ...

    def compare_both_orders(self, a: Any, b: Any) -> tuple[Comparison, Comparison]:
        """(compare(a, b), compare(b, a)), exactly; this default compares twice, a matcher that judges a pair in one
        order gives both from that one judgement (Comparison.swapped() with the region only it can place)."""
        return self.compare(a, b), self.compare(b, a)

    min_shared_keys: int

    def index_keys(self, fingerprint: Any) -> list[int]: ...
