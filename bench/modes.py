"""The same pair run in each local running mode, several times: complete, and the same records (issue 17).

    python bench/modes.py --pairs 100000 --images 2000 --repeats 3

Runs the pair job (``medialayer.pipelines.match_pairs.run``, decoder isolation on, as by default) as a child
process on a generated pair file (``bench/throughput.py``'s images and pairs): ``--repeats`` times in
``in_memory`` with one worker and ``--repeats`` times in ``multi_processing`` with two (the mode that lost
fingerprints before ``match_pairs.send_stage_inputs_whole``; docs/benchmarks.md). Each run's records are
read back from its JSONL files and compared with the first run's, pair by pair, without
``processing_time_ms`` (timings differ); printed: per run, wall time, peak RSS of the process tree, records
against rows, error records by code, and whether the records are identical.
"""
from __future__ import annotations

import argparse
import collections
import glob
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root

from bench.common import print_table  # noqa: E402
from bench.throughput import generate_images, generate_pairs, load, run_measured  # noqa: E402

MODES = (("in_memory", 1), ("multi_processing", 2))
CHILD = ("import json, sys; from medialayer.pipelines import match_pairs; "
         "print('SUMMARY ' + json.dumps(match_pairs.run(json.loads(sys.argv[1]))))")


def run_once(pairs: str, output: str, mode: str, workers: int, log_path: str) -> dict:
    return run_measured(CHILD, ["--input", pairs, "--output", output, "--formats", "jsonl",
                                "--direct_running_mode", mode, "--direct_num_workers", str(workers)], log_path)


def read_records(output: str) -> dict:
    """pair_id -> the record without its timing, as canonical JSON."""
    records = {}
    for path in glob.glob(output + "*.jsonl"):
        with open(path) as f:
            for line in f:
                record = json.loads(line)
                record.pop("processing_time_ms", None)
                records[record["pair_id"]] = json.dumps(record, sort_keys=True)
    return records


def digest(records: dict) -> str:
    return hashlib.sha256("\n".join(records[k] for k in sorted(records)).encode()).hexdigest()[:12]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=100_000)
    parser.add_argument("--images", type=int, default=2_000)
    parser.add_argument("--size", type=int, default=128, help="side of the generated images in pixels")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", default="/tmp/medialayer-modes")
    args = parser.parse_args(argv)

    urls = generate_images(os.path.join(args.workdir, f"images{args.size}"), args.images, args.size)
    pairs = os.path.join(args.workdir, f"pairs-{args.pairs}-{args.images}.jsonl")
    generate_pairs(pairs, urls, args.pairs)
    print(f"{args.pairs:,} pairs over {len(urls):,} images; before: {load()}", flush=True)
    rows, first = [], None
    for repeat in range(1, args.repeats + 1):
        for mode, workers in MODES:
            name = f"{mode}-{repeat}"
            output = os.path.join(args.workdir, f"out-{name}", "results")
            for old in glob.glob(output + "*"):
                os.remove(old)
            run = run_once(pairs, output, mode, workers, os.path.join(args.workdir, f"{name}.log"))
            records = read_records(output)
            first = first or records
            errors = collections.Counter(json.loads(r)["error"]["code"] for r in records.values()
                                         if json.loads(r)["error"])
            rows.append([mode, workers, repeat, run["exit"], f"{run['wall_s']:.1f}", f"{run['peak_rss_mib']:,.0f}",
                         f"{len(records):,} of {args.pairs:,}", dict(errors) or "-", digest(records),
                         "yes" if records == first else f"NO ({sum(first.get(k) != v for k, v in records.items())} differ)"])
            print(" | ".join(map(str, rows[-1])), flush=True)
    print_table(["mode", "workers", "run", "exit", "wall s", "peak RSS MiB", "records", "error records",
                 "digest", "identical to the first run"], rows)
    print(f"after: {load()}")


if __name__ == "__main__":
    main()
