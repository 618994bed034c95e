"""Fetched media handed from io to the matchers: bytes in memory, or a local file for large payloads."""
from __future__ import annotations

import contextlib
import os
import tempfile

MEDIA_TYPES = ("image", "video", "audio")


class Blob:
    """The bytes of one fetched media file.

    Small payloads live in memory; large ones (and local files, which are never copied) live on disk.
    Matchers that need a path (video and audio decoders) call ``path()``; the others call ``read()``.
    """

    def __init__(self, *, data: bytes | None = None, path: str | None = None, owned: bool = False):
        if (data is None) == (path is None):
            raise ValueError("a Blob holds either data or a path")
        self._data = data
        self._path = path
        self._owned = owned  # a temporary file of ours, deleted by close()

    @property
    def size(self) -> int:
        return len(self._data) if self._data is not None else os.path.getsize(self._path)

    def head(self, n: int = 4096) -> bytes:
        if self._data is not None:
            return self._data[:n]
        with open(self._path, "rb") as f:
            return f.read(n)

    def read(self) -> bytes:
        if self._data is not None:
            return self._data
        with open(self._path, "rb") as f:
            return f.read()

    @contextlib.contextmanager
    def path(self, suffix: str = ""):
        """A filesystem path holding the bytes, valid inside the ``with`` block."""
        if self._path is not None:
            yield self._path
            return
        fd, tmp = tempfile.mkstemp(prefix="medialayer-", suffix=suffix)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(self._data)
            yield tmp
        finally:
            os.unlink(tmp)

    def close(self) -> None:
        if self._owned and self._path is not None and os.path.exists(self._path):
            os.unlink(self._path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
