"""The worst case of one compare: two fingerprints of media as long as the duration caps allow (issue 17).

    python bench/compare_caps.py [--media-type audio video] [--seconds 10800]

For each media type, two different generated files of ``--seconds`` (default: the cap of that type,
``Limits().max_audio_seconds`` / ``max_video_seconds``) are encoded with FFmpeg (video: lavfi test patterns at
320x240; audio: generated melodies, 22.05 kHz mono), fingerprinted once, and compared: each with itself (the
most shared content there can be) and with the other (unrelated: every index lookup a miss). Printed: the
fingerprinting CPU time, the fingerprint size, and the CPU time of each compare (best of ``--repeat``). The
files are made in a temporary folder and removed.
"""
from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root

from bench.common import print_table  # noqa: E402
from medialayer.limits import Limits  # noqa: E402
from medialayer.matchers import get_matcher  # noqa: E402
from medialayer.media import Blob  # noqa: E402
from medialayer.synthetic import audio as synth_audio  # noqa: E402

VIDEO_SOURCES = ("testsrc2=size=320x240:rate=25", "life=size=320x240:rate=25:mold=10:ratio=0.1")  # both cheap to generate


def make_video(path: str, source: str, seconds: float) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", source, "-t", str(seconds),
                    "-c:v", "libx264", "-preset", "ultrafast", "-g", "250", "-pix_fmt", "yuv420p", path], check=True)


def make_audio(path: str, seed: int, seconds: float) -> None:
    """A generated melody a minute long, repeated with a new seed each minute, piped to FFmpeg (the whole
    file never sits in memory)."""
    rate = 22050
    encoder = subprocess.Popen(["ffmpeg", "-v", "error", "-y", "-f", "f32le", "-ar", str(rate), "-ac", "1",
                                "-i", "-", "-c:a", "libmp3lame", "-b:a", "64k", path], stdin=subprocess.PIPE)
    written, minute = 0.0, 0
    while written < seconds:
        part = min(60.0, seconds - written)
        samples = synth_audio.melody(part, seed=seed * 100_000 + minute, sr=rate)
        encoder.stdin.write(np.asarray(samples, np.float32).tobytes())
        written, minute = written + part, minute + 1
    encoder.stdin.close()
    if encoder.wait():
        raise RuntimeError("ffmpeg failed")


def cpu(function):
    started = time.process_time()
    value = function()
    return value, time.process_time() - started


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media-type", nargs="+", default=["audio", "video"], choices=("audio", "video"))
    parser.add_argument("--seconds", type=float, help="length of each file (default: the cap of its type)")
    parser.add_argument("--repeat", type=int, default=2, help="compares timed per pair (the best is shown)")
    args = parser.parse_args(argv)
    limits = Limits()
    rows = []
    with tempfile.TemporaryDirectory(prefix="compare-caps-") as work:
        for kind in args.media_type:
            seconds = args.seconds or (limits.max_audio_seconds if kind == "audio" else limits.max_video_seconds)
            matcher, fingerprints, fingerprint_cpu = get_matcher(kind), [], []
            for i in range(2):
                path = os.path.join(work, f"{kind}{i}.{'mp3' if kind == 'audio' else 'mp4'}")
                if kind == "audio":
                    make_audio(path, i, seconds)
                else:
                    make_video(path, VIDEO_SOURCES[i], seconds)
                fp, spent = cpu(lambda: matcher.fingerprint(Blob(path=path), limits))
                fingerprints.append(fp)
                fingerprint_cpu.append(spent)
                os.remove(path)
            size = np.mean([len(pickle.dumps(fp)) for fp in fingerprints])
            for name, (a, b) in (("itself", (fingerprints[0], fingerprints[0])),
                                 ("unrelated", (fingerprints[0], fingerprints[1]))):
                times = []
                for _ in range(args.repeat):
                    result, spent = cpu(lambda: matcher.compare(a, b))
                    times.append(spent)
                rows.append([kind, f"{seconds:.0f}", name, f"{max(fingerprint_cpu):.1f}", f"{size / 2**20:.1f}",
                             f"{min(times):.3f}", result.match, len(result.segments)])
    print(f"command: {' '.join(sys.argv)}; load average {os.getloadavg()[0]:.1f}")
    print_table(["media", "seconds", "compared with", "fingerprint CPU-s (max of 2)", "fingerprint MiB",
                 "compare CPU-s (best)", "match", "segments"], rows)


if __name__ == "__main__":
    main()
