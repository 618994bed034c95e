"""The HTTP service: POST /image/match, /video/match, /audio/match around the single-pair ``match()``.

Every answer about a pair is the record the pipeline writes (``medialayer.record``); its HTTP status
follows the record's error code (STATUS_BY_CODE). Matching runs in a bounded worker pool off the event
loop: at most ``workers + queue_size`` pairs are admitted at once, the rest get 503 + Retry-After.
Nothing is kept between requests: no fingerprint store, no pipeline.

With API keys configured (``--api-key-file``), the match endpoints answer only requests carrying one
(``Authorization: Bearer <key>`` or ``X-API-Key: <key>``; compared in constant time), checked before the
body is read, so an unauthenticated request never reaches the fetcher; each key may hold at most
``per_key_concurrency`` pairs in flight (429 + Retry-After past that), so one client cannot take every
worker. Health and the documentation pages stay open.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import hmac
import threading
import time
from typing import Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from medialayer.api import match
from medialayer.errors import ErrorCode, MediaError
from medialayer.limits import Limits
from medialayer.matchers.base import CONFIDENCES
from medialayer.media import MEDIA_TYPES
from medialayer.record import error_record, make_row

# The HTTP status of a record, by its error code: 4xx the request must change, 5xx the media or the service failed.
STATUS_BY_CODE = {
    None: 200,
    # The request is refused as asked: fix the body, the URL or the endpoint.
    ErrorCode.INVALID_INPUT: 422,
    ErrorCode.INVALID_URL: 422,
    ErrorCode.UNSUPPORTED_SCHEME: 422,
    ErrorCode.BLOCKED_ADDRESS: 422,
    ErrorCode.MEDIA_TYPE_MISMATCH: 422,
    # The media behind an accepted URL could not be fetched or used.
    ErrorCode.FETCH_FAILED: 502,
    ErrorCode.HTTP_STATUS: 502,
    ErrorCode.TOO_MANY_REDIRECTS: 502,
    ErrorCode.TOO_LARGE: 502,
    ErrorCode.DURATION_EXCEEDED: 502,
    ErrorCode.UNSUPPORTED_MEDIA: 502,
    ErrorCode.DECODE_FAILED: 502,
    # Out of time: a fetch, a decode, or the whole request deadline.
    ErrorCode.FETCH_TIMEOUT: 504,
    ErrorCode.DECODE_TIMEOUT: 504,
    # No valid API key.
    ErrorCode.UNAUTHORIZED: 401,
    # A bug.
    ErrorCode.INTERNAL_ERROR: 500,
}
BODY_TOO_LARGE_STATUS = 413
KEY_BUSY_STATUS = 429
OVERLOAD_STATUS = 503
# The service fetches http(s) only unless the operator widens allowed_schemes; the batch job's default is wider.
SERVICE_LIMITS = Limits(allowed_schemes="http,https")
SHUTDOWN_GRACE = 5.0  # seconds requests in flight get to finish once the service is told to stop


@dataclasses.dataclass(frozen=True)
class ServiceConfig:
    limits: Limits = SERVICE_LIMITS  # allow_private_networks is False unless the operator says otherwise
    workers: int = 2  # matching threads
    queue_size: int = 8  # pairs admitted beyond the busy workers; more than that are shed with 503
    request_timeout: float = 60.0  # seconds from arrival to answer, queueing included
    max_body_bytes: int = 64 * 1024
    retry_after: int = 1  # seconds, sent with every 503 and 429
    api_keys: frozenset = frozenset()  # when not empty, the match endpoints require one of these keys
    per_key_concurrency: int = 0  # pairs one key may have in flight; 0: half of workers + queue_size


def read_api_keys(path: str) -> frozenset:
    """The keys in a file, one per line (blank lines and ``#`` comments ignored)."""
    with open(path, encoding="utf-8") as f:
        keys = frozenset(line.strip() for line in f if line.strip() and not line.lstrip().startswith("#"))
    if not keys:
        raise ValueError(f"{path} holds no API key")
    return keys


class MatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source_url: StrictStr = Field(description="http(s) URL of the first media file")
    target_url: StrictStr = Field(description="http(s) URL of the second media file")
    pair_id: StrictStr | None = Field(None, description="echoed back; derived from the request when absent")


class SegmentModel(BaseModel):
    source_start: float
    source_end: float
    target_start: float
    target_end: float


class RegionModel(BaseModel):
    left: float
    top: float
    right: float
    bottom: float


class ErrorModel(BaseModel):
    code: ErrorCode
    message: str
    url: str | None


class Envelope(BaseModel):
    """The result record, as the pipeline writes it (medialayer.record.RESULT_SCHEMA)."""

    pair_id: str
    source_url: str | None
    target_url: str | None
    media_type: Literal[MEDIA_TYPES] | None
    match: bool | None
    confidence: Literal[CONFIDENCES] | None
    similarity_score: float | None
    processing_time_ms: float
    matched_segments: list[SegmentModel]
    error: ErrorModel | None
    matched_region: RegionModel | None = None
    speed_ratio: float | None = None


class Admission:
    """Counts admitted pairs until their work ends (abandoned work included) and refuses past capacity."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.in_flight = 0
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        with self._lock:
            if self.in_flight >= self.capacity:
                return False
            self.in_flight += 1
            return True

    def release(self, _future=None) -> None:
        with self._lock:
            self.in_flight -= 1


def status_of(record: dict) -> int:
    error = record["error"]
    return STATUS_BY_CODE[ErrorCode(error["code"]) if error else None]


def create_app(config: ServiceConfig = ServiceConfig()) -> FastAPI:
    # No single fetch or decode may outlive the request that asked for it.
    limits = dataclasses.replace(config.limits,
                                 fetch_deadline=min(config.limits.fetch_deadline, config.request_timeout),
                                 decode_timeout=min(config.limits.decode_timeout, config.request_timeout))
    admission = Admission(config.workers + config.queue_size)
    per_key = config.per_key_concurrency or max(1, admission.capacity // 2)
    key_admissions = {key: Admission(per_key) for key in config.api_keys}
    executor = concurrent.futures.ThreadPoolExecutor(config.workers, thread_name_prefix="medialayer-match")

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        yield
        executor.shutdown(wait=False, cancel_futures=True)

    # The interactive pages (/docs, /redoc) with their scripts served by the app, not from a CDN.
    app = FastAPIOffline(title="MediaLayer", version="0.1.0", lifespan=lifespan,
                         description="Near-duplicate detection for pairs of image, video and audio URLs.")
    app.add_middleware(BodySizeLimit, max_bytes=config.max_body_bytes)
    if config.api_keys:  # added last, so it runs first: before the body is read
        app.add_middleware(RequireApiKey, keys=config.api_keys)

    async def run_match(request: MatchRequest, media_type: str, http: Request) -> JSONResponse:
        started = time.perf_counter()
        retry = {"Retry-After": str(config.retry_after)}
        admissions = [key_admissions[http.scope["medialayer.api_key"]]] if key_admissions else []
        if admissions and not admissions[0].try_acquire():
            return JSONResponse({"detail": f"this API key already has {per_key} pairs in flight; retry later"},
                                KEY_BUSY_STATUS, headers=retry)
        if not admission.try_acquire():
            for held in admissions:
                held.release()
            return JSONResponse({"detail": "all matching workers are busy; retry later"}, OVERLOAD_STATUS,
                                headers=retry)
        admissions.append(admission)

        def release(_future=None) -> None:
            for held in admissions:
                held.release()
        try:
            future = executor.submit(match, request.source_url, request.target_url, media_type,
                                     pair_id=request.pair_id, limits=limits)
        except BaseException:
            release()
            raise
        future.add_done_callback(release)
        remaining = config.request_timeout - (time.perf_counter() - started)
        try:
            record = await asyncio.wait_for(asyncio.wrap_future(future), remaining)
        except asyncio.TimeoutError:  # the work goes on (and keeps its slot) until it ends; a queued pair is dropped
            error = MediaError(ErrorCode.DECODE_TIMEOUT,
                               f"request deadline of {config.request_timeout:g}s passed before matching finished")
            row = make_row({**request.model_dump(), "media_type": media_type})  # as match() makes it
            record = error_record(row, error, media_type, (time.perf_counter() - started) * 1000.0)
        return _record_response(record)

    for media_type in MEDIA_TYPES:
        _add_match_route(app, media_type, run_match)

    @app.get("/healthz", summary="Liveness, and how many pairs are in flight")
    async def healthz() -> dict:
        return {"status": "ok", "in_flight": admission.in_flight, "capacity": admission.capacity}

    @app.exception_handler(RequestValidationError)
    async def invalid_body(_request: Request, exc: RequestValidationError) -> JSONResponse:
        body = exc.body if isinstance(exc.body, dict) else {}
        # media_type stays null, as in every INVALID_INPUT record of match() and the pipeline
        row = make_row({key: body.get(key) for key in ("source_url", "target_url", "pair_id")})
        message = "; ".join(dict.fromkeys(_problem(e) for e in exc.errors()))
        return _record_response(error_record(row, MediaError(ErrorCode.INVALID_INPUT, message)))

    return app


def _problem(error: dict) -> str:
    """One validation error of a request body as a sentence (pydantic's own words name parser internals)."""
    field, kind = ".".join(str(p) for p in error["loc"][1:]), error["type"]
    fields = ", ".join(MatchRequest.model_fields)
    if kind == "json_invalid":
        return f"the body is not valid JSON ({error.get('ctx', {}).get('error', 'cannot be parsed')})"
    if not field:
        return f"the body must be a JSON object with the fields {fields} (Content-Type: application/json)"
    if kind == "missing":
        return f"{field} is required"
    if kind == "extra_forbidden":
        return f"{field} is not a field of this request (the fields are {fields})"
    if kind == "string_type":
        return f"{field} must be a string"
    return f"{field}: {error['msg']}"


def _add_match_route(app: FastAPI, media_type: str, run_match) -> None:
    async def endpoint(request: MatchRequest, http: Request) -> JSONResponse:
        return await run_match(request, media_type, http)

    error_statuses = sorted({s for s in STATUS_BY_CODE.values() if s != 200} | {BODY_TOO_LARGE_STATUS})
    app.add_api_route(
        f"/{media_type}/match", endpoint, methods=["POST"], response_model=Envelope,
        summary=f"Compare two {media_type} URLs", operation_id=f"match_{media_type}",
        description=f"Fetches both URLs, fingerprints them as {media_type} and compares them. Content of "
                    "another kind yields MEDIA_TYPE_MISMATCH. Every answer but 503 is the result envelope; "
                    "its `error.code` decides the status.",
        responses={**{s: {"model": Envelope, "description": "the envelope with `error` set"} for s in error_statuses},
                   KEY_BUSY_STATUS: {"description": "this API key has its most pairs in flight: retry after "
                                                    "the Retry-After header's seconds"},
                   OVERLOAD_STATUS: {"description": "overloaded: retry after the Retry-After header's seconds"}})


def _record_response(record: dict) -> JSONResponse:
    return JSONResponse(record, status_of(record))


class BodySizeLimit:
    """ASGI middleware: refuse request bodies over ``max_bytes`` with 413, whether declared or streamed."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            return await self._too_large(scope, receive, send)
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return None
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                return await self._too_large(scope, receive, send)
            more = message.get("more_body", False)
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)

    async def _too_large(self, scope, receive, send):
        error = MediaError(ErrorCode.INVALID_INPUT, f"request body larger than {self.max_bytes} bytes")
        response = JSONResponse(error_record(make_row({}), error), BODY_TOO_LARGE_STATUS)
        await response(scope, receive, send)


class RequireApiKey:
    """ASGI middleware: the match endpoints answer only requests with a valid key (401 envelope otherwise),
    decided from the headers alone; the key found is left in the scope for per-key admission."""

    def __init__(self, app, keys: frozenset):
        self.app = app
        self.keys = [key.encode("utf-8") for key in keys]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].endswith("/match"):
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        offered = headers.get(b"x-api-key", b"")
        scheme, _, token = headers.get(b"authorization", b"").partition(b" ")
        if scheme.lower() == b"bearer":
            offered = token.strip()
        found = None
        for key in self.keys:  # every key is compared, in constant time each
            if hmac.compare_digest(offered, key):
                found = key
        if found is None:
            error = MediaError(ErrorCode.UNAUTHORIZED, "this service requires an API key: send it as "
                                                       "'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
            response = JSONResponse(error_record(make_row({}), error), STATUS_BY_CODE[ErrorCode.UNAUTHORIZED],
                                    headers={"WWW-Authenticate": "Bearer"})
            return await response(scope, receive, send)
        scope["medialayer.api_key"] = found.decode("utf-8")
        return await self.app(scope, receive, send)
