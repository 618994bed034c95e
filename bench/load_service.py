"""A bounded load run against the HTTP service: requests/s and p50/p95 latency for small image pairs.

    python bench/load_service.py [--requests 400] [--concurrency 8] [--workers 2] [--queue-size 8] [serve options]

Starts, on 127.0.0.1 only, a static HTTP server for generated small JPEGs (half the pairs are
re-encoded copies, half unrelated images) and ``medialayer serve --allow-private-networks``, then
sends a fixed number of requests with a fixed number in flight, and stops both servers. The warm-up
requests (one per connection) are not counted. Every 200 answer is checked against the expected
match/no-match. Options this script does not know (e.g. ``--no-isolate-decoders``) go to ``medialayer serve``.

    python bench/load_service.py --two-keys [--burst-seconds 30] [--concurrency 16] [--polite-concurrency 1]

The service requires API keys (``--api-key-file`` with two keys): for ``--burst-seconds`` a greedy client
keeps ``--concurrency`` requests in flight with one key (a refused request is sent again at once) while a
polite client sends one at a time with the other, and requests without a key are sent alongside; printed per client: answers by status and
latency. Unauthenticated requests name media URLs of their own, and the media server's log shows
whether any of them was fetched.
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


async def two_keys(base: str, media: str, pairs, seconds: float, concurrency: int, polite_concurrency: int,
                   keys: tuple[str, str]) -> dict:
    """The greedy key's burst, the polite key's steady requests and unauthenticated ones, all at once; per
    client the statuses and latencies (ms) of its answers."""
    bodies = [{"source_url": f"{media}/{s}", "target_url": f"{media}/{t}"} for s, t, _ in pairs]
    results = {"greedy": ([], []), "polite": ([], []), "no key": ([], [])}
    greedy_done = asyncio.Event()
    limits = httpx.Limits(max_connections=concurrency + polite_concurrency + 2)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
        async def send(name: str, body: dict, key: str | None):
            sent = time.perf_counter()
            response = await client.post("/image/match", json=body,
                                         headers={"Authorization": f"Bearer {key}"} if key else {})
            results[name][0].append(response.status_code)
            results[name][1].append((time.perf_counter() - sent) * 1000.0)

        async def greedy():
            stop_at = time.perf_counter() + seconds

            async def one_slot(slot: int):
                i = slot
                while time.perf_counter() < stop_at:
                    await send("greedy", bodies[i % len(bodies)], keys[0])
                    i += concurrency
            await asyncio.gather(*(one_slot(slot) for slot in range(concurrency)))
            greedy_done.set()

        async def polite():
            i = 0
            while not greedy_done.is_set():
                await asyncio.gather(*(send("polite", bodies[(i + j) % len(bodies)], keys[1])
                                       for j in range(polite_concurrency)))
                i += polite_concurrency

        async def unauthenticated():
            i = 0
            while not greedy_done.is_set():
                await send("no key", {"source_url": f"{media}/unauthenticated-{i}.jpg",
                                      "target_url": f"{media}/unauthenticated-{i}-copy.jpg"}, None)
                i += 1
                await asyncio.sleep(0.2)

        await asyncio.gather(greedy(), polite(), unauthenticated())
    return {name: (np.array(statuses), np.array(latencies)) for name, (statuses, latencies) in results.items()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    parser.add_argument("--workers", type=int, default=2, help="the service's matching threads")
    parser.add_argument("--queue-size", type=int, default=8, help="the service's queue beyond the workers")
    parser.add_argument("--images", type=int, default=16, help="distinct images (2 x this many pairs)")
    parser.add_argument("--size", default="320x240", help="image size, WIDTHxHEIGHT")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="stop sending after this long")
    parser.add_argument("--two-keys", action="store_true", help="a greedy and a polite API key, and requests "
                                                                "without a key (see above)")
    parser.add_argument("--burst-seconds", type=float, default=30.0, help="--two-keys: how long the greedy key "
                                                                          "keeps sending")
    parser.add_argument("--polite-concurrency", type=int, default=1, help="--two-keys: the polite key's requests "
                                                                          "in flight")
    args, serve_options = parser.parse_known_args(argv)
    width, height = (int(v) for v in args.size.split("x"))

    with tempfile.TemporaryDirectory(prefix="medialayer-load-") as directory:
        pairs = write_images(directory, args.images, width, height)
        mean_kib = np.mean([os.path.getsize(os.path.join(directory, name)) for name in os.listdir(directory)]) / 1024
        media_port, service_port = free_port(), free_port()
        keys = ("greedy-" + os.urandom(8).hex(), "polite-" + os.urandom(8).hex())
        if args.two_keys:
            key_file = os.path.join(directory, "keys.txt")
            with open(key_file, "w") as f:
                f.write("\n".join(keys) + "\n")
            serve_options += ["--api-key-file", key_file]
        media_log = open(os.path.join(directory, "media-server.log"), "w+")
        processes = [
            subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory", directory,
                              str(media_port)], stdout=subprocess.DEVNULL, stderr=media_log),
            subprocess.Popen([sys.executable, "-m", "medialayer", "serve", "--host", "127.0.0.1",
                              "--port", str(service_port), "--allow-private-networks", "--workers", str(args.workers),
                              "--queue-size", str(args.queue_size), "--log-level", "warning", *serve_options], cwd=REPO),
        ]
        try:
            media, base = f"http://127.0.0.1:{media_port}", f"http://127.0.0.1:{service_port}"
            wait_up(f"{media}/0.jpg")
            wait_up(f"{base}/healthz")
            if args.two_keys:
                clients = asyncio.run(two_keys(base, media, pairs, args.burst_seconds, args.concurrency,
                                               args.polite_concurrency, keys))
            else:
                latencies, statuses, wrong, elapsed, cpu = asyncio.run(
                    load(base, media, pairs, args.requests, args.concurrency, args.max_seconds,
                         [p.pid for p in processes]))
        finally:
            for process in processes:
                process.terminate()
                process.wait(10)
            media_log.seek(0)
            fetched_unauthenticated = media_log.read().count("/unauthenticated-")
            media_log.close()

    if args.two_keys:
        print(f"service --workers {args.workers} --queue-size {args.queue_size} {' '.join(serve_options[:-2])} with "
              f"two API keys; greedy: {args.concurrency} in flight for {args.burst_seconds:g} s; polite: "
              f"{args.polite_concurrency} in flight while the greedy one runs; requests without a key every 0.2 s")
        for name, (statuses, latencies) in clients.items():
            by_status = ", ".join(f"{status}: {int((statuses == status).sum())}" for status in sorted(set(statuses)))
            served = latencies[statuses == 200]
            print(f"  {name:7s} {len(statuses)} answers ({by_status})"
                  + (f"; 200s latency ms p50 {np.percentile(served, 50):.0f} p95 {np.percentile(served, 95):.0f}"
                     if len(served) else ""))
        print(f"  media fetched for requests without a key: {fetched_unauthenticated}")
        print(f"  machine: {os.cpu_count()} CPUs, load average over the last minute {os.getloadavg()[0]:.1f}")
        return

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
