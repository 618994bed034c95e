"""What the commands show on the console: logging set up before Beam is imported, exit statuses.

Exit statuses of every ``medialayer`` subcommand and of ``run_local.py`` (the README lists them):
"""
from __future__ import annotations

import logging
import os

OK = 0  # the job completed and at least one row has a result (a match or not)
FAILED = 1  # unusable input files or options (said before any work), or the run itself failed
USAGE = 2  # the command line could not be parsed (argparse's own status)
NO_RESULTS = 3  # the job completed, but every row is an error record
NO_ROWS = 4  # the input held no rows
# 128 + the signal (143 SIGTERM, 130 SIGINT): stopped, nothing left behind (medialayer.stopping)

# Logged by Beam's optional GCP client modules at import time; they are not used here.
_BEAM_IMPORT_NOISE = ("apitools not found",)


def setup_logging(level: int = logging.WARNING) -> None:
    """Configure logging before the first ``import apache_beam`` (whose import-time warnings would
    otherwise configure the root logger themselves) and drop Beam's notes about optional GCP clients."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().addFilter(
        lambda record: not any(record.getMessage().startswith(text) for text in _BEAM_IMPORT_NOISE))
    logging.getLogger("medialayer.progress").setLevel(logging.INFO)  # progress lines when not on a terminal


def exit_status(rows: int, errors: int) -> int:
    if rows == 0:
        return NO_ROWS
    return NO_RESULTS if errors >= rows else OK


def by_code(errors_by_code: dict) -> str:
    """" (CODE: n, ...)" after an error count, or nothing when there were none."""
    return " (" + ", ".join(f"{code}: {n:,}" for code, n in errors_by_code.items()) + ")" if errors_by_code else ""


def verdict(rows: int, errors: int, what: str) -> str | None:
    """The loud last line of a summary when the run produced no result, saying why that often happens."""
    status = exit_status(rows, errors)
    if status == NO_ROWS:
        return f"NOTHING TO DO: the input held no {what} (exit status {NO_ROWS})."
    if status == NO_RESULTS:
        return (f"NO RESULTS: every one of the {rows:,} {what} is an error (exit status {NO_RESULTS}). Local paths "
                f"in an input file resolve against the working directory, here {os.getcwd()}.")
    return None
