"""Image matcher speed per CPU core, decode included, side by side with the pHash and PDQ baselines.

    python bench/speed_image.py --media-dir ../shared/media-dev [--pairs 40]

Each pair is two distinct JPEG files, both decoded and fingerprinted, then compared, in this one
process (so the figures are per core; no file recurs, so a pair costs two fingerprints and a compare). Rows:
  * <= 2 MP, decided at the global stage: a photo against its JPEG q50 re-encode;
  * <= 2 MP, worst case: a photo against a 25% crop of it rotated 4 degrees (keypoint verification);
  * 12 MP: a photo upscaled to 4000x3000 against its q50 re-encode;
  * cached fingerprints: compare() alone on the worst-case pairs, on the re-encoded copies and on
    unrelated photos (each against the next photo of another series), the last also without the
    cascade (``CASCADE = False``: every pair verified and scored in full, the code before it).
pHash (imagehash) and PDQ (pdqhash, on the image scaled to 512 px as PDQ's reference hashers do) hash the
same files in the same run. Then the steps of our fingerprint, profiled on the <= 2 MP files.
CPU seconds (``time.process_time``) are the primary figure because the machine is shared; wall seconds
are printed too. Derived files go under ``--workdir``, never into the repo.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pickle
import pstats
import sys
import time

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root
from bench.common import manifest_rows, print_table  # noqa: E402

from medialayer.limits import Limits  # noqa: E402
from medialayer.matchers import image as matcher  # noqa: E402
from medialayer.matchers.image import MATCHER, hash_distance  # noqa: E402
from medialayer.media import Blob  # noqa: E402
from medialayer.synthetic import image as synthetic  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _write(path: str, image: Image.Image, quality: int) -> str:
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(synthetic.encode(image, "JPEG", quality))
    return path


def photos_of(media_dir: str, count: int) -> tuple[list[str], list[str]]:
    """(the first ``count`` JPEG photos of at most 2 MP in the MANIFEST, the series (MANIFEST group) of each)."""
    rows = [r for r in manifest_rows(media_dir, "image") if r["path"].endswith(".jpg")]
    photos = []
    for r in rows:
        width, height = (int(v) for v in r["duration_s_or_wxh"].split("x"))
        if width * height <= 2_000_000:
            photos.append(os.path.join(media_dir, r["path"]))
    photos = photos[:count]
    groups = {os.path.join(media_dir, r["path"]): r["group"] for r in rows}
    return photos, [groups[path] for path in photos]


def unrelated_pairs(originals: list, groups: list[str]) -> list[tuple]:
    """Each of ``originals`` against the next one of another series (none if all are of one series)."""
    partners = [next((originals[(i + k) % len(originals)] for k in range(1, len(originals))
                      if groups[(i + k) % len(originals)] != groups[i]), None) for i in range(len(originals))]
    return [(a, b) for a, b in zip(originals, partners) if b is not None]


def prepare(media_dir: str, workdir: str, count: int) -> tuple[dict[str, list[tuple[str, str]]], list[str]]:
    """(pairs per row, the series (MANIFEST group) of each photo)."""
    photos, groups = photos_of(media_dir, count)
    os.makedirs(workdir, exist_ok=True)
    pairs = {"global": [], "verify": [], "12mp": []}
    for i, path in enumerate(photos):
        image = Image.open(path).convert("RGB")
        stem = os.path.join(workdir, f"{i:03d}")
        pairs["global"].append((path, _write(stem + "_q50.jpg", image, 50)))
        attacked = synthetic.rotate(synthetic.crop(image, 0.25, (0.3, 0.6)), 4.0, fill_corners=False)
        pairs["verify"].append((path, _write(stem + "_crop_rot.jpg", attacked, 85)))
        if i < max(4, count // 4):
            big = image.resize((4000, 3000) if image.width >= image.height else (3000, 4000), Image.Resampling.BICUBIC)
            big_path = _write(stem + "_12mp.jpg", big, 90)
            pairs["12mp"].append((big_path, _write(stem + "_12mp_q50.jpg", big, 50)))
    return pairs, groups


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def time_ours(pairs):
    """(CPU s, wall s, matches, fingerprints of the last pair set) for fingerprint + fingerprint + compare."""
    blobs = [(_read(a), _read(b)) for a, b in pairs]  # file reads are the fetcher's job, not the matcher's
    limits = Limits()
    cpu, wall = time.process_time(), time.perf_counter()
    matches, fingerprints = 0, []
    for a, b in blobs:
        fa, fb = MATCHER.fingerprint(Blob(data=a), limits), MATCHER.fingerprint(Blob(data=b), limits)
        matches += MATCHER.compare(fa, fb).match
        fingerprints.append((fa, fb))
    return time.process_time() - cpu, time.perf_counter() - wall, matches, fingerprints


# Steps of ImageMatcher.fingerprint, by the function that does each (module file, function name).
FINGERPRINT_STEPS = {"decode (Pillow, draft)": ("image.py", "decode_image"),
                     "trim borders, scale to the working image": ("image.py", "working_image"),
                     "DCT hashes (whole, centre)": ("image.py", "_dihedral_hashes"),
                     "ORB keypoints and descriptors": ("image.py", "_keypoints"),
                     "visual words": ("image_sketch.py", "visual_words")}


def fingerprint_steps(pairs) -> tuple[list[list], float]:
    """(CPU ms per fingerprint of each of FINGERPRINT_STEPS, ms of the whole fingerprint), by cProfile over
    fingerprinting both files of every pair (cumulative times: the profiler's own overhead is in them)."""
    blobs = [_read(path) for pair in pairs for path in pair]
    limits = Limits()
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    for data in blobs:
        MATCHER.fingerprint(Blob(data=data), limits)
    profile.disable()
    cumulative = {}
    for (file, _, name), (_, _, _, seconds, _) in pstats.Stats(profile).stats.items():
        cumulative[(os.path.basename(file), name)] = cumulative.get((os.path.basename(file), name), 0.0) + seconds
    per_image = {step: 1000 * cumulative.get(where, 0.0) / len(blobs) for step, where in FINGERPRINT_STEPS.items()}
    return [[step, ms] for step, ms in per_image.items()], 1000 * cumulative[("image.py", "fingerprint")] / len(blobs)


def time_phash(pairs):
    import imagehash
    blobs = [(_read(a), _read(b)) for a, b in pairs]
    cpu, wall = time.process_time(), time.perf_counter()
    matches = 0
    for a, b in blobs:
        matches += (imagehash.phash(Image.open(io.BytesIO(a))) - imagehash.phash(Image.open(io.BytesIO(b)))) <= 10
    return time.process_time() - cpu, time.perf_counter() - wall, matches


def time_pdq(pairs):
    import pdqhash
    blobs = [(_read(a), _read(b)) for a, b in pairs]

    def pdq(data: bytes) -> np.ndarray:
        image = Image.open(io.BytesIO(data)).convert("RGB")
        image.thumbnail((512, 512))
        return pdqhash.compute(np.asarray(image))[0]

    cpu, wall = time.process_time(), time.perf_counter()
    matches = 0
    for a, b in blobs:
        matches += int(np.sum(pdq(a) != pdq(b))) <= 31  # PDQ's own match threshold
    return time.process_time() - cpu, time.perf_counter() - wall, matches


def time_compare(fingerprint_pairs, cascade: bool = True, min_cpu_seconds: float = 2.0):
    """(CPU pairs/s, wall pairs/s) of compare() over the pairs, repeated for at least ``min_cpu_seconds``,
    with or without the cascade."""
    matcher.CASCADE = cascade
    try:
        cpu, wall = time.process_time(), time.perf_counter()
        n = 0
        while n == 0 or time.process_time() - cpu < min_cpu_seconds:
            for a, b in fingerprint_pairs:
                MATCHER.compare(a, b)
            n += len(fingerprint_pairs)
        return n / (time.process_time() - cpu), n / (time.perf_counter() - wall)
    finally:
        matcher.CASCADE = True


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--media-dir", required=True)
    parser.add_argument("--workdir", default=os.path.join(REPO, "bench", "work", "image-speed"))
    parser.add_argument("--pairs", type=int, default=40, help="photos used (pairs per row; 12 MP rows use a quarter)")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)  # one core: OpenCV would otherwise spread work over threads
    pairs, groups = prepare(args.media_dir, args.workdir, args.pairs)
    MATCHER.compare(*time_ours(pairs["global"][:1])[3][0])  # warm-up: imports, OpenCV initialisation

    table, cached = [], {}
    targets = {"global": 40, "verify": 15, "12mp": 10}
    for name, rows in pairs.items():
        cpu, wall, matches, fingerprints = time_ours(rows)
        cached[name] = fingerprints
        verified = sum(hash_distance(a, b) > 31 for a, b in fingerprints)
        p_cpu, p_wall, p_matches = time_phash(rows)
        q_cpu, _, q_matches = time_pdq(rows)
        table.append([name, len(rows), verified, targets[name], len(rows) / cpu, len(rows) / wall,
                      f"{matches}/{len(rows)}", len(rows) / p_cpu, f"{p_matches}/{len(rows)}",
                      len(rows) / q_cpu, f"{q_matches}/{len(rows)}"])
    print("Pairs per second, decode + 2 fingerprints (hashes) + compare, one process")
    print_table(["pairs", "n", "verified", "target/s", "ours CPU/s", "ours wall/s", "ours match",
                 "pHash CPU/s", "pHash match", "PDQ CPU/s", "PDQ match"], table)
    steps, whole = fingerprint_steps(pairs["global"])
    print(f"\nWhere a fingerprint's time goes (the 'global' pairs' {2 * len(pairs['global'])} files, cProfile, CPU): "
          f"{whole:.1f} ms a fingerprint, profiler included")
    print_table(["step", "CPU ms"], steps + [["other", whole - sum(ms for _, ms in steps)]])

    unrelated = unrelated_pairs([a for a, _ in cached["global"]], groups)
    compare_rows = [[name, len(fps), target, *time_compare(fps, cascade)]
                    for name, fps, target, cascade in
                    (("verify (crop+rotate)", cached["verify"], "", True), ("global (q50)", cached["global"], "", True),
                     ("unrelated photos", unrelated, 5000, True),
                     ("unrelated photos, no cascade", unrelated, "", False)) if fps]
    rejected = sum(hash_distance(a, b) > matcher.ACCEPT_DISTANCE and not matcher.may_verify(a, b) for a, b in unrelated)
    print("\nCompare on cached fingerprints")
    print_table(["pairs", "n", "target/s", "CPU pairs/s", "wall pairs/s"], compare_rows)
    print(f"unrelated photo pairs the visual-word stage rejects: {rejected} of {len(unrelated)}")
    sizes = [len(pickle.dumps(f)) for pair in cached["global"] for f in pair]
    print(f"\nfingerprint size (pickled): mean {np.mean(sizes):.0f} B, max {max(sizes)} B")


if __name__ == "__main__":
    main()
