"""The adversarial battery: hostile servers, hostile media and malformed rows, 1,000 rows through
``match_pairs.run`` with the private-network opt-in off; every record is checked against its case's expected
outcome, in JSONL and in Parquet read back with pyarrow. Decoder isolation is tested against decoders that
hang, abort, segfault and raise.

The test server on 127.0.0.1 stands for a public host (``loopback_stands_for_public``); every other
non-public address, other loopback spellings included, is refused as in production, and the
``loopback_only`` safety net fails the test if anything tries to connect outside 127.0.0.1.
"""
import collections
import glob
import io
import json
import signal
import struct
import subprocess
import threading
import time
import zlib

import apache_beam as beam
import numpy as np
import pyarrow.parquet as pq
import pytest
from apache_beam.metrics.metric import MetricsFilter
from PIL import Image, ImageDraw, ImageFilter, PngImagePlugin

import hostile_decoders
from httpserver import (LoopbackServer, free_port, drip, drip_headers, endless, gzip_bomb, loopback_only,  # noqa: F401
                        loopback_stands_for_public, redirect, sequence, serve)
from medialayer import isolation, match
from medialayer.errors import ErrorCode, MediaError
from medialayer.limits import Limits, limits_from_namespace
from medialayer.media import Blob
from medialayer.pipelines import match_pairs
from medialayer.record import RESULT_SCHEMA, make_row
from medialayer.synthetic.video import MovingScene, frames, write_video
from medialayer.transforms.matching import NAMESPACE, MatchPairs

CAP = 1 << 20
MAX_PIXELS = 4_000_000
LIMIT_ARGS = ["--fetch_deadline", "3", "--read_timeout", "2", "--connect_timeout", "2", "--max_retries", "2",
              "--retry_backoff", "0.01", "--decode_timeout", "5", "--max_image_bytes", str(CAP),
              "--max_image_pixels", str(MAX_PIXELS), "--max_video_seconds", "1"]
ROWS = 1000


# --- media --------------------------------------------------------------------------------------------

def photo(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    noise = Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8))
    image = noise.resize((320, 240), Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(2))
    draw = ImageDraw.Draw(image)
    for _ in range(5):
        x, y = (int(v) for v in rng.integers(0, 260, 2))
        draw.ellipse([x, y, x + 50, y + 40], fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    return image


def encoded(image: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def png_with_text(image: Image.Image, text: bytes) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("comment", text.decode())  # a tEXt chunk right after the header
    return encoded(image, "PNG", pnginfo=info)


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels: a decompression bomb's opening."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def media():
    a, b = photo(1), photo(2)
    a_png, a_jpg, b_png = encoded(a, "PNG"), encoded(a, "JPEG", quality=50), encoded(b, "PNG")
    return {
        "a.png": a_png, "a.jpg": a_jpg, "b.png": b_png, "b.jpg": encoded(b, "JPEG", quality=80),
        "a-zip.jpg": a_jpg + b"PK\x03\x04" + b"\0" * 200,  # a JPEG/ZIP polyglot is still a JPEG
        "empty.jpg": b"",
        "noise.jpg": b"\x13\x37" * 500,
        "page.jpg": b"<html><img src=x onerror=alert(1)></html>",
        "truncated.jpg": a_jpg[:len(a_jpg) // 2],
        "truncated.png": a_png[:len(a_png) // 2],
        "gif-js.gif": b"GIF89a/*\x00\x00\x80\x00\x00*/=alert(1);//" + b"\0" * 100,
        "bomb.png": png_header_only(3000, 3000),
        "fake.mp4": b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x13" * 500,
        "fake.wav": b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x07" * 300,
        "hang.png": png_with_text(a, hostile_decoders.HANG),
        "abort.png": png_with_text(a, hostile_decoders.ABORT),
    }


@pytest.fixture(scope="module")
def server(media):
    with LoopbackServer() as s:
        for name, data in media.items():
            s.route("/" + name, serve(data))
        s.route("/b-really-png.gif", serve(media["b.png"]))  # the extension lies; the content decides
        s.route("/a-gzip.png", serve(zlib.compress(media["a.png"], wbits=31), headers={"Content-Encoding": "gzip"}))
        s.route("/go-a", redirect("/a.png", 301))
        s.route("/flaky-a", sequence(serve(b"", 500), serve(b"", 503), serve(media["a.png"])))
        s.route("/drip", drip(media["a.png"], interval=0.05))
        s.route("/drip-headers", drip_headers(interval=0.05))
        s.route("/lying-chunked", endless(chunked=True, content_length=1000))
        s.route("/endless-zeros", endless())
        s.route("/endless-png", endless(chunk=media["a.png"]))
        bomb = serve(gzip_bomb(64 * CAP), headers={"Content-Encoding": "gzip"})
        s.route("/gzip-bomb", bomb)
        s.route("/gzip-bomb-2", bomb)  # another URL: a URL is fetched once, for every row naming it
        s.route("/declared-huge", serve(b"x", content_length=10 * CAP))
        s.route("/always-500", serve(b"", 500))
        s.route("/loop-a", redirect("/loop-b"))
        s.route("/loop-b", redirect("/loop-a"))
        for i in range(7):
            s.route(f"/chain{i}", redirect(f"/chain{i + 1}"))
        s.route("/chain7", serve(media["a.png"]))
        s.route("/to-metadata", redirect("http://169.254.169.254/latest/meta-data/iam/"))
        s.route("/to-loopback", redirect(f"http://[::1]:{s.port}/a.png"))
        s.route("/to-file", redirect("file:///etc/passwd"))
        yield s


# --- the cases: (source, target, media_type) -> expected (match, error codes) ---------------------------

OK_MATCH, OK_DIFFERENT = (True, {None}), (False, {None})


def error(*codes: str):
    return None, set(codes)


def cases(server, local) -> dict:
    url = server.url
    return {
        # good inputs, some through redirects, retries, encodings and odd names
        "match": (url("/a.png"), url("/a.jpg"), None, OK_MATCH),
        "different": (url("/a.png"), url("/b.jpg"), None, OK_DIFFERENT),
        "same-url": (url("/a.png"), url("/a.png"), "image", OK_MATCH),
        "redirected": (url("/go-a"), url("/a.jpg"), None, OK_MATCH),
        "retried-500-then-200": (url("/flaky-a"), url("/a.jpg"), None, OK_MATCH),
        "gzip-encoded": (url("/a-gzip.png"), url("/a.jpg"), None, OK_MATCH),
        "local-file": (local["a.png"], url("/a.jpg"), None, OK_MATCH),
        "wrong-extension": (url("/b-really-png.gif"), url("/b.jpg"), None, OK_MATCH),
        "jpeg-zip-polyglot": (url("/a-zip.jpg"), url("/a.png"), None, OK_MATCH),
        "credentials-in-url": (f"http://user:hunter2@127.0.0.1:{server.port}/a.png", url("/a.jpg"), None, OK_MATCH),
        # hostile servers
        "slow-drip": (url("/drip"), url("/a.jpg"), None, error("FETCH_TIMEOUT")),
        "slow-headers": (url("/a.png"), url("/drip-headers"), None, error("FETCH_TIMEOUT")),
        "lying-content-length": (url("/lying-chunked"), url("/a.jpg"), "image", error("TOO_LARGE")),
        "no-content-length": (url("/endless-png"), url("/a.jpg"), None, error("TOO_LARGE")),
        "endless-non-media": (url("/endless-zeros"), url("/a.jpg"), None, error("UNSUPPORTED_MEDIA")),
        "gzip-bomb": (url("/gzip-bomb"), url("/a.jpg"), "image", error("TOO_LARGE")),
        "gzip-bomb-undeclared": (url("/a.jpg"), url("/gzip-bomb-2"), None, error("UNSUPPORTED_MEDIA")),
        "declared-too-large": (url("/declared-huge"), url("/a.jpg"), "image", error("TOO_LARGE")),
        "not-found": (url("/a.png"), url("/missing.jpg"), None, error("HTTP_STATUS")),
        "server-error": (url("/always-500"), url("/a.jpg"), None, error("HTTP_STATUS")),
        "redirect-loop": (url("/loop-a"), url("/a.jpg"), None, error("TOO_MANY_REDIRECTS")),
        "redirect-chain": (url("/chain0"), url("/a.jpg"), None, error("TOO_MANY_REDIRECTS")),
        "redirect-to-metadata": (url("/to-metadata"), url("/a.jpg"), None, error("BLOCKED_ADDRESS")),
        "redirect-to-loopback": (url("/to-loopback"), url("/a.jpg"), None, error("BLOCKED_ADDRESS")),
        "redirect-to-file": (url("/to-file"), url("/a.jpg"), None, error("UNSUPPORTED_SCHEME")),
        "connection-refused": (f"http://127.0.0.1:{free_port()}/a.png", url("/a.jpg"), None, error("FETCH_FAILED")),
        # addresses and URLs refused before any connection
        "metadata": ("http://169.254.169.254/latest/meta-data/", url("/a.jpg"), None, error("BLOCKED_ADDRESS")),
        "metadata-ipv6-mapped": ("http://[::ffff:169.254.169.254]/", url("/a.jpg"), None, error("BLOCKED_ADDRESS")),
        "private": ("http://10.0.0.1/a.jpg", url("/a.jpg"), None, error("BLOCKED_ADDRESS")),
        "cgnat": ("http://100.64.0.1/a.jpg", url("/a.jpg"), None, error("BLOCKED_ADDRESS")),
        "loopback-decimal": (f"http://2130706434:{server.port}/a.png", url("/a.jpg"), None, error("BLOCKED_ADDRESS")),
        "loopback-hex": (f"http://0x7f.0.0.2:{server.port}/a.png", url("/a.jpg"), None, error("BLOCKED_ADDRESS")),
        "ftp": ("ftp://example.com/a.jpg", url("/a.jpg"), None, error("UNSUPPORTED_SCHEME")),
        "long-url": (url("/" + "a" * 9000), url("/a.jpg"), None, error("INVALID_URL")),
        "header-injection": (url("/a.png") + "\r\nX-Evil: 1", url("/a.jpg"), None, error("INVALID_URL")),
        "missing-file": (local["a.png"] + ".missing", url("/a.jpg"), None, error("FETCH_FAILED")),
        # hostile media
        "zero-byte": (url("/empty.jpg"), url("/a.jpg"), None, error("UNSUPPORTED_MEDIA")),
        "noise": (url("/noise.jpg"), url("/a.jpg"), None, error("UNSUPPORTED_MEDIA")),
        "html-as-jpg": (url("/page.jpg"), url("/a.jpg"), None, error("UNSUPPORTED_MEDIA")),
        "truncated-jpeg": (url("/truncated.jpg"), url("/a.jpg"), None, error("DECODE_FAILED")),
        "truncated-png": (local["truncated.png"], url("/a.jpg"), None, error("DECODE_FAILED")),
        "gif-js-polyglot": (url("/gif-js.gif"), url("/a.jpg"), None, error("DECODE_FAILED")),
        "pixel-bomb": (url("/bomb.png"), url("/a.jpg"), None, error("TOO_LARGE")),
        "fake-video": (url("/fake.mp4"), url("/fake.mp4"), None, error("DECODE_FAILED")),
        "video-too-long": (local["long.mp4"], local["long.mp4"], "video", error("DURATION_EXCEEDED")),
        "fake-audio": (url("/fake.wav"), url("/fake.wav"), None, error("DECODE_FAILED", "UNSUPPORTED_MEDIA")),
        "declared-video": (url("/a.png"), url("/a.jpg"), "video", error("MEDIA_TYPE_MISMATCH")),
        # decoders that hang or crash, in their own processes
        "decoder-hang": (url("/hang.png"), url("/a.jpg"), None, error("DECODE_TIMEOUT")),
        "decoder-crash": (url("/a.jpg"), url("/abort.png"), None, error("DECODE_FAILED")),
    }


INVALID_LINES = [b'{"pair_id": "broken", ', b'\xff\xfe{"not": "utf-8"}', b"[1, 2]",
                 b'{"pair_id": "no-target", "source_url": "a.jpg"}',
                 b'{"pair_id": "surrogate", "source_url": "\\ud800", "target_url": "b.jpg"}']


@pytest.fixture
def hostile_decoders_pool(monkeypatch):
    """The process-wide decoder pool, with decoders that hang or abort on marked files."""
    pool = isolation.DecoderPool(decode=hostile_decoders.DECODE)
    monkeypatch.setitem(isolation._pools, isolation.DEFAULT_DECODE, pool)
    yield pool
    pool.close()


@pytest.mark.usefixtures("loopback_stands_for_public", "hostile_decoders_pool")
def test_a_thousand_mixed_rows_give_a_thousand_records_in_each_format(tmp_path, media, server, loopback_only):
    local = {}
    for name in ("a.png", "truncated.png"):
        (tmp_path / name).write_bytes(media[name])
        local[name] = str(tmp_path / name)
    local["long.mp4"] = write_video(str(tmp_path / "long.mp4"), frames(MovingScene(1), 3.0, 10), 10)
    table = cases(server, local)
    lines, expected_rows = [], collections.Counter()
    names = list(table) + [None] * len(INVALID_LINES)  # None: the next malformed line
    for i in range(ROWS - 1):
        name = names[i % len(names)]
        if name is None:
            lines.append(INVALID_LINES[i % len(names) - len(table)])
            expected_rows["INVALID_INPUT"] += 1
        else:
            source, target, media_type, _ = table[name]
            row = {"pair_id": name, "source_url": source, "target_url": target}  # pair_ids repeat
            lines.append(json.dumps(row | ({"media_type": media_type} if media_type else {})).encode())
            expected_rows[name] += 1
    lines.append(b'{"pair_id": "huge", "source_url": "' + b"x" * (1 << 20) + b'", "target_url": "b"}')
    expected_rows["INVALID_INPUT"] += 1
    source = tmp_path / "pairs.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")

    summary = match_pairs.run(["--input", str(source), "--output", str(tmp_path / "out" / "results")] + LIMIT_ARGS)

    assert summary["rows_in"] == summary["records_out"] == ROWS
    jsonl = [json.loads(line) for path in sorted(glob.glob(str(tmp_path / "out" / "results-*.jsonl")))
             for line in open(path)]
    tables = [pq.read_table(path) for path in sorted(glob.glob(str(tmp_path / "out" / "results-*.parquet")))]
    assert all(t.schema.equals(RESULT_SCHEMA) for t in tables)
    parquet = [record for t in tables for record in t.to_pylist()]
    assert len(jsonl) == len(parquet) == ROWS
    key = lambda r: json.dumps(r, sort_keys=True)  # noqa: E731
    assert sorted(jsonl, key=key) == sorted(parquet, key=key)

    seen = collections.Counter()
    for record in jsonl:
        code = record["error"]["code"] if record["error"] else None
        if code == "INVALID_INPUT":
            seen["INVALID_INPUT"] += 1
            continue
        name = record["pair_id"]
        seen[name] += 1
        expected_match, expected_codes = table[name][3]
        assert record["match"] is expected_match and code in expected_codes, (name, record)
        if code is not None:
            assert record["error"]["message"] and record["similarity_score"] is None
    assert seen == expected_rows  # one record per row, for every case

    by_name = {r["pair_id"]: r for r in jsonl}
    credentials = by_name["credentials-in-url"]
    assert credentials["source_url"] == server.url("/a.png")  # echoed without user:password
    assert "hunter2" not in "".join(json.dumps(r) for r in jsonl)
    assert "redirect" in by_name["redirect-to-metadata"]["error"]["message"]
    assert "SIGABRT" in by_name["decoder-crash"]["error"]["message"]
    assert server.hits("/flaky-a") == 3 and server.hits("/drip") == 1  # fetched once, however many rows
    assert loopback_only == []


# --- decoder isolation --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def isolated():
    pool = isolation.DecoderPool(size=1, decode=hostile_decoders.DECODE)
    yield pool
    pool.close()


def marked(marker: bytes) -> Blob:
    return Blob(data=png_with_text(photo(3), marker))


LIMITS = Limits(decode_timeout=2.0)


def test_isolated_fingerprint_equals_in_process(isolated, media):
    blob = Blob(data=media["a.jpg"])
    assert isolated.fingerprint("image", blob, LIMITS) == isolation.decode("image", blob, LIMITS)


def test_large_files_go_to_the_decoder_by_path(isolated, media, monkeypatch, tmp_path):
    monkeypatch.setattr(isolation, "PIPE_BYTES", 100)
    path = tmp_path / "a.png"
    path.write_bytes(media["a.png"])
    assert isolated.fingerprint("image", Blob(path=str(path)), LIMITS) == isolation.decode(
        "image", Blob(data=media["a.png"]), LIMITS)


def test_a_hanging_decoder_is_stopped_and_replaced(isolated, media):
    started = time.monotonic()
    with pytest.raises(MediaError) as caught:
        isolated.fingerprint("image", marked(hostile_decoders.HANG), LIMITS)
    assert caught.value.code == ErrorCode.DECODE_TIMEOUT and "decode_timeout=2" in caught.value.message
    assert 1.9 < time.monotonic() - started < 6.0
    assert isolated.fingerprint("image", Blob(data=media["a.jpg"]), LIMITS) is not None  # a fresh decoder


@pytest.mark.parametrize("marker,signal_name", [(hostile_decoders.ABORT, "SIGABRT"),
                                                (hostile_decoders.SEGFAULT, "SIGSEGV")])
def test_a_crashing_decoder_costs_one_file(isolated, media, marker, signal_name):
    with pytest.raises(MediaError) as caught:
        isolated.fingerprint("image", marked(marker), LIMITS)
    assert caught.value.code == ErrorCode.DECODE_FAILED and signal_name in caught.value.message
    assert isolated.fingerprint("image", Blob(data=media["a.jpg"]), LIMITS) is not None


def test_a_decoder_killed_under_a_file_is_replaced_and_the_file_tried_again(media):
    pool = isolation.DecoderPool(size=1, decode=hostile_decoders.DECODE)
    try:
        pool.fingerprint("image", Blob(data=media["a.jpg"]), LIMITS)  # one decoder, started and idle
        victim = pool._idle[0].process
        threading.Timer(0.5, victim.kill).start()  # killed from outside while on the slow file
        blob = marked(hostile_decoders.SLOW)
        assert pool.fingerprint("image", blob, LIMITS) == isolation.decode("image", blob, LIMITS)
        assert victim.poll() == -signal.SIGKILL
    finally:
        pool.close()


def test_a_decoder_that_dies_while_starting_is_started_again(media, monkeypatch):
    spawned, popen = [], subprocess.Popen

    def first_one_dies(*args, **kwargs):
        process = popen(*args, **kwargs)
        if not spawned:
            process.kill()
        spawned.append(process)
        return process

    monkeypatch.setattr(isolation.subprocess, "Popen", first_one_dies)
    pool = isolation.DecoderPool(size=1)
    try:
        assert pool.fingerprint("image", Blob(data=media["a.jpg"]), LIMITS) is not None
    finally:
        pool.close()
    assert len(spawned) == 2 and spawned[0].poll() == -signal.SIGKILL


def test_a_decoder_bug_is_internal_error(isolated):
    with pytest.raises(MediaError) as caught:
        isolated.fingerprint("image", marked(hostile_decoders.RAISE), LIMITS)
    assert caught.value.code == ErrorCode.INTERNAL_ERROR and "ValueError: a decoder bug" in caught.value.message


def test_threads_share_the_pool(media):
    pool = isolation.DecoderPool(size=2)
    results, blobs = [], [Blob(data=media[n]) for n in ("a.png", "a.jpg", "b.png", "b.jpg")] * 2
    try:
        threads = [threading.Thread(target=lambda b=b: results.append(pool.fingerprint("image", b, LIMITS)))
                   for b in blobs]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        pool.close()
    assert len(results) == len(blobs) and pool._count == 0


def test_without_isolation_decoding_runs_in_process(media, monkeypatch):
    monkeypatch.setattr(isolation, "decoder_pool", lambda *_: pytest.fail("no decoder process without isolation"))
    blob = Blob(data=media["a.jpg"])
    assert isolation.fingerprint_media("image", blob, Limits(isolate_decoders=False)) is not None


# --- more hostile media, the retry counter ------------------------------------------------------------

def test_a_huge_decompression_bomb_is_too_large():  # past Pillow's own bomb limit, 2 x MAX_IMAGE_PIXELS
    with pytest.raises(MediaError) as caught:
        isolation.decode("image", Blob(data=png_header_only(100_000, 100_000)), Limits())
    assert caught.value.code == ErrorCode.TOO_LARGE


@pytest.mark.usefixtures("loopback_only")
def test_retries_are_counted(server):
    limits = Limits(allow_private_networks=True, retry_backoff=0.01)
    server.route("/flaky-once", sequence(serve(b"", 503), serve(b"not media")))
    row = make_row({"source_url": server.url("/flaky-once"), "target_url": server.url("/flaky-once")})
    pipeline = beam.Pipeline(options=match_pairs.pipeline_options([]))
    _ = pipeline | beam.Create([row]) | MatchPairs(limits)
    result = pipeline.run()
    result.wait_until_finish()
    counters = {c.key.metric.name: c.committed
                for c in result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]}
    assert counters["fetch_retries"] == 1 and counters["errors_UNSUPPORTED_MEDIA"] == 1


@pytest.mark.usefixtures("loopback_only")
def test_match_refuses_private_networks_unless_allowed(server):
    source, target = server.url("/a.png"), server.url("/a.jpg")
    refused = match(source, target)
    assert refused["error"]["code"] == "BLOCKED_ADDRESS" and refused["match"] is None
    allowed = match(source, target, allow_private_networks=True)
    assert allowed["error"] is None and allowed["match"] is True


def test_guards_are_command_line_options():
    args, _ = match_pairs.build_parser().parse_known_args(
        ["--input", "x", "--output", "y", "--allow-private-networks", "--no-isolate-decoders",
         "--allowed-schemes", "https", "--decode_timeout", "5", "--max-retries", "0"])
    limits = limits_from_namespace(args)
    assert limits == Limits(allow_private_networks=True, isolate_decoders=False, allowed_schemes="https",
                            decode_timeout=5.0, max_retries=0)
    assert limits.schemes() == {"https"}
