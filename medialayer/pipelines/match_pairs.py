"""The batch job: pair files in, one result record per row out (JSONL and Parquet).

    python run_local.py --input 'pairs/*.jsonl' --output out/results [--formats jsonl,parquet]
        [limit options] [--allow-private-networks] [Beam pipeline options: --runner, --direct_num_workers, ...]
"""
from __future__ import annotations

import argparse
import collections
import logging
import time

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from medialayer.io.pairs import FORMATS, ReadPairs
from medialayer.io.results import OUTPUT_FORMATS, WriteResults
from medialayer.limits import add_limit_arguments, limits_from_namespace
from medialayer.transforms.matching import NAMESPACE, MatchPairs

# A plain DirectRunner first tries to download the Prism runner binary, which hangs or fails offline.
DEFAULT_RUNNER = "apache_beam.runners.portability.fn_api_runner.FnApiRunner"
log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Near-duplicate detection over a file of URL pairs.")
    parser.add_argument("--input", required=True, help="pair file(s): JSONL, CSV with a header row, or Parquet; "
                                                       "globs allowed")
    parser.add_argument("--input_format", "--input-format", dest="input_format", choices=FORMATS,
                        help="default: from the file extension")
    parser.add_argument("--output", required=True, help="output prefix, e.g. out/results")
    parser.add_argument("--formats", default=",".join(OUTPUT_FORMATS),
                        help="comma-separated output formats (default: jsonl,parquet)")
    parser.add_argument("--num_shards", "--num-shards", dest="num_shards", type=int, default=0,
                        help="output shards per format (default: chosen by the runner)")
    add_limit_arguments(parser)
    return parser


def build(pipeline: beam.Pipeline, args: argparse.Namespace) -> None:
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    _ = (pipeline
         | "ReadPairs" >> ReadPairs(args.input, args.input_format)
         | "MatchPairs" >> MatchPairs(limits_from_namespace(args))
         | "WriteResults" >> WriteResults(args.output, formats, args.num_shards))


def pipeline_options(pipeline_args: list[str]) -> PipelineOptions:
    options = PipelineOptions(pipeline_args)
    if not options.view_as(StandardOptions).runner:
        options.view_as(StandardOptions).runner = DEFAULT_RUNNER
    return options


def run(argv=None) -> dict:
    """Run the job and return its summary; raises if the records written do not match the rows read."""
    args, pipeline_args = build_parser().parse_known_args(argv)
    started = time.monotonic()
    pipeline = beam.Pipeline(options=pipeline_options(pipeline_args))
    build(pipeline, args)
    result = pipeline.run()
    result.wait_until_finish()
    summary = _summary(result)
    summary["wall_time_s"] = round(time.monotonic() - started, 3)
    if summary["rows_in"] != summary["records_out"]:
        raise RuntimeError(f"{summary['rows_in']} rows read but {summary['records_out']} records written")
    return summary


def _summary(result) -> dict:
    counters = collections.Counter()
    for counter in result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]:
        counters[counter.key.metric.name] += counter.committed
    errors = {name[len("errors_"):]: n for name, n in sorted(counters.items()) if name.startswith("errors_")}
    return {"rows_in": counters.get("rows_in", 0), "records_out": counters.get("records_out", 0),
            "matches": counters.get("matches", 0), "errors": sum(errors.values()), "errors_by_code": errors,
            "fetches": counters.get("fetches", 0), "fingerprints": counters.get("fingerprints", 0),
            "fingerprint_reuses": counters.get("fingerprint_reuses", 0)}


def format_summary(summary: dict) -> str:
    lines = [f"pairs: {summary['rows_in']}  matches: {summary['matches']}  errors: {summary['errors']}  "
             f"wall time: {summary['wall_time_s']:.2f} s",
             f"fetches: {summary['fetches']}  fingerprints: {summary['fingerprints']}  "
             f"reused: {summary['fingerprint_reuses']}"]
    if summary["errors_by_code"]:
        lines.append("errors by code: " + ", ".join(f"{k}={v}" for k, v in summary["errors_by_code"].items()))
    return "\n".join(lines)
