"""Image copies resized to another aspect ratio or sheared (DISC21's change of aspect ratio and skew), which the
quality bench does not generate: recall at the matcher's own decision, per edit, on one split's photos.

    python bench/stretch_image.py --media-dir ../shared/media-dev [--split report]

Each photo of the split (and each flat design's source image of it) is compared, as a JPEG q85 file, with
copies of it: narrowed or widened (the other side kept) by each of ASPECTS, sheared by each of SHEARS, and
the middle 75% cropped then narrowed to 0.65, and the split's next image under the same edit (negatives:
``bench/edits_image.py``). None of these values is a constant of the matcher (``STRETCH_GAIN``,
``MAX_STRETCH``). Run it on a ``git archive`` of another commit for a side by side.
"""
from __future__ import annotations

import os
import sys

from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root
from bench.edits_image import main  # noqa: E402

ASPECTS = (0.45, 0.55, 0.72, 0.83, 1.2, 1.45, 1.9)  # new width / height over the original's
SHEARS = (0.12, -0.3, 0.45)  # horizontal shift per row, in pixels per pixel of height


def _aspect(image: Image.Image, ratio: float) -> Image.Image:
    width, height = image.size
    if ratio < 1:
        return image.resize((max(8, int(width * ratio)), height))
    return image.resize((width, int(height / ratio)))


def _shear(image: Image.Image, shear: float) -> Image.Image:
    width, height = image.size
    return image.transform((int(width + abs(shear) * height), height), Image.AFFINE,
                           (1, shear, -shear * height if shear > 0 else 0, 0, 1, 0), Image.BILINEAR)


def _cropped_and_narrowed(image: Image.Image) -> Image.Image:
    width, height = image.size
    return _aspect(image.crop((width // 8, height // 8, width * 7 // 8, height * 7 // 8)), 0.65)


EDITS = {**{f"aspect {ratio}": (lambda image, r=ratio: _aspect(image, r)) for ratio in ASPECTS},
         **{f"shear {shear}": (lambda image, s=shear: _shear(image, s)) for shear in SHEARS},
         "crop 75% + aspect 0.65": _cropped_and_narrowed}

if __name__ == "__main__":
    main(EDITS, __doc__)
