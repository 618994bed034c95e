"""The closed set of error codes a result record can carry, and the exception that carries one.

Every failure anywhere in MediaLayer is raised as a MediaError with one of these codes and ends up
in the record's ``error`` field as ``{code, message, url}``; nothing else is ever written there.
"""
from __future__ import annotations

import enum


class ErrorCode(str, enum.Enum):
    INVALID_INPUT = "INVALID_INPUT"  # the input row itself is malformed
    INVALID_URL = "INVALID_URL"  # the URL cannot be parsed or is too long
    UNSUPPORTED_SCHEME = "UNSUPPORTED_SCHEME"  # scheme not in the allow-list
    BLOCKED_ADDRESS = "BLOCKED_ADDRESS"  # host resolves to a private/loopback/link-local/... address
    FETCH_FAILED = "FETCH_FAILED"  # connection error, DNS failure, missing file
    FETCH_TIMEOUT = "FETCH_TIMEOUT"  # connect/read timeout or the overall fetch deadline
    HTTP_STATUS = "HTTP_STATUS"  # the server answered with a non-2xx status
    TOO_MANY_REDIRECTS = "TOO_MANY_REDIRECTS"  # redirect limit reached or a redirect loop
    TOO_LARGE = "TOO_LARGE"  # byte, pixel or frame limit exceeded
    DURATION_EXCEEDED = "DURATION_EXCEEDED"  # audio/video longer than the duration cap
    UNSUPPORTED_MEDIA = "UNSUPPORTED_MEDIA"  # not an image, audio or video format we decode
    MEDIA_TYPE_MISMATCH = "MEDIA_TYPE_MISMATCH"  # declared media_type differs from the content, or the two sides differ
    DECODE_FAILED = "DECODE_FAILED"  # corrupt, truncated or undecodable content
    DECODE_TIMEOUT = "DECODE_TIMEOUT"  # decoding or fingerprinting ran past its time limit
    UNAUTHORIZED = "UNAUTHORIZED"  # the service requires an API key and the request had no valid one
    INTERNAL_ERROR = "INTERNAL_ERROR"  # a bug: an unexpected exception, reported rather than crashing the run


class MediaError(Exception):
    """A failure with a code from ErrorCode; ``url`` names the media it concerns, if any."""

    def __init__(self, code: ErrorCode, message: str, url: str | None = None):
        super().__init__(f"{code.value}: {message}")
        self.code = ErrorCode(code)
        self.message = message
        self.url = url

    def with_url(self, url: str | None) -> "MediaError":
        if self.url is None:
            self.url = url
        return self

    def to_dict(self) -> dict:
        return {"code": self.code.value, "message": self.message, "url": self.url}

    def __reduce__(self):  # keep code/message/url when pickled across Beam stages or processes
        return (MediaError, (self.code, self.message, self.url))
