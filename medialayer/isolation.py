"""Decoder isolation: media is decoded and fingerprinted in child processes, so a file that crashes a
native decoder (segfault, abort, the OOM killer) or makes it hang costs that file's record, never the run.

    fingerprint_media(media_type, blob, limits, timer) -> fingerprint        raises MediaError

With ``limits.isolate_decoders`` (the default) the work goes to a process-wide pool of long-lived
decoder processes, shared by every thread of the process (FingerprintMedia's fetch threads, match(),
the service): at most one per CPU, started on demand. Each is a fresh interpreter (spawn semantics,
never a bare fork of a process running Beam's threads) started with ``subprocess``, so unlike
multiprocessing's spawn and forkserver it never re-imports the caller's ``__main__``: a script without
an ``if __name__ == "__main__"`` guard works. A decoder serves one file at a time: the bytes (or the
path of a large file) go over a socket pair and the fingerprint comes back. Fetching stays in the
calling process, so connections are pooled as before and only decoding is timed.

* no answer within ``limits.decode_timeout`` seconds: the decoder is killed and replaced, and the
  file gets DECODE_TIMEOUT;
* the decoder dies while on a file (any signal or exit): it is replaced and the file tried once more on
  the new one (a decoder can die for reasons of its own: the OOM killer picking it for another's memory,
  an operator); a file under which two decoders die gets DECODE_FAILED;
* a decoder that dies while starting is started again, up to START_ATTEMPTS times: that says nothing of
  the file it was started for.

Nothing is left behind: each decoder writes its temporary files into a folder of its own, inside the
parent's scratch folder (medialayer.media), which the parent removes whenever it stops that decoder,
however it ended. Decoders die with their parent, whatever kills it: each asks the kernel for SIGKILL
when its parent thread ends (PR_SET_PDEATHSIG), and all are started from one long-lived thread of the
pool, since a pool thread that ends would otherwise take its decoders with it.

Without isolation the matcher runs in the calling thread: no crash protection and no decode timeout.
The overhead per file and the choice of default are in docs/security.md.
"""
from __future__ import annotations

import atexit
import ctypes
import importlib
import logging
import multiprocessing.connection
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor

from medialayer.errors import ErrorCode, MediaError
from medialayer.limits import Limits
from medialayer.matchers import get_matcher
from medialayer.media import Blob, scratch_dir
from medialayer.work_time import WorkTimer

log = logging.getLogger(__name__)

PIPE_BYTES = 16 * 1024 * 1024  # files up to this size go over the socket; larger ones by path
STARTUP_TIMEOUT = 120.0  # seconds for a new decoder process to import its matchers and say it is ready
START_ATTEMPTS = 3  # starts of a decoder process before giving up
FILE_ATTEMPTS = 2  # decoders a file may see die under it before it is DECODE_FAILED
DEFAULT_DECODE = "medialayer.isolation:decode"  # what a decoder runs, as module:function


def decode(media_type: str, blob: Blob, limits: Limits):
    """The work a decoder does: the media type's matcher fingerprints the blob."""
    return get_matcher(media_type).fingerprint(blob, limits)


def fingerprint_media(media_type: str, blob: Blob, limits: Limits, timer: WorkTimer | None = None,
                      work: str = DEFAULT_DECODE):
    """What ``work`` (module:function, ``decode`` unless told) returns for ``blob``: in a decoder process with
    ``limits.isolate_decoders``, else right here. Time spent waiting for a free decoder is not counted as
    ``timer``'s work."""
    if not limits.isolate_decoders:
        return resolve(work)(media_type, blob, limits)
    return decoder_pool(work).fingerprint(media_type, blob, limits, timer)


def resolve(name: str):
    """The function a module:function name stands for."""
    module, _, function = name.partition(":")
    return getattr(importlib.import_module(module), function)


class DecoderPool:
    """Up to ``size`` decoder processes running ``decode`` (module:function, called as
    ``decode(media_type, blob, limits)``); ``fingerprint`` blocks while all of them are busy."""

    def __init__(self, size: int | None = None, decode: str = DEFAULT_DECODE):
        self.size = size or os.cpu_count() or 1
        self.decode = decode
        self.pid = os.getpid()
        self._idle: list[_Decoder] = []
        self._count = 0
        self._available = threading.Condition()
        # Decoders die with the thread that started them (PR_SET_PDEATHSIG): this one lives as long as the pool.
        self._starter = ThreadPoolExecutor(1, thread_name_prefix="decoder-starter")

    def fingerprint(self, media_type: str, blob: Blob, limits: Limits, timer: WorkTimer | None = None):
        timer = timer or WorkTimer()
        with timer.waiting():  # for a free decoder: other files' work
            decoder = self._acquire()
        try:
            for attempt in range(1, FILE_ATTEMPTS + 1):
                with timer.waiting():  # a new decoder's start-up is not this file's work either
                    decoder.start()
                try:
                    return decoder.run(media_type, blob, limits)
                except DecoderDied:
                    if attempt == FILE_ATTEMPTS:
                        raise
        finally:
            with self._available:
                self._idle.append(decoder)
                self._available.notify()

    def _acquire(self) -> "_Decoder":
        with self._available:
            while not self._idle and self._count >= self.size:
                self._available.wait()
            if self._idle:
                return self._idle.pop()
            self._count += 1
        return _Decoder(self.decode, self._starter)

    def close(self) -> None:
        """Stop the idle decoders (busy ones stop when their process exits)."""
        with self._available:
            idle, self._idle = self._idle, []
            self._count -= len(idle)
        for decoder in idle:
            decoder.stop()


_pools: dict[str, DecoderPool] = {}
_pool_lock = threading.Lock()


def decoder_pool(work: str = DEFAULT_DECODE) -> DecoderPool:
    """The process-wide pool of decoders running ``work`` (a forked copy of this process gets its own)."""
    with _pool_lock:
        pool = _pools.get(work)
        if pool is None or pool.pid != os.getpid():
            pool = _pools[work] = DecoderPool(decode=work)
            atexit.register(pool.close)
        return pool


class DecoderDied(MediaError):
    """The decoder process ended while on a file (DECODE_FAILED once the file has no attempts left)."""


class _Decoder:
    """One decoder process, the socket to it and its scratch folder; replaced after a timeout or a crash."""

    def __init__(self, decode, starter: ThreadPoolExecutor):
        self.decode, self.starter = decode, starter
        self.process = self.conn = self.scratch = None

    def run(self, media_type: str, blob: Blob, limits: Limits):
        if blob.size <= PIPE_BYTES:
            self._send((media_type, blob.read(), limits))
            return self._receive(limits)
        with blob.path() as path:  # a large blob is on disk already (spooled download or local file)
            self._send((media_type, path, limits))
            return self._receive(limits)

    def _send(self, task) -> None:
        if self.process is not None:
            try:
                self.conn.send(task)
                return
            except OSError:  # it died while idle: replace it
                self.stop()
        self._start()
        self.conn.send(task)

    def _receive(self, limits: Limits):
        if not self.conn.poll(limits.decode_timeout):
            self.stop()
            raise MediaError(ErrorCode.DECODE_TIMEOUT,
                             f"decoding took longer than decode_timeout={limits.decode_timeout:g}s; "
                             "the decoder process was stopped")
        try:
            status, value = self.conn.recv()
        except (EOFError, OSError):
            how = _describe_exit(self.stop())
            raise DecoderDied(ErrorCode.DECODE_FAILED,
                              f"the decoder process died ({how}) on this file, {FILE_ATTEMPTS} times: the "
                              "content crashes a native decoder, or decoding it runs out of memory") from None
        if status == "error":
            raise value
        return value

    def start(self) -> None:
        if self.process is None:
            self._start()

    def _start(self) -> None:
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                return self._spawn()
            except MediaError:
                if attempt == START_ATTEMPTS:
                    raise

    def _spawn(self) -> None:
        parent, child = socket.socketpair()
        self.scratch = tempfile.mkdtemp(prefix="decoder-", dir=scratch_dir())
        with child:
            self.process = self.starter.submit(
                subprocess.Popen,
                [sys.executable, "-c", "from medialayer.isolation import _child_main; _child_main()",
                 str(child.fileno()), self.decode, str(os.getpid()), self.scratch],
                pass_fds=[child.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}).result()
        self.conn = multiprocessing.connection.Connection(parent.detach())
        if not self.conn.poll(STARTUP_TIMEOUT) or self._ready() != "ready":
            how = _describe_exit(self.stop())
            raise MediaError(ErrorCode.INTERNAL_ERROR, f"a decoder process failed to start ({how})")

    def _ready(self):
        try:
            return self.conn.recv()
        except (EOFError, OSError):
            return None

    def stop(self) -> int | None:
        """Kill the process (if still running), remove its scratch folder and return its exit status."""
        if self.process is None:
            return None
        self.process.kill()
        try:
            code = self.process.wait(10)
        except subprocess.TimeoutExpired:
            code = None
        self.conn.close()
        shutil.rmtree(self.scratch, ignore_errors=True)
        self.process = self.conn = self.scratch = None
        return code


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "exit status unknown"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _child_main() -> None:
    """Entry point of a decoder process: argv is [socket fd, decode as module:function, parent pid, scratch]."""
    _die_with_parent(int(sys.argv[3]))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent, which stops us
    tempfile.tempdir = sys.argv[4]  # every temporary file of ours, where the parent removes it
    conn = multiprocessing.connection.Connection(int(sys.argv[1]))
    decode_function = resolve(sys.argv[2])
    get_matcher("image")  # import the common matcher now, not on the clock of the first file
    conn.send("ready")
    _serve(conn, decode_function)


def _die_with_parent(parent_pid: int) -> None:
    """SIGKILL this process when the thread that started it ends (Linux); exit now if it already has."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os._exit(1)


def _serve(conn, decode) -> None:
    """(media_type, bytes or path, limits) in, ("ok", fingerprint) or ("error", MediaError) out."""
    while True:
        try:
            media_type, payload, limits = conn.recv()
        except EOFError:  # the parent closed the socket, or is gone
            return
        blob = Blob(data=payload) if isinstance(payload, bytes) else Blob(path=payload)
        try:
            reply = ("ok", decode(media_type, blob, limits))
        except MediaError as e:
            reply = ("error", e)
        except Exception as e:  # a bug or an unforeseen decoder failure: reported, as in-process
            log.exception("unexpected failure fingerprinting %s media", media_type)
            reply = ("error", MediaError(ErrorCode.INTERNAL_ERROR, f"{type(e).__name__}: {e}"))
        try:
            conn.send(reply)
        except Exception as e:  # a fingerprint that cannot be pickled
            conn.send(("error", MediaError(ErrorCode.INTERNAL_ERROR, f"fingerprint not transferable: {e}")))
