"""The matching graph: each unique URL is fetched and fingerprinted once, then every row is compared.

    rows --(url, ref)--> GroupByKey(url) --FingerprintMedia--> (row_id, (side, MediaResult)) --+
    rows --(row_id, row)---------------------------------------------------------------------+--> GroupByKey(row_id)
         --ComparePairs--> one record per row

Media bytes never cross a stage boundary: fetch, decode and fingerprint happen in one DoFn call.
Flatten + GroupByKey (rather than CoGroupByKey) keeps the graph to primitives every runner has.
"""
from __future__ import annotations

import apache_beam as beam
from apache_beam.metrics import Metrics

from medialayer.io.fetch import Fetcher
from medialayer.limits import Limits
from medialayer.stages import compare_pair, fingerprint_url, for_declared_type

NAMESPACE = "medialayer"
SIDES = ("source", "target")


def media_references(row: dict):
    """(url, (row_id, side, declared media_type)) for both URLs of a valid row."""
    if row.get("error"):
        return
    for side in SIDES:
        yield row[f"{side}_url"], (row["row_id"], side, row["media_type"])


class FingerprintMedia(beam.DoFn):
    """(url, refs) -> (row_id, (side, MediaResult)) for each ref; one fetch and one fingerprint per URL."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.fetches = Metrics.counter(NAMESPACE, "fetches")
        self.fingerprints = Metrics.counter(NAMESPACE, "fingerprints")
        self.media_errors = Metrics.counter(NAMESPACE, "media_errors")
        self.reuses = Metrics.counter(NAMESPACE, "fingerprint_reuses")

    def setup(self):
        self.fetcher = Fetcher(self.limits)  # one HTTP session per worker

    def teardown(self):
        self.fetcher.close()

    def process(self, element):
        url, refs = element
        refs = list(refs)
        result = fingerprint_url(url, {declared for _, _, declared in refs}, self.fetcher)
        self.fetches.inc()
        if result.error is None:
            self.fingerprints.inc()
        else:
            self.media_errors.inc()
        self.reuses.inc(len(refs) - 1)
        for row_id, side, declared in refs:
            yield row_id, (side, for_declared_type(result, declared))


class ComparePairs(beam.DoFn):
    """(row_id, [("row", row), ("source", result), ("target", result)]) -> the row's record."""

    def __init__(self):
        self.records_out = Metrics.counter(NAMESPACE, "records_out")
        self.matches = Metrics.counter(NAMESPACE, "matches")

    def process(self, element):
        _, tagged = element
        parts = dict(tagged)
        record = compare_pair(parts["row"], parts.get("source"), parts.get("target"))
        self.records_out.inc()
        if record["error"] is not None:
            Metrics.counter(NAMESPACE, f"errors_{record['error']['code']}").inc()
        elif record["match"]:
            self.matches.inc()
        yield record


class MatchPairs(beam.PTransform):
    """rows -> records, exactly one per row."""

    def __init__(self, limits: Limits):
        super().__init__()
        self.limits = limits

    def expand(self, rows):
        rows = rows | "CountRows" >> beam.Map(_count_row)
        media = (rows | "References" >> beam.FlatMap(media_references)
                 | "GroupByUrl" >> beam.GroupByKey()
                 | "FingerprintMedia" >> beam.ParDo(FingerprintMedia(self.limits)))
        keyed_rows = rows | "KeyRows" >> beam.Map(lambda row: (row["row_id"], ("row", row)))
        return ((keyed_rows, media) | "Join" >> beam.Flatten()
                | "GroupByRow" >> beam.GroupByKey()
                | "ComparePairs" >> beam.ParDo(ComparePairs()))


_rows_in = Metrics.counter(NAMESPACE, "rows_in")


def _count_row(row: dict) -> dict:
    _rows_in.inc()
    return row
