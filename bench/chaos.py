"""Chaos and soak: a pair job over mixed media served on loopback, a share of it hostile, while a helper
SIGKILLs a random decoder process every few seconds (issue 17).

    python bench/chaos.py --pairs 10000 --hostile 0.1 --kill-every 3

The job runs as its own process (`medialayer run`, default in_memory mode, isolated decoders) with a fresh
TMPDIR. Checked after it ends:
- one record per row, each with its expected code family: a good pair has a result, or DECODE_FAILED when
  the killer hit both decoders that tried one of its files (a file is tried again on a fresh decoder once:
  medialayer.isolation); a hostile row has one of the codes its kind allows;
- no decoder process left, no file left in the run's TMPDIR;
- RSS of the job and its decoders sampled every second: median of the last quarter against the second.
Prints a table; nothing here is tuned: the media are generated, the hostile kinds are the ones the tests
reproduce one by one (tests/test_hostile.py), here all at once and at volume.
"""
from __future__ import annotations

import argparse
import collections
import io
import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

import cv2
import numpy as np
import psutil
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from medialayer.synthetic import audio, image, video  # noqa: E402
from tests.httpserver import LoopbackServer, drip, endless, redirect, serve  # noqa: E402

DECODER_MARK = "from medialayer.isolation import _child_main"
RUN_MARK = "MEDIALAYER_CHAOS_RUN"  # an environment variable naming the run, inherited by its decoders
GOOD = {None, "DECODE_FAILED"}  # a result, or both decoders trying one of the pair's files killed


def reset(h):
    """Accept, then close with a TCP reset before answering."""
    h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    h.connection.close()


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels (a decompression bomb by its header)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + chunk(b"IEND", b""))


def jpeg(picture: Image.Image, quality: int = 85) -> bytes:
    buffer = io.BytesIO()
    picture.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def make_media(folder: str, images: int, tracks: int, clips: int) -> dict:
    """media type -> list of (original, copy) file paths, generated."""
    media = collections.defaultdict(list)
    for i in range(images):
        scene = image.textured_scene(1000 + i, 320, 240)
        a, b = os.path.join(folder, f"img{i}.png"), os.path.join(folder, f"img{i}_copy.jpg")
        scene.save(a)
        image.resize(scene, 0.6).save(b, quality=75)
        media["image"].append((a, b))
    for i in range(tracks):
        song = audio.melody(8.0, seed=2000 + i)
        a, b = os.path.join(folder, f"song{i}.wav"), os.path.join(folder, f"song{i}_copy.mp3")
        with open(a, "wb") as f:
            f.write(audio.encode(song, audio.SAMPLE_RATE, "wav"))
        with open(b, "wb") as f:
            f.write(audio.encode(song[audio.SAMPLE_RATE:], audio.SAMPLE_RATE, "mp3"))
        media["audio"].append((a, b))
    for i in range(clips):
        a, b = os.path.join(folder, f"clip{i}.mp4"), os.path.join(folder, f"clip{i}_copy.mp4")
        for path, size, fps in ((a, (160, 120), 15.0), (b, (128, 96), 12.0)):
            scene = video.frames(video.MovingScene(3000 + i), 4.0, fps)
            video.write_video(path, (cv2.resize(frame, size) for frame in scene), fps)
        media["video"].append((a, b))
    return media


def hostile_routes(server: LoopbackServer, sample: bytes) -> dict:
    """kind -> (url, the error codes that row may get)."""
    routes = {
        "slow-drip": (drip(sample, interval=0.05), {"FETCH_TIMEOUT"}),
        "reset": (reset, {"FETCH_FAILED"}),
        "lying-length": (endless(chunked=True, content_length=1000), {"TOO_LARGE", "FETCH_FAILED",
                                                                         "UNSUPPORTED_MEDIA"}),
        "endless": (endless(), {"TOO_LARGE", "UNSUPPORTED_MEDIA"}),
        "gzip-bomb": (serve(zlib.compress(b"\0" * (400 * 1024 * 1024), 9, wbits=31),
                            headers={"Content-Encoding": "gzip"}), {"TOO_LARGE", "UNSUPPORTED_MEDIA"}),
        "pixel-bomb": (serve(png_header(100_000, 100_000)), {"TOO_LARGE"}),
        "truncated": (serve(sample[: len(sample) // 3]), {"DECODE_FAILED"}),
        "corrupt": (serve(sample[:200] + os.urandom(len(sample) - 200)), {"DECODE_FAILED"}),
        "noise": (serve(os.urandom(50_000)), {"UNSUPPORTED_MEDIA"}),
        "server-error": (serve(b"", 500), {"HTTP_STATUS"}),
        "redirect-loop": (redirect("/redirect-loop"), {"TOO_MANY_REDIRECTS"}),
    }
    return {kind: (server.route(f"/{kind}", handler), codes) for kind, (handler, codes) in routes.items()}


def make_rows(media: dict, hostile: dict, pairs: int, hostile_share: float, seed: int) -> list:
    rng = random.Random(seed)
    rows = []
    for i in range(pairs):
        kind = rng.choice(["image"] * 8 + ["audio", "video"])
        a, b = rng.choice(media[kind])
        source, target = (a, b) if rng.random() < 0.5 else (a, rng.choice(media[kind])[1])
        expected, name = sorted(GOOD, key=str), "good"
        if rng.random() < hostile_share:
            name = rng.choice(sorted(hostile))
            source, codes = hostile[name]
            expected = sorted(codes)
        rows.append({"pair_id": f"{name}-{i}", "source_url": source, "target_url": target, "expected": expected})
    return rows


class Killer(threading.Thread):
    """SIGKILLs a random decoder process of the job every ``every`` seconds."""

    def __init__(self, job: psutil.Process, every: float, seed: int):
        super().__init__(daemon=True)
        self.job, self.every, self.rng = job, every, random.Random(seed)
        self.kills, self.stop = 0, threading.Event()

    def run(self):
        while not self.stop.wait(self.every):
            decoders = decoders_of(self.job)
            if decoders:
                try:
                    self.rng.choice(decoders).send_signal(signal.SIGKILL)
                    self.kills += 1
                except psutil.NoSuchProcess:
                    pass


def decoders_of(job: psutil.Process) -> list:
    """The job's live decoder processes (a killed one stays a zombie until the job notices: skipped)."""
    try:
        children = job.children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    return [p for p in children if _is_live_decoder(p)]


def _is_live_decoder(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE and DECODER_MARK in " ".join(process.cmdline())
    except psutil.Error:
        return False


def decoders_of_run(run_mark: str) -> list:
    """Every decoder process started by the run, wherever it now sits in the process tree: decoders inherit
    the run's environment, which carries ``run_mark``."""
    found = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if DECODER_MARK in " ".join(p.info["cmdline"] or []) and p.environ().get(RUN_MARK) == run_mark:
                found.append(p.pid)
        except psutil.Error:
            pass
    return found


def tree_rss(job: psutil.Process) -> int:
    total = 0
    for p in [job, *job.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--hostile", type=float, default=0.1, help="share of rows with a hostile source")
    parser.add_argument("--kill-every", type=float, default=3.0, help="seconds between two decoder kills")
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--tracks", type=int, default=20)
    parser.add_argument("--clips", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    run_mark = os.urandom(8).hex()
    with tempfile.TemporaryDirectory(prefix="chaos-") as work, LoopbackServer() as server:
        media_dir, run_tmp = os.path.join(work, "media"), os.path.join(work, "tmp")
        os.makedirs(media_dir)
        os.makedirs(run_tmp)
        media = make_media(media_dir, args.images, args.tracks, args.clips)
        with open(media["image"][0][1], "rb") as f:
            sample = f.read()
        rows = make_rows(media, hostile_routes(server, sample), args.pairs, args.hostile, args.seed)
        pairs_path = os.path.join(work, "pairs.jsonl")
        with open(pairs_path, "w") as f:
            for row in rows:
                f.write(json.dumps({k: v for k, v in row.items() if k != "expected"}) + "\n")
        output = os.path.join(work, "out", "results")
        command = [sys.executable, "-m", "medialayer", "run", "--input", pairs_path, "--output", output,
                   "--formats", "jsonl", "--allow-private-networks", "--fetch-deadline", "10",
                   "--read-timeout", "5", "--max-retries", "1"]
        started = time.monotonic()
        job = subprocess.Popen(command, env={**os.environ, "TMPDIR": run_tmp, RUN_MARK: run_mark}, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
        process = psutil.Process(job.pid)
        killer = Killer(process, args.kill_every, args.seed)
        killer.start()
        samples = []
        while job.poll() is None:
            samples.append(tree_rss(process))
            time.sleep(1.0)
        killer.stop.set()
        log = job.stdout.read()
        wall = time.monotonic() - started
        time.sleep(1.0)  # decoders killed with their parent are reaped by init
        left_decoders = decoders_of_run(run_mark)
        left_files = [os.path.join(d, f) for d, _, files in os.walk(run_tmp) for f in files]
        left_folders = [d for d, _, _ in os.walk(run_tmp) if d != run_tmp]
        records = {}
        for name in sorted(os.listdir(os.path.dirname(output))):
            with open(os.path.join(os.path.dirname(output), name)) as f:
                for line in f:
                    record = json.loads(line)
                    records[record["pair_id"]] = record

    outcomes = collections.Counter()
    wrong = []
    for row in rows:
        record = records.get(row["pair_id"])
        code = None if record is None or record["error"] is None else record["error"]["code"]
        kind = row["pair_id"].rsplit("-", 1)[0]
        if record is None:
            outcomes[(kind, "MISSING")] += 1
            wrong.append((row["pair_id"], "no record"))
            continue
        outcomes[(kind, code or "result")] += 1
        if code not in row["expected"]:
            wrong.append((row["pair_id"], code, record["error"] and record["error"]["message"][:120]))

    quarter = max(1, len(samples) // 4)
    rss_early = float(np.median(samples[quarter:2 * quarter])) / 2**20 if len(samples) >= 8 else float("nan")
    rss_late = float(np.median(samples[-quarter:])) / 2**20 if samples else float("nan")
    print(f"command: {' '.join(sys.argv)}")
    print(f"job exit status {job.returncode}, {wall:.0f} s wall, {killer.kills} decoders SIGKILLed")
    print(f"rows {len(rows)}, records {len(records)}, rows without the expected code family: {len(wrong)}")
    print(f"decoder processes left: {len(left_decoders)}; files left in the run's TMPDIR: {len(left_files)} "
          f"(folders: {len(left_folders)})")
    print(f"RSS of the job and its decoders: second quarter median {rss_early:.0f} MiB, last quarter "
          f"median {rss_late:.0f} MiB, max {max(samples, default=0) / 2**20:.0f} MiB")
    print("\n| row kind | outcome | rows |\n|---|---|---|")
    for (kind, outcome), n in sorted(outcomes.items()):
        print(f"| {kind} | {outcome} | {n} |")
    for item in wrong[:20]:
        print("unexpected:", *item)
    if job.returncode not in (0, 3):
        print(log[-3000:])


if __name__ == "__main__":
    main()
