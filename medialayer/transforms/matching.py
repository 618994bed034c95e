"""The matching graph: each unique URL is fetched and fingerprinted once, and its fingerprint is shipped
once per join cell that needs it, never once per pair.

    rows --(batch, (url, (cell, declared)))--> GroupByKey(batch) --FingerprintMedia-->
                                                          (cell, ("media", (url, MediaResult))) --+
    rows --(cell, ("row", row))---------------------------------------------------------------------+
         --> GroupByKey(cell) --ComparePairs--> one record per row

Join cells: every URL hashes into one of ``blocks`` blocks, and a pair belongs to the cell of its two
blocks (unordered). A URL's fingerprint therefore crosses the shuffle at most ``blocks`` times (at most
once per pair referencing it, when it is referenced rarely), so the shuffled volume is bounded by
``unique URLs x blocks x fingerprint size`` instead of ``pairs x 2 x fingerprint size``; a cell holds the
fingerprints of at most two blocks (about ``2 / blocks`` of all unique media) in memory while its rows
stream past. More blocks: more parallelism in the compare step and less memory per cell, more shuffling.

Media bytes never cross a stage boundary: fetch, decode and fingerprint happen in one DoFn call. URLs
are grouped into ``fetch_batches`` batches by a hash of the URL; a batch's unique URLs are fingerprinted
on a pool of ``fetch_concurrency`` threads (network-bound fetches overlap).

Only Create, ParDo, GroupByKey and Flatten, no side inputs, and DoFns that emit only from ``process``:
the graph runs unchanged on the Dask runner, which supports nothing else.
"""
from __future__ import annotations

import dataclasses
import hashlib
from concurrent.futures import ThreadPoolExecutor

import apache_beam as beam
from apache_beam.metrics import Metrics

from medialayer.errors import ErrorCode, MediaError
from medialayer.io.fetch import Fetcher, redact
from medialayer.limits import Limits
from medialayer.previews import preview_record
from medialayer.progress import Progress
from medialayer.stages import MediaResult, RecentComparisons, compare_pair, fingerprint_url, for_declared_type

NAMESPACE = "medialayer"
DEFAULT_BLOCKS = 8  # join blocks on distributed runners
DEFAULT_FETCH_CONCURRENCY = 8
DEFAULT_FETCH_BATCHES = 256
SIDES = ("source", "target")
PREVIEWS = "previews"  # FingerprintMedia's second output when asked for previews (medialayer.previews)


def url_block(url: str, blocks: int) -> int:
    """A stable block for a URL, the same in every process (unlike ``hash()``). A real hash, not a CRC:
    the low bits of a CRC are linear, so URLs differing in one character (img1_a.jpg, img1_b.jpg) would
    always land a fixed distance apart and crowd a few join cells."""
    digest = hashlib.blake2b(url.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little") % blocks


def join_cell(row: dict, blocks: int) -> int:
    """The join cell of a row: its two URLs' blocks, unordered. Invalid rows all go to cell 0."""
    if row.get("error"):
        return 0
    low, high = sorted(url_block(row[f"{side}_url"], blocks) for side in SIDES)
    return low * blocks + high


def media_references(row: dict, blocks: int):
    """(url, (cell, declared media_type)) for both URLs of a valid row."""
    if row.get("error"):
        return
    cell = join_cell(row, blocks)
    for side in SIDES:
        yield row[f"{side}_url"], (cell, row["media_type"])


class FingerprintMedia(beam.DoFn):
    """(batch, [(url, (cell, declared)), ...]) -> (cell, ("media", (url, MediaResult))) once per distinct cell;
    with ``previews``, also each media file's report preview (a PREVIEW_SCHEMA row) to the PREVIEWS output.

    One fetch and one fingerprint per URL, on a pool of ``concurrency`` threads per worker so that slow
    fetches overlap. URLs arrive grouped into batches (by a hash of the URL) so that every result is
    emitted from ``process`` (some runners, Dask among them, drop what ``finish_bundle`` emits).
    """

    def __init__(self, limits: Limits, concurrency: int = DEFAULT_FETCH_CONCURRENCY, batches: int = 1,
                 workers: int = 1, progress_bar: bool = False, previews: bool = False):
        self.limits, self.concurrency, self.batches, self.workers = limits, max(1, concurrency), batches, workers
        self.progress_bar, self.previews = progress_bar, previews
        self.fetches = Metrics.counter(NAMESPACE, "fetches")
        self.fingerprints = Metrics.counter(NAMESPACE, "fingerprints")
        self.media_errors = Metrics.counter(NAMESPACE, "media_errors")
        self.reuses = Metrics.counter(NAMESPACE, "fingerprint_reuses")
        self.retries = Metrics.counter(NAMESPACE, "fetch_retries")

    def setup(self):
        # One HTTP session per worker, shared by the pool's threads.
        self.fetcher = Fetcher(self.limits, connections=self.concurrency)
        self.retries_counted = 0
        self.pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="fingerprint")
        self.progress = Progress("media fingerprinted", self.batches, "URL batches", self.workers,
                                 item_name="URLs", bar=self.progress_bar)

    def teardown(self):
        self.pool.shutdown(wait=True)
        self.fetcher.close()

    def process(self, element):
        _, references = element
        urls = {}  # url -> [cells, declared media types, reference count]
        for url, (cell, media_type) in references:
            cells, declared, _ = entry = urls.setdefault(url, [set(), set(), 0])
            cells.add(cell)
            declared.add(media_type)
            entry[2] += 1
        self.progress.start_unit(len(urls))
        results = self.pool.map(lambda item: fingerprint_url(item[0], item[1][1], self.fetcher, self.previews),
                                urls.items())
        for (url, (cells, _, references)), result in zip(urls.items(), results):
            self.fetches.inc()
            if result.error is None:
                self.fingerprints.inc()
            else:
                self.media_errors.inc()
            self.reuses.inc(references - 1)
            self.progress.add()
            if result.preview is not None:  # to the report's previews output, not through the join
                yield beam.pvalue.TaggedOutput(PREVIEWS, preview_record(url, result.media_type, result.preview))
            result = dataclasses.replace(result, references=references, preview=None)  # work shared by these rows
            for cell in cells:
                yield cell, ("media", (url, result))
        self.retries.inc(self.fetcher.retries - self.retries_counted)  # counters only count on this thread
        self.retries_counted = self.fetcher.retries
        self.progress.add(0, units=1)


def missing_result(url: str) -> MediaResult:
    """What a row gets if its URL's result never reached its join cell: an error record, not a failed bundle
    (the run's count check still holds, and the record says what went wrong)."""
    error = MediaError(ErrorCode.INTERNAL_ERROR, "the fingerprint of this URL did not reach the compare step",
                       redact(url))
    return MediaResult(url, None, error=error)


class ComparePairs(beam.DoFn):
    """(cell, [("media", (url, result)) ..., ("row", row) ...]) -> one record per row of the cell.

    Two passes over the grouped values (a re-iterable): the cell's fingerprints are collected first, then
    its rows stream past them, so this DoFn holds only fingerprints (and its recent comparisons: rows that
    repeat a pair land in one cell and are compared once); on runners that page large groups in
    (Dataflow, Flink, Spark) a cell's rows are never all in memory. Beam's local runner hands the group
    over as a list.
    """

    def __init__(self, cells: int = 1, workers: int = 1, progress_bar: bool = False):
        self.cells, self.workers, self.progress_bar = cells, workers, progress_bar
        self.records_out = Metrics.counter(NAMESPACE, "records_out")
        self.matches = Metrics.counter(NAMESPACE, "matches")

    def setup(self):
        self.progress = Progress("pairs compared", self.cells, "join cells", self.workers, item_name="pairs",
                                 bar=self.progress_bar)

    def process(self, element):
        _, values = element
        media = {url: result for kind, (url, result) in (value for value in values if value[0] == "media")}
        if isinstance(values, (list, tuple)):  # the size is known without reading a lazy iterable
            self.progress.start_unit(len(values) - len(media))
        recent = RecentComparisons()
        for kind, row in values:
            if kind != "row":
                continue
            if row.get("error"):
                record = compare_pair(row, None, None)
            else:
                sides = (media.get(url) or missing_result(url) for url in (row["source_url"], row["target_url"]))
                record = compare_pair(row, *(for_declared_type(side, row["media_type"]) for side in sides), recent)
            self.records_out.inc()
            if record["error"] is not None:
                Metrics.counter(NAMESPACE, f"errors_{record['error']['code']}").inc()
            elif record["match"]:
                self.matches.inc()
            self.progress.add()
            yield record
        self.progress.add(0, units=1)


class MatchPairs(beam.PTransform):
    """rows -> records, exactly one per row; with ``previews``, {"records": records, "previews": one
    report preview per media file fingerprinted}."""

    def __init__(self, limits: Limits, blocks: int = DEFAULT_BLOCKS,
                 fetch_concurrency: int = DEFAULT_FETCH_CONCURRENCY, fetch_batches: int = DEFAULT_FETCH_BATCHES,
                 workers: int = 1, progress_bar: bool = False, previews: bool = False):
        super().__init__()
        if min(blocks, fetch_concurrency, fetch_batches) < 1:
            raise ValueError("blocks, fetch_concurrency and fetch_batches must be >= 1")
        self.limits, self.blocks, self.workers = limits, blocks, workers
        self.fetch_concurrency, self.fetch_batches = fetch_concurrency, fetch_batches
        self.progress_bar = progress_bar  # live bars: only when the workers share the driver's terminal
        self.previews = previews

    def expand(self, rows):
        blocks, batches = self.blocks, self.fetch_batches
        rows = rows | "CountRows" >> beam.Map(_count_row)
        fingerprinted = (rows | "References" >> beam.FlatMap(media_references, blocks)
                         | "KeyByBatch" >> beam.Map(lambda ref: (url_block(ref[0], batches), ref))
                         | "GroupByBatch" >> beam.GroupByKey()
                         | "FingerprintMedia" >> beam.ParDo(
                             FingerprintMedia(self.limits, self.fetch_concurrency, batches, self.workers,
                                              self.progress_bar, self.previews)).with_outputs(PREVIEWS, main="media"))
        keyed_rows = rows | "KeyRows" >> beam.Map(lambda row: (join_cell(row, blocks), ("row", row)))
        records = ((keyed_rows, fingerprinted.media) | "Join" >> beam.Flatten()
                   | "GroupByCell" >> beam.GroupByKey()
                   | "ComparePairs" >> beam.ParDo(ComparePairs(blocks * (blocks + 1) // 2, self.workers,
                                                               self.progress_bar)))
        return {"records": records, "previews": fingerprinted[PREVIEWS]} if self.previews else records


_rows_in = Metrics.counter(NAMESPACE, "rows_in")


def _count_row(row: dict) -> dict:
    _rows_in.inc()
    return row
