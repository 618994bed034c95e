"""Fetching media bytes from http(s), local paths / file:// and Beam FileSystems (gs://, s3://, ...).

Every limit is enforced on the bytes actually read, never on what a server claims. Failures are
raised as MediaError with a code from medialayer.errors.
"""
from __future__ import annotations

import ipaddress
import os
import socket
import tempfile
import time
import urllib.parse
import urllib.request

import requests

from medialayer.errors import ErrorCode, MediaError
from medialayer.limits import Limits
from medialayer.media import Blob

HTTP_SCHEMES = ("http", "https")
CHUNK_BYTES = 256 * 1024
SPOOL_BYTES = 16 * 1024 * 1024  # larger downloads go to a temporary file instead of memory
_REDIRECT_STATUSES = (301, 302, 303, 307, 308)


def redact(url: str) -> str:
    """The URL without any user:password part, for messages and outputs."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def url_scheme(url: str, limits: Limits) -> str:
    """Validate the URL's shape and return its scheme ("file" for plain paths)."""
    if not isinstance(url, str) or not url.strip():
        raise MediaError(ErrorCode.INVALID_URL, "empty URL")
    if len(url) > limits.max_url_length:
        raise MediaError(ErrorCode.INVALID_URL, f"URL longer than max_url_length={limits.max_url_length}")
    if "://" not in url:
        return "file"
    scheme = url.split("://", 1)[0].lower()
    if scheme in HTTP_SCHEMES:
        try:
            parts = urllib.parse.urlsplit(url)
            parts.port  # raises ValueError on a malformed port
        except ValueError as e:
            raise MediaError(ErrorCode.INVALID_URL, f"malformed URL: {e}") from None
        if not parts.hostname:
            raise MediaError(ErrorCode.INVALID_URL, "URL has no host")
    return scheme


def check_address(host: str, port: int, limits: Limits) -> None:
    """Refuse hosts that resolve to loopback, private, link-local or otherwise non-public addresses."""
    if limits.allow_private_networks:
        return
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as e:
        raise MediaError(ErrorCode.FETCH_FAILED, f"cannot resolve host {host!r}: {e}") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if not address.is_global or address.is_multicast:
            raise MediaError(ErrorCode.BLOCKED_ADDRESS,
                             f"host {host!r} resolves to non-public address {address} "
                             "(use --allow-private-networks to permit)")


class Fetcher:
    """Fetches media under a set of Limits; holds one HTTP session (make one per worker)."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "MediaLayer/0.1 (+near-duplicate detection)"
        self.session.trust_env = False  # no proxies or .netrc credentials picked up from the environment

    def close(self) -> None:
        self.session.close()

    def fetch(self, url: str, media_type: str | None = None) -> Blob:
        """The bytes at ``url``, capped at the byte limit for ``media_type`` (the largest cap if unknown)."""
        try:
            scheme = url_scheme(url, self.limits)
            max_bytes = self.limits.max_bytes(media_type)
            if scheme in HTTP_SCHEMES:
                return self._fetch_http(url, max_bytes)
            if scheme == "file":
                return self._fetch_local(url, max_bytes)
            return self._fetch_filesystems(url, scheme, max_bytes)
        except MediaError as e:
            raise e.with_url(redact(url))

    def _fetch_local(self, url: str, max_bytes: int) -> Blob:
        path = urllib.request.url2pathname(urllib.parse.urlsplit(url).path) if url.startswith("file://") else url
        if not os.path.isfile(path):
            raise MediaError(ErrorCode.FETCH_FAILED, f"no such file: {path}")
        size = os.path.getsize(path)
        if size > max_bytes:
            raise MediaError(ErrorCode.TOO_LARGE, f"{size} bytes exceeds the cap of {max_bytes}")
        return Blob(path=path)  # read in place: no copy of local files

    def _fetch_filesystems(self, url: str, scheme: str, max_bytes: int) -> Blob:
        from apache_beam.io.filesystems import FileSystems  # Beam is only needed for these schemes

        try:
            FileSystems.get_filesystem(url)
        except ValueError:
            raise MediaError(ErrorCode.UNSUPPORTED_SCHEME, f"unsupported URL scheme {scheme!r}") from None
        try:
            stream = FileSystems.open(url, compression_type="uncompressed")
        except Exception as e:
            raise MediaError(ErrorCode.FETCH_FAILED, f"cannot open: {e}") from None
        deadline = time.monotonic() + self.limits.fetch_deadline
        with stream:
            return _read_capped(iter(lambda: stream.read(CHUNK_BYTES), b""), max_bytes, deadline)

    def _fetch_http(self, url: str, max_bytes: int) -> Blob:
        deadline = time.monotonic() + self.limits.fetch_deadline
        seen = set()
        for _ in range(self.limits.max_redirects + 1):
            seen.add(url)
            response = self._request(url, deadline)
            if response.status_code in _REDIRECT_STATUSES and "location" in response.headers:
                response.close()
                url = urllib.parse.urljoin(url, response.headers["location"])
                if url in seen:
                    raise MediaError(ErrorCode.TOO_MANY_REDIRECTS, "redirect loop")
                if url_scheme(url, self.limits) not in HTTP_SCHEMES:
                    raise MediaError(ErrorCode.UNSUPPORTED_SCHEME, "redirect to a non-http(s) URL")
                continue
            with response:
                if not 200 <= response.status_code < 300:
                    raise MediaError(ErrorCode.HTTP_STATUS, f"HTTP {response.status_code}")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise MediaError(ErrorCode.TOO_LARGE,
                                     f"Content-Length {declared} exceeds the cap of {max_bytes}")
                return _read_capped(_timed_chunks(response, deadline), max_bytes, deadline)
        raise MediaError(ErrorCode.TOO_MANY_REDIRECTS, f"more than max_redirects={self.limits.max_redirects}")

    def _request(self, url: str, deadline: float) -> requests.Response:
        parts = urllib.parse.urlsplit(url)
        check_address(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), self.limits)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise MediaError(ErrorCode.FETCH_TIMEOUT, f"fetch deadline of {self.limits.fetch_deadline}s passed")
        try:
            return self.session.get(url, stream=True, allow_redirects=False,
                                    timeout=(min(self.limits.connect_timeout, remaining),
                                             min(self.limits.read_timeout, remaining)))
        except requests.Timeout as e:
            raise MediaError(ErrorCode.FETCH_TIMEOUT, f"timed out: {type(e).__name__}") from None
        except requests.RequestException as e:
            raise MediaError(ErrorCode.FETCH_FAILED, f"{type(e).__name__}: {_short(e)}") from None


def _timed_chunks(response: requests.Response, deadline: float):
    try:
        yield from response.iter_content(CHUNK_BYTES)  # decodes gzip/deflate: the cap counts decoded bytes
    except requests.exceptions.ConnectionError as e:
        if "timed out" in str(e).lower():
            raise MediaError(ErrorCode.FETCH_TIMEOUT, "read timed out") from None
        raise MediaError(ErrorCode.FETCH_FAILED, f"connection broken: {_short(e)}") from None
    except requests.RequestException as e:
        raise MediaError(ErrorCode.FETCH_FAILED, f"{type(e).__name__}: {_short(e)}") from None


def _read_capped(chunks, max_bytes: int, deadline: float) -> Blob:
    """Collect chunks into a Blob, spooling to disk past SPOOL_BYTES; enforce the byte cap and deadline."""
    buffer, total, spool = [], 0, None
    try:
        for chunk in chunks:
            total += len(chunk)
            if total > max_bytes:
                raise MediaError(ErrorCode.TOO_LARGE, f"more than the cap of {max_bytes} bytes")
            if time.monotonic() > deadline:
                raise MediaError(ErrorCode.FETCH_TIMEOUT, "fetch deadline passed while reading")
            if spool is None and total > SPOOL_BYTES:
                spool = tempfile.NamedTemporaryFile(prefix="medialayer-", delete=False)
                spool.writelines(buffer)
                buffer = []
            if spool is not None:
                spool.write(chunk)
            else:
                buffer.append(chunk)
    except BaseException:
        if spool is not None:
            spool.close()
            os.unlink(spool.name)
        raise
    if spool is None:
        return Blob(data=b"".join(buffer))
    spool.close()
    return Blob(path=spool.name, owned=True)


def _short(error: Exception, limit: int = 200) -> str:
    text = str(error)
    return text if len(text) <= limit else text[:limit] + "..."
