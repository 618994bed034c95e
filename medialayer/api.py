"""The single-pair call: the same stage functions as the pipeline, with no pipeline started."""
from __future__ import annotations

import collections
import dataclasses

from medialayer.io.fetch import Fetcher
from medialayer.limits import DEFAULT_LIMITS, Limits
from medialayer.record import make_row
from medialayer.stages import compare_pair, fingerprint_url, for_declared_type


def match(source_url: str, target_url: str, media_type: str | None = None, *, pair_id: str | None = None,
          limits: Limits = DEFAULT_LIMITS, allow_private_networks: bool | None = None) -> dict:
    """Compare two media URLs and return the result record the pipeline would write for that row."""
    if allow_private_networks is not None:
        limits = dataclasses.replace(limits, allow_private_networks=allow_private_networks)
    row = make_row({"source_url": source_url, "target_url": target_url, "media_type": media_type,
                    "pair_id": pair_id})
    if row["error"]:
        return compare_pair(row, None, None)
    fetcher = Fetcher(limits)
    try:
        urls = collections.Counter((row["source_url"], row["target_url"]))  # one fetch when both are the same
        results = {url: dataclasses.replace(fingerprint_url(url, {row["media_type"]}, fetcher), references=n)
                   for url, n in urls.items()}
    finally:
        fetcher.close()
    return compare_pair(row, for_declared_type(results[row["source_url"]], row["media_type"]),
                        for_declared_type(results[row["target_url"]], row["media_type"]))
