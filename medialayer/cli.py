"""The ``medialayer`` command (also ``python -m medialayer``).

    medialayer match A B [--media-type TYPE] [--json] [limit options]   compare two files or URLs
    medialayer run --input PAIRS --output PREFIX [options]                the pair job (= run_local.py)
    medialayer dedupe --input CATALOG --output FOLDER [options]           catalog dedupe: duplicate groups
    medialayer report --input 'out/results-*.parquet' --output out/report.html    the visual report
    medialayer serve [--host ...] [--port ...] [limit options]            the HTTP service

Exit statuses (medialayer.console): 0 done, 1 failed, 2 usage error, 3 every row an error, 4 no input rows.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import json
import sys

from medialayer import console, stopping
from medialayer.limits import DEFAULT_LIMITS, add_limit_arguments, limits_from_namespace


def build_parser() -> argparse.ArgumentParser:
    from medialayer.service import SERVICE_LIMITS, ServiceConfig

    defaults = ServiceConfig()
    parser = argparse.ArgumentParser(
        prog="medialayer", description="Near-duplicate detection for images, video and audio.",
        epilog="Exit statuses: 0 done; 1 failed (unusable input or options, or the run failed); 2 usage error; "
               "3 no row produced a result (every row an error); 4 the input held no rows; 143 / 130 stopped by "
               "SIGTERM / SIGINT.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    match = commands.add_parser("match", help="compare two media files or URLs and print the result record",
                                description="Compare two media files or URLs (local paths, file://, http(s)://, "
                                            "gs://, s3://) and print the result record. Exit status 0 "
                                            "when it has a result (a match or not), 3 when it is an error.")
    match.add_argument("source", help="first file or URL")
    match.add_argument("target", help="second file or URL")
    match.add_argument("--media-type", "--media_type", dest="media_type", choices=("image", "video", "audio"),
                       help="default: sniffed from the content")
    match.add_argument("--json", action="store_true",
                       help="print the record as JSON (the default when stdout is not a terminal)")
    add_limit_arguments(match, DEFAULT_LIMITS)

    report = commands.add_parser("report", help="write the visual HTML report of a run's result files",
                                 description="One self-contained HTML page (opens from disk, no network): the "
                                             "run at a glance and a bounded selection of rows with their media. "
                                             "Media previews come from --previews when given; the media of the "
                                             "other rows shown is fetched again under the limits.")
    report.add_argument("--input", required=True, help="result files, e.g. 'out/results-*.parquet' (or .jsonl), "
                                                       "or a catalog dedupe's 'out/dedupe/links-*.parquet'")
    report.add_argument("--output", required=True, help="the HTML file to write, e.g. out/report.html")
    report.add_argument("--previews", help="the previews a run made with --report, e.g. "
                                           "'out/results.previews-*.parquet'")
    report.add_argument("--groups", help="a catalog dedupe's group files, e.g. 'out/dedupe/groups-*.parquet': "
                                         "the page adds the group sizes")
    report.add_argument("--no-media", dest="media", action="store_false",
                        help="fetch no media: thumbnails, frames and loudness only from --previews")
    add_limit_arguments(report, DEFAULT_LIMITS)

    commands.add_parser("run", add_help=False, prefix_chars="\0",  # every option goes to the job's own parser
                        help="the pair job: pair files in, one record per row out (the same options as "
                             "run_local.py; `medialayer run --help` lists them)"
                        ).add_argument("job_args", nargs=argparse.REMAINDER)

    commands.add_parser("dedupe", add_help=False, prefix_chars="\0",  # every option goes to the job's own parser
                        help="catalog dedupe: a list of assets in, duplicate groups out (`medialayer dedupe "
                             "--help` lists the options)").add_argument("job_args", nargs=argparse.REMAINDER)

    serve = commands.add_parser("serve", help="run the HTTP service (POST /image/match, /video/match, "
                                              "/audio/match; OpenAPI page at /docs)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=defaults.workers, help="matching threads (default: %(default)s)")
    serve.add_argument("--queue-size", "--queue_size", dest="queue_size", type=int, default=defaults.queue_size,
                       help="pairs admitted beyond the busy workers before 503 (default: %(default)s)")
    serve.add_argument("--request-timeout", "--request_timeout", dest="request_timeout", type=float,
                       default=defaults.request_timeout, help="seconds per request, queueing included "
                                                              "(default: %(default)s)")
    serve.add_argument("--max-body-bytes", "--max_body_bytes", dest="max_body_bytes", type=int,
                       default=defaults.max_body_bytes, help="larger request bodies get 413 (default: %(default)s)")
    serve.add_argument("--retry-after", "--retry_after", dest="retry_after", type=int, default=defaults.retry_after,
                       help="Retry-After seconds sent with 503 (default: %(default)s)")
    serve.add_argument("--api-key-file", "--api_key_file", dest="api_key_file",
                       help="require an API key on the match endpoints: a file of keys, one per line. Without it "
                            "anyone who reaches the port can use the service: put it behind a gateway")
    serve.add_argument("--per-key-concurrency", "--per_key_concurrency", dest="per_key_concurrency", type=int,
                       default=0, help="pairs one API key may have in flight (default: half of workers + "
                                       "queue size)")
    serve.add_argument("--log-level", "--log_level", dest="log_level", default="info")
    add_limit_arguments(serve, SERVICE_LIMITS)  # the service fetches only http(s) unless told otherwise
    return parser


def version() -> str:
    try:
        return importlib.metadata.version("medialayer")
    except importlib.metadata.PackageNotFoundError:  # run from a checkout that was not installed
        return "(not installed)"


def main(argv=None) -> int:
    console.setup_logging()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    with stopping.stopped_cleanly():
        return run_command(args)


def run_command(args: argparse.Namespace) -> int:
    if args.command == "run":
        from medialayer.pipelines.match_pairs import main as run_job

        return run_job(args.job_args, prog="medialayer run")
    if args.command == "dedupe":
        from medialayer.pipelines.dedupe import main as dedupe_job

        return dedupe_job(args.job_args, prog="medialayer dedupe")
    if args.command == "match":
        return match_command(args)
    if args.command == "report":
        return report_command(args)
    return serve_command(args)


def report_command(args: argparse.Namespace) -> int:
    from medialayer.report import write_report

    try:
        path = write_report(args.input, args.output, limits_from_namespace(args), args.media, args.previews,
                            args.groups)
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return console.FAILED
    print(f"report: {path} (open it in a browser; it needs no network)")
    return console.OK


def match_command(args: argparse.Namespace) -> int:
    from medialayer.api import match

    limits = limits_from_namespace(args)
    record = match(args.source, args.target, args.media_type, limits=limits)
    print(json.dumps(record, indent=2) if args.json or not sys.stdout.isatty() else readable(record))
    return console.NO_RESULTS if record["error"] else console.OK


def readable(record: dict) -> str:
    """The record as a person reads it on a terminal."""
    error = record["error"]
    if error:
        where = f" ({error['url']})" if error.get("url") else ""
        return f"error {error['code']}{where}: {error['message']}"
    verdict = "MATCH" if record["match"] else "no match"
    lines = [f"{verdict} ({record['media_type']}): similarity {record['similarity_score']:.3f}, "
             f"confidence {record['confidence']}, {record['processing_time_ms']:.0f} ms"]
    for segment in record["matched_segments"]:
        lines.append(f"  source {segment['source_start']:8.2f}-{segment['source_end']:<8.2f} s  <->  "
                     f"target {segment['target_start']:8.2f}-{segment['target_end']:<8.2f} s")
    return "\n".join(lines)


def serve_command(args: argparse.Namespace) -> int:
    import uvicorn

    from medialayer.service import SHUTDOWN_GRACE, ServiceConfig, create_app, read_api_keys

    try:
        keys = read_api_keys(args.api_key_file) if args.api_key_file else frozenset()
    except (OSError, ValueError) as e:
        print(f"error: --api-key-file: {e}", file=sys.stderr)
        return console.FAILED
    config = ServiceConfig(limits=limits_from_namespace(args), workers=args.workers, queue_size=args.queue_size,
                           request_timeout=args.request_timeout, max_body_bytes=args.max_body_bytes,
                           retry_after=args.retry_after, api_keys=keys, per_key_concurrency=args.per_key_concurrency)
    # Told to stop, uvicorn answers the requests in flight for a few seconds, then signals again: to the handler of
    # medialayer.stopping, which ends the match threads (a fetch may be blocked on a silent server) and children.
    uvicorn.run(create_app(config), host=args.host, port=args.port, log_level=args.log_level,
                timeout_graceful_shutdown=SHUTDOWN_GRACE)
    return console.OK


if __name__ == "__main__":
    sys.exit(main())
