"""Writing result records as JSONL and Parquet (the same columns, medialayer.record.RESULT_SCHEMA).

Records are grouped into ``num_shards`` shards by a hash of their pair_id and each shard is written by
one DoFn call to ``<prefix>-SSSSS-of-NNNNN.<format>.pending-<run>`` (through a temporary name, then
renamed, so a retried shard never leaves a partial file). Every shard is written, even an empty one.
Only once the run has checked that every format received one record per row does ``publish_outputs``
give the shards their final names ``<prefix>-SSSSS-of-NNNNN.<format>``: an interrupted or failed run
never leaves files that look complete, and ``clear_outputs`` removes what earlier runs left at the
prefix before a run starts, so the files of two runs never mix. This is a plain GroupByKey + ParDo rather than Beam's file
sinks, whose side inputs and finish_bundle outputs the Dask runner does not support.
"""
from __future__ import annotations

import json
import uuid
import zlib

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from medialayer.record import RESULT_SCHEMA

OUTPUT_FORMATS = ("jsonl", "parquet")
DEFAULT_SHARDS = 4
PARQUET_ROW_GROUP = 10_000  # records buffered per Parquet row group


def shard_path(prefix: str, shard: int, num_shards: int, fmt: str) -> str:
    return f"{prefix}-{shard:05d}-of-{num_shards:05d}.{fmt}"


def output_paths(prefix: str, fmt: str, num_shards: int = DEFAULT_SHARDS) -> list[str]:
    """Every file a run writes for one format."""
    return [shard_path(prefix, shard, num_shards, fmt) for shard in range(num_shards)]


def pending_path(path: str, run_id: str) -> str:
    return f"{path}.pending-{run_id}"


def clear_outputs(prefix: str) -> None:
    """Remove the files earlier runs left at ``prefix``: finished shards, and pending or partial ones."""
    patterns = [f"{prefix}-?????-of-?????.{fmt}{suffix}" for fmt in OUTPUT_FORMATS
                for suffix in ("", ".pending-*", ".tmp-*")]
    paths = [m.path for result in FileSystems.match(patterns) for m in result.metadata_list]
    if paths:
        FileSystems.delete(paths)


def publish_outputs(prefix: str, formats, num_shards: int, run_id: str) -> None:
    """Give a verified run's pending shards their final names."""
    final = [path for fmt in formats for path in output_paths(prefix, fmt, num_shards)]
    FileSystems.rename([pending_path(path, run_id) for path in final], final)


def read_records(prefix: str, fmt: str, num_shards: int, columns: list[str]):
    """The ``columns`` of every record a run wrote in ``fmt``, as dicts, shard by shard."""
    for path in output_paths(prefix, fmt, num_shards):
        if fmt == "parquet":
            with FileSystems.open(path, compression_type="uncompressed") as f:
                yield from pq.read_table(f, columns=columns).to_pylist()
        else:
            with FileSystems.open(path, compression_type="uncompressed") as f:
                for line in f:
                    record = json.loads(line)
                    yield {name: record[name] for name in columns}


def _shard_of(record: dict, key: str, num_shards: int) -> int:
    return zlib.crc32(record[key].encode("utf-8", "surrogatepass")) % num_shards


class _WriteShard(beam.DoFn):
    """(shard, [record or None, ...]) -> (format, records written) for each format written."""

    def __init__(self, prefix: str, formats: tuple, num_shards: int, run_id: str, schema: pa.Schema):
        self.prefix, self.formats, self.num_shards, self.run_id = prefix, formats, num_shards, run_id
        self.schema = schema

    def process(self, element):
        shard, values = element
        for fmt in self.formats:
            path = pending_path(shard_path(self.prefix, shard, self.num_shards, fmt), self.run_id)
            temporary = f"{path}.tmp-{uuid.uuid4().hex}"
            records = (value for value in values if value is not None)  # None marks every shard
            with FileSystems.create(temporary) as f:
                count = _write_jsonl(records, f) if fmt == "jsonl" else _write_parquet(records, f, self.schema)
            FileSystems.rename([temporary], [path])
            yield fmt, count


def _write_jsonl(records, f) -> int:
    count = 0
    for record in records:
        f.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
        count += 1
    return count


def _write_parquet(records, f, schema: pa.Schema) -> int:
    count, batch = 0, []
    with pq.ParquetWriter(f, schema) as writer:
        for record in records:
            batch.append(record)
            if len(batch) == PARQUET_ROW_GROUP:
                writer.write_table(pa.Table.from_pylist(batch, schema))
                count, batch = count + len(batch), []
        if batch or not count:
            writer.write_table(pa.Table.from_pylist(batch, schema))
            count += len(batch)
    return count


class WriteResults(beam.PTransform):
    """records -> pending ``<prefix>-SSSSS-of-NNNNN.jsonl`` / ``.parquet`` shards of run ``run_id``;
    returns (format, records written) per file. ``publish_outputs`` names them once the run is verified.
    Records follow ``schema`` (the pair job's RESULT_SCHEMA unless told) and are sharded by their ``key``."""

    def __init__(self, prefix: str, formats=OUTPUT_FORMATS, num_shards: int = DEFAULT_SHARDS, run_id: str = "",
                 schema: pa.Schema = RESULT_SCHEMA, key: str = "pair_id"):
        super().__init__()
        unknown = set(formats) - set(OUTPUT_FORMATS)
        if unknown or not formats:
            raise ValueError(f"output formats must be among {OUTPUT_FORMATS}, got {sorted(formats)}")
        if num_shards < 1:
            raise ValueError(f"num_shards must be >= 1, got {num_shards}")
        self.prefix, self.formats, self.num_shards = prefix, tuple(formats), num_shards
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.schema, self.key = schema, key

    def expand(self, records):
        num_shards, key = self.num_shards, self.key
        every_shard = records.pipeline | "EveryShard" >> beam.Create([(shard, None) for shard in range(num_shards)])
        keyed = records | "KeyByShard" >> beam.Map(lambda record: (_shard_of(record, key, num_shards), record))
        return ((keyed, every_shard) | "Shards" >> beam.Flatten()
                | "GroupByShard" >> beam.GroupByKey()
                | "WriteShards" >> beam.ParDo(_WriteShard(self.prefix, self.formats, num_shards, self.run_id,
                                                          self.schema)))
