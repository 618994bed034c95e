"""Flat designs under strong global photometric edits and under watermarks, with parameters off the quality bench's
tune grid: recall at the matcher's own decision, per edit, on one split's images.

    python bench/art_image.py --media-dir ../shared/media-dev --split tune --designs

The quality bench's ``art_photometric`` and ``art_watermark`` draw their parameters from a 3-point grid on the tune
split (brightness, contrast and gamma 1 +- 0.2 / 0.35 / 0.5; a hue turn of 0.15 / 0.5 / 0.85 x 180 degrees; one
watermark layout at opacity 0.2 / 0.325 / 0.45 and -40 / 0 / 40 degrees); here every value lies between or beyond
those points, and the edits it does not make are added: saturation, sepia, posterize, a warm grading, a dark or a
large watermark, a denser or sparser tiling, a tiled logo. Issue 13's decision: a global photometric change is a
copy (an inversion is not among them). Negatives, ``bench/edits_image.py``: the split's next image under the same
edit (two different pictures under one watermark must not match). None of these values is a constant of the matcher.
"""
from __future__ import annotations

import math
import os
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root
from bench.edits_image import main  # noqa: E402

from medialayer.synthetic import image as synthetic  # noqa: E402


def _grading(image: Image.Image) -> Image.Image:
    """A warm film look: contrast and saturation up, red lifted, blue lowered."""
    pixels = np.asarray(synthetic.adjust(image, contrast=1.18, saturation=1.25), np.float32)
    pixels = pixels * np.float32([1.08, 1.0, 0.86]) + np.float32([6, 2, 0])
    return Image.fromarray(np.clip(pixels + 0.5, 0, 255).astype(np.uint8))


def _tiled(image: Image.Image, mark: Image.Image, opacity: float, angle: float, spacing: float,
           colour=(255, 255, 255)) -> Image.Image:
    """``mark`` (an L mask) repeated on a grid turned by ``angle`` degrees, rows ``spacing`` of the long side apart
    (every other row shifted by half a step), blended in ``colour`` at ``opacity``."""
    size = max(image.size)
    layer = Image.new("L", (size * 2, size * 2), 0)
    step_x, step_y = mark.width + round(spacing * size), mark.height + round(spacing * size)
    for row, y in enumerate(range(0, size * 2, step_y)):
        for x in range(-(row % 2) * step_x // 2, size * 2, step_x):
            layer.paste(mark, (x, y), mark)
    layer = layer.rotate(angle).crop((size // 2, size // 2, size // 2 + image.width, size // 2 + image.height))
    return Image.composite(Image.new("RGB", image.size, colour), image.convert("RGB"),
                           layer.point(lambda v: round(v * opacity)))


def _text_mark(text: str, height: float, image: Image.Image) -> Image.Image:
    font = ImageFont.load_default(size=max(8, round(height * max(image.size))))
    left, top, right, bottom = ImageDraw.Draw(Image.new("L", (1, 1))).textbbox((0, 0), text, font=font)
    mark = Image.new("L", (right - left, bottom - top), 0)
    ImageDraw.Draw(mark).text((-left, -top), text, fill=255, font=font)
    return mark


def _logo_mark(side: float, image: Image.Image) -> Image.Image:
    """A badge: two rings and a letter."""
    pixels = max(12, round(side * max(image.size)))
    mark = Image.new("L", (pixels, pixels), 0)
    draw = ImageDraw.Draw(mark)
    draw.ellipse((0, 0, pixels - 1, pixels - 1), outline=255, width=max(1, pixels // 14))
    draw.ellipse((pixels // 5, pixels // 5, pixels * 4 // 5, pixels * 4 // 5), outline=255, width=max(1, pixels // 18))
    draw.text((pixels // 2, pixels // 2), "C", fill=255, font=ImageFont.load_default(size=pixels // 3), anchor="mm")
    return mark


def _text_watermark(image, text, height, opacity, angle, spacing, colour=(255, 255, 255)):
    return _tiled(image, _text_mark(text, height, image), opacity, angle, spacing, colour)


def _single_watermark(image: Image.Image, text: str, opacity: float, angle: float) -> Image.Image:
    """One large word across the middle (a stock photo's "SAMPLE")."""
    mark = _text_mark(text, 0.16, image).rotate(angle, expand=True)
    layer = Image.new("L", image.size, 0)
    layer.paste(mark, ((image.width - mark.width) // 2, (image.height - mark.height) // 2))
    return Image.composite(Image.new("RGB", image.size, (255, 255, 255)), image.convert("RGB"),
                           layer.point(lambda v: round(v * opacity)))


EDITS = {
    **{f"brightness {f}": (lambda im, f=f: synthetic.adjust(im, brightness=f)) for f in (0.58, 0.74, 1.27, 1.43)},
    **{f"contrast {f}": (lambda im, f=f: synthetic.adjust(im, contrast=f)) for f in (0.57, 0.71, 1.28, 1.56)},
    **{f"gamma {f}": (lambda im, f=f: synthetic.adjust(im, gamma=f)) for f in (0.6, 0.78, 1.24, 1.57)},
    **{f"hue {a}": (lambda im, a=a: synthetic.tone(im, "hue", a)) for a in (0.08, 0.31, 0.66, 0.93)},
    **{f"saturation {f}": (lambda im, f=f: synthetic.adjust(im, saturation=f)) for f in (0.35, 1.9)},
    "grayscale": lambda im: synthetic.tone(im, "grayscale"),
    "sepia": lambda im: synthetic.tone(im, "sepia"),
    "posterize 3 bits": lambda im: ImageOps.posterize(im, 3),
    "warm grading": _grading,
    "watermark text 0.15 17deg": lambda im: _text_watermark(im, "stock photo", 0.05, 0.15, 17, 0.08),
    "watermark text 0.27 -28deg sparse": lambda im: _text_watermark(im, "SAMPLE 2025", 0.04, 0.27, -28, 0.16),
    "watermark text 0.38 52deg dense": lambda im: _text_watermark(im, "preview", 0.035, 0.38, 52, 0.03),
    "watermark text 0.5 -8deg large": lambda im: _text_watermark(im, "COPYRIGHT", 0.07, 0.5, -8, 0.06),
    "watermark dark text 0.3 33deg": lambda im: _text_watermark(im, "draft only", 0.045, 0.3, 33, 0.07, (0, 0, 0)),
    "watermark logo 0.23 -15deg": lambda im: _tiled(im, _logo_mark(0.09, im), 0.23, -15, 0.1),
    "watermark logo 0.44 24deg dense": lambda im: _tiled(im, _logo_mark(0.06, im), 0.44, 24, 0.03),
    "watermark single word 0.35": lambda im: _single_watermark(im, "SAMPLE", 0.35, math.degrees(math.atan(0.75))),
}

if __name__ == "__main__":
    main(EDITS, __doc__)
