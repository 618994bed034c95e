"""The ``medialayer`` command (also ``python -m medialayer``).

    medialayer serve [--host 127.0.0.1] [--port 8080] [--workers 2] [--queue-size 8] [--request-timeout 60]
                     [--max-body-bytes 65536] [--retry-after 1] [--allowed-schemes http,https]
                     [--allow-private-networks] [limit options: --max-image-bytes, --fetch-deadline, ...]
"""
from __future__ import annotations

import argparse

from medialayer.limits import add_limit_arguments, limits_from_namespace
from medialayer.service import SERVICE_LIMITS, ServiceConfig, create_app

DEFAULTS = ServiceConfig()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="medialayer", description="Near-duplicate detection for media URLs.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP service (POST /image/match, /video/match, "
                                              "/audio/match; OpenAPI page at /docs)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=DEFAULTS.workers, help="matching threads (default: %(default)s)")
    serve.add_argument("--queue-size", "--queue_size", dest="queue_size", type=int, default=DEFAULTS.queue_size,
                       help="pairs admitted beyond the busy workers before 503 (default: %(default)s)")
    serve.add_argument("--request-timeout", "--request_timeout", dest="request_timeout", type=float,
                       default=DEFAULTS.request_timeout, help="seconds per request, queueing included "
                                                              "(default: %(default)s)")
    serve.add_argument("--max-body-bytes", "--max_body_bytes", dest="max_body_bytes", type=int,
                       default=DEFAULTS.max_body_bytes, help="larger request bodies get 413 (default: %(default)s)")
    serve.add_argument("--retry-after", "--retry_after", dest="retry_after", type=int, default=DEFAULTS.retry_after,
                       help="Retry-After seconds sent with 503 (default: %(default)s)")
    serve.add_argument("--log-level", "--log_level", dest="log_level", default="info")
    add_limit_arguments(serve, SERVICE_LIMITS)  # the service fetches only http(s) unless told otherwise
    return parser


def config_from_namespace(args: argparse.Namespace) -> ServiceConfig:
    return ServiceConfig(limits=limits_from_namespace(args), workers=args.workers,
                         queue_size=args.queue_size, request_timeout=args.request_timeout,
                         max_body_bytes=args.max_body_bytes, retry_after=args.retry_after)


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        import uvicorn

        uvicorn.run(create_app(config_from_namespace(args)), host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
