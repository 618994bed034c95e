"""The stage functions shared by the Beam pipeline and the single-pair ``match()`` call.

    fingerprint_url(url, declared_types, fetcher) -> MediaResult   once per unique URL
    for_declared_type(result, declared_type)      -> MediaResult   per reference to that URL
    compare_pair(row, source, target[, recent])   -> record        once per input row (a row repeating a
                                                                   pair reuses its comparison from ``recent``)

``processing_time_ms`` of a record is the work done for its row: its share of fetching and
fingerprinting each of its URLs (a URL's work divided among the rows referencing it) plus its compare;
time spent waiting for a thread or a free decoder is not work. match(), the pipeline and the service
count it the same way.
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Any

from medialayer.errors import ErrorCode, MediaError
from medialayer.io.fetch import Fetcher, redact
from medialayer.io.sniff import sniff_media_type
from medialayer.isolation import fingerprint_media
from medialayer.matchers import get_matcher
from medialayer.previews import FINGERPRINT_AND_PREVIEW
from medialayer.record import error_record, result_record
from medialayer.work_time import WorkTimer

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class MediaResult:
    """What fetching and fingerprinting one URL produced: a fingerprint, or an error."""

    url: str
    media_type: str | None
    fingerprint: Any = None
    error: MediaError | None = None
    work_ms: float = 0.0  # fetching and fingerprinting, waits excluded
    references: int = 1  # rows sharing that work
    preview: dict | None = None  # what the report shows of the media, when the run makes a report

    @property
    def share_ms(self) -> float:
        return self.work_ms / max(1, self.references)


def fingerprint_url(url: str, declared_types: set, fetcher: Fetcher, with_preview: bool = False) -> MediaResult:
    """Fetch ``url`` once, sniff its media type and fingerprint it with that type's matcher; ``with_preview``:
    also make the report's preview of it (medialayer.previews) from the same bytes, in the same decoder."""
    timer = WorkTimer()
    media_type = None
    try:
        # The byte cap of the declared type when every reference agrees on one, else the largest.
        cap_type = next(iter(declared_types)) if len(declared_types) == 1 else None
        with fetcher.fetch(url, cap_type) as blob:
            media_type = sniff_media_type(blob.head())
            if blob.size > fetcher.limits.max_bytes(media_type):
                raise MediaError(ErrorCode.TOO_LARGE, f"{blob.size} bytes exceeds the {media_type} cap of "
                                                      f"{fetcher.limits.max_bytes(media_type)}")
            # In a decoder process (isolation.py); with a preview, both from this one fetch and decoder call.
            if with_preview:
                fingerprint, preview = fingerprint_media(media_type, blob, fetcher.limits, timer,
                                                         FINGERPRINT_AND_PREVIEW)
            else:
                fingerprint, preview = fingerprint_media(media_type, blob, fetcher.limits, timer), None
        return MediaResult(url, media_type, fingerprint, None, timer.ms, preview=preview)
    except MediaError as e:
        return MediaResult(url, media_type, None, e.with_url(redact(url)), timer.ms)
    except Exception as e:  # a bug or a decoder failure we did not anticipate: report it, never crash the run
        log.exception("unexpected failure fingerprinting %s", redact(url))
        error = MediaError(ErrorCode.INTERNAL_ERROR, f"{type(e).__name__}: {e}", redact(url))
        return MediaResult(url, media_type, None, error, timer.ms)


def for_declared_type(result: MediaResult, declared_type: str | None) -> MediaResult:
    """The result as seen by a row that declared ``declared_type``: a mismatch with the content is an error."""
    if declared_type and result.media_type and result.media_type != declared_type and result.error is None:
        error = MediaError(ErrorCode.MEDIA_TYPE_MISMATCH,
                           f"declared media_type {declared_type!r} but the content is {result.media_type}",
                           redact(result.url))
        return dataclasses.replace(result, fingerprint=None, error=error)
    return result


class RecentComparisons(dict):
    """The ``size`` most recently used comparisons by (source URL, target URL, media type): a pairs file that
    lists one pair many times, in either order, costs one compare per pair, as it costs one fingerprint per URL
    (compare_pair remembers both orders of each pair it compares: Matcher.compare_both_orders). Bounded (an entry
    holds about 0.6 KB: 100,000 are some 60 MB), so a cell of millions of distinct pairs holds only ``size``;
    a pair that keeps coming back stays however many others pass between its rows."""

    def __init__(self, size: int = 100_000):
        super().__init__()
        self.size = size

    def recall(self, key):
        comparison = self.pop(key, None)
        if comparison is not None:
            self[key] = comparison  # now the most recent: dicts keep insertion order
        return comparison

    def remember(self, key, comparison):
        if len(self) >= self.size:
            del self[next(iter(self))]  # the least recently used
        self[key] = comparison


def compare_pair(row: dict, source: MediaResult | None, target: MediaResult | None,
                 recent: RecentComparisons | None = None) -> dict:
    """The output record for one input row, given the results for its two URLs; with ``recent``, a pair
    compared before is not compared again (the record is the same but for the row's own fields and time)."""
    if row.get("error"):
        return error_record(row, row["error"])
    elapsed = source.share_ms + target.share_ms
    for side in (source, target):
        if side.error is not None:
            return error_record(row, side.error, side.media_type, elapsed)
    if source.media_type != target.media_type:
        error = MediaError(ErrorCode.MEDIA_TYPE_MISMATCH,
                           f"source is {source.media_type} but target is {target.media_type}", redact(target.url))
        return error_record(row, error, None, elapsed)
    timer = WorkTimer()
    key = (source.url, target.url, source.media_type)
    comparison = recent.recall(key) if recent is not None else None
    if comparison is None:
        try:
            matcher = get_matcher(source.media_type)
            if recent is None:
                comparison = matcher.compare(source.fingerprint, target.fingerprint)
            else:  # the pair's other order may come too (catalog tools list both): both from one judgement
                comparison, reverse = matcher.compare_both_orders(source.fingerprint, target.fingerprint)
        except Exception as e:  # a matcher bug must cost one record, not the run
            log.exception("unexpected failure comparing pair %s", row["pair_id"])
            error = MediaError(ErrorCode.INTERNAL_ERROR, f"compare failed: {type(e).__name__}: {e}")
            return error_record(row, error, source.media_type, elapsed + timer.ms)
        if recent is not None:
            recent.remember((target.url, source.url, source.media_type), reverse)
            recent.remember(key, comparison)
    return result_record(row, source.media_type, comparison, elapsed + timer.ms)
