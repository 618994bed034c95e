"""The output envelope: plain types whatever a matcher computed with, and a schema both writers share."""
import dataclasses
import json

import numpy as np
import pyarrow as pa
import pytest

from medialayer.errors import ErrorCode, MediaError
from medialayer.matchers.base import Comparison, Segment, comes_first
from medialayer.record import RESULT_SCHEMA, error_record, make_row, result_record


def test_numpy_values_from_a_matcher_become_plain_python():
    comparison = Comparison(match=np.bool_(True), similarity_score=np.float64(0.123456), confidence="high",
                            segments=[Segment(np.float32(1.0), 2.0, 3.0, 4.0)])
    record = result_record(make_row({"source_url": "a", "target_url": "b"}), "audio", comparison, 12.34567)
    assert json.loads(json.dumps(record))["match"] is True
    assert record["similarity_score"] == 0.1235 and record["processing_time_ms"] == 12.346
    assert pa.Table.from_pylist([record], schema=RESULT_SCHEMA).num_rows == 1


@pytest.mark.parametrize("score,confidence", [(1.5, "high"), (-0.1, "low"), (0.5, "sure")])
def test_comparison_rejects_values_outside_the_contract(score, confidence):
    with pytest.raises(ValueError):
        Comparison(match=True, similarity_score=score, confidence=confidence)


def test_a_comparison_swapped_reads_the_pair_the_other_way_round():
    comparison = Comparison(True, 0.9, "high", (Segment(1.0, 5.0, 11.0, 13.0),), region=(0.5, 0.5, 1.0, 1.0),
                            speed_ratio=0.5)
    swapped = comparison.swapped(region=(0.0, 0.0, 1.0, 1.0))
    assert (swapped.match, swapped.similarity_score, swapped.confidence) == (True, 0.9, "high")
    assert swapped.segments == (Segment(11.0, 13.0, 1.0, 5.0),) and swapped.speed_ratio == 2.0
    assert swapped.region == (0.0, 0.0, 1.0, 1.0) and swapped.swapped(comparison.region) == comparison


def test_the_shorter_comes_first_and_equal_durations_in_one_order_by_their_contents():
    @dataclasses.dataclass
    class Timed:
        duration: float
        values: np.ndarray
    short, long = Timed(3.0, np.array([9])), Timed(4.0, np.array([1]))
    same_length = Timed(4.0, np.array([2]))
    assert comes_first(short, long) and comes_first(long, same_length) and comes_first(short, same_length)
    assert not comes_first(long, short) and not comes_first(same_length, long)
    identical = Timed(4.0, np.array([1]))
    assert not comes_first(long, identical) and not comes_first(identical, long)


def test_error_record_has_every_column_and_null_decision():
    row = make_row({"source_url": "a", "target_url": "b", "pair_id": 7})
    record = error_record(row, MediaError(ErrorCode.DECODE_FAILED, "bad bytes", "a"))
    assert list(record) == RESULT_SCHEMA.names
    assert record["pair_id"] == "7" and record["match"] is None and record["similarity_score"] is None
    assert record["error"] == {"code": "DECODE_FAILED", "message": "bad bytes", "url": "a"}


def test_derived_pair_id_is_stable_and_row_ids_unique():
    first, second = (make_row({"source_url": "a", "target_url": "b"}) for _ in range(2))
    assert first["pair_id"] == second["pair_id"] and first["row_id"] != second["row_id"]
