"""Time worked on one item, as ``processing_time_ms`` reports it: wall time less the time spent waiting
for a shared resource (a free decoder process), which is other items' work, not this one's."""
from __future__ import annotations

import contextlib
import time


class WorkTimer:
    def __init__(self):
        self.started = time.perf_counter()
        self.waited = 0.0

    @contextlib.contextmanager
    def waiting(self):
        """Time inside this block is not counted as work."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.waited += time.perf_counter() - start

    @property
    def ms(self) -> float:
        return (time.perf_counter() - self.started - self.waited) * 1000.0
