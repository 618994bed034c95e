"""One part of a picture in another colour, with sizes and shifts off the quality bench's grid: how often the matcher
takes it for a copy, per edit, on one split's images. Every edit here is a negative (issue 13: a global photometric
change is a copy, a change of the colour of part of the picture is not), so the first column counts false positives.

    python bench/recolour_image.py --media-dir ../shared/media-dev --split tune --designs

The quality bench's ``hard:recolour`` recolours a soft blob of 0.15 / 0.275 / 0.4 of a photo (0.1 / 0.175 / 0.25 of a
product on white) on the tune grid, turning its hue by 90-270 degrees and lifting its saturation and brightness
(``synthetic.recolour_region``); a design's main element gets a palette colour. Here the part is an ellipse with a
feathered edge (a selection's), its size and shift chosen between or beyond those, its saturation and brightness kept:
a small part, a part turned by less than the bench's least turn, half the picture, a part tinted (a grey part
coloured), a part darkened or brightened only (a local exposure change: measured, the product decision is about
colour), and the bench's own recolour at other sizes. A near-white pixel (a product's studio ground) is never
changed. None of these values is a constant of the matcher.
"""
from __future__ import annotations

import os
import sys
import zlib

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root
from bench.edits_image import main  # noqa: E402

from medialayer.synthetic import image as synthetic  # noqa: E402


def _part(image: Image.Image, area: float) -> np.ndarray:
    """A feathered ellipse covering about ``area`` of the image (weights 0-1), placed by the image's own pixels (each
    picture gets its own place, the same every run), near-white pixels left out."""
    rng = np.random.default_rng(zlib.crc32(image.resize((16, 16)).tobytes()))
    w, h = image.size
    aspect = rng.uniform(0.6, 1.6)
    rx = min(np.sqrt(area * w * h / np.pi * aspect), w / 2)
    ry = min(area * w * h / np.pi / rx, h / 2)
    cx, cy = rng.uniform(rx, w - rx), rng.uniform(ry, h - ry)
    mask = np.zeros((h, w), np.float32)
    cv2.ellipse(mask, (round(cx), round(cy)), (round(rx), round(ry)), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, 0.01 * max(w, h)))
    return np.where((np.asarray(image) >= 245).all(axis=2), 0.0, mask)[..., None]


def _in_part(image: Image.Image, edited: Image.Image, area: float) -> Image.Image:
    """``edited`` inside the part (_part), ``image`` outside it."""
    weight = _part(image, area)
    pixels = np.asarray(image, np.float32) * (1 - weight) + np.asarray(edited.convert("RGB"), np.float32) * weight
    return Image.fromarray(np.clip(pixels + 0.5, 0, 255).astype(np.uint8))


def _tinted(image: Image.Image, hue: float) -> Image.Image:
    """Every pixel given ``hue`` (degrees) at saturation 0.45, its brightness kept: a grey part coloured."""
    hsv = np.asarray(image.convert("HSV")).copy()
    hsv[..., 0] = round(hue / 360 * 256) % 256
    hsv[..., 1] = 115
    return Image.fromarray(hsv, "HSV").convert("RGB")


def _recoloured(image: Image.Image, area: float) -> Image.Image:
    """The quality bench's own recolour (synthetic.recolour_region) at another size, its seed from the image, near-white
    pixels kept (as the bench keeps a product's ground)."""
    recoloured = synthetic.recolour_region(image, zlib.crc32(image.resize((8, 8)).tobytes()), area)
    return Image.composite(image, recoloured, image.convert("L").point(lambda v: 255 * (v >= 245)))


EDITS = {
    "part 0.07 hue 110deg": lambda im: _in_part(im, synthetic.tone(im, "hue", 110 / 180), 0.07),
    "part 0.12 hue 200deg": lambda im: _in_part(im, synthetic.tone(im, "hue", 200 / 180), 0.12),
    "part 0.22 hue 35deg": lambda im: _in_part(im, synthetic.tone(im, "hue", 35 / 180), 0.22),
    "part 0.3 hue 140deg": lambda im: _in_part(im, synthetic.tone(im, "hue", 140 / 180), 0.3),
    "part 0.5 hue 75deg": lambda im: _in_part(im, synthetic.tone(im, "hue", 75 / 180), 0.5),
    "part 0.18 tinted 220deg": lambda im: _in_part(im, _tinted(im, 220), 0.18),
    "part 0.25 darkened 0.55": lambda im: _in_part(im, synthetic.adjust(im, brightness=0.55), 0.25),
    "part 0.25 brightened 1.5": lambda im: _in_part(im, synthetic.adjust(im, brightness=1.5), 0.25),
    "bench recolour 0.08": lambda im: _recoloured(im, 0.08),
    "bench recolour 0.21": lambda im: _recoloured(im, 0.21),
    "bench recolour 0.47": lambda im: _recoloured(im, 0.47),
}

if __name__ == "__main__":
    main(EDITS, __doc__, are_copies=False)
