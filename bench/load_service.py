"""A bounded load run against the HTTP service: requests/s and p50/p95 latency for small image pairs.

    python bench/load_service.py [--requests 400] [--concurrency 8] [--workers 2] [--queue-size 8] [serve options]

Starts, on 127.0.0.1 only, a static HTTP server for generated small JPEGs (half the pairs are
re-encoded copies, half unrelated images) and ``medialayer serve --allow-private-networks``, then
sends a fixed number of requests with a fixed number in flight, and stops both servers. The warm-up
requests (one per connection) are not counted. Every 200 answer is checked against the expected
match/no-match. Options this script does not know (e.g. ``--no-isolate-decoders``) go to ``medialayer serve``.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time

import httpx
import numpy as np
from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_images(directory: str, count: int, width: int, height: int) -> list[tuple[str, str, bool]]:
    """``count`` textured JPEGs and a smaller, harder-compressed copy of each; pairs (source, target, same)."""
    rng = np.random.default_rng(0)
    for i in range(count):
        texture = Image.fromarray((rng.random((height // 8, width // 8, 3)) * 255).astype(np.uint8))
        image = texture.resize((width, height), Image.Resampling.BICUBIC)
        image.save(os.path.join(directory, f"{i}.jpg"), quality=90)
        image.resize((width * 3 // 4, height * 3 // 4)).save(os.path.join(directory, f"{i}_copy.jpg"), quality=60)
    return ([(f"{i}.jpg", f"{i}_copy.jpg", True) for i in range(count)]
            + [(f"{i}.jpg", f"{(i + 1) % count}_copy.jpg", False) for i in range(count)])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_up(url: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def tree_cpu(pid: int) -> dict[int, float]:
    """User + system CPU seconds of a process and each of its descendants (decoder processes), from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = {pid: (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")}
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            for child in f.read().split():
                cpu.update(tree_cpu(int(child)))
    return cpu


def cpu_since(pid: int, before: dict[int, float]) -> float:
    return sum(seconds - before.get(p, 0.0) for p, seconds in tree_cpu(pid).items())


async def load(base: str, media: str, pairs, requests: int, concurrency: int, max_seconds: float, pids: list[int]):
    """Send ``requests`` requests, ``concurrency`` at a time; stop early past ``max_seconds``. Returns latencies
    (ms), statuses, wrong decisions, seconds, and the CPU seconds of each process in ``pids``, warm-up excluded."""
    bodies = [({"source_url": f"{media}/{s}", "target_url": f"{media}/{t}"}, same) for s, t, same in pairs]
    latencies, statuses, wrong = [], [], 0
    next_index = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        await asyncio.gather(*(client.post("/image/match", json=bodies[i % len(bodies)][0])
                               for i in range(concurrency)))  # warm-up: connections, worker threads
        cpu_before = [tree_cpu(pid) for pid in pids]
        started = time.perf_counter()
        stop_at = started + max_seconds

        async def worker():
            nonlocal next_index, wrong
            while next_index < requests and time.perf_counter() < stop_at:
                body, same = bodies[next_index % len(bodies)]
                next_index += 1
                sent = time.perf_counter()
                response = await client.post("/image/match", json=body)
                latencies.append(time.perf_counter() - sent)
                statuses.append(response.status_code)
                if response.status_code == 200 and response.json()["match"] is not same:
                    wrong += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    cpu = [cpu_since(pid, before) for pid, before in zip(pids, cpu_before)]
    return np.array(latencies) * 1000.0, np.array(statuses), wrong, elapsed, cpu


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    parser.add_argument("--workers", type=int, default=2, help="the service's matching threads")
    parser.add_argument("--queue-size", type=int, default=8, help="the service's queue beyond the workers")
    parser.add_argument("--images", type=int, default=16, help="distinct images (2 x this many pairs)")
    parser.add_argument("--size", default="320x240", help="image size, WIDTHxHEIGHT")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="stop sending after this long")
    args, serve_options = parser.parse_known_args(argv)
    width, height = (int(v) for v in args.size.split("x"))

    with tempfile.TemporaryDirectory(prefix="medialayer-load-") as directory:
        pairs = write_images(directory, args.images, width, height)
        mean_kib = np.mean([os.path.getsize(os.path.join(directory, name)) for name in os.listdir(directory)]) / 1024
        media_port, service_port = free_port(), free_port()
        processes = [
            subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory", directory,
                              str(media_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
            subprocess.Popen([sys.executable, "-m", "medialayer", "serve", "--host", "127.0.0.1",
                              "--port", str(service_port), "--allow-private-networks", "--workers", str(args.workers),
                              "--queue-size", str(args.queue_size), "--log-level", "warning", *serve_options], cwd=REPO),
        ]
        try:
            media, base = f"http://127.0.0.1:{media_port}", f"http://127.0.0.1:{service_port}"
            wait_up(f"{media}/0.jpg")
            wait_up(f"{base}/healthz")
            latencies, statuses, wrong, elapsed, cpu = asyncio.run(
                load(base, media, pairs, args.requests, args.concurrency, args.max_seconds,
                     [p.pid for p in processes]))
        finally:
            for process in processes:
                process.terminate()
                process.wait(10)

    print(f"{len(latencies)} requests, {args.concurrency} in flight, service --workers {args.workers} "
          f"--queue-size {' '.join([str(args.queue_size), *serve_options])}, {len(pairs)} pairs of {width}x{height} JPEGs "
          f"(mean file {mean_kib:.1f} KiB)")
    print(f"  {len(latencies) / elapsed:.1f} requests/s over {elapsed:.2f} s")
    print(f"  latency ms: p50 {np.percentile(latencies, 50):.1f}  p95 {np.percentile(latencies, 95):.1f}  "
          f"p99 {np.percentile(latencies, 99):.1f}  max {latencies.max():.1f}")
    for name, seconds in zip(("media server", "service with its decoder processes"), cpu):
        print(f"  {name} CPU: {seconds * 1000 / len(latencies):.1f} ms per request ({seconds / elapsed:.2f} cores busy)")
    for status in sorted(set(statuses)):
        of_status = latencies[statuses == status]
        print(f"  status {status}: {len(of_status)} answers, latency ms p50 {np.percentile(of_status, 50):.1f}  "
              f"p95 {np.percentile(of_status, 95):.1f}")
    print(f"  wrong match decisions: {wrong}")
    print(f"  machine: {os.cpu_count()} CPUs, load average over the last minute {os.getloadavg()[0]:.1f} "
          "(other processes share the CPUs)")


if __name__ == "__main__":
    main()
