"""Helpers shared by the benches: run pair rows through the real pipeline, and score the results."""
from __future__ import annotations

import collections
import csv
import glob
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root

from medialayer.pipelines.match_pairs import run  # noqa: E402


def run_pipeline(rows: list[dict], workdir: str, extra_args=()) -> tuple[dict, dict]:
    """Write ``rows`` as a JSONL pair file, run the batch job on it, and return (records by pair_id, summary)."""
    os.makedirs(workdir, exist_ok=True)
    pairs = os.path.join(workdir, "pairs.jsonl")
    with open(pairs, "w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    output = os.path.join(workdir, "out", "results")
    for stale in glob.glob(output + "-*"):
        os.remove(stale)
    summary = run(["--input", pairs, "--output", output, "--formats", "jsonl", *extra_args])
    records = {}
    for path in glob.glob(output + "-*.jsonl"):
        with open(path) as f:
            for line in f:
                record = json.loads(line)
                records[record["pair_id"]] = record
    return records, summary


def manifest_rows(media_dir: str, media_type: str) -> list[dict]:
    """The rows of media_dir/MANIFEST.tsv for one media type (path, group, duration_s_or_wxh, ...)."""
    with open(os.path.join(media_dir, "MANIFEST.tsv")) as f:
        return [row for row in csv.DictReader(f, delimiter="\t") if row["media_type"] == media_type]


def precision_recall_f1(labels, predictions) -> tuple[float, float, float]:
    labels, predictions = np.asarray(labels, bool), np.asarray(predictions, bool)
    true_positives = np.sum(labels & predictions)
    precision = true_positives / max(1, predictions.sum())
    recall = true_positives / max(1, labels.sum())
    f1 = 2 * precision * recall / max(1e-12, precision + recall)
    return float(precision), float(recall), float(f1)


def threshold_at_fpr(negative_scores, max_fpr: float) -> float:
    """The lowest threshold t such that at most ``max_fpr`` of the negatives score strictly above t."""
    negatives = np.sort(np.asarray(negative_scores, float))[::-1]
    if negatives.size == 0:
        return -np.inf
    allowed = int(np.floor(max_fpr * negatives.size))
    return float(negatives[allowed]) if allowed < negatives.size else -np.inf


def print_table(header: list[str], rows: list[list]) -> None:
    cells = [[str(c) for c in header]] + [[f"{c:.3f}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for i, row in enumerate(cells):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


def print_confidence_bands(labels, decisions, confidences, kinds=None) -> None:
    """How often each decision is wrong at each confidence it was given (copies labelled True): does
    ``confidence`` tell a reviewer how sure the decision is? A pair without a decision (an error) is a row of
    its own, wrong when it was a copy. With ``kinds`` (each pair's kind), the decisions wrong with ``high``
    confidence are also counted by kind: where a reviewer's trust is most misplaced."""
    rows = []
    for decision, band in [(d, b) for d in (True, False) for b in ("high", "medium", "low")] + [(None, None)]:
        picked = [label for label, d, c in zip(labels, decisions, confidences) if (d, c) == (decision, band)]
        if picked:
            wrong = sum(label != decision for label in picked) if decision is not None else sum(picked)
            rows.append(["error" if decision is None else "match" if decision else "no match", band or "-",
                         len(picked), wrong, wrong / len(picked)])
    print("\nConfidence: how often each decision is wrong at each confidence (errors: wrong when a copy)")
    print_table(["decision", "confidence", "pairs", "wrong", "share wrong"], rows)
    if kinds is not None:
        for decision in (True, False):
            wrong = collections.Counter(kind for label, d, c, kind in zip(labels, decisions, confidences, kinds)
                                        if (d, c) == (decision, "high") and label != decision)
            print(f"{'match' if decision else 'no match'} / high, wrong, by kind: "
                  + (", ".join(f"{kind} {n}" for kind, n in wrong.most_common()) or "none"))
