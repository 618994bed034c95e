"""Where a small or zoomed collage cell's correspondences come from: per ORB pyramid level of the picture's
keypoints, how many lie in its cell and have their correspondence in the collage at their place (round collage27).

    python bench/cell_levels_image.py --media-dir ../shared/media-dev --split tune [--set NAME=VALUE ...]

The composites are ``bench/collage_image.py``'s small-cell, zoomed and all-of-these rows (the very same draws) and
four draws off its grid: a cell of 10-30% of a 4-cell collage, a 3 x 3 grid of even cells, a cell zoomed 1.2-1.9
times, a small cell zoomed. Where the picture's cell is pasted and how it was scaled and cropped is recorded as the
bench draws it, so each of the picture's keypoints (its JPEG q85 fingerprint) is mapped into the collage's working
image. A keypoint is *at its place* where its nearest descriptor among all the collage's, within MAX_BITS, belongs
to a keypoint the collage kept within PLACE_PX of that place: the correspondences a fit can use. Per draw: the median scale (picture to collage, working pixels), a
picture's mean keypoints in its cell and at their place per level group, and compare()'s matches (the copy; each
composite against the next photo, a negative). ``--set`` changes a constant of ``medialayer.matchers.image`` for
the run (a keypoint selection's variants measured alike). None of these values is a constant of the matcher.
"""
from __future__ import annotations

import argparse
import math
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root
import bench.collage_image as collage  # noqa: E402
from bench.edits_image import jpeg_fingerprint  # noqa: E402
from bench.quality_image import load_sources  # noqa: E402
from medialayer.matchers import image as matcher  # noqa: E402

PLACE_PX, MAX_BITS = 4.0, 64  # a keypoint's correspondence: within this (collage working px), this close (of 256 bits)
ORB_LEVELS = 8  # the matcher's ORB pyramid (cv2.ORB_create's default nlevels)
LEVEL_GROUPS = {"0": (0,), "1-2": (1, 2), "3": (3,), "4-7": (4, 5, 6, 7)}
CELL: dict = {}  # the picture's cell as the draw made it: its source, the map into it, where it was pasted
_bench_cover = collage._cover
_paste = Image.Image.paste


def _recording_cover(image, width, height, rng, kept=1.0):
    """collage._cover, recording for the picture's own cell the map from its pixels into the cell: the crop's
    window (its zoom) is found again from the same draws, so the generator's state is as the bench's."""
    state = rng.getstate()
    cell = _bench_cover(image, width, height, rng, kept)
    if image is CELL.get("source") and "cell" not in CELL:
        rng.setstate(state)
        left = top = 0
        shown_width, shown_height = image.width, image.height
        if kept < 1.0:  # as _cover draws its window
            shown_height = min(math.sqrt(kept * image.width * image.height * height / width), image.height,
                               image.width * height / width)
            shown_width = shown_height * width / height
            window_left = rng.uniform(0, image.width - shown_width)
            window_top = rng.uniform(0, image.height - shown_height)
            left, top = round(window_left), round(window_top)
            shown_width = round(window_left + shown_width) - left
            shown_height = round(window_top + shown_height) - top
        scale = max(width / shown_width, height / shown_height)
        scaled_width, scaled_height = math.ceil(shown_width * scale), math.ceil(shown_height * scale)
        offset = rng.randint(0, scaled_width - width), rng.randint(0, scaled_height - height)
        CELL.update(cell=cell, map=(left, top, scaled_width / shown_width, scaled_height / shown_height, *offset),
                    size=(width, height))
    return cell


def _recording_paste(self, im, box=None, mask=None):
    if im is CELL.get("cell"):
        CELL["at"] = box
    return _paste(self, im, box, mask)


def _grid(image: Image.Image, name: str, side: int = 3) -> Image.Image:
    """``image`` in one cell of a side x side grid of even cells (other photos in the rest, as collage._others)."""
    rng = collage._rng(image, name)
    width = rng.randint(800, 1280)
    height = round(width * rng.uniform(0.6, 1.4))
    gap = rng.choice([0, 0, rng.uniform(0.002, 0.03) * width]) / 2
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    others = collage._others(image, 4, rng)
    mine = rng.randrange(side * side)
    for k in range(side * side):
        row, column = divmod(k, side)
        left = round(column * width / side + (gap if column else 0))
        top = round(row * height / side + (gap if row else 0))
        right = round((column + 1) * width / side - (gap if column < side - 1 else 0))
        bottom = round((row + 1) * height / side - (gap if row < side - 1 else 0))
        picture = image if k == mine else rng.choice(others)
        canvas.paste(collage._cover(picture, right - left, bottom - top, rng), (left, top))
    return canvas


DRAWS = {
    "bench small cell": collage.EDITS["collage 4 cells, small cell"],
    "bench zoomed cell": collage.EDITS["collage 2-4 cells, zoomed cell"],
    "bench all of these": collage.EDITS["collage 4 cells, all of these"],
    "cell 10-30% of 4": lambda im: collage._collage(im, 4, "small27", shares=(0.10, 0.30), gutters=(0.002, 0.06)),
    "3 x 3 grid": lambda im: _grid(im, "grid27"),
    "zoomed 1.2-1.9": lambda im: collage._collage(im, 2 + collage._rng(im, "cells27").randint(0, 2), "zoom27",
                                                  kept=(0.28, 0.69), gutters=(0.002, 0.06)),
    "cell 10-30% zoomed": lambda im: collage._collage(im, 4, "smallzoom27", shares=(0.10, 0.30), kept=(0.28, 0.69)),
}


def _working_scale(fingerprint, width: int, height: int) -> tuple[float, float]:
    """Working pixels per decoded pixel, across and down (the trimmed frame scaled to the working image)."""
    left, top, right, bottom = fingerprint.frame
    return fingerprint.width / ((right - left) * width), fingerprint.height / ((bottom - top) * height)


def _per_level(picture, composite, source: Image.Image, canvas: Image.Image) -> tuple[np.ndarray, float]:
    """(levels x (in the cell, at its place) counts of the picture's keypoints, the scale between them)."""
    points, levels = picture.keypoints, np.frombuffer(picture.keypoint_geometry, np.uint8).reshape(-1, 2)[:, 1]
    their_points = composite.keypoints
    across, down = _working_scale(picture, *source.size)
    x = picture.frame[0] * source.width + points[:, 0] / across
    y = picture.frame[1] * source.height + points[:, 1] / down
    left, top, scale_x, scale_y, offset_x, offset_y = CELL["map"]
    x, y = (x - left) * scale_x - offset_x, (y - top) * scale_y - offset_y  # in the cell
    inside = (x >= 0) & (x < CELL["size"][0]) & (y >= 0) & (y < CELL["size"][1])
    their_across, their_down = _working_scale(composite, *canvas.size)
    x = (x + CELL["at"][0] - composite.frame[0] * canvas.width) * their_across
    y = (y + CELL["at"][1] - composite.frame[1] * canvas.height) * their_down
    distance = matcher._hamming_distances(*(np.frombuffer(fp.descriptors, np.uint8).reshape(-1, 32)
                                            for fp in (picture, composite)))
    near = np.hypot(their_points[None, :, 0] - x[:, None], their_points[None, :, 1] - y[:, None]) <= PLACE_PX
    at_place = near[np.arange(len(points)), distance.argmin(axis=1)] & (distance.min(axis=1) <= MAX_BITS)
    counts = np.array([[(inside & (levels == level)).sum(), (inside & (levels == level) & at_place).sum()]
                       for level in range(ORB_LEVELS)])
    return counts, float(scale_x * their_across / across)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--media-dir", required=True)
    parser.add_argument("--split", default="report", choices=("tune", "report"))
    parser.add_argument("--set", nargs="*", default=[], help="NAME=VALUE: a constant of the image matcher")
    args = parser.parse_args()
    for setting in args.set:
        name, value = setting.split("=")
        setattr(matcher, name, type(getattr(matcher, name))(value))
    collage._cover, Image.Image.paste = _recording_cover, _recording_paste
    collage.POOL[:] = [Image.open(source["path"]).convert("RGB") for source in load_sources(args.media_dir, args.split)]
    originals = [jpeg_fingerprint(image) for image in collage.POOL]
    print(f"split {args.split}: {len(originals)} photos; per level group of the picture's keypoints, a picture's mean "
          "in its cell / at their place (the share at their place)")
    print("| draw | scale | " + " | ".join(f"levels {group}" for group in LEVEL_GROUPS)
          + " | at their place, median | copies matched | next photo matched |")
    print("|---" * (len(LEVEL_GROUPS) + 5) + "|")
    for name, draw in DRAWS.items():
        totals, scales, at_place, copies, negatives = np.zeros((ORB_LEVELS, 2)), [], [], 0, 0
        for i, image in enumerate(collage.POOL):
            CELL.clear()
            CELL["source"] = image
            canvas = draw(image)
            composite = jpeg_fingerprint(canvas)
            counts, scale = _per_level(originals[i], composite, image, canvas)
            totals += counts
            scales.append(scale)
            at_place.append(counts[:, 1].sum())
            copies += matcher.MATCHER.compare(originals[i], composite).match
            negatives += matcher.MATCHER.compare(originals[(i + 1) % len(originals)], composite).match
        n = len(collage.POOL)
        groups = [totals[list(levels)].sum(axis=0) for levels in LEVEL_GROUPS.values()]
        print(f"| {name} | {np.median(scales):.2f} | "
              + " | ".join(f"{g[0] / n:.0f} / {g[1] / n:.1f} ({g[1] / max(g[0], 1):.2f})" for g in groups)
              + f" | {np.median(at_place):.0f} | {copies} of {n} | {negatives} of {n} |", flush=True)


if __name__ == "__main__":
    main()
