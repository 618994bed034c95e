"""Reading pair rows, the pair job's input (contract: medialayer.record.make_row), from JSONL, CSV or Parquet."""
from __future__ import annotations

from medialayer.io.rows import ReadRows, RowKind
from medialayer.limits import DEFAULT_LIMITS
from medialayer.record import invalid_row, make_row

PAIR_ROWS = RowKind(columns=("pair_id", "source_url", "target_url", "media_type"),
                    required=("source_url", "target_url"), make=make_row, invalid=invalid_row)


class ReadPairs(ReadRows):
    """pattern -> PCollection of pair rows, one per non-blank line or record (see medialayer.io.rows)."""

    def __init__(self, pattern: str, fmt: str | None = None, max_row_bytes: int = DEFAULT_LIMITS.max_row_bytes):
        super().__init__(pattern, PAIR_ROWS, fmt, max_row_bytes)
