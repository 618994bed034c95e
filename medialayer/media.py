"""Fetched media handed from io to the matchers: bytes in memory, or a local file for large payloads.

Temporary media files live in this process's scratch folder (``scratch_dir()``): removed at exit (or when
the command is stopped, medialayer.stopping), and the folders of processes that died without removing theirs
(SIGKILL, OOM killer) are swept by the next process that makes one. Decoder processes keep theirs inside it
(medialayer.isolation), and so do the pipelines' Beam temp folders (medialayer.pipelines.match_pairs).
"""
from __future__ import annotations

import atexit
import contextlib
import glob
import itertools
import os
import shutil
import tempfile
import threading

MEDIA_TYPES = ("image", "video", "audio")
SCRATCH_PREFIX = "medialayer-"

_scratch: tuple[int, str] | None = None  # (pid, folder): a forked child makes its own
_scratch_lock = threading.Lock()


def scratch_dir() -> str:
    """This process's folder for temporary media files."""
    global _scratch
    with _scratch_lock:
        if _scratch is None or _scratch[0] != os.getpid():
            _sweep_folders_of_dead_processes()
            folder = tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-")
            atexit.register(shutil.rmtree, folder, True)
            _scratch = (os.getpid(), folder)
        return _scratch[1]


def remove_scratch_folders(ended_pids=()) -> None:
    """Remove this process's scratch folder now, and those of the processes ``ended_pids`` (its children,
    just stopped): what a stopped command does instead of waiting for its exit."""
    ours = [_scratch[1]] if _scratch is not None and _scratch[0] == os.getpid() else []
    # Beside ours: tempfile's default may be swapped meanwhile (match_pairs.temp_folders_in).
    root = os.path.dirname(ours[0]) if ours else tempfile.gettempdir()
    theirs = [glob.glob(os.path.join(root, f"{SCRATCH_PREFIX}{pid}-*")) for pid in ended_pids]
    for folder in itertools.chain(ours, *theirs):
        for _ in range(3):  # a thread of ours may still add a file while it goes
            shutil.rmtree(folder, ignore_errors=True)
            if not os.path.exists(folder):
                break


def _sweep_folders_of_dead_processes() -> None:
    for folder in glob.glob(os.path.join(tempfile.gettempdir(), f"{SCRATCH_PREFIX}*-*")):
        pid = os.path.basename(folder)[len(SCRATCH_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # somebody else's process
        return True
    return True


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
        fd, tmp = tempfile.mkstemp(suffix=suffix, dir=scratch_dir())
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(self._data)
            yield tmp
        finally:
            _remove(tmp)

    def close(self) -> None:
        if self._owned and self._path is not None:
            _remove(self._path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _remove(path: str) -> None:
    """Housekeeping never costs a record: a file already gone (its folder swept) is fine."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
