"""Pictures inside composites, drawn off the quality bench's grid (issue 13): collages of 2-4 cells and 3 x 3 grids,
uneven cells, gutters and borders between them, two-panel memes with captions, the copy covering anywhere from 25% to
70% of the composite: recall at the matcher's own decision, per kind of composite, on one split's photos.

    python bench/collage_image.py --media-dir ../shared/media-dev --split tune

Each composite's layout, sizes, gutter, border and captions are drawn per copy (a generator seeded by the picture's
pixels and the edit's name), and its other cells hold OTHER photos of the split, drawn per copy from a quarter of the
split that holds neither the picture nor its neighbours in the list: ``bench/edits_image.py`` pairs a photo with its
next photo's composite, and two neighbours' composites with each other, so those negatives share no picture at all
(only a layout). Photos only (``--designs`` would draw the designs' other cells from the photos, unchecked). None of
these values is a constant of the matcher. Run it on a ``git archive`` of another commit for a side by side.
"""
from __future__ import annotations

import argparse
import hashlib
import math
import os
import random
import sys

from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root
from bench.edits_image import main  # noqa: E402
from bench.quality_image import load_sources  # noqa: E402

from medialayer.synthetic.image import WORDS  # noqa: E402

POOL: list[Image.Image] = []  # the split's photos, in edits_image's order (set in __main__)
POOL_CLASSES = 4  # the other cells of photo i come from the photos j with j % 4 == (i + 2) % 4, neighbours left out


def _key(image: Image.Image) -> bytes:
    return hashlib.md5(image.resize((16, 16)).tobytes()).digest()


def _others(image: Image.Image, count: int, rng: random.Random, similar: bool = False) -> list[Image.Image]:
    """``count`` other photos of the split for ``image``'s composite: never ``image``, its neighbour before or after
    it (whose composites are its negatives), nor a photo the neighbours' composites may draw (another class);
    ``similar``: those of the closest mean colour, the seam between two pictures of like colours."""
    keys = [_key(photo) for photo in POOL]
    i, n = keys.index(_key(image)), len(POOL)
    pool = [j for j in range(n)
            if j % POOL_CLASSES == (i + 2) % POOL_CLASSES and j not in ((i - 1) % n, i, (i + 1) % n)]
    if similar:
        return [POOL[j] for j in sorted(pool, key=lambda j: _colour_distance(image, POOL[j]))[:count]]
    return [POOL[j] for j in (rng.sample(pool, count) if count <= len(pool) else rng.choices(pool, k=count))]


def _colour_distance(image: Image.Image, other: Image.Image) -> float:
    mean, other_mean = image.resize((1, 1)).getpixel((0, 0)), other.resize((1, 1)).getpixel((0, 0))
    return math.dist(mean, other_mean)


def _rng(image: Image.Image, name: str) -> random.Random:
    return random.Random(_key(image) + name.encode())


def _cover(image: Image.Image, width: int, height: int, rng: random.Random, kept: float = 1.0) -> Image.Image:
    """``image`` scaled to cover width x height and cropped there, the crop's offset drawn (not always centred);
    ``kept`` under 1: zoomed in first, to a window of the cell's shape holding that share of the picture's area (or
    less, where the cell's shape allows no more)."""
    if kept < 1.0:
        window_height = min(math.sqrt(kept * image.width * image.height * height / width), image.height,
                            image.width * height / width)
        window_width = window_height * width / height
        left = rng.uniform(0, image.width - window_width)
        top = rng.uniform(0, image.height - window_height)
        image = image.crop((round(left), round(top), round(left + window_width), round(top + window_height)))
    scale = max(width / image.width, height / image.height)
    scaled = image.resize((math.ceil(image.width * scale), math.ceil(image.height * scale)), Image.Resampling.LANCZOS)
    left, top = rng.randint(0, scaled.width - width), rng.randint(0, scaled.height - height)
    return scaled.crop((left, top, left + width, top + height))


def _split(box, share: float, vertical: bool):
    """``box`` (x0, y0, x1, y1, fractions) cut in two, the first part ``share`` of it, across x when ``vertical``."""
    x0, y0, x1, y1 = box
    if vertical:
        x = x0 + share * (x1 - x0)
        return (x0, y0, x, y1), (x, y0, x1, y1)
    y = y0 + share * (y1 - y0)
    return (x0, y0, x1, y), (x0, y, x1, y1)


def _layout(cells: int, share: float, rng: random.Random) -> list[tuple]:
    """``cells`` boxes tiling the unit square, the first (the copy's) ``share`` of it, the rest split unevenly."""
    if cells == 9:  # a 3 x 3 grid of uneven rows and columns (round collage28), the copy in any cell of it
        xs, ys = ([0.0, rng.uniform(0.28, 0.38), rng.uniform(0.62, 0.72), 1.0] for _ in range(2))
        boxes = [(x0, y0, x1, y1) for y0, y1 in zip(ys, ys[1:]) for x0, x1 in zip(xs, xs[1:])]
        first = rng.randrange(9)
        return [boxes[first]] + boxes[:first] + boxes[first + 1:]
    vertical = rng.random() < 0.5
    if cells == 4:  # a grid of uneven rows and columns: the copy's cell is u x v of it
        u = rng.uniform(max(share, 0.35), min(0.85, share / 0.35))
        first, rest = _split((0, 0, 1, 1), u, vertical)
        top = _split(first, share / u, not vertical)
        bottom = _split(rest, share / u, not vertical)
        boxes = [top[0], top[1], bottom[0], bottom[1]]
    else:
        boxes = list(_split((0, 0, 1, 1), share, vertical))
        if cells == 3:
            boxes[1:] = _split(boxes[1], rng.uniform(0.35, 0.65), not vertical if rng.random() < 0.7 else vertical)
    if rng.random() < 0.5:  # the copy's cell anywhere: mirror the layout across x and y as drawn
        boxes = [(1 - x1, y0, 1 - x0, y1) for x0, y0, x1, y1 in boxes]
    if rng.random() < 0.5:
        boxes = [(x0, 1 - y1, x1, 1 - y0) for x0, y0, x1, y1 in boxes]
    return boxes


def _keeps_half(image: Image.Image, width: float, height: float) -> bool:
    """Does a width x height cell cover-cropped from ``image`` keep half of it at least?"""
    return 0.5 <= (width / height) / (image.width / image.height) <= 2.0


def _collage(image: Image.Image, cells: int, name: str, border: bool = False,
             others: list[Image.Image] | None = None, shares: tuple = (0.25, 0.70), kept: tuple | None = None,
             similar: bool = False, gutters: tuple = (0.003, 0.03)) -> Image.Image:
    """``image`` in one of ``cells`` cells, covering a share of the canvas drawn from ``shares``; the other cells hold
    photos drawn from ``others`` if given, else _others (``similar``: of the closest colours); ``kept``: the range of
    the share of the picture's area its cell shows, drawn (else as much as the cell's shape keeps); the gutter, when
    there is one, a share of the width drawn from ``gutters``."""
    rng = _rng(image, name)
    width = rng.randint(800, 1280)
    height = round(width * rng.uniform(0.6, 1.4))
    gutter = rng.choice([0, 0, rng.uniform(*gutters)])  # of the width: none, or a hairline to a wide gap
    ground = rng.choice([(255, 255, 255), (0, 0, 0), tuple(rng.randint(0, 255) for _ in range(3))])
    frame = rng.uniform(0.02, 0.06) if border else 0.0
    canvas = Image.new("RGB", (width, height), ground)
    pictures = [image] + (rng.sample(others, cells - 1) if others else _others(image, cells - 1, rng, similar))
    gap, margin = gutter * width / 2, frame * width
    while True:  # the copy's cell within twice the picture's aspect ratio: its crop keeps half the picture at least
        boxes = _layout(cells, rng.uniform(*shares), rng)
        x0, y0, x1, y1 = boxes[0]
        if _keeps_half(image, (x1 - x0) * (width - 2 * margin), (y1 - y0) * (height - 2 * margin)):
            break
    shown = [rng.uniform(*kept) if kept else 1.0] + [1.0] * (cells - 1)
    for picture, share, (x0, y0, x1, y1) in zip(pictures, shown, boxes):
        inner = (margin + x0 * (width - 2 * margin), margin + y0 * (height - 2 * margin),
                 margin + x1 * (width - 2 * margin), margin + y1 * (height - 2 * margin))
        left, top = round(inner[0] + (gap if x0 > 0 else 0)), round(inner[1] + (gap if y0 > 0 else 0))
        right, bottom = round(inner[2] - (gap if x1 < 1 else 0)), round(inner[3] - (gap if y1 < 1 else 0))
        canvas.paste(_cover(picture, right - left, bottom - top, rng, share), (left, top))
    return canvas


def _meme(image: Image.Image, name: str, others: list[Image.Image] | None = None) -> Image.Image:
    """Two panels stacked, each under a caption bar (or with its caption over the picture), the copy in one of them
    covering 25-70% of the whole; the other panel's photo drawn from ``others`` if given, else _others."""
    rng = _rng(image, name)
    width = rng.randint(600, 1000)
    while True:  # (the copy's panel within twice the picture's aspect ratio, as a collage cell)
        share, height = rng.uniform(0.25, 0.70), round(width * rng.uniform(0.9, 1.6))  # the copy's panel, the meme's
        if _keeps_half(image, width, share * height):
            break
    bar = rng.uniform(0.0, 0.12)  # each caption bar's share of the height
    panel = [share, 1 - 2 * bar - share]
    if panel[1] < 0.1:  # (a large copy: the bars give way)
        bar, panel[1] = (1 - share - 0.1) / 2, 0.1
    pictures = [image, rng.choice(others) if others else _others(image, 1, rng)[0]]
    if rng.random() < 0.5:
        panel, pictures = panel[::-1], pictures[::-1]
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=max(12, round(height * max(bar, 0.05) * 0.6)))
    y = 0.0
    for picture, panel_share in zip(pictures, panel):
        bar_top = round(y * height)
        y += bar
        top, bottom = round(y * height), round((y + panel_share) * height)
        canvas.paste(_cover(picture, width, bottom - top, rng), (0, top))
        text_y = (bar_top + top) / 2 if bar > 0.02 else top + (bottom - top) * 0.12
        colour = (0, 0, 0) if bar > 0.02 else (255, 255, 255)
        draw.text((width / 2, text_y), " ".join(rng.choice(WORDS) for _ in range(3)), fill=colour, font=font,
                  anchor="mm", stroke_width=0 if bar > 0.02 else 2, stroke_fill=(0, 0, 0))
        y += panel_share
    return canvas


EDITS = {
    "collage 2 cells": lambda im: _collage(im, 2, "collage 2 cells"),
    "collage 3 cells": lambda im: _collage(im, 3, "collage 3 cells"),
    "collage 4 cells": lambda im: _collage(im, 4, "collage 4 cells"),
    "collage 2-4 cells, bordered": lambda im: _collage(im, 2 + _rng(im, "cells").randint(0, 2), "bordered", True),
    "meme 2 panels": lambda im: _meme(im, "meme 2 panels"),
    # Harder draws (round collage22): a small cell, a cell zoomed in, neighbours of like colours, then all at once,
    # with no gutter, a hairline or a wide one. (A cell of under 40% of a 2- or 3-cell collage spans its height or
    # width: a sliver of the picture; a small cell is one of 4.)
    "collage 4 cells, small cell": lambda im: _collage(im, 4, "small cell", shares=(0.15, 0.40), gutters=(0.002, 0.06)),
    "collage 2-4 cells, zoomed cell": lambda im: _collage(
        im, 2 + _rng(im, "cells").randint(0, 2), "zoomed cell", kept=(0.40, 0.70), gutters=(0.002, 0.06)),
    "collage 2-4 cells, like colours": lambda im: _collage(
        im, 2 + _rng(im, "cells").randint(0, 2), "like colours", similar=True, gutters=(0.002, 0.06)),
    "collage 4 cells, all of these": lambda im: _collage(
        im, 4, "all of these", shares=(0.15, 0.40), kept=(0.40, 0.70), similar=True, gutters=(0.002, 0.06)),
    # Off the 25-70% (round collage28): a cell of a 3 x 3 grid, 8-19% of the collage, whole or zoomed in.
    "collage 3 x 3 grid": lambda im: _collage(im, 9, "3 x 3 grid", gutters=(0.002, 0.03)),
    "collage 3 x 3 grid, zoomed cell": lambda im: _collage(im, 9, "3 x 3 zoomed", kept=(0.40, 0.70),
                                                           gutters=(0.002, 0.03)),
}

if __name__ == "__main__":
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--media-dir")
    parser.add_argument("--split", default="report")
    known, _ = parser.parse_known_args()
    if known.media_dir:
        POOL[:] = [Image.open(source["path"]).convert("RGB") for source in load_sources(known.media_dir, known.split)]
    main(EDITS, __doc__)
