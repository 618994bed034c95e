"""Catalog dedupe as the catalog grows: time, memory and candidates per asset (issue 15).

    python bench/dedupe_scale.py --assets 2000 5000 10000

For each size, ``bench/throughput.py``'s generated images (random low-frequency patterns, each saved twice: an
original and a smaller, harder-compressed copy, so the truth is groups of two) are listed in a catalog and
deduplicated by ``medialayer.pipelines.dedupe.run`` (in_memory, decoder isolation on, as by default) as a
child process whose whole process tree is polled for RSS and CPU time. Printed per size: wall time, CPU
seconds and CPU-ms per asset, peak RSS, index keys and candidates per asset, capped keys, links, and the
groups against the truth (pairs of copies found; pairs of different patterns linked).
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root

from bench.common import print_table  # noqa: E402
from bench.throughput import generate_images, load, run_measured  # noqa: E402

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


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", type=int, nargs="+", default=[2_000, 5_000, 10_000])
    parser.add_argument("--size", type=int, default=128, help="side of the generated images in pixels")
    parser.add_argument("--workdir", default="/tmp/medialayer-dedupe-scale")
    args = parser.parse_args(argv)
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
