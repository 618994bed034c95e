"""Reading input rows from JSONL, CSV (with a header row) or Parquet files; globs allowed.

What a row is (its columns and how it is validated) is a ``RowKind``: pair rows (medialayer.io.pairs)
and catalog rows (medialayer.io.catalog) are read by the same code. Lines are read as bytes and decoded here, so a malformed line (bad JSON, bad UTF-8, missing URL, longer
than ``max_row_bytes``) becomes a row carrying an INVALID_INPUT error instead of failing the run;
nothing is dropped but blank lines. CSV lines are parsed one physical line at a time (URLs hold no
line breaks): a quoted field spanning lines yields one INVALID_INPUT row per line.
"""
from __future__ import annotations

import csv
import dataclasses
import json
import os
from typing import Callable

import apache_beam as beam
from apache_beam import coders
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from medialayer.limits import DEFAULT_LIMITS

FORMATS = ("jsonl", "csv", "parquet")


@dataclasses.dataclass(frozen=True)
class RowKind:
    """The input contract of one kind of row file."""

    columns: tuple  # read; other columns are ignored
    required: tuple  # a file without one of these columns is refused before the run
    make: Callable  # (fields, raw=None) -> row, valid or carrying an INVALID_INPUT error
    invalid: Callable  # (message, row=None) -> an INVALID_INPUT row
_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet",
               ".pq": "parquet"}


def input_format(path: str) -> str:
    """The format implied by a file name's extension."""
    extension = os.path.splitext(path)[1].lower()
    if extension not in _EXTENSIONS:
        raise ValueError(f"cannot tell the format of {path!r} from its extension; pass --input_format "
                         f"({', '.join(FORMATS)})")
    return _EXTENSIONS[extension]


def matched_files(pattern: str) -> list[str]:
    """The files a pattern names; a clear error before the run starts when there are none."""
    try:
        files = [m.path for m in FileSystems.match([pattern])[0].metadata_list]
    except Exception as e:
        raise FileNotFoundError(f"cannot list input {pattern!r}: {e}") from None
    if not files:
        raise FileNotFoundError(f"no input files match {pattern!r}")
    return sorted(files)


def parse_json_line(line: bytes, kind: RowKind, max_row_bytes: int = DEFAULT_LIMITS.max_row_bytes) -> dict:
    text = _decoded(line, kind, max_row_bytes)
    if isinstance(text, dict):
        return text
    try:
        fields = json.loads(text)
    except (ValueError, RecursionError) as e:  # RecursionError: nesting deeper than the parser's stack
        return kind.invalid(f"invalid JSON ({_reason(e)}): {text}")
    return kind.make(fields, raw=text)


def parse_csv_line(line: bytes, header: list[str], kind: RowKind,
                   max_row_bytes: int = DEFAULT_LIMITS.max_row_bytes) -> dict:
    text = _decoded(line, kind, max_row_bytes, byte_order_mark=False)  # the header row, read apart, holds the BOM
    if isinstance(text, dict):
        return text
    try:
        values = next(csv.reader([text]))
    except (csv.Error, StopIteration) as e:
        return kind.invalid(f"invalid CSV ({e}): {text}")
    row = kind.make(dict(zip(header, values)), raw=text)
    if len(values) != len(header):  # the values it has are kept (ids, URLs), the row is still invalid
        return kind.invalid(f"{len(values)} fields where the header has {len(header)}: {text}", row)
    return row


def parse_parquet_record(fields: dict, kind: RowKind, max_row_bytes: int = DEFAULT_LIMITS.max_row_bytes) -> dict:
    size = sum(len(v) for v in fields.values() if isinstance(v, (str, bytes)))
    if size > max_row_bytes:
        return kind.invalid(f"row of {size} bytes exceeds max_row_bytes={max_row_bytes}: {fields!r:.200}")
    return kind.make(fields)


def _decoded(line: bytes, kind: RowKind, max_row_bytes: int, byte_order_mark: bool = True) -> str | dict:
    """The line as text, or an INVALID_INPUT row when it is too long or not UTF-8. A leading byte order
    mark is dropped where it may open the file (JSONL: no JSON value starts with one)."""
    if len(line) > max_row_bytes:
        return kind.invalid(f"row of {len(line)} bytes exceeds max_row_bytes={max_row_bytes}: {line[:200]!r}")
    try:
        text = line.decode("utf-8")
        return text.removeprefix("\ufeff") if byte_order_mark else text
    except UnicodeDecodeError as e:
        return kind.invalid(f"line is not UTF-8 ({e.reason} at byte {e.start}): {line[:200]!r}")


def _reason(error: Exception) -> str:
    return "nested too deeply" if isinstance(error, RecursionError) else str(error)


def read_csv_header(path: str, kind: RowKind, max_row_bytes: int = DEFAULT_LIMITS.max_row_bytes) -> list[str] | None:
    """The header row of a CSV file (None for an empty file); a clear error before the run when unusable."""
    with FileSystems.open(path, compression_type="uncompressed") as f:
        first = f.readline(max_row_bytes + 1)
    if not first.strip():
        if first:
            raise ValueError(f"{path}: the CSV header row is blank")
        return None
    try:
        header = [name.strip() for name in next(csv.reader([first.decode("utf-8-sig").rstrip("\r\n")]))]
    except (UnicodeDecodeError, csv.Error, StopIteration) as e:
        raise ValueError(f"{path}: unreadable CSV header row: {e}") from None
    _check_columns(path, header, "CSV header", kind)
    return header


def read_parquet_columns(path: str, kind: RowKind) -> list[str]:
    """The column names of a Parquet file; a clear error before the run when it is not readable Parquet."""
    try:
        with FileSystems.open(path, compression_type="uncompressed") as f:
            names = pq.read_schema(f).names
    except Exception as e:  # pyarrow raises several types for a damaged footer
        raise ValueError(f"{path}: not a readable Parquet file: {e}") from None
    _check_columns(path, names, "Parquet schema", kind)
    return names


def _check_columns(path: str, names: list[str], what: str, kind: RowKind) -> None:
    missing = [c for c in kind.required if c not in names]
    if missing:
        raise ValueError(f"{path}: the {what} has no {' or '.join(missing)} column (it has: {names[:20]})")
    duplicated = sorted({n for n in names if names.count(n) > 1 and n in kind.columns})
    if duplicated:
        raise ValueError(f"{path}: the {what} names {', '.join(duplicated)} more than once")


def _is_blank(line: bytes) -> bool:
    return not line.strip()


class ReadRows(beam.PTransform):
    """pattern -> PCollection of rows of ``kind``, one per non-blank line or record.

    Problems with a whole file (no file matches, a CSV header or Parquet schema without the required
    columns, an unreadable Parquet footer) are raised here, before the run starts; problems with a
    row become that row's INVALID_INPUT record.
    """

    def __init__(self, pattern: str, kind: RowKind, fmt: str | None = None,
                 max_row_bytes: int = DEFAULT_LIMITS.max_row_bytes):
        super().__init__()
        self.pattern, self.kind = pattern, kind
        self.files = matched_files(pattern)
        self.fmt = fmt or input_format(self.files[0])
        self.max_row_bytes = max_row_bytes
        if self.fmt == "csv":
            self.headers = {path: read_csv_header(path, kind, max_row_bytes) for path in self.files}
        if self.fmt == "parquet":
            schemas = [read_parquet_columns(path, kind) for path in self.files]
            self.columns = [c for c in kind.columns if all(c in names for names in schemas)]  # others are not read

    def expand(self, pbegin):
        # Create + ReadAll* rather than ReadFrom*: the same file splitting, without the Read primitive that
        # the Dask runner cannot translate.
        patterns = pbegin | "Pattern" >> beam.Create([self.pattern])
        kind, limit = self.kind, self.max_row_bytes
        if self.fmt == "parquet":
            return (patterns | beam.io.ReadAllFromParquet(columns=self.columns)
                    | "ParseRecord" >> beam.Map(parse_parquet_record, kind, limit))
        if self.fmt == "csv":
            headers = self.headers
            return (patterns
                    | beam.io.ReadAllFromText(skip_header_lines=1, with_filename=True, coder=coders.BytesCoder())
                    | "DropBlank" >> beam.Filter(lambda item: not _is_blank(item[1]))
                    | "ParseCsv" >> beam.Map(lambda item: parse_csv_line(item[1], headers[item[0]], kind, limit)))
        return (patterns | beam.io.ReadAllFromText(coder=coders.BytesCoder())
                | "DropBlank" >> beam.Filter(lambda line: not _is_blank(line))
                | "ParseJson" >> beam.Map(parse_json_line, kind, limit))
