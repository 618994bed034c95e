"""Throughput and memory at scale: the pipeline on generated pair files, measured from outside.

    python bench/throughput.py unique   --pairs 100000 --images 2000     # work per unique URL vs a naive baseline
    python bench/throughput.py scale    --pairs 1000000 --images 20000   # wall time, pairs/s, peak RSS, overhead
    python bench/throughput.py volume   --pairs 20000 --images 2000 --repeat 3  # 20,000 pairs vs 1,000, 3 rounds
                                        [--compare-share]  # and the extra pairs' compares timed alone, by kind
    python bench/throughput.py parallel --images 2000 --size 512         # fingerprint rate by running mode/workers
    python bench/throughput.py network  --images 400 --latency-ms 50     # fetch concurrency over loopback HTTP

Every run of the pipeline is a child process (``run_local.run``) whose whole process tree (runner and
worker processes) is polled for RSS. Images are generated deterministically: ``images / 2`` random
low-frequency patterns, each saved twice (the original and a resized, harder-compressed copy), so half
the pairs are true duplicates. Extra pipeline options follow ``--``.
"""
from __future__ import annotations

import argparse
import http.server
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time

import numpy as np
import psutil
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root

from medialayer.io.fetch import Fetcher  # noqa: E402
from medialayer.limits import Limits  # noqa: E402
from medialayer.record import make_row  # noqa: E402
from medialayer.stages import compare_pair, fingerprint_url, for_declared_type  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
POLL_S = 0.2


def generate_images(directory: str, count: int, size: int) -> list[str]:
    """``count`` JPEG paths (made once, reused across runs): pairs of an original and a degraded copy."""
    os.makedirs(directory, exist_ok=True)
    paths = []
    rng = np.random.default_rng(7)
    for base in range((count + 1) // 2):
        pattern = rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
        for variant in range(2):
            if len(paths) == count:
                break
            path = os.path.join(directory, f"img{base:06d}_{variant}.jpg")
            if not os.path.exists(path):
                side = size if variant == 0 else int(size * 0.75)
                image = Image.fromarray(pattern).resize((side, side), Image.Resampling.BICUBIC)
                image.save(path, quality=90 if variant == 0 else 40)
            paths.append(path)
    return paths


def generate_pairs(path: str, urls: list[str], count: int, seed: int = 11, first: list | None = None) -> None:
    """``count`` rows over ``urls``: ``first`` (index pairs), then pairs half of which are true duplicates (a URL
    and its sibling), half random."""
    rng = random.Random(seed)
    pairs = list(first or [])
    while len(pairs) < count:
        a = rng.randrange(len(urls))
        pairs.append((a, a ^ 1 if rng.random() < 0.5 and (a ^ 1) < len(urls) else rng.randrange(len(urls))))
    with open(path, "w") as f:
        for i, (a, b) in enumerate(pairs[:count]):
            f.write(json.dumps({"pair_id": f"p{i}", "source_url": urls[a], "target_url": urls[b],
                                "media_type": "image"}) + "\n")


def covering_pairs(count: int, seed: int = 13) -> list[tuple[int, int]]:
    """Index pairs using each of ``count`` (even) images exactly once: for the first half of the originals, the
    original and its copy; the other half's images paired at random."""
    siblings = [(i, i + 1) for i in range(0, count // 2 - count // 2 % 2, 2)]
    rest = list(range(len(siblings) * 2, count))
    random.Random(seed).shuffle(rest)
    return siblings + list(zip(rest[0::2], rest[1::2]))


def poll_tree(process: psutil.Process, cpu: dict) -> int:
    """The tree's current RSS in bytes; records each live process's CPU seconds so far in ``cpu`` (by pid)."""
    total = 0
    for p in [process, *process.children(recursive=True)]:
        try:
            with p.oneshot():
                total += p.memory_info().rss
                times = p.cpu_times()
                cpu[p.pid] = times.user + times.system
        except psutil.Error:
            pass
    return total


def run_measured(code: str, argv: list[str], log_path: str) -> dict:
    """Run ``python -c code json(argv)`` in a child process (stderr to ``log_path``), polling its whole process
    tree: its exit status, the ``SUMMARY {json}`` line it printed (None if none), wall time, CPU seconds and
    peak RSS of the tree."""
    started, cpu, peak = time.monotonic(), {}, 0
    with open(log_path, "w") as log:
        child = subprocess.Popen([sys.executable, "-c", code, json.dumps(argv)], cwd=ROOT, stdout=subprocess.PIPE,
                                 stderr=log, text=True)
        process = psutil.Process(child.pid)
        while child.poll() is None:
            peak = max(peak, poll_tree(process, cpu))
            time.sleep(POLL_S)
        out = child.stdout.read()
    summary = next((json.loads(line[8:]) for line in out.splitlines() if line.startswith("SUMMARY ")), None)
    return {"exit": child.returncode, "summary": summary, "wall_s": time.monotonic() - started,
            "cpu_s": sum(cpu.values()), "peak_rss_mib": peak / 2**20}


def run_job(pairs: str, output: str, extra: list[str], log_path: str) -> dict:
    """Run the batch job in a child process; return its summary plus wall time and peak tree RSS."""
    code = ("import json, logging, sys; logging.basicConfig(level=logging.INFO, stream=sys.stderr, "
            "format='%(asctime)s %(levelname)s %(name)s: %(message)s'); "
            "from medialayer.pipelines.match_pairs import run; "
            "print('SUMMARY ' + json.dumps(run(json.loads(sys.argv[1]))))")
    job = run_measured(code, ["--input", pairs, "--output", output, "--formats", "jsonl", *extra], log_path)
    if job["exit"] != 0:
        raise RuntimeError(f"job failed ({job['exit']}); see {log_path}")
    return {**job["summary"], "process_wall_s": round(job["wall_s"], 2), "cpu_s": round(job["cpu_s"], 1),
            "peak_rss_mib": round(job["peak_rss_mib"], 1)}


def time_stages(rows: list[dict]) -> tuple[float, float]:
    """(CPU seconds per URL to fetch, decode and fingerprint, CPU seconds per pair to compare), one at a
    time in this process (decoding in-process, not in a decoder process), on the URLs and pairs of ``rows``.
    CPU time, not wall time: other work on the machine does not inflate it."""
    fetcher = Fetcher(Limits(isolate_decoders=False))
    urls = list(dict.fromkeys(u for row in rows for u in (row["source_url"], row["target_url"])))
    started = time.process_time()
    results = {url: fingerprint_url(url, {"image"}, fetcher) for url in urls}
    per_url = (time.process_time() - started) / len(urls)
    parsed = [make_row(row) for row in rows]
    started = time.process_time()
    for row in parsed:
        compare_pair(row, results[row["source_url"]], results[row["target_url"]])
    return per_url, (time.process_time() - started) / len(rows)


def time_extra_compares(urls: list[str], first: list[dict], rows: list[dict]) -> dict:
    """The compare share of the extra pairs: each distinct (source, target) pair of ``rows`` that ``first`` does not
    hold, compared once (``compare_pair``: the matcher and the record), one at a time in this process on fingerprints
    made here, CPU time: {kind: (pairs, CPU seconds)}, the kinds an image and its copy, and two unrelated images."""
    fetcher = Fetcher(Limits(isolate_decoders=False))
    results = {url: fingerprint_url(url, {"image"}, fetcher) for url in urls}
    image_of = {url: i // 2 for i, url in enumerate(urls)}  # (generate_images: an original, then its copy)
    seen = {(row["source_url"], row["target_url"]) for row in first}
    extra = {(row["source_url"], row["target_url"]): row for row in rows}
    timed = {"copies": [0, 0.0], "unrelated": [0, 0.0]}
    for key, row in extra.items():
        if key in seen:
            continue
        parsed = make_row(row)
        started = time.process_time()
        compare_pair(parsed, results[key[0]], results[key[1]])
        kind = timed["copies" if image_of[key[0]] == image_of[key[1]] else "unrelated"]
        kind[0] += 1
        kind[1] += time.process_time() - started
    return {kind: tuple(value) for kind, value in timed.items()}


def time_naive_pairs(rows: list[dict]) -> float:
    """Seconds per pair for the naive baseline: fetch, decode and fingerprint both sides of every pair."""
    fetcher = Fetcher(Limits())
    started = time.perf_counter()
    for fields in rows:
        row = make_row(fields)
        source = fingerprint_url(row["source_url"], {"image"}, fetcher)
        target = fingerprint_url(row["target_url"], {"image"}, fetcher)
        compare_pair(row, for_declared_type(source, "image"), for_declared_type(target, "image"))
    return (time.perf_counter() - started) / len(rows)


def read_rows(path: str, count: int) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for _, line in zip(range(count), f)]


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def print_job(name: str, job: dict, pairs: int) -> None:
    print(f"{name}: wall {job['process_wall_s']:.1f} s (pipeline {job['wall_time_s']:.1f} s), "
          f"{pairs / job['process_wall_s']:,.0f} pairs/s, {job['cpu_s']:,.0f} CPU-s, "
          f"peak RSS {job['peak_rss_mib']:,.0f} MiB; "
          f"rows_in {job['rows_in']:,} records_out {job['records_out']:,} fetches {job['fetches']:,} "
          f"fingerprints {job['fingerprints']:,} reuses {job['fingerprint_reuses']:,} matches {job['matches']:,} "
          f"errors {job['errors']} {job['errors_by_code'] or ''}")


def pipeline_args(args) -> list[str]:
    return ["--direct_running_mode", args.mode, "--direct_num_workers", str(args.workers), *args.extra]


def run_generated(args, name: str) -> tuple[list[str], str, dict]:
    """Generate the images and ``args.pairs`` pairs over them, run the pipeline: (urls, pair file, job)."""
    urls = generate_images(os.path.join(args.workdir, f"images{args.size}"), args.images, args.size)
    pairs = os.path.join(args.workdir, f"pairs-{args.pairs}-{args.images}.jsonl")
    generate_pairs(pairs, urls, args.pairs)
    print(f"{args.pairs:,} pairs over {len(urls):,} unique images ({args.size}px JPEG); before: {load()}", flush=True)
    job = run_job(pairs, os.path.join(args.workdir, f"out-{name}", "results"), pipeline_args(args),
                  os.path.join(args.workdir, f"{name}.log"))
    print_job(f"pipeline ({args.mode}, {args.workers} workers)", job, args.pairs)
    return urls, pairs, job


def cmd_unique(args) -> None:
    """Work proportional to unique media, and the pipeline against the naive per-pair baseline."""
    urls, pairs, job = run_generated(args, "unique")
    sample = read_rows(pairs, args.baseline_sample)
    per_pair = time_naive_pairs(sample)
    cores = os.cpu_count() or 1
    naive = per_pair * args.pairs / cores  # generous to the baseline: perfectly parallel over every core
    print(f"naive baseline: {per_pair * 1000:.2f} ms/pair (wall) measured on {len(sample):,} pairs one at a time, "
          f"extrapolated to {args.pairs:,} pairs: {per_pair * args.pairs:.0f} s on one core, {naive:.0f} s if "
          f"perfectly spread over {cores} cores")
    print(f"fingerprints == unique URLs: {job['fingerprints'] == len(urls)} ({job['fingerprints']:,} vs "
          f"{len(urls):,}); speedup over the {cores}-core naive baseline: {naive / job['process_wall_s']:.1f}x; "
          f"after: {load()}")


def cmd_scale(args) -> None:
    """Wall time, pairs/s, peak RSS and the share of time outside fingerprinting at scale."""
    urls, pairs, job = run_generated(args, "scale")
    per_url, per_pair = time_stages(read_rows(pairs, args.stage_sample))
    fingerprint_core_s, compare_core_s = per_url * len(urls), per_pair * args.pairs
    core_s = job["cpu_s"]
    outside = core_s - fingerprint_core_s - compare_core_s
    print(f"matcher work, timed alone on the first {args.stage_sample:,} pairs: "
          f"fingerprint {per_url * 1000:.2f} ms/URL "
          f"= {fingerprint_core_s:.1f} core-s for {len(urls):,} URLs; compare {per_pair * 1000:.3f} ms/pair = "
          f"{compare_core_s:.1f} core-s; the run used {core_s:.1f} CPU-s (its whole process tree)")
    print(f"outside fingerprinting: {100 * (core_s - fingerprint_core_s) / core_s:.0f}% of the CPU time; outside the "
          f"matcher (Beam, I/O, parsing, writing): {100 * outside / core_s:.0f}%, {outside / args.pairs * 1000:.3f} "
          f"core-ms per pair; peak RSS {job['peak_rss_mib'] / 1024:.2f} GiB; after: {load()}")


def cmd_volume(args) -> None:
    """Pair volume over the same unique images: ``images / 2`` pairs that use each image once against ``--pairs``
    pairs (the same ones first, then half duplicates, half random), one run after the other, ``--repeat`` times in
    turn so that a drift of the machine's speed moves both sizes alike. Both compute every fingerprint once; the
    difference is the extra pairs' compare and record work."""
    urls = generate_images(os.path.join(args.workdir, f"images{args.size}"), args.images, args.size)
    first = covering_pairs(len(urls))
    print(f"{len(first):,} vs {args.pairs:,} pairs over the same {len(urls):,} images ({args.size}px JPEG); "
          f"{args.mode}, {args.workers} workers; before: {load()}", flush=True)
    extra, ratios, extra_cpu = args.pairs - len(first), [], []
    for round_ in range(1, args.repeat + 1):
        jobs = []
        for count in (len(first), args.pairs):
            pairs = os.path.join(args.workdir, f"pairs-volume-{count}-{len(urls)}.jsonl")
            generate_pairs(pairs, urls, count, first=first)
            job = run_job(pairs, os.path.join(args.workdir, f"out-volume-{count}", "results"), pipeline_args(args),
                          os.path.join(args.workdir, f"volume-{count}.log"))
            print_job(f"round {round_}, {count:,} pairs", job, count)
            jobs.append(job)
        few, many = jobs
        ratios.append(many["cpu_s"] / few["cpu_s"])
        extra_cpu.append(many["cpu_s"] - few["cpu_s"])
        print(f"round {round_}: {args.pairs:,} pairs / {len(first):,} pairs: wall "
              f"{many['process_wall_s'] / few['process_wall_s']:.2f}x, CPU {ratios[-1]:.2f}x (target <= 1.5x); the "
              f"{extra:,} extra pairs cost {(many['cpu_s'] - few['cpu_s']) / extra * 1000:.2f} CPU-ms each; after: "
              f"{load()}", flush=True)
    if args.repeat > 1:
        print(f"CPU ratio over {args.repeat} rounds: median {statistics.median(ratios):.2f}x "
              f"(min {min(ratios):.2f}x, max {max(ratios):.2f}x)")
    if args.compare_share:  # how much of the extra CPU a faster compare could take away at all
        timed = time_extra_compares(urls, read_rows(pairs, len(first)), read_rows(pairs, args.pairs))
        compares = sum(seconds for _, seconds in timed.values())
        print("the distinct pairs the larger run adds, compared alone in this process: " + ", ".join(
            f"{kind} {count:,} pairs, {seconds:.1f} CPU-s ({1000 * seconds / max(count, 1):.2f} ms each)"
            for kind, (count, seconds) in timed.items())
            + f"; together {compares:.1f} CPU-s against the rounds' median extra {statistics.median(extra_cpu):.1f} "
            f"CPU-s; after: {load()}")


def cmd_parallel(args) -> None:
    """CPU-bound fingerprinting rate by running mode and worker count (every URL used once)."""
    urls = generate_images(os.path.join(args.workdir, f"images{args.size}"), args.images, args.size)
    pairs = os.path.join(args.workdir, f"pairs-distinct-{args.images}-{args.size}.jsonl")
    with open(pairs, "w") as f:
        for i in range(0, len(urls) - 1, 2):
            f.write(json.dumps({"source_url": urls[i], "target_url": urls[i + 1]}) + "\n")
    print(f"{len(urls):,} distinct images ({args.size}px JPEG) in {len(urls) // 2:,} pairs; before: {load()}")
    base = None
    for mode, workers, concurrency in [("in_memory", 1, 1), ("in_memory", 1, 8), ("multi_threading", 2, 8),
                                       ("multi_processing", 2, 1), ("multi_processing", 2, 8)]:
        isolation = ["--no-isolate-decoders"] if mode == "multi_processing" else []  # refused together
        job = run_job(pairs, os.path.join(args.workdir, "out-parallel", "results"),
                      ["--direct_running_mode", mode, "--direct_num_workers", str(workers),
                       "--fetch_concurrency", str(concurrency), *isolation, *args.extra],
                      os.path.join(args.workdir, f"parallel-{mode}-{workers}-{concurrency}.log"))
        rate = job["fingerprints"] / job["process_wall_s"]
        base = base or rate
        print(f"{mode:16s} {workers} workers, fetch_concurrency {concurrency}: {job['fingerprints']:,} fingerprints in "
              f"{job['process_wall_s']:.1f} s = {rate:.0f} URLs/s ({rate / base:.2f}x the first), "
              f"{job['cpu_s']:.0f} CPU-s, "
              f"peak RSS {job['peak_rss_mib']:.0f} MiB", flush=True)
    print(f"after: {load()}")


class _SlowHandler(http.server.BaseHTTPRequestHandler):
    latency_s = 0.0
    files: dict = {}

    def do_GET(self):
        time.sleep(self.latency_s)
        body = self.files.get(self.path)
        self.send_response(200 if body else 404)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *_):
        pass


def cmd_network(args) -> None:
    """Network-bound fetching: a loopback server answering each request after a fixed latency."""
    urls = generate_images(os.path.join(args.workdir, f"images{args.size}"), args.images, args.size)
    _SlowHandler.latency_s = args.latency_ms / 1000
    _SlowHandler.files = {f"/{os.path.basename(u)}": open(u, "rb").read() for u in urls}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    pairs = os.path.join(args.workdir, f"pairs-http-{args.images}.jsonl")
    with open(pairs, "w") as f:
        for i in range(0, len(urls) - 1, 2):
            f.write(json.dumps({"source_url": f"{base_url}/{os.path.basename(urls[i])}",
                                "target_url": f"{base_url}/{os.path.basename(urls[i + 1])}"}) + "\n")
    print(f"{len(urls):,} distinct images over loopback HTTP, {args.latency_ms} ms latency per request; "
          f"{args.mode}, {args.workers} workers; before: {load()}")
    try:
        for concurrency in args.concurrency:
            job = run_job(pairs, os.path.join(args.workdir, "out-network", "results"),
                          [*pipeline_args(args), "--allow-private-networks", "--fetch_concurrency", str(concurrency)],
                          os.path.join(args.workdir, f"network-{concurrency}.log"))
            print(f"fetch_concurrency {concurrency:3d}: {job['fetches']:,} fetches in {job['process_wall_s']:.1f} s "
                  f"= {job['fetches'] / job['process_wall_s']:.0f} URLs/s, errors {job['errors']}", flush=True)
    finally:
        server.shutdown()
    print(f"after: {load()}")


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["unique", "scale", "volume", "parallel", "network"])
    parser.add_argument("--pairs", type=int, default=100_000)
    parser.add_argument("--images", type=int, default=2_000)
    parser.add_argument("--size", type=int, default=128, help="side of the generated images in pixels")
    parser.add_argument("--workdir", default="/tmp/medialayer-throughput")
    parser.add_argument("--mode", default="in_memory", help="--direct_running_mode for the pipeline "
                        "(multi_processing needs --no-isolate-decoders after --)")
    parser.add_argument("--workers", type=int, default=1, help="--direct_num_workers for the pipeline")
    parser.add_argument("--baseline-sample", type=int, default=2_000, help="pairs timed for the naive baseline")
    parser.add_argument("--stage-sample", type=int, default=1_000,
                        help="pairs whose fingerprinting and comparing are timed alone")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--repeat", type=int, default=1, help="volume: rounds of the two runs, in turn")
    parser.add_argument("--compare-share", action="store_true",
                        help="volume: also time the extra distinct pairs' compares alone, by kind")
    args = parser.parse_args(argv)
    args.extra = extra
    {"unique": cmd_unique, "scale": cmd_scale, "volume": cmd_volume, "parallel": cmd_parallel,
     "network": cmd_network}[args.command](args)


if __name__ == "__main__":
    main()
