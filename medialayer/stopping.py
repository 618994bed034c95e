"""A command stopped by SIGTERM or SIGINT (Ctrl-C) ends within moments, says so in one line on stderr,
exits with status 128 + the signal (143, 130) and leaves nothing behind: no child process, no temp folder.

Python's own exit (``sys.exit``, KeyboardInterrupt) cannot promise that: it waits for every non-daemon
thread first, and Beam's worker threads and the fetch threads may be blocked on a server that never
answers, until their fetch deadline. So the handler cleans up itself and then ends the process at once
(``os._exit``, which runs no ``finally`` or ``atexit``): it kills every process it started, with their own
children (decoders, Beam's worker processes and theirs), and removes its scratch folder, which holds
the decoders' folders and Beam's temp folders of the run, and the scratch folders of the processes it
just killed (medialayer.media).
"""
from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from pathlib import Path

from medialayer import media

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextlib.contextmanager
def stopped_cleanly():
    """Inside the block, SIGTERM and SIGINT stop the process as the module says; the previous handlers come
    back after it (a command called in-process, as the tests do). Signals reach only the main thread: on any
    other, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _stop) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stop(signum: int, _frame) -> None:
    for sig in STOP_SIGNALS:  # a second Ctrl-C must not cut the cleanup short
        signal.signal(sig, signal.SIG_IGN)
    status = 128 + signum
    with contextlib.suppress(Exception):  # output already printed reaches its reader
        sys.stdout.flush()
    # The one line said at the end is the last: Beam's threads would log the end of the worker processes
    # killed here while the process exits.
    stderr = os.dup(2)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
    started = descendants(os.getpid())
    for pid in started:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _wait_until_ended(started)
    media.remove_scratch_folders(started)
    # os.write, not print: the main thread may have been stopped in the middle of a print of its own.
    os.write(stderr, f"\nStopped by {signal.Signals(signum).name} (exit status {status}): child processes "
                     "ended, temp folders removed.\n".encode())
    os._exit(status)


def _wait_until_ended(pids: list[int], seconds: float = 5.0) -> None:
    """Until each process has ended (it writes no more files); ours are reaped, the others (children of
    init by then) count as ended once they are zombies."""
    end = time.monotonic() + seconds
    running = list(pids)
    while running and time.monotonic() < end:
        ended = [pid for pid in running if _state(pid) in (None, "Z", "X")]
        for pid in ended:
            with contextlib.suppress(ChildProcessError):  # not ours, or gone
                os.waitpid(pid, 0)  # a zombie: at once
        running = [pid for pid in running if pid not in ended]
        time.sleep(0.01)


def _state(pid: int) -> str | None:
    """A process's state letter (R, S, D, Z, ...), None once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def descendants(pid: int) -> list[int]:
    """The processes ``pid`` started, and theirs, from /proc (Linux; none elsewhere): Beam's worker
    processes run under a shell, their decoders under them."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):  # the process ended while we looked
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, pending = [], list(children.get(pid, []))
    while pending:
        child = pending.pop()
        found.append(child)
        pending += children.get(child, [])
    return found
