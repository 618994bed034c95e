"""Catalog dedupe as the catalog grows: time, memory and candidates per asset (issue 15).

    python bench/dedupe_scale.py --assets 2000 5000 10000
    python bench/dedupe_scale.py --candidates-only --assets 2000 5000 10000 --max-bucket 200 32


For each size, ``bench/throughput.py``'s generated images (random low-frequency patterns, each saved twice: an
original and a smaller, harder-compressed copy, so the truth is groups of two) are listed in a catalog and
deduplicated by ``medialayer.pipelines.dedupe.run`` (in_memory, decoder isolation on, as by default) as a
child process whose whole process tree is polled for RSS and CPU time. Printed per size: wall time, CPU
seconds and CPU-ms per asset, peak RSS, index keys and candidates per asset, capped keys, links, and the
groups against the truth (pairs of copies found; pairs of different patterns linked).

``--candidates-only`` measures the candidate step alone, in one process, on the same images' fingerprints
(computed once, cached in bench/work): per asset, the pairs the key buckets emit (each one a partial count
the pipeline's shards send on), the distinct pairs sharing a key, the pairs sharing ``min_shared_keys``,
the candidates the per-asset bound keeps, and how many copy pairs are among them, per bucket cap.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root

from bench.common import print_table  # noqa: E402
from bench.dedupe import cached  # noqa: E402
from bench.throughput import generate_images, load, run_measured  # noqa: E402
from medialayer.candidates import (DEFAULT_MAX_BUCKET, DEFAULT_MAX_CANDIDATES, is_candidate,  # noqa: E402
                                   limit_per_asset, shared_key_counts)
from medialayer.limits import Limits  # noqa: E402
from medialayer.matchers.image import MATCHER  # noqa: E402
from medialayer.media import Blob  # noqa: E402

CHILD = ("import json, sys; from medialayer.pipelines.dedupe import run; "
         "print('SUMMARY ' + json.dumps(run(json.loads(sys.argv[1]))))")


def run_dedupe(catalog: str, output: str, log_path: str) -> dict:
    job = run_measured(CHILD, ["--input", catalog, "--output", output, "--formats", "jsonl"], log_path)
    if job["exit"] != 0:
        raise RuntimeError(f"dedupe failed ({job['exit']}); see {log_path}")
    return {**job.pop("summary"), **job}


def group_truth(output: str) -> tuple[int, int]:
    """(pairs of copies in one group, pairs of different patterns in one group) from the assets records."""
    groups = {}
    for path in glob.glob(os.path.join(output, "assets-*.jsonl")):
        with open(path) as f:
            for line in f:
                asset = json.loads(line)
                if asset["group_id"]:
                    groups.setdefault(asset["group_id"], []).append(os.path.basename(asset["url"]).split("_")[0])
    found = wrong = 0
    for members in groups.values():
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                found, wrong = found + (a == b), wrong + (a != b)
    return found, wrong


def cached_fingerprints(paths: list[str]) -> list:
    """The fingerprints of ``paths`` (the generated images: their names say which pattern they hold)."""
    def compute():
        return [MATCHER.fingerprint(Blob(path=path), Limits()) for path in paths]
    return cached(f"dedupe-scale-fingerprints-{len(paths)}-{os.path.basename(os.path.dirname(paths[0]))}.pkl", compute)


def candidate_step(paths: list[str], counts: list[int], caps: list[int]) -> None:
    keys = [MATCHER.index_keys(fp) for fp in cached_fingerprints(paths[:max(counts)])]
    rows = []
    for count in counts:
        for cap in caps:
            shared, capped = shared_key_counts(list(enumerate(keys[:count])), cap)
            enough = {pair: n for pair, n in shared.items() if is_candidate(n, MATCHER.min_shared_keys)}
            kept = limit_per_asset(enough, DEFAULT_MAX_CANDIDATES)
            copies = sum(a // 2 == b // 2 for a, b in kept)  # generate_images: pattern i is images 2i and 2i+1
            rows.append([f"{count:,}", cap, f"{np.mean([len(k) for k in keys[:count]]):,.0f}",
                         f"{sum(shared.values()) / count:,.0f}", f"{len(shared) / count:,.0f}",
                         f"{len(enough) / count:,.1f}", f"{len(kept) / count:.1f}", f"{len(capped):,}",
                         f"{copies:,} of {count // 2:,}"])
            print(" | ".join(map(str, rows[-1])), flush=True)
            del shared, enough, kept
    print_table(["assets", "max bucket", "keys per asset", "pair counts emitted per asset",
                 "distinct pairs per asset", "sharing >= min_shared_keys per asset",
                 f"candidates kept per asset (max {DEFAULT_MAX_CANDIDATES})", "capped keys", "copy pairs kept"], rows)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", type=int, nargs="+", default=[2_000, 5_000, 10_000])
    parser.add_argument("--size", type=int, default=128, help="side of the generated images in pixels")
    parser.add_argument("--workdir", default="/tmp/medialayer-dedupe-scale")
    parser.add_argument("--candidates-only", action="store_true", help="the candidate step alone, in one process")
    parser.add_argument("--max-bucket", type=int, nargs="+", default=[DEFAULT_MAX_BUCKET],
                        help="with --candidates-only: the bucket caps to compare")
    args = parser.parse_args(argv)
    if args.candidates_only:
        paths = generate_images(os.path.join(args.workdir, f"images{args.size}"), max(args.assets), args.size)
        return candidate_step(paths, sorted(args.assets), args.max_bucket)
    rows = []
    for count in args.assets:
        paths = generate_images(os.path.join(args.workdir, f"images{args.size}"), count, args.size)
        catalog = os.path.join(args.workdir, f"catalog-{count}.jsonl")
        with open(catalog, "w") as f:
            f.writelines(json.dumps({"url": path, "media_type": "image"}) + "\n" for path in paths)
        output = os.path.join(args.workdir, f"out-{count}")
        print(f"{count:,} assets; before: {load()}", flush=True)
        job = run_dedupe(catalog, output, os.path.join(args.workdir, f"dedupe-{count}.log"))
        found, wrong = group_truth(output)
        rows.append([f"{count:,}", f"{job['wall_s']:.0f}", f"{job['cpu_s']:.0f}", f"{1000 * job['cpu_s'] / count:.1f}",
                     f"{job['peak_rss_mib']:,.0f}", f"{job['index_keys'] / count:,.0f}",
                     f"{job['candidates'] / count:.2f}", job["capped_keys"], f"{job['links']:,}",
                     f"{found:,} of {count // 2:,}", wrong, job["errors"]])
        print(" | ".join(map(str, rows[-1])), f"after: {load()}", flush=True)
    print_table(["assets", "wall s", "CPU s", "CPU-ms per asset", "peak RSS MiB", "keys per asset",
                 "candidates per asset", "capped keys", "links", "copy pairs grouped", "wrong pairs grouped",
                 "errors"], rows)


if __name__ == "__main__":
    main()
