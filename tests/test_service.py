"""The HTTP service, end to end: real uvicorn servers on loopback, a real HTTP client, media served by a
local HTTP server. Every envelope is checked against ``medialayer.match()`` on the same pair."""
from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import http.server
import os
import re
import socket
import subprocess
import sys
import threading
import time

import cv2
import httpx
import pytest
from httpserver import free_port
import uvicorn

from medialayer import match
from medialayer.errors import ErrorCode
from medialayer.limits import Limits
from medialayer.record import RESULT_SCHEMA
from medialayer.synthetic import audio as synthetic_audio
from medialayer.synthetic import image as synthetic_image
from medialayer.synthetic import video as synthetic_video
from medialayer.service import (OVERLOAD_STATUS, SERVICE_LIMITS, STATUS_BY_CODE, Envelope, ServiceConfig, create_app,
                                status_of)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRIVATE = dataclasses.replace(SERVICE_LIMITS, allow_private_networks=True)  # the test media is on loopback


# ---------------------------------------------------------------- media, generated and served locally

def _write_video(path: str, scene, size=(160, 120), fps: float = 10.0) -> None:
    """Four seconds of ``scene`` at ``size`` and ``fps``, MPEG-4 in .mp4."""
    video_frames = (cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
                    for frame in synthetic_video.frames(scene, 4.0, fps))
    synthetic_video.write_video(path, video_frames, fps)


class _MediaHandler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/slow/"):  # /slow/<seconds>/<file>: wait that long before answering
            _, _, seconds, name = self.path.split("/", 3)
            time.sleep(float(seconds))
            self.path = "/" + name
        try:
            super().do_GET()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (the timeout tests): nothing to answer

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """name -> http URL of generated media on a local server (plus ``local_path`` of one image file)."""
    root = tmp_path_factory.mktemp("media")
    scene, other_scene = synthetic_image.textured_scene(1, 320, 240), synthetic_image.textured_scene(2, 320, 240)
    tune, rate = synthetic_audio.melody(6.0, seed=1), synthetic_audio.SAMPLE_RATE
    files = {
        "image_a.jpg": synthetic_image.encode(scene, "JPEG", 92),
        "image_a_copy.png": synthetic_image.encode(synthetic_image.resize(scene, 0.75), "PNG"),
        "image_b.jpg": synthetic_image.encode(other_scene, "JPEG", 92),
        "audio_a.wav": synthetic_audio.encode(tune, rate, "wav"),
        "audio_a_copy.mp3": synthetic_audio.encode(0.6 * tune, rate, "mp3", bitrate=64_000),  # transcoded, quieter
        "audio_b.wav": synthetic_audio.encode(synthetic_audio.melody(6.0, seed=2), rate, "wav"),
        "not_media.txt": b"hello, this is not an image\n" * 20,
    }
    for name, data in files.items():
        (root / name).write_bytes(data)
    _write_video(str(root / "video_a.mp4"), synthetic_video.MovingScene(1))
    _write_video(str(root / "video_a_copy.mp4"), synthetic_video.MovingScene(1), size=(128, 96), fps=15.0)
    _write_video(str(root / "video_b.mp4"), synthetic_video.MovingScene(2))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_MediaHandler, directory=root))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    urls = {name.split(".")[0]: f"{base}/{name}" for name in os.listdir(root)}
    urls.update(missing=f"{base}/missing.jpg", local_path=str(root / "image_a.jpg"), base=base)
    yield urls
    server.shutdown()


# ---------------------------------------------------------------- servers

class _ThreadedServer:
    """The app on uvicorn in a thread, on a free loopback port."""

    def __init__(self, config: ServiceConfig):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(create_app(config), log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        _wait_healthy(self.url)

    def stop(self):
        self.server.should_exit = True
        self.thread.join(10)


def _wait_healthy(url: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not come up")


@pytest.fixture(scope="module")
def start():
    servers = []

    def start_server(**config) -> str:
        servers.append(_ThreadedServer(ServiceConfig(**config)))
        return servers[-1].url

    yield start_server
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def service(start):
    """The main server: loopback media allowed (the test media lives there), defaults otherwise."""
    return start(limits=PRIVATE, request_timeout=20.0)


@pytest.fixture(scope="module")
def cli_service():
    """``python -m medialayer serve`` as an operator starts it: no --allow-private-networks."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "medialayer", "serve", "--host", "127.0.0.1",
                                "--port", str(port), "--log-level", "warning"], cwd=REPO)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def post(base: str, media_type: str, body, **kwargs) -> httpx.Response:
    return httpx.post(f"{base}/{media_type}/match", json=body, timeout=30, **kwargs)


def assert_same_as_match(response: httpx.Response, media_type: str, body: dict, limits: Limits = PRIVATE) -> dict:
    """The endpoint's envelope is match()'s record for the same pair (all but the timing), with its status."""
    record = response.json()
    expected = match(body["source_url"], body["target_url"], media_type, pair_id=body.get("pair_id"), limits=limits)
    assert {k: v for k, v in record.items() if k != "processing_time_ms"} == \
           {k: v for k, v in expected.items() if k != "processing_time_ms"}
    assert response.status_code == status_of(record)
    Envelope.model_validate(record)
    return record


# ---------------------------------------------------------------- the three endpoints

@pytest.mark.parametrize("media_type", ["image", "audio", "video"])
def test_each_endpoint_matches_copies_and_tells_different_media_apart(service, media, media_type):
    same = {"source_url": media[f"{media_type}_a"], "target_url": media[f"{media_type}_a_copy"], "pair_id": "p1"}
    different = {"source_url": media[f"{media_type}_a"], "target_url": media[f"{media_type}_b"]}
    same_record = assert_same_as_match(post(service, media_type, same), media_type, same)
    different_record = assert_same_as_match(post(service, media_type, different), media_type, different)
    assert same_record["error"] is None and same_record["match"] is True, same_record
    assert same_record["pair_id"] == "p1" and same_record["media_type"] == media_type
    assert different_record["error"] is None and different_record["match"] is False, different_record
    assert same_record["similarity_score"] > different_record["similarity_score"]
    if media_type != "image":  # the copy is the whole clip: its segments come through the envelope
        assert same_record["matched_segments"] and same_record["matched_segments"][0]["source_start"] < 1.0


@pytest.mark.parametrize("endpoint", ["audio", "video"])
def test_images_sent_to_another_endpoint_are_a_media_type_mismatch(service, media, endpoint):
    body = {"source_url": media["image_a"], "target_url": media["image_a_copy"]}
    response = post(service, endpoint, body)
    record = assert_same_as_match(response, endpoint, body)
    assert record["error"]["code"] == "MEDIA_TYPE_MISMATCH" and response.status_code == 422


@pytest.mark.parametrize("target, code, status", [
    ("missing", "HTTP_STATUS", 502),
    ("not_media", "UNSUPPORTED_MEDIA", 502),
])
def test_upstream_media_problems_are_502_with_the_envelope(service, media, target, code, status):
    body = {"source_url": media["image_a"], "target_url": media[target]}
    response = post(service, "image", body)
    record = assert_same_as_match(response, "image", body)
    assert (record["error"]["code"], response.status_code) == (code, status)


# ---------------------------------------------------------------- refusals and validation

def test_a_private_target_is_refused_unless_the_operator_allows_private_networks(cli_service, media):
    body = {"source_url": media["image_a"], "target_url": media["image_b"]}
    response = post(cli_service, "image", body)
    record = assert_same_as_match(response, "image", body, limits=SERVICE_LIMITS)
    assert (record["error"]["code"], response.status_code) == ("BLOCKED_ADDRESS", 422)
    assert record["error"]["url"] == media["image_a"]


def test_the_command_refuses_local_files_by_default(cli_service, media):
    body = {"source_url": media["local_path"], "target_url": "file://" + media["local_path"]}
    response = post(cli_service, "image", body)
    assert response.status_code == 422 and response.json()["error"]["code"] == "UNSUPPORTED_SCHEME"


@pytest.mark.parametrize("name", ["local_path", "file_url", "gs", "s3"])
def test_only_http_urls_are_fetched_by_default(service, media, name):
    url = {"local_path": media["local_path"], "file_url": "file://" + media["local_path"],
           "gs": "gs://bucket/a.jpg", "s3": "s3://bucket/a.jpg"}[name]
    body = {"source_url": media["image_a"], "target_url": url}
    response = post(service, "image", body)
    record = assert_same_as_match(response, "image", body)
    assert response.status_code == 422 and record["error"]["code"] == "UNSUPPORTED_SCHEME"
    assert record["error"]["url"] == url and record["media_type"] == "image"


def test_the_operator_can_enable_local_files(start, media):
    limits = dataclasses.replace(PRIVATE, allowed_schemes="http,https,file")
    base = start(limits=limits)
    body = {"source_url": media["local_path"], "target_url": media["image_a_copy"]}
    record = assert_same_as_match(post(base, "image", body), "image", body, limits=limits)
    assert record["match"] is True


@pytest.mark.parametrize("body, mentions", [  # refused before any fetch (and port 9 on loopback, were one made)
    ({"source_url": "http://127.0.0.1:9/a.jpg"}, "target_url"),
    ({"source_url": 5, "target_url": "http://127.0.0.1:9/b.jpg"}, "source_url"),
    ({"source_url": "http://127.0.0.1:9/a.jpg", "target_url": ["http://127.0.0.1:9/b.jpg"]}, "target_url"),
    ({"source_url": "http://127.0.0.1:9/a.jpg", "target_url": "http://127.0.0.1:9/b.jpg", "colour": "red"},
     "colour"),
    ({"source_url": "http://127.0.0.1:9/a.jpg", "target_url": "http://127.0.0.1:9/b.jpg", "pair_id": 7},
     "pair_id"),
    (["http://127.0.0.1:9/a.jpg", "http://127.0.0.1:9/b.jpg"], "JSON object"),
])
def test_invalid_bodies_are_422_with_the_envelope(service, body, mentions):
    response = post(service, "image", body)
    record = response.json()
    assert response.status_code == 422
    assert record["error"]["code"] == "INVALID_INPUT" and mentions in record["error"]["message"]
    assert record["match"] is None and record["media_type"] is None and Envelope.model_validate(record)


def test_credentials_in_urls_are_never_echoed(service, media):
    secret_url = media["image_a"].replace("http://", "http://user:s3cret@")
    for body in ({"source_url": secret_url, "target_url": 5}, {"source_url": secret_url, "target_url": "gs://b/x.jpg"}):
        response = post(service, "image", body)
        assert response.status_code == 422 and "s3cret" not in response.text
        assert response.json()["source_url"] == media["image_a"]  # the user:password part dropped


def test_malformed_json_is_422(service):
    response = httpx.post(f"{service}/image/match", content=b'{"source_url": ', timeout=10,
                          headers={"content-type": "application/json"})
    assert response.status_code == 422 and response.json()["error"]["code"] == "INVALID_INPUT"


@pytest.mark.parametrize("source_url", [" ", "http://"])
def test_empty_and_malformed_urls_are_refused_as_match_refuses_them(service, media, source_url):
    body = {"source_url": source_url, "target_url": media["image_b"]}
    response = post(service, "image", body)
    record = assert_same_as_match(response, "image", body)
    assert response.status_code == 422 and record["error"]["code"] in ("INVALID_INPUT", "INVALID_URL")


@pytest.mark.parametrize("chunked", [False, True])
def test_oversize_bodies_are_413(service, chunked):
    body = b'{"source_url": "http://127.0.0.1:9/' + b"a" * 70_000 + b'", "target_url": "http://127.0.0.1:9/b"}'
    content = iter([body[:30_000], body[30_000:]]) if chunked else body  # an iterator is sent chunked
    response = httpx.post(f"{service}/image/match", content=content, timeout=10,
                          headers={"content-type": "application/json"})
    record = response.json()
    assert response.status_code == 413 and record["error"]["code"] == "INVALID_INPUT"
    assert "larger than 65536 bytes" in record["error"]["message"] and Envelope.model_validate(record)


# ---------------------------------------------------------------- load shedding and the deadline

def _in_flight(base: str) -> int:
    return httpx.get(f"{base}/healthz", timeout=5).json()["in_flight"]


def _wait_idle(base: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while _in_flight(base) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _in_flight(base) == 0


def test_a_burst_beyond_the_pool_is_shed_with_503_and_retry_after(start, media):
    base = start(limits=PRIVATE, workers=1, queue_size=1, retry_after=3)
    body = {"source_url": f"{media['base']}/slow/0.75/image_a.jpg",  # 1.5 s of fetching per pair
            "target_url": f"{media['base']}/slow/0.75/image_b.jpg"}
    barrier = threading.Barrier(6)

    def send(_):
        barrier.wait()
        return post(base, "image", body)

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        responses = list(pool.map(send, range(6)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 200, 503, 503, 503, 503]  # one matching, one queued, the rest shed at once
    for response in responses:
        if response.status_code == OVERLOAD_STATUS:
            assert response.headers["retry-after"] == "3"
        else:
            assert response.json()["match"] is False
    _wait_idle(base)


def test_the_request_deadline_answers_504_and_the_abandoned_work_keeps_its_slot(start, media):
    base = start(limits=PRIVATE, workers=1, queue_size=0, request_timeout=3.0)
    # Each fetch alone is within the deadline (fetches are capped at it) but both together are not: the
    # source takes 2.6 s, the target would take 30 s and is cut at 3 s, so the work ends at about 5.6 s, 2.6 s after
    # the answer: time for the two requests below on a loaded machine (with 1.2 s one was once answered 200).
    body = {"source_url": f"{media['base']}/slow/2.6/image_a.jpg", "target_url": f"{media['base']}/slow/30/image_b.jpg",
            "pair_id": "late"}
    response = post(base, "image", body)
    record = response.json()
    assert response.status_code == 504 and record["error"]["code"] == "DECODE_TIMEOUT", record
    assert "deadline of 3s" in record["error"]["message"] and record["pair_id"] == "late"
    assert record["source_url"] == body["source_url"] and record["media_type"] == "image"
    assert _in_flight(base) == 1  # the fetch still runs: no new work is admitted in its place
    assert post(base, "image", {"source_url": media["image_a"], "target_url": media["image_b"]}).status_code == 503
    _wait_idle(base)
    assert post(base, "image", {"source_url": media["image_a"], "target_url": media["image_b"]}).status_code == 200


# ---------------------------------------------------------------- the documents

def test_health_openapi_and_the_interactive_page(cli_service):
    health = httpx.get(f"{cli_service}/healthz", timeout=5).json()
    assert health == {"status": "ok", "in_flight": 0, "capacity": ServiceConfig().workers + ServiceConfig().queue_size}
    spec = httpx.get(f"{cli_service}/openapi.json", timeout=5).json()
    for media_type in ("image", "video", "audio"):
        operation = spec["paths"][f"/{media_type}/match"]["post"]
        assert {"200", "413", "422", "502", "503", "504"} <= set(operation["responses"])
    assert set(spec["components"]["schemas"]["MatchRequest"]["properties"]) == {"source_url", "target_url", "pair_id"}
    page = httpx.get(f"{cli_service}/docs", timeout=5)
    assert page.status_code == 200 and "SwaggerUIBundle" in page.text
    scripts = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page.text)
    assert scripts and all(url.startswith("/") for url in scripts)  # served by the app itself, no CDN
    for url in scripts:
        assert httpx.get(f"{cli_service}{url}", timeout=5).status_code == 200


def test_every_error_code_has_a_status_and_the_documented_table_is_the_code_table():
    assert set(STATUS_BY_CODE) == set(ErrorCode) | {None}
    assert list(Envelope.model_fields) == RESULT_SCHEMA.names
    with open(os.path.join(REPO, "docs", "service.md")) as f:
        documented = {code: int(status) for code, status in re.findall(r"^\| `([A-Z_]+)` \| (\d{3}) \|", f.read(), re.M)}
    assert documented == {code.value: status for code, status in STATUS_BY_CODE.items() if code is not None}


# ---------------------------------------------------------------- API keys

def test_api_keys_required_accepted_and_refused_before_any_fetch(start, media, tmp_path):
    base = start(limits=PRIVATE, api_keys=frozenset({"key-one", "key-two"}))
    body = {"source_url": media["image_a"], "target_url": media["image_a_copy"]}
    for headers in ({}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer key-one-but-longer"},
                    {"Authorization": "Basic key-one"}):
        response = post(base, "image", body, headers=headers)
        record = response.json()
        assert response.status_code == 401 and record["error"]["code"] == "UNAUTHORIZED"
        assert response.headers["www-authenticate"] == "Bearer" and Envelope.model_validate(record)
    # Refused from the headers alone: an unauthenticated request with a body that is not even JSON is 401 too.
    assert httpx.post(f"{base}/image/match", content=b"{not json", timeout=10).status_code == 401
    for headers in ({"X-API-Key": "key-one"}, {"Authorization": "Bearer key-two"}):
        response = post(base, "image", body, headers=headers)
        assert response.status_code == 200 and response.json()["match"] is True
    assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200  # health and docs stay open
    assert httpx.get(f"{base}/docs", timeout=10).status_code == 200


def test_unauthenticated_requests_never_reach_the_fetcher(start, media):
    requests_seen = []

    class Counting(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requests_seen.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass
    counter = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    threading.Thread(target=counter.serve_forever, daemon=True).start()
    try:
        base = start(limits=PRIVATE, api_keys=frozenset({"k"}))
        url = f"http://127.0.0.1:{counter.server_address[1]}/a.jpg"
        assert post(base, "image", {"source_url": url, "target_url": url}).status_code == 401
        assert requests_seen == []
        assert post(base, "image", {"source_url": url, "target_url": url}, headers={"X-API-Key": "k"}).status_code \
            == STATUS_BY_CODE[ErrorCode.HTTP_STATUS]
        assert requests_seen == ["/a.jpg"]
    finally:
        counter.shutdown()


def test_a_greedy_key_cannot_take_every_worker(start, media):
    base = start(limits=PRIVATE, workers=2, queue_size=2, per_key_concurrency=2, retry_after=2,
                 api_keys=frozenset({"greedy", "polite"}))
    slow = {"source_url": f"{media['base']}/slow/1.0/image_a.jpg", "target_url": f"{media['base']}/slow/1.0/image_b.jpg"}
    barrier = threading.Barrier(6)

    def greedy(_):
        barrier.wait()
        return post(base, "image", slow, headers={"X-API-Key": "greedy"}).status_code

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        greedy_statuses = pool.map(greedy, range(6))
        time.sleep(0.3)  # the greedy burst is in flight
        polite = post(base, "image", {"source_url": media["image_a"], "target_url": media["image_a_copy"]},
                      headers={"X-API-Key": "polite"})
        statuses = sorted(greedy_statuses)
    assert polite.status_code == 200 and polite.json()["match"] is True  # served while the greedy key waits
    assert statuses == [200, 200, 429, 429, 429, 429]  # two in flight for that key, the rest refused at once
    _wait_idle(base)
