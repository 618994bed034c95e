"""Periodic progress lines for long runs: items done, rate and ETA, logged from inside the workers.

Each worker logs its own progress: items done (URLs, pairs) and their rate, the ETA from the units of
work it has finished (the keyed groups a stage processes: URL batches, join cells), and how far it is
into the unit in hand when that unit's size is known. ``total_units``
is the run's count of those units and ``workers`` how many workers share them (the local runner splits
every stage's input evenly over ``--direct_num_workers``), so the ETA is for this worker's share.
"""
from __future__ import annotations

import logging
import time

log = logging.getLogger(__name__)

INTERVAL_S = 30.0


class Progress:
    def __init__(self, label: str, total_units: int, unit_name: str, workers: int = 1,
                 interval_s: float = INTERVAL_S, clock=time.monotonic):
        self.label, self.unit_name, self.interval_s, self.clock = label, unit_name, interval_s, clock
        self.share = max(1.0, total_units / max(1, workers))  # units this worker expects to process
        self.items = self.units = 0
        self.unit_items = self.unit_done = 0  # size of the unit in progress, when known, and items done in it
        self.started = self.last_logged = clock()

    def start_unit(self, items: int) -> None:
        """A unit of ``items`` items starts: lines also show how far into it this worker is."""
        self.unit_items, self.unit_done = items, 0

    def add(self, items: int = 1, units: int = 0) -> str | None:
        """Count more items and finished units; log (and return) a line when ``interval_s`` has passed."""
        self.items += items
        self.unit_done += items
        self.units += units
        now = self.clock()
        if now - self.last_logged < self.interval_s:
            return None
        self.last_logged = now
        line = self.line(now)
        log.info("%s", line)
        return line

    def line(self, now: float) -> str:
        elapsed = max(1e-9, now - self.started)
        eta = (_duration(elapsed / self.units * max(0.0, self.share - self.units)) if self.units
               else "unknown")
        rate = self.items / elapsed
        line = (f"{self.label}: {self.items:,} in {_duration(elapsed)} ({rate:,.1f}/s); "
                f"{self.units:,} of ~{self.share:,.0f} {self.unit_name} for this worker, ETA {eta}")
        if self.unit_items and rate > 0:
            left = max(0, self.unit_items - self.unit_done)
            line += f"; current one: {self.unit_done:,} of {self.unit_items:,}, {_duration(left / rate)} left"
        return line


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{seconds:02d}s" if hours else f"{minutes}m{seconds:02d}s"
