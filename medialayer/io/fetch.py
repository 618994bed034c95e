"""Fetching media bytes from http(s), local paths / file:// and Beam FileSystems (gs://, s3://, ...).

The URLs come from files nobody vetted, so every fetch is guarded (docs/security.md lists each guard):

* a scheme allow-list (``Limits.allowed_schemes``), a URL length cap, no control characters;
* every HTTP connection resolves its host once, refuses the connection if any address is not public
  (loopback, private, link-local, CGNAT, multicast, reserved, ... in IPv4 and IPv6, IPv4 embedded in
  IPv6 included) and connects to exactly the address it checked: a second DNS answer (DNS rebinding)
  is never asked for. Host header, TLS SNI and certificate checks still use the host name. Redirects
  are followed here, hop by hop, each hop through the same check (``allow_private_networks`` opts out,
  except for link-local and cloud metadata addresses, which only ``allow_link_local_addresses`` opens);
* byte caps on the bytes actually read, decoded and on the wire, whatever Content-Length claims;
  compressed bodies are inflated a chunk at a time, so a gzip bomb stops at the cap; when no media
  type was declared, the first 4 KiB decide the type and so the cap (non-media stops there);
* an overall deadline per fetch: a timer shuts the fetch's sockets down when it passes, so a server
  that drips a byte a second (body or headers) cannot hold a worker;
* retries with exponential backoff and jitter for transient failures only (connection errors,
  timeouts, 429, 5xx; Retry-After honoured up to ``retry_backoff_max``), never for other 4xx;
* credentials in a URL never appear in messages (``redact``).

Failures are raised as MediaError with a code from medialayer.errors.
"""
from __future__ import annotations

import email.utils
import heapq
import http.cookiejar
import ipaddress
import itertools
import os
import random
import re
import socket
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import zlib

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ProtocolError, ReadTimeoutError

from medialayer.errors import ErrorCode, MediaError
from medialayer.io.sniff import sniff_media_type
from medialayer.limits import Limits
from medialayer.media import Blob, scratch_dir

HTTP_SCHEMES = ("http", "https")
CHUNK_BYTES = 256 * 1024
SPOOL_BYTES = 16 * 1024 * 1024  # larger downloads go to a temporary file instead of memory
SNIFF_BYTES = 4096  # what the media type is told from (as medialayer.stages does with Blob.head())
DEFAULT_CONNECTIONS = 10  # keep-alive connections pooled per host
_REDIRECT_STATUSES = (301, 302, 303, 307, 308)
_INFLATED_ENCODINGS = ("gzip", "x-gzip", "deflate")  # decoded here, chunk by chunk; others are refused
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s]*@")  # up to the last @ of the authority
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Blocked on top of what the ipaddress module flags, whatever the Python version: IANA special-purpose
# blocks (192.0.0.0/24 whole, its two anycast service addresses included), the deprecated 6to4 relay
# anycast, local-use NAT64, site-local and the newer IPv6 documentation prefix.
_ALSO_BLOCKED = [ipaddress.ip_network(n) for n in ("192.0.0.0/24", "192.88.99.0/24", "64:ff9b:1::/48", "fec0::/10",
                                                   "3fff::/20")]
# Cloud metadata services outside the link-local ranges (AWS over IPv6, Alibaba Cloud).
_METADATA = [ipaddress.ip_network(n) for n in ("fd00:ec2::254/128", "100.100.100.200/32")]


def redact(text: str) -> str:
    """``text`` (a URL, or a message naming URLs) without the user:password part of any URL in it."""
    return _USERINFO.sub(r"\1", text) if isinstance(text, str) else text


def url_scheme(url: str, limits: Limits) -> str:
    """Validate the URL's shape and return its lower-cased scheme ("file" for plain paths)."""
    if not isinstance(url, str) or not url.strip():
        raise MediaError(ErrorCode.INVALID_URL, "empty URL")
    if len(url) > limits.max_url_length:
        raise MediaError(ErrorCode.INVALID_URL, f"URL longer than max_url_length={limits.max_url_length}")
    if _CONTROL_CHARACTERS.search(url):
        raise MediaError(ErrorCode.INVALID_URL, "URL contains control characters")
    if "://" not in url:
        return "file"
    scheme = url.split("://", 1)[0].lower()
    if not _SCHEME.fullmatch(scheme):
        raise MediaError(ErrorCode.INVALID_URL, "malformed URL scheme")
    if scheme in HTTP_SCHEMES:
        try:
            parts = urllib.parse.urlsplit(url)
            parts.port  # raises ValueError on a malformed port
        except ValueError:  # the message may quote the authority, credentials included: not echoed
            raise MediaError(ErrorCode.INVALID_URL, "malformed URL (host, port or IPv6 literal)") from None
        if not parts.hostname:
            raise MediaError(ErrorCode.INVALID_URL, "URL has no host")
    return scheme


def blocked_reason(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why connecting to ``address`` is refused by default (None for a public unicast address).

    An IPv6 address that embeds an IPv4 one (IPv4-mapped, IPv4-compatible, NAT64, 6to4) is judged by
    the IPv4 address it leads to.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = blocked_reason(embedded)
            return None if reason is None else f"{reason} (as {embedded})"
    if any(address in network for network in _ALSO_BLOCKED):
        return "special-purpose"
    for kind in ("unspecified", "loopback", "link_local", "multicast", "private", "reserved"):
        if getattr(address, "is_" + kind):
            return kind.replace("_", "-")
    if not address.is_global:  # 100.64.0.0/10 (shared/CGNAT), benchmarking, ...
        return "non-global"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    value = int(address)
    if address in _NAT64 or (value >> 32 == 0 and value > 1):  # NAT64, or IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    return None


def is_link_local(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Link-local (169.254.0.0/16, fe80::/10, also as embedded IPv4) or a fixed cloud metadata address:
    where cloud instances hand out their credentials."""
    embedded = _embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else None
    return address.is_link_local or (embedded is not None and embedded.is_link_local) or any(
        address in network for network in _METADATA)


def resolve(host: str, port: int, allow_private: bool, allow_link_local: bool = False) -> list[str]:
    """The addresses to connect to for ``host``: resolved once, and refused if any of them is not public.
    ``allow_private`` opens private networks but never link-local ones: only ``allow_link_local`` does."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        error = MediaError(ErrorCode.FETCH_FAILED, f"cannot resolve host {host!r}: {e.strerror}")
        raise (_Retryable(error) if e.errno == socket.EAI_AGAIN else error) from None
    except (UnicodeError, ValueError):
        raise MediaError(ErrorCode.INVALID_URL, f"invalid host name {host!r}") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        reason = blocked_reason(ip)
        if reason is None:
            continue
        if is_link_local(ip) and not allow_link_local:
            raise MediaError(ErrorCode.BLOCKED_ADDRESS,
                             f"host {host!r} resolves to {address}, a {reason} address where cloud metadata "
                             "services live: refused even with --allow-private-networks (the dangerous option "
                             "--allow-link-local-addresses permits it)")
        if not allow_private:
            raise MediaError(ErrorCode.BLOCKED_ADDRESS,
                             f"host {host!r} resolves to {address}, a {reason} address "
                             "(the option --allow-private-networks, or allow_private_networks=True in "
                             "match(), permits it)")
    return addresses


class _Retryable(Exception):
    """A transient failure worth another attempt; ``error`` is reported when no attempt is left."""

    def __init__(self, error: MediaError, retry_after: float | None = None):
        super().__init__(error.message)
        self.error = error
        self.retry_after = retry_after


_current = threading.local()  # the _FetchGuard of the fetch running on this thread


class _Deadlines:
    """One watcher thread per process expires every fetch whose deadline has passed (a timer thread per
    fetch would start and stop a thread for each URL)."""

    def __init__(self):
        self._heap: list[tuple[float, int, "_FetchGuard"]] = []
        self._finished = 0  # entries of guards that exited, dropped lazily
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._watcher: threading.Thread | None = None

    def watch(self, guard: "_FetchGuard") -> None:
        with self._changed:
            if self._watcher is None or not self._watcher.is_alive():  # none yet, or this is a forked child
                self._watcher = threading.Thread(target=self._run, name="fetch-deadlines", daemon=True)
                self._watcher.start()
            heapq.heappush(self._heap, (guard.end, next(self._order), guard))
            self._changed.notify()

    def finished(self) -> None:
        with self._changed:
            self._finished += 1
            if self._finished > len(self._heap) // 2:  # keep the heap to the fetches in flight
                self._heap = [entry for entry in self._heap if not entry[2].finished]
                heapq.heapify(self._heap)
                self._finished = 0

    def _run(self) -> None:
        with self._changed:
            while True:
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    guard = heapq.heappop(self._heap)[2]
                    if guard.finished:
                        self._finished -= 1
                    else:
                        guard.expire()
                self._changed.wait(self._heap[0][0] - now if self._heap else None)


_deadlines = _Deadlines()


class _FetchGuard:
    """One HTTP fetch in progress on this thread: its address policy and its overall deadline.

    When the deadline passes, the deadline watcher shuts down every connection the fetch has used, so a
    blocked connect, TLS handshake, header or body read returns at once, however slowly the server
    sends. It holds its own duplicate of each socket's descriptor: TLS wrapping detaches the original
    socket object, and a descriptor of ours can never be closed and reused by another connection meanwhile.
    """

    def __init__(self, limits: Limits):
        self.allow_private = limits.allow_private_networks
        self.allow_link_local = limits.allow_link_local_addresses
        self.seconds = limits.fetch_deadline
        self.end = time.monotonic() + self.seconds
        self.expired = self.finished = False
        self._duplicates = []
        self._lock = threading.Lock()

    def __enter__(self) -> "_FetchGuard":
        _current.guard = self
        _deadlines.watch(self)
        return self

    def __exit__(self, *exc):
        with self._lock:
            self.finished = True
        _deadlines.finished()
        _current.guard = None
        with self._lock:
            for duplicate in self._duplicates:
                duplicate.close()  # the connection itself stays open (kept alive) if it still is
            self._duplicates = []

    def remaining(self) -> float:
        return self.end - time.monotonic()

    def error(self) -> MediaError:
        return MediaError(ErrorCode.FETCH_TIMEOUT, f"fetch deadline of {self.seconds:g}s passed")

    def watch(self, sock: socket.socket) -> None:
        duplicate = socket.fromfd(sock.fileno(), sock.family, sock.type)
        with self._lock:
            self._duplicates.append(duplicate)
            if self.expired:
                _shut(duplicate)

    def expire(self) -> None:
        with self._lock:
            if self.finished:
                return
            self.expired = True
            for duplicate in self._duplicates:
                _shut(duplicate)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)  # ends the connection for every descriptor of it
    except OSError:  # already closed by the peer
        pass


def _guard() -> _FetchGuard:
    guard = getattr(_current, "guard", None)
    if guard is None:
        raise RuntimeError("connections are only opened inside Fetcher.fetch()")
    return guard


class _GuardedConnection:
    """Mixed into urllib3's connections: connect only to checked addresses, under the fetch's deadline."""

    def _new_conn(self) -> socket.socket:
        guard = _guard()
        hostname = self._dns_host
        error = None
        for address in resolve(hostname, self.port, guard.allow_private, guard.allow_link_local):
            if guard.expired:
                raise guard.error()
            self._dns_host = address  # urllib3 connects to _dns_host; Host, SNI and verification use host names
            try:
                sock = super()._new_conn()
            except (NewConnectionError, ConnectTimeoutError) as e:
                error = e
                continue
            finally:
                self._dns_host = hostname
            guard.watch(sock)
            return sock
        raise error

    def request(self, *args, **kwargs):
        if self.sock is not None:  # a kept-alive connection: its socket serves this fetch now
            _guard().watch(self.sock)
        return super().request(*args, **kwargs)


class _GuardedHTTPConnection(_GuardedConnection, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnection, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """The only transport adapter a Fetcher uses: its connections are guarded (see _GuardedConnection)."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}

    def proxy_manager_for(self, proxy, **kwargs):
        raise MediaError(ErrorCode.INTERNAL_ERROR, "proxies are not supported: they would bypass the address checks")


class Fetcher:
    """Fetches media under a set of Limits (make one per worker).

    Safe to share between threads: each thread gets a requests Session of its own (requests does not
    promise that a Session is thread-safe), all mounted on one guarded adapter whose urllib3 pools are,
    so keep-alive connections are shared; ``connections`` is how many it pools per host.
    ``retries`` counts the transient failures it retried, over its life.
    """

    def __init__(self, limits: Limits, connections: int = DEFAULT_CONNECTIONS):
        self.limits = limits
        self.retries = 0
        self._lock = threading.Lock()
        self._adapter = GuardedAdapter(pool_connections=connections, pool_maxsize=connections)
        self._thread = threading.local()
        self._sessions: list[requests.Session] = []

    @property
    def session(self) -> requests.Session:
        """This thread's session."""
        session = getattr(self._thread, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # no proxies or .netrc credentials picked up from the environment
            session.headers.update({"User-Agent": "MediaLayer/0.1 (+near-duplicate detection)",
                                    "Accept-Encoding": "identity"})  # media is compressed already
            session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))  # no state
            session.adapters.clear()
            for prefix in ("http://", "https://"):
                session.mount(prefix, self._adapter)
            self._thread.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
        self._adapter.close()

    def fetch(self, url: str, media_type: str | None = None) -> Blob:
        """The bytes at ``url``, capped at the byte limit for ``media_type`` (when None: for the type the
        first bytes show)."""
        try:
            scheme = self._allowed_scheme(url)
            cap = _Cap(self.limits, media_type)
            if scheme in HTTP_SCHEMES:
                return self._fetch_http(url, cap)
            if scheme == "file":
                return self._fetch_local(url, cap.bytes)
            return self._fetch_filesystems(url, scheme, cap)
        except MediaError as e:
            raise e.with_url(redact(url))

    def _allowed_scheme(self, url: str) -> str:
        """The URL's scheme, refused unless ``allowed_schemes`` has it (first URL and every redirect hop)."""
        scheme = url_scheme(url, self.limits)
        if scheme not in self.limits.schemes():
            raise MediaError(ErrorCode.UNSUPPORTED_SCHEME,
                             f"URL scheme {scheme!r} is not allowed (allowed_schemes={self.limits.allowed_schemes}; "
                             f"the option --allowed-schemes, e.g. --allowed-schemes {self.limits.allowed_schemes},"
                             f"{scheme}, permits it)")
        return scheme

    def _fetch_local(self, url: str, max_bytes: int) -> Blob:
        path = urllib.request.url2pathname(urllib.parse.urlsplit(url).path) if "://" in url else url
        if not os.path.isfile(path):
            raise MediaError(ErrorCode.FETCH_FAILED, f"no such file: {path}")
        size = os.path.getsize(path)
        if size > max_bytes:
            raise MediaError(ErrorCode.TOO_LARGE, f"{size} bytes exceeds the cap of {max_bytes}")
        return Blob(path=path)  # read in place: no copy of local files

    def _fetch_filesystems(self, url: str, scheme: str, cap: "_Cap") -> Blob:
        from apache_beam.io.filesystems import FileSystems  # Beam is only needed for these schemes

        try:
            FileSystems.get_filesystem(url)
        except ValueError:
            raise MediaError(ErrorCode.UNSUPPORTED_SCHEME, f"no filesystem for URL scheme {scheme!r}") from None
        try:
            stream = FileSystems.open(url, compression_type="uncompressed")
        except Exception as e:
            raise MediaError(ErrorCode.FETCH_FAILED, f"cannot open: {_short(redact(str(e)))}") from None
        deadline = time.monotonic() + self.limits.fetch_deadline
        with stream:
            return _read_capped(_stream_chunks(stream), cap, deadline)

    def _fetch_http(self, url: str, cap: "_Cap") -> Blob:
        with _FetchGuard(self.limits) as guard:
            try:
                blob = self._follow(url, cap, guard)
            except MediaError:
                if guard.expired:  # whatever broke, it broke because the deadline shut the connection
                    raise guard.error() from None
                raise
            if guard.expired:  # the end of a body cut short by the deadline can look like a clean end
                blob.close()
                raise guard.error()
            return blob

    def _follow(self, url: str, cap: "_Cap", guard: _FetchGuard) -> Blob:
        """GET ``url``, following redirects hop by hop; each hop's connection is checked again."""
        seen = {url}
        for hops in itertools.count():
            try:
                location, blob = self._with_retries(lambda: self._get(url, cap, guard), guard)
            except MediaError as e:
                if hops:
                    raise MediaError(e.code, f"{e.message} (after a redirect to {redact(url)})") from None
                raise
            if blob is not None:
                return blob
            if hops == self.limits.max_redirects:
                raise MediaError(ErrorCode.TOO_MANY_REDIRECTS,
                                 f"more than max_redirects={self.limits.max_redirects} redirects")
            try:
                url = urllib.parse.urljoin(url, location)
            except ValueError:
                raise MediaError(ErrorCode.INVALID_URL, "malformed redirect location") from None
            if url in seen:
                raise MediaError(ErrorCode.TOO_MANY_REDIRECTS, f"redirect loop back to {redact(url)}")
            seen.add(url)
            try:
                scheme = self._allowed_scheme(url)
            except MediaError as e:
                raise MediaError(e.code, f"redirect to a refused URL: {e.message}") from None
            if scheme not in HTTP_SCHEMES:
                raise MediaError(ErrorCode.UNSUPPORTED_SCHEME, f"redirect to a {scheme!r} URL")

    def _with_retries(self, attempt, guard: _FetchGuard):
        for retry in itertools.count():
            try:
                return attempt()
            except _Retryable as e:
                if guard.expired:
                    raise guard.error() from None
                delay, why = self._backoff(retry, e.retry_after)
                if delay is not None and delay >= guard.remaining():
                    delay, why = None, "the fetch deadline would pass first"
                if delay is None:
                    message = e.error.message + (f" (after {retry} retries)" if retry else "")
                    raise MediaError(e.error.code, f"{message}; {why}" if why else message) from None
                with self._lock:
                    self.retries += 1
                time.sleep(delay)

    def _backoff(self, retry: int, retry_after: float | None) -> tuple[float | None, str]:
        """Seconds to wait before retry number ``retry + 1``, or None and why not to retry."""
        if retry >= self.limits.max_retries:
            return None, ""
        if retry_after is not None:
            if retry_after > self.limits.retry_backoff_max:
                return None, (f"Retry-After {retry_after:g}s exceeds "
                              f"retry_backoff_max={self.limits.retry_backoff_max:g}s")
            return retry_after, ""
        ceiling = min(self.limits.retry_backoff_max, self.limits.retry_backoff * 2 ** retry)
        return random.uniform(ceiling / 2, ceiling), ""  # exponential, with jitter

    def _get(self, url: str, cap: "_Cap", guard: _FetchGuard) -> tuple[str | None, Blob | None]:
        """One GET: (location, None) for a redirect, (None, blob) for a 2xx body; raises otherwise."""
        response = self._send(url, guard)
        with response:
            status = response.status_code
            if status in _REDIRECT_STATUSES and "location" in response.headers:
                return response.headers["location"], None
            if status == 429 or status >= 500:
                raise _Retryable(MediaError(ErrorCode.HTTP_STATUS, f"HTTP {status}"),
                                 _retry_after(response.headers.get("retry-after")))
            if not 200 <= status < 300:
                raise MediaError(ErrorCode.HTTP_STATUS, f"HTTP {status}")
            declared = response.headers.get("content-length", "").strip()
            if _is_number(declared) and int(declared) > cap.bytes:
                raise MediaError(ErrorCode.TOO_LARGE, f"Content-Length {declared} exceeds the cap of {cap.bytes}")
            return None, _read_capped(_body(response, cap), cap, guard.end)

    def _send(self, url: str, guard: _FetchGuard) -> requests.Response:
        if not isinstance(self.session.get_adapter(url), GuardedAdapter):
            raise MediaError(ErrorCode.INTERNAL_ERROR, "an unguarded transport adapter is mounted on the session")
        remaining = guard.remaining()
        if remaining <= 0:
            raise guard.error()
        try:
            return self.session.get(url, stream=True, allow_redirects=False,
                                    timeout=(min(self.limits.connect_timeout, remaining),
                                             min(self.limits.read_timeout, remaining)))
        except requests.ConnectTimeout:
            raise _Retryable(MediaError(ErrorCode.FETCH_TIMEOUT, "connect timed out")) from None
        except requests.Timeout:
            raise _Retryable(MediaError(ErrorCode.FETCH_TIMEOUT, "read timed out")) from None
        except requests.ConnectionError as e:
            raise _Retryable(MediaError(ErrorCode.FETCH_FAILED, f"connection failed: {_root_cause(e)}")) from None
        except ValueError as e:  # requests' InvalidURL, or a Location it could not parse
            raise MediaError(ErrorCode.INVALID_URL, f"malformed URL or redirect location ({type(e).__name__})") from None
        except requests.RequestException as e:
            raise MediaError(ErrorCode.FETCH_FAILED, f"request failed: {_root_cause(e)}") from None


def _body(response: requests.Response, cap: "_Cap"):
    """The response body, decoded; the bytes on the wire are capped too."""
    raw = response.raw
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity", *_INFLATED_ENCODINGS):
        raise MediaError(ErrorCode.FETCH_FAILED, f"unsupported Content-Encoding {encoding[:40]!r}")
    try:
        chunks = raw.stream(CHUNK_BYTES, decode_content=False)
        wire = _wire_capped(chunks, raw, cap)
        yield from (_inflated(wire) if encoding in _INFLATED_ENCODINGS else wire)
    except ReadTimeoutError:
        raise _Retryable(MediaError(ErrorCode.FETCH_TIMEOUT, "read timed out")) from None
    except (ProtocolError, OSError) as e:
        raise _Retryable(MediaError(ErrorCode.FETCH_FAILED, f"connection broken: {_root_cause(e)}")) from None
    except zlib.error:
        raise MediaError(ErrorCode.FETCH_FAILED, f"corrupt {encoding} content encoding") from None


def _wire_capped(chunks, raw, cap: "_Cap"):
    for chunk in chunks:
        if raw.tell() > cap.bytes:
            raise MediaError(ErrorCode.TOO_LARGE, f"more than the cap of {cap.bytes} bytes on the wire")
        yield chunk


def _inflated(chunks):
    """gzip/zlib data inflated at most CHUNK_BYTES at a time: memory stays bounded, whatever the ratio."""
    decoder = zlib.decompressobj(32 + zlib.MAX_WBITS)  # gzip or zlib header, detected
    for data in chunks:
        while data and not decoder.eof:
            yield decoder.decompress(data, CHUNK_BYTES)
            data = decoder.unconsumed_tail
    yield decoder.flush()
    if not decoder.eof:
        raise zlib.error("truncated stream")


def _stream_chunks(stream):
    """Chunks of a FileSystems stream; a read that fails part way is FETCH_FAILED, not a crash."""
    while True:
        try:
            chunk = stream.read(CHUNK_BYTES)
        except Exception as e:  # filesystem clients raise their own types
            raise MediaError(ErrorCode.FETCH_FAILED, f"read failed: {_short(redact(str(e)))}") from None
        if not chunk:
            return
        yield chunk


def _is_number(text: str) -> bool:
    """ASCII digits only: str.isdigit() also accepts "²", which int() refuses."""
    return text.isascii() and text.isdigit()


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delay-seconds or HTTP-date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if _is_number(value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())


class _Cap:
    """The byte cap of one fetch: the declared media type's, or, when none was declared, the largest one
    until the first SNIFF_BYTES tell the type (content that is no media at all stops right there)."""

    def __init__(self, limits: Limits, media_type: str | None):
        self.limits = limits
        self.bytes = limits.max_bytes(media_type)
        self.sniffing = media_type is None

    def sniff(self, head: bytes) -> None:
        self.bytes = self.limits.max_bytes(sniff_media_type(head[:SNIFF_BYTES]))
        self.sniffing = False


def _read_capped(chunks, cap: _Cap, deadline: float) -> Blob:
    """Collect chunks into a Blob, spooling to disk past SPOOL_BYTES; enforce the byte cap and deadline."""
    buffer, total, spool = [], 0, None
    try:
        for chunk in chunks:
            total += len(chunk)
            if cap.sniffing and total >= SNIFF_BYTES:  # the head is still in buffer: SNIFF_BYTES < SPOOL_BYTES
                cap.sniff(b"".join(buffer) + chunk)
            if total > cap.bytes:
                raise MediaError(ErrorCode.TOO_LARGE, f"more than the cap of {cap.bytes} bytes")
            if time.monotonic() > deadline:
                raise MediaError(ErrorCode.FETCH_TIMEOUT, "fetch deadline passed while reading")
            if spool is None and total > SPOOL_BYTES:
                spool = tempfile.NamedTemporaryFile(dir=scratch_dir(), delete=False)
                spool.writelines(buffer)
                buffer = []
            if spool is not None:
                spool.write(chunk)
            else:
                buffer.append(chunk)
    except BaseException:
        if spool is not None:
            spool.close()
            Blob(path=spool.name, owned=True).close()
        raise
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()  # a generator left early releases its connection now
    if spool is None:
        return Blob(data=b"".join(buffer))
    spool.close()
    return Blob(path=spool.name, owned=True)


def _root_cause(error: BaseException) -> str:
    """The innermost cause of a requests/urllib3 error, which (unlike the outer ones) names no URL."""
    seen = set()
    while id(error) not in seen:
        seen.add(id(error))
        inner = getattr(error, "reason", None) or error.__cause__ or error.__context__
        if not isinstance(inner, BaseException):
            if error.args and isinstance(error.args[0], BaseException):
                inner = error.args[0]
            else:
                break
        error = inner
    return _short(redact(f"{type(error).__name__}: {error}"))


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
