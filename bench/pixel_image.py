"""Image copies under a global pixel edit of the kinds DISC21's copies are made with (AugLy's saturation, sharpen,
colour jitter, random noise, pixelization, posterize, very low JPEG quality, vignette, median and box blur, rotation
by any angle, tiny thumbnails), which the quality bench does not generate or generates milder: recall at the
matcher's own decision, per edit, on one split's photos.

    python bench/pixel_image.py --media-dir ../shared/media-dev [--split report] [--designs]

Each photo of the split (with ``--designs``, each flat design and product on white too: most misses are theirs) is
compared, as a JPEG q85 file, with its copy under each edit below, and the split's next image under the same edit
with it and with its copy (negatives: ``bench/edits_image.py``; the noise is drawn with one seed, as AugLy's default,
so two pictures under one noise edit share its pattern). The strengths are
chosen to span what AugLy's defaults and a heavy hand do; none is a constant of the matcher. Run it on a ``git
archive`` of another commit for a side by side.
"""
from __future__ import annotations

import io
import math
import os
import sys

import cv2
import numpy as np
from PIL import Image, ImageEnhance, ImageFilter, ImageOps

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root
from bench.edits_image import main  # noqa: E402

SATURATIONS = (0.4, 1.8, 2.8)  # ImageEnhance.Color factors (AugLy's saturation)
UNSHARP = ((2, 180, 3), (4, 250, 2), (8, 300, 0))  # radius, percent, threshold (PIL's UnsharpMask)
SHARPNESS = 4.0  # ImageEnhance.Sharpness factor (AugLy's sharpen)
JITTERS = ((1.25, 1.4, 1.6), (0.7, 0.75, 0.5))  # brightness, contrast, saturation together (AugLy's color_jitter)
NOISE_SIGMAS = (12.0, 30.0)  # Gaussian noise, grey levels (AugLy's random_noise: variance 0.01 is about 25)
SALT_PEPPER = (0.03, 0.1)  # fraction of pixels set to black or white
PIXEL_BLOCKS = (90, 45, 25)  # pixelization: blocks along the long side
POSTERIZE_BITS = (3, 2)
JPEG_QUALITIES = (10, 5)
VIGNETTE = 0.75  # darkening at the corners (0: none, 1: black)
ROTATIONS = (7, 23, 38)  # degrees: the whole picture on black, and the largest upright rectangle inside it
THUMBNAIL_SIDE = 90  # pixels along the long side


def _saturation(image: Image.Image, factor: float) -> Image.Image:
    return ImageEnhance.Color(image).enhance(factor)


def _jitter(image: Image.Image, brightness: float, contrast: float, saturation: float) -> Image.Image:
    image = ImageEnhance.Brightness(image).enhance(brightness)
    return ImageEnhance.Color(ImageEnhance.Contrast(image).enhance(contrast)).enhance(saturation)


def _gaussian_noise(image: Image.Image, sigma: float) -> Image.Image:
    pixels = np.asarray(image, np.float32)
    noisy = pixels + np.random.default_rng(11).normal(0.0, sigma, pixels.shape)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def _salt_and_pepper(image: Image.Image, fraction: float) -> Image.Image:
    pixels = np.asarray(image).copy()
    draw = np.random.default_rng(13).random(pixels.shape[:2])
    pixels[draw < fraction / 2] = 0
    pixels[draw > 1 - fraction / 2] = 255
    return Image.fromarray(pixels)


def _pixelize(image: Image.Image, blocks: int) -> Image.Image:
    width, height = image.size
    scale = blocks / max(width, height)
    small = image.resize((max(1, round(width * scale)), max(1, round(height * scale))), Image.BILINEAR)
    return small.resize((width, height), Image.NEAREST)


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    data = io.BytesIO()
    image.save(data, "JPEG", quality=quality)
    return Image.open(io.BytesIO(data.getvalue())).convert("RGB")


def _vignette(image: Image.Image, strength: float) -> Image.Image:
    width, height = image.size
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    radius = np.hypot((x - width / 2) / (width / 2), (y - height / 2) / (height / 2)) / math.sqrt(2)
    gain = 1.0 - strength * radius ** 2
    return Image.fromarray(np.clip(np.asarray(image, np.float32) * gain[..., None], 0, 255).astype(np.uint8))


def _rotated(image: Image.Image, degrees: float, cropped: bool) -> Image.Image:
    turned = image.rotate(degrees, resample=Image.BICUBIC, expand=True, fillcolor=(0, 0, 0))
    if not cropped:
        return turned
    width, height = _inscribed(*image.size, math.radians(degrees))
    left, top = (turned.width - width) // 2, (turned.height - height) // 2
    return turned.crop((left, top, left + width, top + height))


def _inscribed(width: int, height: int, angle: float) -> tuple[int, int]:
    """The largest upright rectangle inside a width x height rectangle turned by ``angle`` (radians)."""
    long, short = max(width, height), min(width, height)
    sin, cos = abs(math.sin(angle)), abs(math.cos(angle))
    if short <= 2 * sin * cos * long or abs(sin - cos) < 1e-10:
        half = short / 2
        x, y = (half / sin, half / cos) if width >= height else (half / cos, half / sin)
    else:
        cos2 = cos * cos - sin * sin
        x, y = (width * cos - height * sin) / cos2, (height * cos - width * sin) / cos2
    return int(x), int(y)


def _thumbnail(image: Image.Image, side: int) -> Image.Image:
    width, height = image.size
    scale = side / max(width, height)
    return image.resize((max(1, round(width * scale)), max(1, round(height * scale))), Image.LANCZOS)


EDITS = {**{f"saturation {f}": (lambda image, f=f: _saturation(image, f)) for f in SATURATIONS},
         **{f"unsharp {r}/{p}%/{t}": (lambda image, u=(r, p, t): image.filter(ImageFilter.UnsharpMask(*u)))
            for r, p, t in UNSHARP},
         f"sharpness {SHARPNESS}": lambda image: ImageEnhance.Sharpness(image).enhance(SHARPNESS),
         **{f"jitter {b}/{c}/{s}": (lambda image, j=(b, c, s): _jitter(image, *j)) for b, c, s in JITTERS},
         **{f"noise {s:g}": (lambda image, s=s: _gaussian_noise(image, s)) for s in NOISE_SIGMAS},
         **{f"salt+pepper {f}": (lambda image, f=f: _salt_and_pepper(image, f)) for f in SALT_PEPPER},
         **{f"pixelize {n}": (lambda image, n=n: _pixelize(image, n)) for n in PIXEL_BLOCKS},
         **{f"posterize {n} bits": (lambda image, n=n: ImageOps.posterize(image, n)) for n in POSTERIZE_BITS},
         "grayscale posterize 2 bits": lambda image: ImageOps.posterize(ImageOps.grayscale(image), 2).convert("RGB"),
         **{f"jpeg {q}": (lambda image, q=q: _jpeg(image, q)) for q in JPEG_QUALITIES},
         f"vignette {VIGNETTE}": lambda image: _vignette(image, VIGNETTE),
         "median 7": lambda image: Image.fromarray(cv2.medianBlur(np.asarray(image), 7)),
         "box blur 6": lambda image: image.filter(ImageFilter.BoxBlur(6)),
         **{f"rotate {d} {'cropped' if c else 'expanded'}": (lambda image, d=d, c=c: _rotated(image, d, c))
            for d in ROTATIONS for c in (False, True)},
         f"thumbnail {THUMBNAIL_SIDE}": lambda image: _thumbnail(image, THUMBNAIL_SIDE)}

if __name__ == "__main__":
    main(EDITS, __doc__)
