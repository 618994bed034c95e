"""Writing result records as JSONL and Parquet (the same columns, medialayer.record.RESULT_SCHEMA)."""
from __future__ import annotations

import json

import apache_beam as beam

from medialayer.record import RESULT_SCHEMA

OUTPUT_FORMATS = ("jsonl", "parquet")


class WriteResults(beam.PTransform):
    """records -> ``<prefix>-SSSSS-of-NNNNN.jsonl`` and ``<prefix>-SSSSS-of-NNNNN.parquet``."""

    def __init__(self, prefix: str, formats=OUTPUT_FORMATS, num_shards: int = 0):
        super().__init__()
        unknown = set(formats) - set(OUTPUT_FORMATS)
        if unknown or not formats:
            raise ValueError(f"output formats must be among {OUTPUT_FORMATS}, got {sorted(formats)}")
        self.prefix, self.formats, self.num_shards = prefix, tuple(formats), num_shards

    def expand(self, records):
        if "jsonl" in self.formats:
            _ = (records | "ToJson" >> beam.Map(lambda r: json.dumps(r, ensure_ascii=False, sort_keys=False))
                 | "WriteJsonl" >> beam.io.WriteToText(self.prefix, file_name_suffix=".jsonl",
                                                       num_shards=self.num_shards))
        if "parquet" in self.formats:
            _ = records | "WriteParquet" >> beam.io.WriteToParquet(
                self.prefix, RESULT_SCHEMA, file_name_suffix=".parquet", num_shards=self.num_shards)
        return beam.pvalue.PDone(records.pipeline)
