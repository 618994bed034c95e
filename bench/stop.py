"""A pair job stopped part-way by SIGTERM or SIGINT: how long it takes to exit, its status, what it leaves.

    python bench/stop.py --pairs 20000 --images 400 --after 10,30 [--signals SIGTERM,SIGINT] [-- pipeline options]

Each case runs ``run_local.py`` as its own process with a fresh TMPDIR, over generated images
(throughput.py's) plus ``--hanging`` rows whose target is on a loopback server that accepts connections and
never answers (fetches blocked until their deadline). ``--after`` seconds into the run it sends the signal and
measures: where the run was (its last progress line), the seconds until the process exits (given up after ``--give-up`` s: then SIGKILLed), its exit status,
the entries left in its TMPDIR (its temp folders, the decoders' and Beam's), and the processes of its tree
(listed just before the signal) still running 10 s after it exited. Run the script from a checkout of another
commit to measure that commit (the script puts the repo root it lives in first on sys.path).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import psutil

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench/, for throughput's generators
from throughput import ROOT, generate_images, generate_pairs  # noqa: E402


def run_case(pairs: str, stop: signal.Signals, after: float, give_up: float, extra: list[str], work: str) -> dict:
    temp = tempfile.mkdtemp(prefix="tmp-", dir=work)
    output = os.path.join(work, "out", "results")
    with open(os.path.join(work, "stderr.txt"), "w") as errors:
        job = subprocess.Popen([sys.executable, os.path.join(ROOT, "run_local.py"), "--input", pairs, "--output",
                                output, "--allow-private-networks"] + extra, cwd=ROOT,
                               env={**os.environ, "TMPDIR": temp}, stdout=subprocess.DEVNULL, stderr=errors)
    time.sleep(after)
    tree = psutil.Process(job.pid).children(recursive=True)
    entries_before = len(os.listdir(temp))
    with open(os.path.join(work, "stderr.txt")) as errors:  # where the run was: its last progress line
        progress = ([line for line in errors if "medialayer.progress" in line] or [""])[-1]
    signalled = time.monotonic()
    job.send_signal(stop)
    try:
        status = job.wait(give_up)
        seconds = time.monotonic() - signalled
    except subprocess.TimeoutExpired:
        status, seconds = None, None
        for process in [psutil.Process(job.pid)] + psutil.Process(job.pid).children(recursive=True):
            process.kill()
        job.wait()
    time.sleep(10)  # orphans killed with their parent are reaped by init meanwhile
    running = [p for p in tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    left = sorted(os.listdir(temp))
    with open(os.path.join(work, "stderr.txt")) as errors:
        last_line = (errors.read().strip().splitlines() or [""])[-1]
    for process in running:  # never left running by the bench itself
        process.kill()
    shutil.rmtree(temp, ignore_errors=True)
    return {"signal": stop.name, "after_s": after, "exit_s": seconds, "status": status,
            "tree": len(tree), "temp_entries_before": entries_before, "left_temp": left,
            "left_processes": len(running), "last_line": last_line,
            "progress": progress.split("medialayer.progress: ")[-1].strip()}


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    ours, extra = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=20000)
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--hanging", type=int, default=20, help="rows whose target never answers")
    parser.add_argument("--after", default="10,30", help="comma-separated seconds into the run to stop it")
    parser.add_argument("--signals", default="SIGTERM,SIGINT")
    parser.add_argument("--give-up", type=float, default=120.0, help="seconds to wait for the exit")
    parser.add_argument("--workdir", default=os.path.join(ROOT, "bench", "work", "stop"))
    args = parser.parse_args(ours)

    urls = generate_images(os.path.join(args.workdir, "images"), args.images, args.size)
    pairs = os.path.join(args.workdir, "pairs.jsonl")
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts (its backlog), never answers
        silent.listen(1024)
        generate_pairs(pairs, urls, args.pairs - args.hanging)
        with open(pairs, "a") as f:
            for i in range(args.hanging):
                f.write(json.dumps({"pair_id": f"hang{i}", "source_url": urls[i % len(urls)], "target_url":
                                    f"http://127.0.0.1:{silent.getsockname()[1]}/{i}.png"}) + "\n")
        print(f"{args.pairs:,} pairs over {args.images:,} images, {args.hanging} of them hanging; pipeline "
              f"options {extra or '(none)'}; repo {ROOT}", flush=True)
        for after in [float(a) for a in args.after.split(",")]:
            for name in args.signals.split(","):
                case = run_case(pairs, signal.Signals[name], after, args.give_up, extra, args.workdir)
                exit_s = f"{case['exit_s']:.2f} s" if case["exit_s"] is not None else f"> {args.give_up:g} s"
                print(f"{case['signal']:<8} at {after:>4g} s: exit {exit_s:>8}, status {case['status']}, "
                      f"processes {case['tree']} before / {case['left_processes']} left, TMPDIR entries "
                      f"{case['temp_entries_before']} before / left {case['left_temp']}; last line: "
                      f"{case['last_line'][:100]!r}; last progress line before the signal: {case['progress']!r}",
                      flush=True)


if __name__ == "__main__":
    main()
