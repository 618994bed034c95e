"""Reading pair rows from JSONL, CSV (with a header row) or Parquet files; globs allowed.

Lines are read as bytes and decoded here, so a malformed line (bad JSON, bad UTF-8, missing URL)
becomes a row carrying an INVALID_INPUT error instead of failing the run; nothing is dropped.
"""
from __future__ import annotations

import csv
import json
import os

import apache_beam as beam
from apache_beam import coders
from apache_beam.io.filesystems import FileSystems

from medialayer.record import make_row

FORMATS = ("jsonl", "csv", "parquet")
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


def _decode(line: bytes) -> str:
    return line.decode("utf-8")


def parse_json_line(line: bytes) -> dict:
    try:
        text = _decode(line)
    except UnicodeDecodeError as e:
        return make_row(None, raw=f"line is not UTF-8 ({e.reason}): {line[:200]!r}")
    try:
        fields = json.loads(text)
    except ValueError as e:
        return make_row(None, raw=f"invalid JSON ({e}): {text}")
    return make_row(fields, raw=text)


def parse_csv_line(line: bytes, header: list[str]) -> dict:
    try:
        text = _decode(line)
    except UnicodeDecodeError as e:
        return make_row(None, raw=f"line is not UTF-8 ({e.reason}): {line[:200]!r}")
    try:
        values = next(csv.reader([text]))
    except (csv.Error, StopIteration) as e:
        return make_row(None, raw=f"invalid CSV ({e}): {text}")
    if len(values) != len(header):
        return make_row(None, raw=f"{len(values)} fields where the header has {len(header)}: {text}")
    return make_row(dict(zip(header, values)), raw=text)


def read_csv_header(path: str) -> list[str]:
    with FileSystems.open(path, compression_type="uncompressed") as f:
        first = f.readline()
    try:
        return [name.strip() for name in next(csv.reader([first.decode("utf-8-sig").rstrip("\r\n")]))]
    except (UnicodeDecodeError, csv.Error, StopIteration) as e:
        raise ValueError(f"{path}: unreadable CSV header row: {e}") from None


def _is_blank(line: bytes) -> bool:
    return not line.strip()


class ReadPairs(beam.PTransform):
    """pattern -> PCollection of rows (see medialayer.record.make_row)."""

    def __init__(self, pattern: str, fmt: str | None = None):
        super().__init__()
        self.pattern = pattern
        self.files = matched_files(pattern)
        self.fmt = fmt or input_format(self.files[0])

    def expand(self, pbegin):
        # Create + ReadAll* rather than ReadFrom*: the same file splitting, without the Read primitive that
        # the Dask runner cannot translate.
        patterns = pbegin | "Pattern" >> beam.Create([self.pattern])
        if self.fmt == "parquet":
            return (patterns | beam.io.ReadAllFromParquet()
                    | "ParseRecord" >> beam.Map(lambda fields: make_row(fields, raw=json.dumps(fields, default=str))))
        if self.fmt == "csv":
            headers = {path: read_csv_header(path) for path in self.files}
            return (patterns
                    | beam.io.ReadAllFromText(skip_header_lines=1, with_filename=True, coder=coders.BytesCoder())
                    | "DropBlank" >> beam.Filter(lambda item: not _is_blank(item[1]))
                    | "ParseCsv" >> beam.Map(lambda item: parse_csv_line(item[1], headers[item[0]])))
        return (patterns | beam.io.ReadAllFromText(coder=coders.BytesCoder())
                | "DropBlank" >> beam.Filter(lambda line: not _is_blank(line))
                | "ParseJson" >> beam.Map(parse_json_line))
