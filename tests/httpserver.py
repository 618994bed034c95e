"""A real HTTP server on 127.0.0.1 for tests, with scriptable (and hostile) routes.

    with LoopbackServer() as server:
        server.route("/a.png", serve(png_bytes))
        server.route("/drip", drip(b"x" * 100, interval=0.2))
        server.url("/a.png")             # http://127.0.0.1:<port>/a.png
        server.requests                  # [(path, headers), ...] in arrival order

Binds 127.0.0.1 only, on a free port; every handler loop is bounded and stops when the server does.
Responses are HTTP/1.0 unless a handler says otherwise, so each request is its own connection.
"""
from __future__ import annotations

import http.server
import socket
import threading
import time
import urllib.parse
import zlib

import pytest
import urllib3.util.connection


class _Handler(http.server.BaseHTTPRequestHandler):
    server: "_Server"

    def do_GET(self):  # noqa: N802 (http.server's naming)
        path = urllib.parse.urlsplit(self.path).path
        with self.server.lock:
            self.server.requests.append((self.path, dict(self.headers)))
        handler = self.server.routes.get(path)
        if handler is None:
            self.send_error(404)
            return
        try:
            handler(self)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up: fine
            pass

    def log_message(self, *args):  # keep test output quiet
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict = {}
        self.requests: list = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()


class LoopbackServer:
    def __init__(self):
        self._server = _Server()
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def __enter__(self) -> "LoopbackServer":
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def requests(self) -> list:
        with self._server.lock:
            return list(self._server.requests)

    def hits(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if urllib.parse.urlsplit(p).path == path)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def route(self, path: str, handler) -> str:
        """Serve ``path`` with ``handler(request_handler)``; returns the path's URL."""
        self._server.routes[path] = handler
        return self.url(path)


class DripTCPServer:
    """Raw TCP on 127.0.0.1: every connection gets ``first``, then one more byte every ``interval`` seconds
    (at most ``count``), whatever it sends: e.g. a TLS handshake record that never completes."""

    def __init__(self, first: bytes, interval: float, count: int = 10_000):
        self.first, self.interval, self.count = first, interval, count
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def port(self) -> int:
        return self._listener.getsockname()[1]

    def __enter__(self) -> "DripTCPServer":
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)
        self._listener.close()

    def _accept(self):
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn):
        with conn:
            try:
                conn.sendall(self.first)
                for _ in range(self.count):
                    if self._stop.wait(self.interval):
                        return
                    conn.sendall(b"\0")
            except OSError:  # the client hung up
                pass


# Handlers: each returns a function of the BaseHTTPRequestHandler serving one request.

def free_port() -> int:
    """A loopback port nothing listens on (free when asked: for a server to start, or a refused connection)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(body: bytes, status: int = 200, headers: dict | None = None, content_length: int | None = None):
    """A fixed response; ``content_length`` overrides the true length (a lying header)."""
    def handler(h):
        h.send_response(status)
        h.send_header("Content-Length", str(len(body) if content_length is None else content_length))
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(body)
    return handler


def redirect(location: str, status: int = 302):
    return serve(b"", status, {"Location": location})


def sequence(*handlers):
    """The first request gets handlers[0], the next handlers[1], ...; the last one repeats."""
    calls = iter(range(10**9))

    def handler(h):
        handlers[min(next(calls), len(handlers) - 1)](h)
    return handler


def drip(body: bytes, interval: float, content_length: bool = True):
    """Send the headers, then the body one byte every ``interval`` seconds."""
    def handler(h):
        h.send_response(200)
        if content_length:
            h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        for byte in body:
            if h.server.stopping.is_set():
                return
            h.wfile.write(bytes([byte]))
            h.wfile.flush()
            time.sleep(interval)
    return handler


def drip_headers(interval: float, count: int = 1000):
    """A status line, then one header byte every ``interval`` seconds (a slowloris in reverse)."""
    def handler(h):
        h.wfile.write(b"HTTP/1.0 200 OK\r\nX-Slow: ")
        for _ in range(count):
            if h.server.stopping.is_set():
                return
            h.wfile.write(b"a")
            h.wfile.flush()
            time.sleep(interval)
    return handler


def endless(chunk: bytes = b"\0" * 65536, limit: int = 256 * 1024 * 1024, chunked: bool = False,
            content_length: int | None = None):
    """Stream ``chunk`` until the client stops reading (or ``limit`` bytes): no or a lying Content-Length,
    or chunked transfer encoding (then HTTP/1.1)."""
    def handler(h):
        if chunked:
            h.protocol_version = "HTTP/1.1"
        h.send_response(200)
        if chunked:
            h.send_header("Transfer-Encoding", "chunked")
            h.send_header("Connection", "close")
        if content_length is not None:
            h.send_header("Content-Length", str(content_length))
        h.end_headers()
        sent = 0
        while sent < limit and not h.server.stopping.is_set():
            h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            sent += len(chunk)
        if chunked:
            h.wfile.write(b"0\r\n\r\n")
    return handler


def gzip_bomb(decoded_bytes: int) -> bytes:
    """``decoded_bytes`` zeros, gzipped (about 1000:1), compressed a MiB at a time."""
    encoder = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1 << 20)
    parts = [encoder.compress(block[:min(len(block), decoded_bytes - done)])
             for done in range(0, decoded_bytes, len(block))]
    return b"".join(parts) + encoder.flush()


@pytest.fixture
def loopback_only(monkeypatch):
    """A safety net for network tests: any connection to an address other than 127.0.0.1 is refused and
    fails the test, so a broken guard can never reach a real host (169.254.169.254 included)."""
    outside = []
    real = urllib3.util.connection.create_connection

    def create_connection(address, *args, **kwargs):
        if address[0] != "127.0.0.1":
            outside.append(address)
            raise OSError(f"test safety net: refused a connection to {address}")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", create_connection)
    yield outside
    assert not outside, f"the fetcher tried to connect outside 127.0.0.1: {outside}"


@pytest.fixture
def loopback_stands_for_public(monkeypatch):
    """The address policy as it is, except that 127.0.0.1 (that one address only) passes: the test server
    stands for a public host, while every other non-public address, other loopback ones included, is refused."""
    import medialayer.io.fetch as fetch

    policy = fetch.blocked_reason
    monkeypatch.setattr(fetch, "blocked_reason", lambda address: None if str(address) == "127.0.0.1"
                        else policy(address))
