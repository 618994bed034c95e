"""The catalog dedupe graph's steps (thin: the logic is in medialayer.candidates, medialayer.grouping and
the stage functions). Only Create, ParDo, GroupByKey and Flatten, as in the pair job, so it runs unchanged
on Dask, Dataflow, Flink and Spark.

    assets --(url)--> FingerprintMedia (the pair job's DoFn: each unique URL fetched and fingerprinted once)
    (url, result) --index keys, by shard--> GroupByKey(shard) --capped buckets--> (pair, shared) --sum-->
        candidates sharing >= min_shared_keys --GroupByKey(asset): its max_candidates strongest-->
        --join cells, fingerprints and asset ids by URL--> compare_pair --> links (matched envelopes)
    links --> GroupByKey(one key) --> union-find --> groups, and each URL's group
    assets + each URL's result and group --GroupByKey(url)--> one asset record per asset row
"""
from __future__ import annotations

import dataclasses

import apache_beam as beam
from apache_beam.metrics import Metrics

from medialayer import candidates, grouping
from medialayer.matchers import get_matcher
from medialayer.io.fetch import redact
from medialayer.record import derive_pair_id, make_row
from medialayer.stages import compare_pair, for_declared_type
from medialayer.transforms.matching import NAMESPACE, join_cell, media_references

ONE_KEY = 0  # the grouping step sees every link: groups are global


class EmitIndexKeys(beam.DoFn):
    """(url, ("result", result)) -> ((media type, shard), (url, keys of that shard)) for every key shard of a
    good fingerprint."""

    def __init__(self):
        self.keys = Metrics.counter(NAMESPACE, "index_keys")

    def process(self, element):
        url, (_, result) = element
        if result.error is not None:
            return
        keys = get_matcher(result.media_type).index_keys(result.fingerprint)
        self.keys.inc(len(keys))
        for shard, shard_keys in candidates.shard_keys(keys).items():
            yield (result.media_type, shard), (url, shard_keys)


class SharedKeys(beam.DoFn):
    """((media type, shard), [(url, keys), ...]) -> ((media type, url, url), keys shared in the shard) per pair
    that the shard's buckets pair (every pair of a bucket; neighbours only in a capped one)."""

    def __init__(self, max_bucket: int):
        self.max_bucket = max_bucket
        self.capped = Metrics.counter(NAMESPACE, "capped_keys")
        self.capped_members = Metrics.counter(NAMESPACE, "capped_key_members")

    def process(self, element):
        (media_type, _), members = element
        shared, capped = candidates.shared_key_counts(members, self.max_bucket)
        self.capped.inc(len(capped))
        self.capped_members.inc(sum(capped))
        for (a, b), count in shared.items():
            yield (media_type, a, b), count


_candidate_pairs = Metrics.counter(NAMESPACE, "candidate_pairs")


def by_asset(element):
    """((media type, a, b), shared) -> (a, (media type, b, shared)) and (b, (media type, a, shared))."""
    (media_type, a, b), shared = element
    _candidate_pairs.inc()
    yield a, (media_type, b, shared)
    yield b, (media_type, a, shared)


class StrongestCandidates(beam.DoFn):
    """(url, [(media type, other, shared), ...]) -> ((media type, url, other) smaller URL first, shared) for
    the url's ``max_candidates`` candidates sharing the most keys (None: its media type's default)."""

    def __init__(self, max_candidates: int | None):
        self.max_candidates = max_candidates

    def process(self, element):
        url, partners = element
        partners = list(partners)
        media_type = partners[0][0]
        limit = candidates.max_candidates(media_type, self.max_candidates)
        for other, shared in candidates.strongest_partners([(o, n) for _, o, n in partners], limit):
            yield (media_type, min(url, other), max(url, other)), shared


def candidate_row(element) -> dict:
    """((media type, url, url), shared keys) -> the pair row compare_pair takes."""
    (media_type, a, b), _ = element
    return make_row({"source_url": a, "target_url": b, "media_type": media_type})


def is_candidate(element) -> bool:
    (media_type, _, _), shared = element
    return candidates.is_candidate(shared, get_matcher(media_type).min_shared_keys)


class ShipFingerprints(beam.DoFn):
    """(url, [("cell", cell) ..., ("asset", asset id) ..., ("result", result)]) -> (cell, ("media", (url,
    (smallest asset id, result)))) for every join cell that needs this URL's fingerprint."""

    def process(self, element):
        url, values = element
        cells = {value for kind, value in values if kind == "cell"}
        if not cells:  # no candidate names this URL
            return
        result = next(value for kind, value in values if kind == "result")
        asset_id = min(value for kind, value in values if kind == "asset")
        for cell in cells:
            yield cell, ("media", (url, (asset_id, result)))


class VerifyCandidates(beam.DoFn):
    """(cell, [media ..., rows ...]) -> link records: the pair envelope of each candidate that matches, with
    both asset ids. Non-matches are counted, not written."""

    def __init__(self):
        self.verified = Metrics.counter(NAMESPACE, "candidates_verified")
        self.links = Metrics.counter(NAMESPACE, "links")

    def process(self, element):
        _, values = element
        media = {url: value for kind, (url, value) in (v for v in values if v[0] == "media")}
        for kind, row in values:
            if kind != "row":
                continue
            (source_id, source), (target_id, target) = media[row["source_url"]], media[row["target_url"]]
            row = dict(row, pair_id=derive_pair_id("link", source_id, target_id))
            record = compare_pair(row, source, target)
            self.verified.inc()
            if record["match"]:
                self.links.inc()
                yield {**record, "source_asset_id": source_id, "target_asset_id": target_id}


class FormGroups(beam.DoFn):
    """(ONE_KEY, [link ...]) -> ("group", group record) per group and ("member", (url, (group id, the
    representative's asset id if this URL is the representative))) per URL in a group."""

    def __init__(self):
        self.groups = Metrics.counter(NAMESPACE, "groups")
        self.largest = Metrics.distribution(NAMESPACE, "group_size")

    def process(self, element):
        _, links = element
        links = list(links)
        scores = {(link["source_url"], link["target_url"]): link["similarity_score"] for link in links}
        ids, kinds = {}, {}
        for link in links:
            ids[link["source_url"]], ids[link["target_url"]] = link["source_asset_id"], link["target_asset_id"]
            kinds[link["source_url"]] = kinds[link["target_url"]] = link["media_type"]
        for members in grouping.connected_groups(scores):
            head = grouping.representative(members, scores)
            gid = grouping.group_id(members)
            self.groups.inc()
            self.largest.update(len(members))
            yield "group", {
                "group_id": gid, "media_type": kinds[members[0]], "size": len(members),
                "representative_asset_id": ids[head], "representative_url": head,
                "members": [{"asset_id": ids[url], "url": url,
                             "similarity_score": 1.0 if url == head else scores.get(tuple(sorted((url, head))))}
                            for url in members]}
            for url in members:
                yield "member", (url, (gid, ids[head] if url == head else None))


def asset_records(element):
    """(url, [("asset", row) ..., ("result", result) ..., ("member", (group id, representative asset id or
    None)) ...]) -> one asset record per asset row of that URL."""
    _, values = element
    results = [value for kind, value in values if kind == "result"]
    member = next((value for kind, value in values if kind == "member"), (None, None))
    for kind, row in values:
        if kind != "asset":
            continue
        error = row["error"]
        if error is None and results:
            seen = for_declared_type(results[0], row["media_type"])
            error = seen.error.to_dict() if seen.error is not None else None
        media_type = results[0].media_type if results else row["media_type"]
        yield {"asset_id": row["asset_id"], "url": redact(row["url"]),
               "media_type": media_type, "group_id": None if error else member[0],
               "is_representative": error is None and row["asset_id"] == member[1], "error": error}


def without_fingerprint(element):
    """(url, ("result", result)) with the fingerprint dropped: the asset records need only its type and error."""
    url, (kind, result) = element
    return url, (kind, dataclasses.replace(result, fingerprint=None))


def place_candidate(row: dict, blocks: int):
    """(cell, ("row", row)) and (url, ("cell", cell)) for both URLs of a candidate row."""
    yield "row", (join_cell(row, blocks), ("row", row))
    for url, (cell, _) in media_references(row, blocks):
        yield "need", (url, ("cell", cell))


@dataclasses.dataclass(frozen=True)
class Tagged:
    """Picks one tag's values out of a PCollection of (tag, value) pairs."""

    tag: str

    def __call__(self, element):
        tag, value = element
        if tag == self.tag:
            yield value
