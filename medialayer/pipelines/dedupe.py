"""Catalog dedupe: a list of assets in, duplicate groups out, with no pairs given.

    medialayer dedupe --input 'catalog/*.jsonl' --output out/dedupe [--max-bucket 32] [--max-candidates N]
        [limit options]
        [Beam pipeline options: --runner, --direct_num_workers, ...]

writes ``<output>/links-*``, ``<output>/groups-*`` and ``<output>/assets-*`` (JSONL and Parquet; schemas in
medialayer.record), and with ``--report`` the media previews ``<output>/previews-*.parquet`` and the page.
Each unique URL is fetched and fingerprinted once by the pair job's own DoFn; candidates come from shared
index keys (medialayer.candidates) and are verified with the same compare_pair the pair job uses. The run
fails unless every asset row has exactly one asset record.
"""
from __future__ import annotations

import argparse
import collections
import os
import sys
import time

import apache_beam as beam

from medialayer import console
from medialayer.candidates import DEFAULT_MAX_BUCKET, DEFAULT_MAX_CANDIDATES, MAX_CANDIDATES_BY_TYPE
from medialayer.io.catalog import ReadCatalog
from medialayer.io.results import WriteResults, clear_outputs, output_paths, publish_outputs
from medialayer.io.rows import FORMATS
from medialayer.limits import add_limit_arguments, limits_from_namespace
from medialayer.pipelines.match_pairs import (merge_totals, fetch_batches, join_blocks, local_workers,
                                              metric_counters, new_pipeline, output_formats, pipeline_options,
                                              removed_if_unbuilt, run_to_completion, shows_progress_bar,
                                              verify_counts)
from medialayer.record import ASSET_SCHEMA, GROUP_SCHEMA, LINK_SCHEMA, PREVIEW_SCHEMA
from medialayer.transforms import dedupe as steps
from medialayer.transforms.matching import DEFAULT_FETCH_CONCURRENCY, PREVIEWS, FingerprintMedia, url_block

OUTPUTS = {"links": (LINK_SCHEMA, "pair_id"), "groups": (GROUP_SCHEMA, "group_id"), "assets": (ASSET_SCHEMA, "asset_id"),
           "previews": (PREVIEW_SCHEMA, "url")}  # previews: only with --report


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Find every near-duplicate in a catalog of media URLs.",
                                     epilog="Other options are passed to Beam. Exit statuses: 0 done; 1 failed; "
                                            "2 usage error; 3 every asset an error; 4 the input held no rows; "
                                            "143 / 130 stopped by SIGTERM / SIGINT.")
    parser.add_argument("--input", required=True, help="catalog file(s), one asset per row (url, optional "
                                                       "asset_id and media_type): JSONL, CSV or Parquet; globs")
    parser.add_argument("--input_format", "--input-format", dest="input_format", choices=FORMATS)
    parser.add_argument("--output", required=True, help="output folder: links-*, groups-*, assets-* files")
    parser.add_argument("--formats", default="jsonl,parquet", help="comma-separated output formats")
    parser.add_argument("--num_shards", "--num-shards", dest="num_shards", type=int, default=1,
                        help="files per output and format (default: 1)")
    parser.add_argument("--max-bucket", "--max_bucket", dest="max_bucket", type=int, default=DEFAULT_MAX_BUCKET,
                        help="assets sharing one index key beyond which the key is capped: it pairs each of them only "
                             "with its next few in one fixed order of all assets (default: %(default)s)")
    parser.add_argument("--max-candidates", "--max_candidates", dest="max_candidates", type=int,
                        help="candidates verified per asset: those sharing the most keys with it (default: "
                             f"{DEFAULT_MAX_CANDIDATES}, audio {MAX_CANDIDATES_BY_TYPE['audio']})")
    parser.add_argument("--join_blocks", "--join-blocks", dest="join_blocks", type=int)
    parser.add_argument("--fetch_concurrency", "--fetch-concurrency", dest="fetch_concurrency", type=int,
                        default=DEFAULT_FETCH_CONCURRENCY)
    parser.add_argument("--fetch_batches", "--fetch-batches", dest="fetch_batches", type=int)
    parser.add_argument("--report", metavar="PATH", help="also write the visual HTML report of the links and "
                                                         "groups to PATH, with previews of the media made while "
                                                         "fingerprinting it, kept in <output>/previews-*.parquet")
    add_limit_arguments(parser)
    return parser


def build(pipeline: beam.Pipeline, args: argparse.Namespace) -> None:
    options, formats = pipeline.options, output_formats(args)
    blocks, batches = args.join_blocks or join_blocks(options), args.fetch_batches or fetch_batches(options)
    assets = pipeline | "ReadCatalog" >> ReadCatalog(args.input, args.input_format, args.max_row_bytes)
    valid = assets | "Valid" >> beam.Filter(lambda row: row["error"] is None)

    # Each unique URL fetched and fingerprinted once, by the pair job's DoFn (one "cell": 0).
    media = (valid | "References" >> beam.Map(lambda row: (row["url"], (0, row["media_type"])))
             | "KeyByBatch" >> beam.Map(lambda ref: (url_block(ref[0], batches), ref))
             | "GroupByBatch" >> beam.GroupByKey()
             | "FingerprintMedia" >> beam.ParDo(FingerprintMedia(
                 limits_from_namespace(args), args.fetch_concurrency, batches, local_workers(options),
                 shows_progress_bar(options), previews=bool(args.report))).with_outputs(PREVIEWS, main="media"))
    fingerprinted = media.media | "ByUrl" >> beam.Map(lambda item: (item[1][1][0], ("result", item[1][1][1])))
    asset_ids = valid | "AssetIds" >> beam.Map(lambda row: (row["url"], ("asset", row["asset_id"])))

    # Candidates: pairs of URLs sharing enough index keys, hot keys capped, at most max_candidates per asset.
    candidate_rows = (fingerprinted | "IndexKeys" >> beam.ParDo(steps.EmitIndexKeys())
                      | "GroupByShard" >> beam.GroupByKey()
                      | "SharedKeys" >> beam.ParDo(steps.SharedKeys(args.max_bucket))
                      | "SumSharedKeys" >> beam.CombinePerKey(sum)
                      | "Enough" >> beam.Filter(steps.is_candidate)
                      | "ByAsset" >> beam.FlatMap(steps.by_asset)
                      | "GroupByAsset" >> beam.GroupByKey()
                      | "Strongest" >> beam.ParDo(steps.StrongestCandidates(args.max_candidates))
                      | "KeptByEither" >> beam.CombinePerKey(max)
                      | "CandidateRows" >> beam.Map(steps.candidate_row))

    # Verification with the pair job's compare, fingerprints shipped once per join cell that needs them,
    # with the URL's asset id (the smallest of the rows naming it).
    placed = candidate_rows | "Place" >> beam.FlatMap(steps.place_candidate, blocks)
    needs = placed | "Needs" >> beam.FlatMap(steps.Tagged("need"))
    shipped = ((fingerprinted, asset_ids, needs) | "NeedsAndMedia" >> beam.Flatten()
               | "GroupNeeds" >> beam.GroupByKey()
               | "Ship" >> beam.ParDo(steps.ShipFingerprints()))
    links = (((placed | "Rows" >> beam.FlatMap(steps.Tagged("row"))), shipped) | "Join" >> beam.Flatten()
             | "GroupByCell" >> beam.GroupByKey() | "Verify" >> beam.ParDo(steps.VerifyCandidates()))

    # Groups: connected components of the links; each URL's group joined back to its asset rows.
    grouped = (links | "OneKey" >> beam.Map(lambda link: (steps.ONE_KEY, link))
               | "AllLinks" >> beam.GroupByKey() | "FormGroups" >> beam.ParDo(steps.FormGroups()))
    groups = grouped | "Groups" >> beam.FlatMap(steps.Tagged("group"))
    members = grouped | "Members" >> beam.FlatMap(steps.Tagged("member")) | "AsMember" >> beam.Map(
        lambda m: (m[0], ("member", m[1])))
    asset_rows = assets | "AssetsByUrl" >> beam.Map(lambda row: (row["url"] or "", ("asset", row)))
    outcomes = fingerprinted | "WithoutFingerprint" >> beam.Map(steps.without_fingerprint)
    records = ((asset_rows, outcomes, members) | "AssetsAndGroups" >> beam.Flatten()
               | "GroupAssets" >> beam.GroupByKey() | "AssetRecords" >> beam.FlatMap(steps.asset_records))

    outputs = {"links": links, "groups": groups, "assets": records}
    if args.report:
        outputs["previews"] = media[PREVIEWS]
    run_id, written = args.run_id, []
    for name, collection in outputs.items():
        schema, key = OUTPUTS[name]
        counts = collection | f"Write{name.title()}" >> WriteResults(
            os.path.join(args.output, name), output_formats_of(name, formats), args.num_shards, run_id, schema, key)
        # Only the asset counts are checked (one asset record per asset row, as the pair job checks its
        # records); the others are counted too, so every write happens before the files are published.
        if name != "assets":
            counts = counts | f"Tag{name.title()}" >> beam.Map(lambda item, tag: (f"{tag}:{item[0]}", item[1]), name)
        written.append(counts)
    _ = (((assets | "RowsIn" >> beam.Map(lambda _: ("rows", 1))), *written) | "Counts" >> beam.Flatten()
         | "Totals" >> beam.CombinePerKey(sum)
         | "AllTotals" >> beam.CombineGlobally(merge_totals).without_defaults()
         | "VerifyCounts" >> beam.Map(verify_counts, formats)
         | "Publish" >> beam.Map(lambda _: [publish_outputs(os.path.join(args.output, name),
                                                            output_formats_of(name, formats), args.num_shards, run_id)
                                            for name in written_outputs(args)]))


def output_formats_of(name: str, formats: list[str]) -> list[str]:
    """The previews are read back by the report only: Parquet alone."""
    return ["parquet"] if name == "previews" else formats


def written_outputs(args: argparse.Namespace) -> list[str]:
    return [name for name in OUTPUTS if args.report or name != "previews"]


def output_pattern(args: argparse.Namespace, name: str) -> str:
    """Every file of one output, in the first format it was written in."""
    fmt = output_formats_of(name, output_formats(args))[0]
    return os.path.join(args.output, f"{name}-?????-of-?????.{fmt}")


def prepare(argv=None, prog: str | None = None):
    args, pipeline_args = build_parser(prog).parse_known_args(argv)
    args.run_id = os.urandom(6).hex()
    options = pipeline_options(pipeline_args)
    with removed_if_unbuilt(new_pipeline(options)) as pipeline:
        build(pipeline, args)
        for name in OUTPUTS:
            clear_outputs(os.path.join(args.output, name))
    return pipeline, args


def execute(pipeline: beam.Pipeline, args: argparse.Namespace) -> dict:
    started = time.monotonic()
    result = run_to_completion(pipeline)
    try:
        counters = metric_counters(result)
    except NotImplementedError:  # the Dask runner reports no metrics
        counters = None
    summary = summarise(args, counters)
    summary["wall_time_s"] = round(time.monotonic() - started, 3)
    return summary


def summarise(args: argparse.Namespace, counters) -> dict:
    """The run's summary from its asset and group files (exact on every runner) and its metrics."""
    from medialayer.io.results import read_records

    fmt = output_formats(args)[0]
    assets = list(read_records(os.path.join(args.output, "assets"), fmt, args.num_shards, ["error", "group_id"]))
    groups = list(read_records(os.path.join(args.output, "groups"), fmt, args.num_shards, ["size"]))
    errors = collections.Counter(a["error"]["code"] for a in assets if a["error"])
    metric = (lambda name: counters.get(name, 0)) if counters is not None else (lambda name: None)
    return {"assets": len(assets), "errors": sum(errors.values()), "errors_by_code": dict(sorted(errors.items())),
            "grouped_assets": sum(a["group_id"] is not None for a in assets), "groups": len(groups),
            "largest_group": max((g["size"] for g in groups), default=0),
            "fingerprints": metric("fingerprints"), "index_keys": metric("index_keys"),
            "capped_keys": metric("capped_keys"), "capped_key_members": metric("capped_key_members"),
            "candidates": metric("candidates_verified"), "candidate_pairs": metric("candidate_pairs"),
            "links": metric("links"),
            "outputs": [path for name in written_outputs(args) for f in output_formats_of(name, output_formats(args))
                        for path in output_paths(os.path.join(args.output, name), f, args.num_shards)]}


def format_summary(summary: dict) -> str:
    lines = [f"Done in {summary['wall_time_s']:.1f} s: {summary['assets']:,} asset rows, {summary['groups']:,} "
             f"duplicate groups holding {summary['grouped_assets']:,} assets (largest: {summary['largest_group']:,})."]
    if summary["fingerprints"] is not None:
        lines += [f"  fingerprints {summary['fingerprints']:>9,}  unique URLs fetched and fingerprinted once",
                  f"  index keys   {summary['index_keys']:>9,}  keys those fingerprints yielded",
                  f"  capped keys  {summary['capped_keys']:>9,}  keys shared by more than --max-bucket assets, which "
                  f"paired only neighbours ({summary['capped_key_members']:,} memberships)",
                  f"  candidates   {summary['candidates']:>9,}  pairs sharing enough keys, verified with compare "
                  f"(of {summary['candidate_pairs']:,}: the rest were beyond --max-candidates for both assets)",
                  f"  links        {summary['links']:>9,}  verified duplicate pairs"]
    lines.append(f"  errors       {summary['errors']:>9,}  asset rows with no result"
                 + console.by_code(summary["errors_by_code"]))
    lines.append("Output files:")
    lines += [f"  {path}" for path in summary["outputs"]]
    lines += filter(None, [console.verdict(summary["assets"], summary["errors"], "asset rows")])
    return "\n".join(lines)


def main(argv=None, prog: str | None = None) -> int:
    try:
        job = prepare(argv, prog)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return console.FAILED
    summary = execute(*job)
    print(format_summary(summary))
    if job[1].report:
        print(f"Report: {write_run_report(job[1])}")
    return console.exit_status(summary["assets"], summary["errors"])


def write_run_report(args: argparse.Namespace) -> str:
    """The page of a finished run: its links, its group sizes, and the previews its decoders made."""
    from medialayer.report import write_report

    return write_report(output_pattern(args, "links"), args.report, fetch_media=False,
                        previews=output_pattern(args, "previews"), groups=output_pattern(args, "groups"))


def run(argv=None) -> dict:
    return execute(*prepare(argv))
