"""Progress of a run, from inside the workers: a live bar on a terminal, periodic log lines elsewhere.

Each worker counts its own items (URLs fingerprinted, pairs compared), their rate, and the ETA from the
units of work it has finished (the keyed groups a stage processes: URL batches, join cells), and how
far it is into the unit in hand when that unit's size is known. ``total_units`` is the run's count of
those units and ``workers`` how many workers share them (the local runner splits every stage's input
evenly over ``--direct_num_workers``), so the ETA is for this worker's share.

With ``bar=True`` (the driver sets it when the job runs in this process and stderr is a terminal) the
workers of one process share a tqdm bar per stage, live from the first item; otherwise a line is logged
every ``interval_s`` seconds (CI logs, Dask or Dataflow workers).
"""
from __future__ import annotations

import logging
import threading
import time

from tqdm import tqdm

log = logging.getLogger(__name__)

INTERVAL_S = 15.0

_bars: dict[str, tqdm] = {}
_bars_lock = threading.Lock()


class Progress:
    def __init__(self, label: str, total_units: int, unit_name: str, workers: int = 1,
                 interval_s: float = INTERVAL_S, clock=time.monotonic, item_name: str = "items",
                 bar: bool = False):
        self.label, self.unit_name, self.interval_s, self.clock = label, unit_name, interval_s, clock
        self.share = max(1.0, total_units / max(1, workers))  # units this worker expects to process
        self.items = self.units = 0
        self.unit_items = self.unit_done = 0  # size of the unit in progress, when known, and items done in it
        self.started = self.last_logged = clock()
        self.bar = _shared_bar(label, item_name) if bar else None

    def start_unit(self, items: int) -> None:
        """A unit of ``items`` items starts: lines also show how far into it this worker is."""
        self.unit_items, self.unit_done = items, 0

    def add(self, items: int = 1, units: int = 0) -> str | None:
        """Count more items and finished units; log (and return) a line when ``interval_s`` has passed."""
        self.items += items
        self.unit_done += items
        self.units += units
        now = self.clock()
        if self.bar is not None:
            self.bar.update(items)
            if units:
                self.bar.set_postfix_str(f"{self.units:,} of ~{self.share:,.0f} {self.unit_name}, "
                                         f"ETA {self.eta(now)}")
            return None
        if now - self.last_logged < self.interval_s:
            return None
        self.last_logged = now
        line = self.line(now)
        log.info("%s", line)
        return line

    def eta(self, now: float) -> str:
        elapsed = max(1e-9, now - self.started)
        return _duration(elapsed / self.units * max(0.0, self.share - self.units)) if self.units else "unknown"

    def line(self, now: float) -> str:
        elapsed = max(1e-9, now - self.started)
        rate = self.items / elapsed
        line = (f"{self.label}: {self.items:,} in {_duration(elapsed)} ({rate:,.1f}/s); "
                f"{self.units:,} of ~{self.share:,.0f} {self.unit_name} for this worker, ETA {self.eta(now)}")
        if self.unit_items and rate > 0:
            left = max(0, self.unit_items - self.unit_done)
            line += f"; current one: {self.unit_done:,} of {self.unit_items:,}, {_duration(left / rate)} left"
        return line


def _shared_bar(label: str, item_name: str) -> tqdm:
    """The bar of a stage, shared by the workers (threads) of this process."""
    with _bars_lock:
        if label not in _bars:
            _bars[label] = tqdm(desc=label, unit=f" {item_name}", position=len(_bars), dynamic_ncols=True,
                                mininterval=0.2, bar_format="{desc}: {n_fmt}{unit} [{elapsed}, {rate_noinv_fmt}]{postfix}")
        return _bars[label]


def close_bars() -> None:
    """End the bars of a finished run (the summary prints below them)."""
    with _bars_lock:
        for bar in _bars.values():
            bar.set_postfix_str("done", refresh=False)  # unit counts are estimates: empty units never arrive
            bar.close()
        _bars.clear()


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{seconds:02d}s" if hours else f"{minutes}m{seconds:02d}s"
