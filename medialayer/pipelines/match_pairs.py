"""The batch job: pair files in, one result record per row out (JSONL and Parquet).

    python run_local.py --input 'pairs/*.jsonl' --output out/results [--formats jsonl,parquet]
        [limit options] [--allow-private-networks] [Beam pipeline options: --runner, --direct_num_workers, ...]
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import itertools
import logging
import os
import shutil
import sys
import tempfile
import time

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

from medialayer.io.pairs import ReadPairs
from medialayer.io.rows import FORMATS
from medialayer import console
from medialayer.io.results import (DEFAULT_SHARDS, OUTPUT_FORMATS, WriteResults, clear_outputs, output_paths,
                                   publish_outputs, read_records)
from medialayer.limits import add_limit_arguments, limits_from_namespace
from medialayer.media import scratch_dir
from medialayer.progress import close_bars
from medialayer.record import PREVIEW_SCHEMA
from medialayer.transforms.matching import (DEFAULT_BLOCKS, DEFAULT_FETCH_BATCHES, DEFAULT_FETCH_CONCURRENCY,
                                           NAMESPACE, MatchPairs)

# A plain DirectRunner first tries to download the Prism runner binary, which hangs or fails offline.
DEFAULT_RUNNER = "apache_beam.runners.portability.fn_api_runner.FnApiRunner"
LOCAL_FETCH_BATCHES = 16
FIRST_ERRORS = 5  # errors listed in the summary
LOCAL_RUNNERS = (DEFAULT_RUNNER, "FnApiRunner", "DirectRunner", "SwitchingDirectRunner", "BundleBasedDirectRunner")
log = logging.getLogger(__name__)


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Near-duplicate detection over a file of URL pairs.",
                                     epilog="Other options are passed to Beam (--runner, --direct_num_workers, ...). "
                                            "Exit statuses: 0 done; 1 failed; 2 usage error; 3 every row an "
                                            "error; 4 the input held no rows; 143 / 130 stopped by "
                                            "SIGTERM / SIGINT.")
    parser.add_argument("--input", required=True, help="pair file(s): JSONL, CSV with a header row, or Parquet; "
                                                       "globs allowed")
    parser.add_argument("--input_format", "--input-format", dest="input_format", choices=FORMATS,
                        help="default: from the file extension")
    parser.add_argument("--output", required=True, help="output prefix, e.g. out/results")
    parser.add_argument("--formats", default=",".join(OUTPUT_FORMATS),
                        help="comma-separated output formats (default: jsonl,parquet)")
    parser.add_argument("--num_shards", "--num-shards", dest="num_shards", type=int, default=DEFAULT_SHARDS,
                        help=f"output files per format (default: {DEFAULT_SHARDS})")
    parser.add_argument("--join_blocks", "--join-blocks", dest="join_blocks", type=int,
                        help="URL blocks of the fingerprint join: each fingerprint is shipped at most this many "
                             "times and a join cell holds about 2/blocks of them (default: the local runner's "
                             f"worker count; {DEFAULT_BLOCKS} on other runners)")
    parser.add_argument("--fetch_concurrency", "--fetch-concurrency", dest="fetch_concurrency", type=int,
                        default=DEFAULT_FETCH_CONCURRENCY,
                        help="URLs fetched and fingerprinted at once per worker "
                             f"(default: {DEFAULT_FETCH_CONCURRENCY})")
    parser.add_argument("--fetch_batches", "--fetch-batches", dest="fetch_batches", type=int,
                        help="groups of URLs handed to the fingerprinting workers, each fingerprinted "
                             "--fetch_concurrency at a time: at most this many workers fingerprint at once "
                             f"(default: {LOCAL_FETCH_BATCHES} per local worker; {DEFAULT_FETCH_BATCHES} on other "
                             "runners)")
    parser.add_argument("--report", metavar="PATH", help="also write the visual HTML report of the run to PATH "
                                                         "(see medialayer report), with previews of the media made "
                                                         "while fingerprinting it, kept in "
                                                         "<output>.previews-*.parquet")
    add_limit_arguments(parser)
    return parser


def build(pipeline: beam.Pipeline, args: argparse.Namespace) -> None:
    formats, options = output_formats(args), pipeline.options
    match_pairs = MatchPairs(limits_from_namespace(args), args.join_blocks or join_blocks(options),
                             args.fetch_concurrency, args.fetch_batches or fetch_batches(options),
                             local_workers(options), progress_bar=shows_progress_bar(options),
                             previews=bool(args.report))
    rows = pipeline | "ReadPairs" >> ReadPairs(args.input, args.input_format, args.max_row_bytes)
    write = WriteResults(args.output, formats, args.num_shards)
    matched = rows | "MatchPairs" >> match_pairs
    written = [(matched["records"] if args.report else matched) | "WriteResults" >> write]
    if args.report:  # the report's previews, made from the media the run decoded (medialayer.previews)
        written.append(matched["previews"] | "WritePreviews" >> WriteResults(
            previews_prefix(args.output), ["parquet"], args.num_shards, write.run_id, PREVIEW_SCHEMA, "url")
            | "TagPreviews" >> beam.Map(lambda item: (f"previews:{item[0]}", item[1])))
    # The rows read against the records each format's files received, checked inside the pipeline so that
    # it holds on every runner, with or without metrics; only then do the files get their final names.
    # Applied last: the Dask runner computes only the graph behind the last transform.
    _ = (((rows | "RowsIn" >> beam.Map(lambda _: ("rows", 1))), *written) | "Counts" >> beam.Flatten()
         | "Totals" >> beam.CombinePerKey(sum)
         | "AllTotals" >> beam.CombineGlobally(merge_totals).without_defaults()
         | "VerifyCounts" >> beam.Map(verify_counts, formats)
         | "PublishOutputs" >> beam.Map(lambda _: publish_run(args, write.run_id)))


def previews_prefix(output: str) -> str:
    return f"{output}.previews"  # not "-previews": a records glob such as results-*.parquet must not match it


def publish_run(args: argparse.Namespace, run_id: str) -> None:
    publish_outputs(args.output, output_formats(args), args.num_shards, run_id)
    if args.report:
        publish_outputs(previews_prefix(args.output), ["parquet"], args.num_shards, run_id)


def output_formats(args: argparse.Namespace) -> list[str]:
    return [f.strip() for f in args.formats.split(",") if f.strip()]


def merge_totals(totals) -> dict:
    """(name, total) pairs into one dict; Beam also hands back this function's own partial results."""
    merged = {}
    for total in totals:
        merged.update(total if isinstance(total, dict) else [total])
    return merged


def verify_counts(totals: dict, formats: list[str]) -> dict:
    """Fail the run unless every format's files received exactly one record per row read."""
    rows = totals.get("rows", 0)
    for fmt in formats:
        if totals.get(fmt, 0) != rows:
            raise RuntimeError(f"{rows} rows read but {totals.get(fmt, 0)} records written to {fmt}")
    return totals


def is_local(options: PipelineOptions) -> bool:
    return options.view_as(StandardOptions).runner in LOCAL_RUNNERS


def local_workers(options: PipelineOptions) -> int:
    """How many workers the local runner splits each stage over (for progress ETAs); 1 elsewhere."""
    if not is_local(options):
        return 1
    workers = options.view_as(DirectOptions).direct_num_workers
    return workers if workers > 0 else (os.cpu_count() or 1)


def send_stage_inputs_whole() -> None:
    """Turn off the timed flushing of Beam's local runner, which loses data (Beam 2.77, found here).

    With gRPC workers (``multi_processing``; ``multi_threading`` in both directions) the FnApiRunner writes a
    stage's input into a stream that a timer thread also flushes every ``DATA_BUFFER_TIME_LIMIT_MS`` (1 s):
    the flush copies the buffer, hands the copy to the send queue and then clears the buffer, and the writes
    are not locked against it, so whatever is written between the copy and the clear is dropped without a
    trace. An input that takes over a second to write (hundreds of MB of fingerprints on a loaded machine)
    reaches its worker with chunks missing: the fingerprints lost at 1,000,000 pairs (docs/benchmarks.md,
    "The multi_processing loss"). At 0 the streams flush by size and when closed, which sends every byte.
    It must be set before the runner starts its servers; other runners do not read it."""
    from apache_beam.runners.portability.fn_api_runner import worker_handlers
    worker_handlers.DATA_BUFFER_TIME_LIMIT_MS = 0


def shows_progress_bar(options: PipelineOptions) -> bool:
    """Live bars when the workers run in this process (the local runner's default in_memory mode) and
    stderr is a terminal; log lines otherwise."""
    return (sys.stderr.isatty() and is_local(options)
            and options.view_as(DirectOptions).direct_running_mode == "in_memory")


def join_blocks(options: PipelineOptions) -> int:
    """One block per local worker: the fewest fingerprint copies that still give every worker join cells
    to compare (in_memory: a single cell, each fingerprint shipped once). Distributed runners: more."""
    return local_workers(options) if is_local(options) else DEFAULT_BLOCKS


def fetch_batches(options: PipelineOptions) -> int:
    """Few, large URL batches locally, so each worker's fetch threads always have URLs in hand (a batch's
    pool drains before the next batch starts); many on distributed runners, to spread over workers."""
    return LOCAL_FETCH_BATCHES * local_workers(options) if is_local(options) else DEFAULT_FETCH_BATCHES


def pipeline_options(pipeline_args: list[str]) -> PipelineOptions:
    send_stage_inputs_whole()
    options = PipelineOptions(pipeline_args)
    if not options.view_as(StandardOptions).runner:
        options.view_as(StandardOptions).runner = DEFAULT_RUNNER
    return options


@contextlib.contextmanager
def temp_folders_in(folder: str):
    """Beam's temp folders made inside the block go into ``folder``: Beam takes no option for them, it uses
    tempfile's default, swapped here for the block."""
    default_temp = tempfile.tempdir
    tempfile.tempdir = folder
    try:
        yield
    finally:
        tempfile.tempdir = default_temp


def new_pipeline(options: PipelineOptions) -> beam.Pipeline:
    """A Pipeline whose temp folder (``beam-pipeline-temp*``, removed when the run ends) is in this process's
    scratch folder, so a stopped or killed run leaves none in /tmp (medialayer.media, medialayer.stopping)."""
    with temp_folders_in(scratch_dir()):
        return beam.Pipeline(options=options)


def run_to_completion(pipeline: beam.Pipeline):
    """Run the pipeline and wait for it; the progress bars end either way. Beam's submission makes temp folders
    it never removes (``environments.python_sdk_dependencies``: one per environment on the portable runners), so
    it makes them in a folder of this process's scratch folder, removed when the run ends; the scratch folder
    itself is made first, outside it, since it outlives the run."""
    submission_temp = tempfile.mkdtemp(prefix="submission-", dir=scratch_dir())
    try:
        with temp_folders_in(submission_temp):
            result = pipeline.run()
        result.wait_until_finish()
    finally:
        close_bars()
        shutil.rmtree(submission_temp, ignore_errors=True)
    return result


def metric_counters(result) -> collections.Counter:
    """The run's medialayer counters (NotImplementedError on runners without metrics, such as Dask)."""
    counters = collections.Counter()
    for counter in result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]:
        counters[counter.key.metric.name] += counter.committed
    return counters


@contextlib.contextmanager
def removed_if_unbuilt(pipeline: beam.Pipeline):
    """Beam makes a local temp folder with every Pipeline and removes it when the pipeline runs: a graph that
    fails to build (a missing input, a bad option) must remove it here, or every refused job leaves one behind."""
    try:
        yield pipeline
    except BaseException:
        shutil.rmtree(pipeline.local_tempdir, ignore_errors=True)
        raise


def prepare(argv=None, prog: str | None = None) -> tuple[beam.Pipeline, argparse.Namespace]:
    """Parse the options and build the graph; unusable input files or options raise here, before any work
    (FileNotFoundError, ValueError)."""
    args, pipeline_args = build_parser(prog).parse_known_args(argv)
    options = pipeline_options(pipeline_args)
    with removed_if_unbuilt(new_pipeline(options)) as pipeline:
        build(pipeline, args)
        for prefix in (args.output, previews_prefix(args.output)):  # earlier runs' files never mix with this run's
            clear_outputs(prefix)
    return pipeline, args


def execute(pipeline: beam.Pipeline, args: argparse.Namespace) -> dict:
    """Run a prepared job and return its summary; fails if the records written do not match the rows read."""
    started = time.monotonic()
    result = run_to_completion(pipeline)
    try:
        summary = _summary(metric_counters(result))
    except NotImplementedError:  # the Dask runner reports no metrics: summarise the files written instead
        summary = summary_from_outputs(args.output, output_formats(args)[0], args.num_shards)
    summary["wall_time_s"] = round(time.monotonic() - started, 3)
    summary["outputs"] = [path for fmt in output_formats(args) for path in output_paths(args.output, fmt,
                                                                                        args.num_shards)]
    if args.report:
        summary["outputs"] += output_paths(previews_prefix(args.output), "parquet", args.num_shards)
    summary["first_errors"] = (first_errors(args.output, output_formats(args)[0], args.num_shards)
                               if summary["errors"] else [])
    return summary


def run(argv=None) -> dict:
    """Prepare and execute the job: its summary."""
    return execute(*prepare(argv))


def main(argv=None, prog: str | None = None) -> int:
    """The command (``medialayer run``, ``run_local.py``): run the job, print its summary, return the exit
    status (medialayer.console)."""
    try:
        job = prepare(argv, prog)
    except (FileNotFoundError, ValueError) as e:  # unusable input files or options: said before any work
        print(f"error: {e}", file=sys.stderr)
        return console.FAILED
    summary = execute(*job)
    print(format_summary(summary))
    args = job[1]
    if args.report:
        from medialayer.report import write_report

        records = f"{args.output}-?????-of-?????.{output_formats(args)[0]}"
        previews = f"{previews_prefix(args.output)}-?????-of-?????.parquet"
        print(f"Report: {write_report(records, args.report, fetch_media=False, previews=previews)}")
    return console.exit_status(summary["rows_in"], summary["errors"])


def first_errors(prefix: str, fmt: str, num_shards: int, count: int = FIRST_ERRORS) -> list[dict]:
    """The first ``count`` error records written (pair_id and error), for the summary."""
    errors = (r for r in read_records(prefix, fmt, num_shards, ["pair_id", "error"]) if r["error"])
    return list(itertools.islice(errors, count))


def summary_from_outputs(prefix: str, fmt: str, num_shards: int) -> dict:
    """The summary of a run read back from its result files; media counters are not known from them."""
    records = list(read_records(prefix, fmt, num_shards, ["match", "error"]))
    errors = collections.Counter(r["error"]["code"] for r in records if r["error"])
    return {"rows_in": len(records), "records_out": len(records), "matches": sum(bool(r["match"]) for r in records),
            "errors": sum(errors.values()), "errors_by_code": dict(sorted(errors.items())),
            "fetches": None, "fingerprints": None, "fingerprint_reuses": None, "fetch_retries": None}


def _summary(counters: collections.Counter) -> dict:
    errors = {name[len("errors_"):]: n for name, n in sorted(counters.items()) if name.startswith("errors_")}
    return {"rows_in": counters.get("rows_in", 0), "records_out": counters.get("records_out", 0),
            "matches": counters.get("matches", 0), "errors": sum(errors.values()), "errors_by_code": errors,
            "fetches": counters.get("fetches", 0), "fingerprints": counters.get("fingerprints", 0),
            "fingerprint_reuses": counters.get("fingerprint_reuses", 0),
            "fetch_retries": counters.get("fetch_retries", 0)}


def format_summary(summary: dict) -> str:
    """The end-of-run summary: what each counter means, where the output is, the first errors."""
    rows, errors, matches = summary["rows_in"], summary["errors"], summary["matches"]
    lines = [f"Done in {summary['wall_time_s']:.1f} s: {rows:,} pair rows read, {summary['records_out']:,} "
             "records written (one per row).",
             f"  matches      {matches:>9,}  pairs whose two media are near-duplicates",
             f"  non-matches  {rows - matches - errors:>9,}  pairs compared and found different",
             f"  errors       {errors:>9,}  rows with no result: the record's error says why"
             + console.by_code(summary["errors_by_code"])]
    if summary["fetches"] is not None:
        lines += [f"  URLs fetched {summary['fetches']:>9,}  each unique URL once, "
                  f"{summary['fetch_retries']:,} transient failures retried",
                  f"  fingerprints {summary['fingerprints']:>9,}  URLs decoded and fingerprinted"
                  + (f" (the other {failed:,} failed)" if (failed := summary['fetches'] - summary['fingerprints'])
                     else ""),
                  f"  reused       {summary['fingerprint_reuses']:>9,}  references to a URL that another row "
                  "already named: served from its one fingerprint, not fetched again"]
    else:
        lines.append("  (URL and fingerprint counts: not reported, this runner has no metrics)")
    lines.append("Output files:")
    lines += [f"  {path}" for path in summary["outputs"]]  # a few shards per format: every one is listed
    if summary["first_errors"]:
        lines.append("First errors:")
        lines += [f"  pair {r['pair_id']}: {r['error']['code']}: {r['error']['message']}"[:300]
                  for r in summary["first_errors"]]
    lines += filter(None, [console.verdict(rows, errors, "rows")])
    return "\n".join(lines)
