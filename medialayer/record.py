"""The input rows and the output records: the contract users' tooling relies on.

Pair job:

Input row: ``source_url``, ``target_url`` (required strings), ``pair_id`` (optional; derived from the row
when absent), ``media_type`` (optional: image | video | audio; sniffed from the content when absent).

Output record, the same columns in JSONL and Parquet (RESULT_SCHEMA):
``pair_id, source_url, target_url, media_type, match, confidence, similarity_score,
processing_time_ms, matched_segments, error, matched_region, speed_ratio`` (the last two were added later,
at the end, and are null when the matcher does not know them: where in the target's frame the source's
picture sits, as fractions ``left, top, right, bottom``; the target's playback speed relative to the source).

Catalog dedupe: asset rows in (``url`` required; ``asset_id`` optional, derived from the row when absent;
``media_type`` optional); out, LINK_SCHEMA (the envelope of each verified duplicate pair, with both
asset ids), GROUP_SCHEMA (duplicate groups) and ASSET_SCHEMA (one record per asset row).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid

import pyarrow as pa

from medialayer.errors import ErrorCode, MediaError
from medialayer.io.fetch import redact
from medialayer.matchers.base import Comparison
from medialayer.media import MEDIA_TYPES

MAX_ECHOED_CHARS = 2000  # how much of a malformed row is echoed back in its error message

SEGMENT_TYPE = pa.struct([(name, pa.float64()) for name in
                          ("source_start", "source_end", "target_start", "target_end")])
REGION_TYPE = pa.struct([(name, pa.float64()) for name in ("left", "top", "right", "bottom")])
ERROR_TYPE = pa.struct([("code", pa.string()), ("message", pa.string()), ("url", pa.string())])
RESULT_SCHEMA = pa.schema([
    ("pair_id", pa.string()),
    ("source_url", pa.string()),
    ("target_url", pa.string()),
    ("media_type", pa.string()),
    ("match", pa.bool_()),
    ("confidence", pa.string()),
    ("similarity_score", pa.float64()),
    ("processing_time_ms", pa.float64()),
    ("matched_segments", pa.list_(SEGMENT_TYPE)),
    ("error", ERROR_TYPE),
    ("matched_region", REGION_TYPE),
    ("speed_ratio", pa.float64()),
])


# Catalog dedupe's outputs. A link is the pair envelope of two assets found to be duplicates.
LINK_SCHEMA = pa.schema([*RESULT_SCHEMA, ("source_asset_id", pa.string()), ("target_asset_id", pa.string())])
MEMBER_TYPE = pa.struct([("asset_id", pa.string()), ("url", pa.string()), ("similarity_score", pa.float64())])
GROUP_SCHEMA = pa.schema([
    ("group_id", pa.string()),
    ("media_type", pa.string()),
    ("size", pa.int64()),
    ("representative_asset_id", pa.string()),
    ("representative_url", pa.string()),
    ("members", pa.list_(MEMBER_TYPE)),  # similarity_score: to the representative, null when not linked directly
])
ASSET_SCHEMA = pa.schema([
    ("asset_id", pa.string()),
    ("url", pa.string()),
    ("media_type", pa.string()),
    ("group_id", pa.string()),  # null: no near-duplicate found
    ("is_representative", pa.bool_()),
    ("error", ERROR_TYPE),
])


# The report's previews of a run's media (medialayer.previews), written only when a report is asked for.
PREVIEW_SCHEMA = pa.schema([("url", pa.string()), ("media_type", pa.string()), ("preview", pa.string())])


def derive_pair_id(*parts) -> str:
    """A stable id for a row that has none: the same row always gets the same id."""
    return hashlib.sha1(json.dumps(parts, default=str).encode("utf-8")).hexdigest()[:16]


@dataclasses.dataclass(frozen=True)
class _RowShape:
    """What one kind of input row holds: its id column, its required URL columns, and what its derived
    ids are salted with (nothing for pair rows, whose derived ids predate catalog rows and must not change)."""

    id_key: str
    url_keys: tuple
    salt: tuple = ()


_PAIR = _RowShape("pair_id", ("source_url", "target_url"))
_ASSET = _RowShape("asset_id", ("url",), ("asset",))


def make_row(fields, raw: str | None = None) -> dict:
    """Validate one parsed pair row (a mapping, or anything else read from a file) into the internal row.

    Every row gets a unique ``row_id`` (pair_ids may repeat) and, when invalid, an INVALID_INPUT ``error``
    that carries what was read; invalid rows are never dropped.
    """
    return _validated(fields, raw, _PAIR)


def make_asset(fields, raw: str | None = None) -> dict:
    """Validate one catalog row (catalog dedupe's input) into the internal asset row, as make_row does."""
    return _validated(fields, raw, _ASSET)


def invalid_row(message: str, row: dict | None = None) -> dict:
    """An INVALID_INPUT row: for input that could not be read as a row at all (bad JSON, bad UTF-8, too
    long), or ``row`` (what could be read of it, ids and URLs kept) marked invalid for ``message``."""
    return _marked_invalid(message, row, _PAIR)


def invalid_asset(message: str, row: dict | None = None) -> dict:
    """An INVALID_INPUT asset row (see invalid_row)."""
    return _marked_invalid(message, row, _ASSET)


def _validated(fields, raw: str | None, shape: _RowShape) -> dict:
    row = _new_row(shape)
    if not isinstance(fields, dict):
        return _invalid(row, f"row is not an object: {_echo(raw if raw is not None else fields)}", shape)
    for key in (shape.id_key, *shape.url_keys, "media_type"):
        value = fields.get(key)
        if isinstance(value, str) and not _encodable(value):  # a JSON "\ud800" escape: no writer could store it
            return _invalid(row, f"{key} is not valid Unicode (a lone surrogate): {_echo(ascii(value))}", shape)
    for key in shape.url_keys:
        if isinstance(fields.get(key), str):
            row[key] = fields[key]
    row_id = fields.get(shape.id_key)
    if isinstance(row_id, (str, int)) and not isinstance(row_id, bool) and str(row_id) != "":
        row[shape.id_key] = str(row_id)
    elif row_id not in (None, ""):
        return _invalid(row, f"{shape.id_key} must be a string, got {type(row_id).__name__}: "
                             f"{_echo(raw or fields)}", shape)
    else:
        row[shape.id_key] = derive_pair_id(*shape.salt, *(fields.get(key) for key in shape.url_keys),
                                           fields.get("media_type"))
    for key in shape.url_keys:
        value = fields.get(key)
        if not isinstance(value, str) or not value.strip():
            what = "missing" if value in (None, "") else f"not a non-empty string ({type(value).__name__})"
            return _invalid(row, f"{key} is {what}: {_echo(raw if raw is not None else fields)}", shape)
    media_type = fields.get("media_type")
    if media_type not in (None, ""):
        if not isinstance(media_type, str) or media_type.strip().lower() not in MEDIA_TYPES:
            return _invalid(row, f"media_type must be one of {', '.join(MEDIA_TYPES)}, got {_echo(media_type)}",
                            shape)
        row["media_type"] = media_type.strip().lower()
    return row


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _new_row(shape: _RowShape) -> dict:
    return {"row_id": uuid.uuid4().hex, shape.id_key: None, **{key: None for key in shape.url_keys},
            "media_type": None, "error": None}


def _marked_invalid(message: str, row: dict | None, shape: _RowShape) -> dict:
    row = dict(row) if row is not None else _new_row(shape)
    row["error"] = None
    return _invalid(row, _echo(message), shape)


def _invalid(row: dict, message: str, shape: _RowShape) -> dict:
    row["error"] = MediaError(ErrorCode.INVALID_INPUT, message).to_dict()
    if row[shape.id_key] is None:
        row[shape.id_key] = derive_pair_id(*shape.salt, message)
    return row


def _echo(value) -> str:
    text = redact(value if isinstance(value, str) else repr(value))  # before truncating, which could cut a URL
    return text if len(text) <= MAX_ECHOED_CHARS else text[:MAX_ECHOED_CHARS] + "...(truncated)"


def result_record(row: dict, media_type: str, comparison: Comparison, processing_time_ms: float) -> dict:
    return {**_identity(row), "media_type": media_type, "match": comparison.match,
            "confidence": comparison.confidence, "similarity_score": round(comparison.similarity_score, 4),
            "processing_time_ms": round(processing_time_ms, 3),
            "matched_segments": [s.to_dict() for s in comparison.segments], "error": None,
            "matched_region": (None if comparison.region is None else
                               dict(zip(("left", "top", "right", "bottom"), comparison.region))),
            "speed_ratio": comparison.speed_ratio}


def error_record(row: dict, error: MediaError | dict, media_type: str | None = None,
                 processing_time_ms: float = 0.0) -> dict:
    error = error.to_dict() if isinstance(error, MediaError) else error
    return {**_identity(row), "media_type": media_type or row.get("media_type"), "match": None,
            "confidence": None, "similarity_score": None, "processing_time_ms": round(processing_time_ms, 3),
            "matched_segments": [], "error": error, "matched_region": None, "speed_ratio": None}


def _identity(row: dict) -> dict:
    """The row's id and URLs as echoed in its record; credentials in a URL are never written out."""
    return {"pair_id": row["pair_id"], "source_url": redact(row["source_url"]),
            "target_url": redact(row["target_url"])}
