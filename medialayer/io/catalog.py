"""Reading catalog rows, catalog dedupe's input (contract: medialayer.record.make_asset), from JSONL, CSV or
Parquet: one asset per row."""
from __future__ import annotations

from medialayer.io.rows import ReadRows, RowKind
from medialayer.limits import DEFAULT_LIMITS
from medialayer.record import invalid_asset, make_asset

ASSET_ROWS = RowKind(columns=("asset_id", "url", "media_type"), required=("url",), make=make_asset,
                     invalid=invalid_asset)


class ReadCatalog(ReadRows):
    """pattern -> PCollection of asset rows, one per non-blank line or record (see medialayer.io.rows)."""

    def __init__(self, pattern: str, fmt: str | None = None, max_row_bytes: int = DEFAULT_LIMITS.max_row_bytes):
        super().__init__(pattern, ASSET_ROWS, fmt, max_row_bytes)
