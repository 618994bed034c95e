"""The fetcher against a real HTTP server on 127.0.0.1: statuses, redirects, slow and oversized responses,
retries, content encodings, and the address guard (opt-in off, redirect hops, DNS rebinding, host spellings).

Nothing here connects anywhere but 127.0.0.1: the ``loopback_only`` safety net fails any test that tries.
"""
import dataclasses
import threading
import datetime
import email.utils
import ipaddress
import socket
import time
import tracemalloc
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from requests.adapters import HTTPAdapter

import medialayer.io.fetch as fetch
from httpserver import (DripTCPServer, LoopbackServer, drip, drip_headers, endless, gzip_bomb, loopback_only,  # noqa: F401
                        loopback_stands_for_public, redirect, sequence, serve)
from medialayer.errors import ErrorCode, MediaError
from medialayer.io.fetch import Fetcher, blocked_reason, redact, resolve
from medialayer.limits import Limits

pytestmark = pytest.mark.usefixtures("loopback_only")

CAP = 1 << 20
PRIVATE = Limits(allow_private_networks=True, max_image_bytes=CAP, fetch_deadline=3.0, read_timeout=2.0,
                 retry_backoff=0.01, retry_backoff_max=1.0)
PUBLIC = Limits(max_image_bytes=CAP, fetch_deadline=3.0, retry_backoff=0.01)


@pytest.fixture(scope="module")
def server():
    with LoopbackServer() as s:
        yield s


def fetch_error(limits: Limits, url: str) -> MediaError:
    fetcher = Fetcher(limits)
    try:
        with pytest.raises(MediaError) as caught:
            fetcher.fetch(url, "image")
    finally:
        fetcher.close()
    return caught.value


def fetched(limits: Limits, url: str) -> bytes:
    fetcher = Fetcher(limits)
    try:
        with fetcher.fetch(url, "image") as blob:
            return blob.read()
    finally:
        fetcher.close()


# --- statuses and redirects ---------------------------------------------------------------------------

def test_ok_body_and_request_headers(server):
    url = server.route("/ok", serve(b"hello"))
    assert fetched(PRIVATE, url) == b"hello"
    path, headers = server.requests[-1]
    assert path == "/ok" and headers["Accept-Encoding"] == "identity" and "Cookie" not in headers


def test_404_is_http_status_and_never_retried(server):
    url = server.route("/gone", serve(b"nope", 404))
    error = fetch_error(PRIVATE, url)
    assert error.code == ErrorCode.HTTP_STATUS and error.message == "HTTP 404" and error.url == url
    assert server.hits("/gone") == 1


def test_redirect_chain_is_followed(server):
    server.route("/r3", redirect("/r2", 301))
    server.route("/r2", redirect(server.url("/r1"), 307))
    server.route("/r1", redirect("/target", 308))
    server.route("/target", serve(b"arrived"))
    assert fetched(PRIVATE, server.url("/r3")) == b"arrived"


def test_redirect_limit(server):
    for i in range(4):
        server.route(f"/hop{i}", redirect(f"/hop{i + 1}"))
    server.route("/hop4", serve(b"too far"))
    error = fetch_error(dataclasses.replace(PRIVATE, max_redirects=3), server.url("/hop0"))
    assert error.code == ErrorCode.TOO_MANY_REDIRECTS and "max_redirects=3" in error.message
    assert server.hits("/hop4") == 0


def test_redirect_loop(server):
    server.route("/ping", redirect("/pong"))
    server.route("/pong", redirect("/ping"))
    error = fetch_error(PRIVATE, server.url("/ping"))
    assert error.code == ErrorCode.TOO_MANY_REDIRECTS and "loop" in error.message
    assert server.hits("/ping") == 1 and server.hits("/pong") == 1


@pytest.mark.parametrize("location,code", [("file:///etc/passwd", ErrorCode.UNSUPPORTED_SCHEME),
                                           ("gs://bucket/object", ErrorCode.UNSUPPORTED_SCHEME),
                                           ("http://[::1", ErrorCode.INVALID_URL)])
def test_redirect_to_another_scheme_or_a_bad_url_is_refused(server, location, code):
    url = server.route(f"/to-{code.value}-{len(location)}", redirect(location))
    assert fetch_error(PRIVATE, url).code == code


def test_a_redirect_hop_must_pass_the_scheme_allow_list_too(server):
    url = server.route("/to-https", redirect(f"https://127.0.0.1:{server.port}/secure"))
    error = fetch_error(dataclasses.replace(PRIVATE, allowed_schemes="http"), url)
    assert error.code == ErrorCode.UNSUPPORTED_SCHEME and "'https' is not allowed" in error.message


# --- slow and oversized responses ---------------------------------------------------------------------

def test_slow_body_stops_at_the_fetch_deadline(server):
    url = server.route("/drip", drip(b"x" * 1000, interval=0.05))  # each byte well inside read_timeout
    limits = Limits(allow_private_networks=True, fetch_deadline=1.0, read_timeout=5.0)
    started = time.monotonic()
    error = fetch_error(limits, url)
    assert error.code == ErrorCode.FETCH_TIMEOUT and "deadline" in error.message
    assert 0.9 < time.monotonic() - started < 4.0  # the whole body would take 50 s


def test_slow_headers_stop_at_the_fetch_deadline(server):
    url = server.route("/drip-headers", drip_headers(interval=0.05))
    started = time.monotonic()
    error = fetch_error(Limits(allow_private_networks=True, fetch_deadline=1.0, read_timeout=5.0), url)
    assert error.code == ErrorCode.FETCH_TIMEOUT
    assert time.monotonic() - started < 4.0  # the headers would take 50 s


def test_endless_tls_handshake_stops_at_the_fetch_deadline():
    # A TLS record header announcing a 16 KiB handshake message, then a byte every 50 ms.
    with DripTCPServer(b"\x16\x03\x03\x40\x00", interval=0.05) as tls:
        started = time.monotonic()
        error = fetch_error(Limits(allow_private_networks=True, fetch_deadline=1.0, read_timeout=5.0),
                            f"https://127.0.0.1:{tls.port}/a.jpg")
    assert error.code == ErrorCode.FETCH_TIMEOUT
    assert time.monotonic() - started < 4.0  # the handshake would take 800 s


def test_stalled_server_hits_the_read_timeout(server):
    url = server.route("/stall", drip(b"xy", interval=3.0))
    limits = Limits(allow_private_networks=True, read_timeout=0.5, fetch_deadline=10.0, max_retries=0)
    started = time.monotonic()
    error = fetch_error(limits, url)
    assert error.code == ErrorCode.FETCH_TIMEOUT and "read timed out" in error.message
    assert time.monotonic() - started < 4.0  # the server answers in 6 s


def test_declared_oversize_is_refused_before_reading(server):
    url = server.route("/declared-big", serve(b"x" * 100, content_length=CAP + 1))
    error = fetch_error(PRIVATE, url)
    assert error.code == ErrorCode.TOO_LARGE and "Content-Length" in error.message


@pytest.mark.parametrize("handler", [endless(), endless(chunked=True), endless(chunked=True, content_length=100)],
                         ids=["no-content-length", "chunked", "chunked-with-lying-content-length"])
def test_oversize_body_stops_at_the_cap(server, handler):
    url = server.route(f"/big-{id(handler)}", handler)
    error = fetch_error(PRIVATE, url)
    assert error.code == ErrorCode.TOO_LARGE and str(CAP) in error.message


def test_understated_content_length_never_reads_more(server):
    url = server.route("/understated", serve(b"y" * (4 * CAP), content_length=10))
    assert fetched(PRIVATE, url) == b"y" * 10


def test_gzip_bomb_stops_at_the_cap_in_bounded_memory(server):
    url = server.route("/bomb", serve(gzip_bomb(64 * CAP), headers={"Content-Encoding": "gzip"}))
    tracemalloc.start()
    try:
        error = fetch_error(PRIVATE, url)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.code == ErrorCode.TOO_LARGE
    assert peak < 8 * CAP  # decoded a chunk at a time: never the 64 MiB


@pytest.mark.parametrize("encoding,compress", [("gzip", lambda b: zlib.compress(b, wbits=31)),
                                               ("deflate", zlib.compress)])
def test_compressed_body_is_decoded(server, encoding, compress):
    body = b"media bytes " * 1000
    url = server.route(f"/{encoding}", serve(compress(body), headers={"Content-Encoding": encoding}))
    assert fetched(PRIVATE, url) == body


def test_unknown_content_encoding_and_corrupt_gzip_fail(server):
    brotli = server.route("/br", serve(b"\x1b\x00", headers={"Content-Encoding": "br"}))
    corrupt = server.route("/corrupt-gzip", serve(b"\x1f\x8b\x08\x00garbage", headers={"Content-Encoding": "gzip"}))
    assert fetch_error(PRIVATE, brotli).code == ErrorCode.FETCH_FAILED
    assert "corrupt gzip" in fetch_error(PRIVATE, corrupt).message


# --- retries ------------------------------------------------------------------------------------------

def test_500_then_200_is_retried_and_counted(server):
    url = server.route("/flaky", sequence(serve(b"", 500), serve(b"", 503), serve(b"finally")))
    fetcher = Fetcher(Limits(allow_private_networks=True, retry_backoff=0.05))
    started = time.monotonic()
    assert fetcher.fetch(url, "image").read() == b"finally"
    assert fetcher.retries == 2 and server.hits("/flaky") == 3
    assert time.monotonic() - started >= 0.025 + 0.05  # backoff 0.05 then 0.1, each jittered down to half


def test_retries_give_up_after_max_retries(server):
    url = server.route("/always-500", serve(b"", 500))
    error = fetch_error(Limits(allow_private_networks=True, max_retries=2, retry_backoff=0.01), url)
    assert error.code == ErrorCode.HTTP_STATUS and "after 2 retries" in error.message
    assert server.hits("/always-500") == 3


def test_429_honours_retry_after_up_to_the_bound(server):
    short = server.route("/429-short", sequence(serve(b"", 429, {"Retry-After": "0"}), serve(b"ok")))
    long = server.route("/429-long", serve(b"", 429, {"Retry-After": "120"}))
    assert fetched(PRIVATE, short) == b"ok"
    error = fetch_error(PRIVATE, long)
    assert error.code == ErrorCode.HTTP_STATUS and "Retry-After 120s exceeds" in error.message
    assert server.hits("/429-long") == 1


def test_retry_after_as_seconds_or_http_date():
    soon = email.utils.format_datetime(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=20),
                                       usegmt=True)
    assert fetch._retry_after("7") == 7.0 and 18 < fetch._retry_after(soon) <= 20
    assert fetch._retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: retry now
    assert fetch._retry_after("soon") is None and fetch._retry_after(None) is None
    assert fetch._retry_after("\u00b2") is None  # a digit to str.isdigit(), not to float()


def test_a_flood_of_headers_is_refused(server):
    url = server.route("/many-headers", serve(b"x", headers={f"X-{i}": "y" for i in range(150)}))
    error = fetch_error(Limits(allow_private_networks=True, max_retries=0), url)
    assert error.code == ErrorCode.FETCH_FAILED and "headers" in error.message


def test_retries_never_outlive_the_deadline(server):
    url = server.route("/slow-500", serve(b"", 503, {"Retry-After": "1"}))
    limits = Limits(allow_private_networks=True, fetch_deadline=1.5, max_retries=10, retry_backoff_max=5.0)
    started = time.monotonic()
    error = fetch_error(limits, url)
    assert error.code == ErrorCode.HTTP_STATUS and "deadline" in error.message
    assert time.monotonic() - started < 4.0  # ten retries a second apart would take 10 s


def test_connection_refused_is_retried_then_fetch_failed():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # bound, never listening: connections are refused
        fetcher = Fetcher(Limits(allow_private_networks=True, max_retries=2, retry_backoff=0.01))
        with pytest.raises(MediaError) as caught:
            fetcher.fetch(f"http://127.0.0.1:{port}/x")
    assert caught.value.code == ErrorCode.FETCH_FAILED and "refused" in caught.value.message.lower()
    assert fetcher.retries == 2


# --- URLs, schemes, credentials -----------------------------------------------------------------------

@pytest.mark.parametrize("url,code", [
    ("ftp://example.com/a.jpg", ErrorCode.UNSUPPORTED_SCHEME),
    ("http://" + "a" * 9000 + ".com/", ErrorCode.INVALID_URL),
    ("http://example.com/a\r\nX-Injected: 1", ErrorCode.INVALID_URL),
    ("http://example.com:99999/", ErrorCode.INVALID_URL),
    ("http:///no-host", ErrorCode.INVALID_URL),
    ("", ErrorCode.INVALID_URL),
])
def test_bad_urls_are_refused_before_any_request(url, code):
    assert fetch_error(PUBLIC, url).code == code


def test_scheme_allow_list_covers_local_files(tmp_path):
    path = tmp_path / "a.jpg"
    path.write_bytes(b"local")
    assert fetched(PUBLIC, str(path)) == b"local"
    no_files = Limits(allowed_schemes="http,https")
    assert fetch_error(no_files, str(path)).code == ErrorCode.UNSUPPORTED_SCHEME
    assert fetch_error(no_files, path.as_uri()).code == ErrorCode.UNSUPPORTED_SCHEME


def test_credentials_never_appear_in_errors(server):
    server.route("/private", serve(b"", 403))
    error = fetch_error(PRIVATE, f"http://alice:s3cr%40t@127.0.0.1:{server.port}/private")
    assert error.code == ErrorCode.HTTP_STATUS
    assert "s3cr" not in error.message + error.url and "alice" not in error.url
    assert error.url == server.url("/private")


@pytest.mark.parametrize("text,expected", [
    ("http://u:p@host/x", "http://host/x"),
    ("https://u:p@ss@host:8/x?a=b@c", "https://host:8/x?a=b@c"),
    ("see gs://key@bucket/o and http://h/p", "see gs://bucket/o and http://h/p"),
    ("http://host/path@not-userinfo", "http://host/path@not-userinfo"),
])
def test_redact(text, expected):
    assert redact(text) == expected


def test_an_unguarded_adapter_cannot_be_slipped_in(server):
    fetcher = Fetcher(PRIVATE)
    fetcher.session.mount("http://", HTTPAdapter())
    with pytest.raises(MediaError) as caught:
        fetcher.fetch(server.route("/ok", serve(b"hello")))
    assert caught.value.code == ErrorCode.INTERNAL_ERROR


# --- the address guard --------------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["127.0.0.1", "2130706433", "0x7f.1", "017700000001", "0177.0.0.1", "127.1",
                                  "[::1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "0.0.0.0"])
def test_loopback_in_every_spelling_is_blocked_without_a_request(server, host):
    server.route("/secret", serve(b"internal"))
    error = fetch_error(PUBLIC, f"http://{host}:{server.port}/secret")
    assert error.code == ErrorCode.BLOCKED_ADDRESS and "allow-private-networks" in error.message
    assert server.hits("/secret") == 0


@pytest.mark.parametrize("host", ["169.254.169.254", "10.0.0.1", "172.16.5.4", "192.168.1.1", "100.64.0.1",
                                  "224.0.0.1", "240.0.0.1", "255.255.255.255", "[fe80::1]", "[fc00::1]",
                                  "[fd12:3456::1]", "[::ffff:169.254.169.254]", "[64:ff9b::a9fe:a9fe]",
                                  "[2002:a9fe:a9fe::1]", "[ff02::1]", "[::]"])
def test_non_public_addresses_are_blocked_before_connecting(host, loopback_only):
    error = fetch_error(PUBLIC, f"http://{host}/latest/meta-data/")
    assert error.code == ErrorCode.BLOCKED_ADDRESS
    assert loopback_only == []  # refused before any connection attempt


@pytest.fixture
def first_connection_allowed(monkeypatch):
    """The policy as it is, except that the first address checked passes: it stands for a public host whose
    redirect then points inside."""
    checked = []

    def policy(address):
        checked.append(address)
        return None if len(checked) == 1 else blocked_reason(address)
    monkeypatch.setattr(fetch, "blocked_reason", policy)
    return checked


@pytest.mark.parametrize("location", ["http://127.0.0.1:{port}/internal", "http://169.254.169.254/latest/meta-data/",
                                      "http://[::1]:{port}/internal", "http://2130706433:{port}/internal"])
def test_every_redirect_hop_is_checked(server, first_connection_allowed, location):
    server.route("/internal", serve(b"internal"))
    url = server.route(f"/to-inside-{len(location)}", redirect(location.format(port=server.port)))
    error = fetch_error(PUBLIC, url)
    assert error.code == ErrorCode.BLOCKED_ADDRESS and "after a redirect to" in error.message
    assert error.url == url and server.hits("/internal") == 0


@pytest.fixture
def fake_dns(monkeypatch):
    """Host names that resolve to scripted answers, one list per lookup (the last one repeats)."""
    answers, lookups = {}, []
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        script = answers[host]
        addresses = script[min(len(lookups) - 1, len(script) - 1)]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers, lookups


def test_dns_rebinding_cannot_switch_the_connected_address(server, fake_dns, loopback_stands_for_public):
    answers, lookups = fake_dns
    answers["rebind.test"] = [["127.0.0.1"], ["127.0.0.2"]]  # checked answer, then a rebound one
    server.route("/media", serve(b"the checked host"))
    assert fetched(PUBLIC, f"http://rebind.test:{server.port}/media") == b"the checked host"
    assert lookups == ["rebind.test"]  # one lookup: the address checked is the address connected to
    assert server.requests[-1][1]["Host"] == f"rebind.test:{server.port}"  # the name still goes in Host


def test_a_host_with_any_non_public_address_is_blocked(server, fake_dns, loopback_stands_for_public):
    answers, _ = fake_dns
    answers["mixed.test"] = [["127.0.0.1", "10.1.2.3"]]
    server.route("/media", serve(b"x"))
    error = fetch_error(PUBLIC, f"http://mixed.test:{server.port}/media")
    assert error.code == ErrorCode.BLOCKED_ADDRESS and "10.1.2.3" in error.message


def test_opt_in_allows_private_networks(server):
    url = server.route("/ok", serve(b"hello"))
    assert fetched(PRIVATE, url) == b"hello"
    assert fetched(PRIVATE, url.replace("127.0.0.1", "2130706433")) == b"hello"


# --- property-based: the address policy and host spellings --------------------------------------------

# The IANA special-purpose registry's blocks that are not globally reachable, multicast, and the deprecated
# 6to4 relay anycast; the registry's two anycast service addresses in 192.0.0.0/24 are refused as well.
NOT_GLOBALLY_REACHABLE_V4 = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
    "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4")]

ipv4 = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)
special_ipv4 = st.sampled_from(NOT_GLOBALLY_REACHABLE_V4).flatmap(
    lambda net: st.integers(0, net.num_addresses - 1).map(lambda i: net[i]))
any_ipv4 = st.one_of(ipv4, special_ipv4)


def expected_blocked(address: ipaddress.IPv4Address) -> bool:
    return any(address in n for n in NOT_GLOBALLY_REACHABLE_V4)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_ipv4)
def test_ipv4_policy_matches_the_special_purpose_registry(address):
    assert (blocked_reason(address) is not None) == expected_blocked(address)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_ipv4, st.sampled_from(["mapped", "compatible", "nat64", "6to4"]))
def test_ipv6_forms_of_an_ipv4_address_are_judged_by_it(address, form):
    value = int(address)
    v6 = ipaddress.IPv6Address({"mapped": (0xFFFF << 32) | value, "compatible": value,
                                "nat64": (0x64FF9B << 96) | value, "6to4": (0x2002 << 112) | (value << 80)}[form])
    assert (blocked_reason(v6) is not None) == expected_blocked(address)


def spellings(address: ipaddress.IPv4Address):
    """Ways to write an IPv4 address in a URL host that inet_aton (hence getaddrinfo) accepts."""
    a, b, c, d = address.packed
    value = int(address)
    return st.sampled_from([str(address), str(value), hex(value), "0" + oct(value)[2:],
                            f"{a}.{(b << 16) | (c << 8) | d}", f"{a}.{b}.{(c << 8) | d}",
                            f"{hex(a)}.{oct(b).replace('o', '')}.{c}.{hex(d)}"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_ipv4.flatmap(lambda a: st.tuples(st.just(a), spellings(a))))
def test_every_host_spelling_resolves_to_the_address_it_means_and_is_judged_by_it(case):
    address, host = case
    if expected_blocked(address):
        with pytest.raises(MediaError) as caught:
            resolve(host, 80, allow_private=False)
        assert caught.value.code == ErrorCode.BLOCKED_ADDRESS
    else:  # resolved (no connection is made): the one address it spells
        assert resolve(host, 80, allow_private=False) == [str(address)]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_url_validation_never_crashes(text):
    try:
        scheme = fetch.url_scheme(text, PUBLIC)
    except MediaError as e:
        assert e.code == ErrorCode.INVALID_URL
    else:
        assert scheme == "file" or fetch._SCHEME.fullmatch(scheme)


@pytest.mark.parametrize("address", ["169.254.169.254", "169.254.1.1", "fe80::1", "::ffff:169.254.169.254",
                                     "fd00:ec2::254", "100.100.100.200"])
def test_metadata_and_link_local_stay_refused_with_private_networks_allowed(address, fake_dns, loopback_only):
    answers, _ = fake_dns
    answers["metadata.test"] = [[address]]
    error = fetch_error(PRIVATE, "http://metadata.test/latest/meta-data/")  # resolved, then refused
    assert error.code == ErrorCode.BLOCKED_ADDRESS and "--allow-link-local-addresses" in error.message
    assert loopback_only == []  # refused before any connection attempt


def test_a_redirect_to_metadata_is_refused_with_private_networks_allowed(server, loopback_only):
    url = server.route("/to-metadata", redirect("http://169.254.169.254/latest/meta-data/iam/"))
    error = fetch_error(PRIVATE, url)
    assert error.code == ErrorCode.BLOCKED_ADDRESS and "cloud metadata" in error.message
    assert loopback_only == []


def test_only_the_dangerous_option_opens_link_local(fake_dns, loopback_only):
    answers, _ = fake_dns
    answers["metadata.test"] = [["169.254.169.254"]]
    limits = dataclasses.replace(PRIVATE, allow_link_local_addresses=True, max_retries=0, fetch_deadline=1.0)
    error = fetch_error(limits, "http://metadata.test/latest/meta-data/")
    assert error.code == ErrorCode.FETCH_FAILED  # let through the policy: the safety net refused the connection
    assert loopback_only == [("169.254.169.254", 80)]
    loopback_only.clear()  # the one connection attempt this test expects


def test_each_thread_has_its_own_session_and_no_fetch_starts_a_thread(server, monkeypatch):
    fetcher = Fetcher(PRIVATE)
    url = server.route("/shared", serve(b"hello"))
    sessions = []
    workers = [threading.Thread(target=lambda: (sessions.append(fetcher.session), fetched_with(fetcher, url)))
               for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len({id(session) for session in sessions}) == 4  # requests does not promise a shared Session is safe
    started, start, fetching = [], threading.Thread.start, threading.current_thread()

    def counted_start(thread):  # threads the fetching thread starts (the test server starts its own)
        if threading.current_thread() is fetching:
            started.append(thread.name)
        start(thread)
    monkeypatch.setattr(threading.Thread, "start", counted_start)
    for _ in range(20):
        assert fetched_with(fetcher, url) == b"hello"
    assert started == []  # one deadline watcher for the process, already running: no thread per fetch
    fetcher.close()


def fetched_with(fetcher: Fetcher, url: str) -> bytes:
    with fetcher.fetch(url) as blob:
        return blob.read()
