"""Image copies under overlays the quality bench does not generate (DISC21's AugLy edits): stripes across the
picture, grids of small emoji-like stickers, lines of random text, the picture blended with or shown translucent
over another picture: recall at the matcher's own decision, per edit, on one split's photos.

    python bench/overlay_image.py --media-dir ../shared/media-dev --split tune

Each photo of the split is compared, as a JPEG q85 file, with copies of it under each overlay, and the split's
next photo under the same overlay (negatives, ``bench/edits_image.py``): every overlay is drawn from a fixed seed,
so "two pictures both edited" puts the very same stripes, stickers, text or background on two different pictures,
the negative a lenient fix breaks. Sizes are fractions of the picture (stripes covering some 10-40% of it);
none of these values is a constant of the matcher. Run it on a ``git archive`` of another commit for a side by side.
"""
from __future__ import annotations

import math
import os
import random
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root
from bench.edits_image import main  # noqa: E402

from medialayer.synthetic import image as synthetic  # noqa: E402

GLYPHS = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789#@&%?!"


def _stripes(image: Image.Image, angle: float, width: float, period: float, colour, opacity: float = 1.0):
    """Bars ``width`` wide every ``period`` (fractions of the picture's diagonal) at ``angle`` degrees from vertical."""
    w, h = image.size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    diagonal = math.hypot(w, h)
    across = (x * math.cos(math.radians(angle)) + y * math.sin(math.radians(angle))) / diagonal
    bar = ((across % period) < width)[..., None] * opacity
    out = np.asarray(image, np.float32) * (1 - bar) + np.array(colour, np.float32) * bar
    return Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8))


def _emoji(draw: ImageDraw.ImageDraw, x: float, y: float, r: float, rng: random.Random) -> None:
    """A round face: a coloured disc with an outline, two eyes and a mouth."""
    face = rng.choice([(255, 204, 51), (255, 120, 60), (120, 200, 255), (240, 90, 160), (110, 220, 120)])
    draw.ellipse([x - r, y - r, x + r, y + r], fill=face, outline=(60, 40, 0), width=max(1, int(r / 8)))
    for side in (-1, 1):
        draw.ellipse([x + side * r * 0.35 - r * 0.12, y - r * 0.35, x + side * r * 0.35 + r * 0.12, y - r * 0.05],
                     fill=(40, 30, 20))
    draw.arc([x - r * 0.55, y - r * 0.3, x + r * 0.55, y + r * 0.6], 20, 160, fill=(40, 30, 20),
             width=max(1, int(r / 6)))


def _emoji_grid(image: Image.Image, rows: int, columns: int, radius: float, seed: int) -> Image.Image:
    """Small emoji on a jittered grid (``radius`` of the short side)."""
    out = image.copy()
    draw, rng = ImageDraw.Draw(out), random.Random(seed)
    w, h = out.size
    r = radius * min(w, h)
    for row in range(rows):
        for column in range(columns):
            x = (column + 0.5 + rng.uniform(-0.3, 0.3)) * w / columns
            y = (row + 0.5 + rng.uniform(-0.3, 0.3)) * h / rows
            _emoji(draw, x, y, r * rng.uniform(0.8, 1.2), rng)
    return out


def _big_emoji(image: Image.Image, count: int, radius: float, seed: int) -> Image.Image:
    out = image.copy()
    draw, rng = ImageDraw.Draw(out), random.Random(seed)
    w, h = out.size
    for _ in range(count):
        r = radius * min(w, h)
        _emoji(draw, rng.uniform(r, w - r), rng.uniform(r, h - r), r, rng)
    return out


def _text_lines(image: Image.Image, lines: int, size: float, seed: int) -> Image.Image:
    """Lines of random glyphs (``size``: the font's height over the picture's), each in its own colour."""
    out = image.copy()
    draw, rng = ImageDraw.Draw(out), random.Random(seed)
    w, h = out.size
    font = ImageFont.load_default(size=max(8, int(size * h)))
    for line in range(lines):
        text = "".join(rng.choice(GLYPHS + "  ") for _ in range(rng.randint(14, 30)))
        colour = rng.choice([(255, 255, 255), (0, 0, 0), (255, 230, 0), (255, 40, 40), (30, 120, 255)])
        draw.text((rng.uniform(0, w * 0.3), (line + 0.2) * h / lines), text, fill=colour, font=font)
    return out


def _background(size: tuple[int, int], seed: int) -> Image.Image:
    return synthetic.textured_scene(seed, *size, with_text=False)


def _blended(image: Image.Image, kept: float, seed: int) -> Image.Image:
    """The picture at ``kept`` opacity over another picture of its size."""
    return Image.blend(_background(image.size, seed), image, kept)


def _onto_background(image: Image.Image, scale: float, kept: float, seed: int) -> Image.Image:
    """The picture at ``scale`` of a bigger background's width, ``kept`` opaque, off its centre."""
    w, h = image.size
    background = _background((int(w / scale), int(h / scale)), seed)
    x, y = int(background.width * 0.12), int(background.height * 0.2)
    region = background.crop((x, y, x + w, y + h))
    background.paste(Image.blend(region, image, kept), (x, y))
    return background


def _on_white(image: Image.Image, kept: float) -> Image.Image:
    return Image.blend(Image.new("RGB", image.size, (255, 255, 255)), image, kept)


EDITS = {
    "stripes vertical white 1/40 every 1/12": lambda im: _stripes(im, 0, 0.02, 0.066, (255, 255, 255)),
    "stripes horizontal black 1/30 every 1/9": lambda im: _stripes(im, 90, 0.027, 0.09, (0, 0, 0)),
    "stripes diagonal red 30deg": lambda im: _stripes(im, 30, 0.03, 0.11, (220, 30, 40)),
    "stripes thin dense grey": lambda im: _stripes(im, 0, 0.008, 0.03, (128, 128, 128)),
    "stripes sparse blue -60deg": lambda im: _stripes(im, -60, 0.025, 0.16, (40, 80, 230)),
    "stripes wide translucent white": lambda im: _stripes(im, 15, 0.06, 0.17, (255, 255, 255), 0.6),
    "emoji grid 8x6 small": lambda im: _emoji_grid(im, 6, 8, 0.035, 3),
    "emoji grid 5x4": lambda im: _emoji_grid(im, 4, 5, 0.06, 5),
    "emoji 3 big": lambda im: _big_emoji(im, 3, 0.16, 11),
    "text 6 lines": lambda im: _text_lines(im, 6, 0.07, 2),
    "text 12 lines small": lambda im: _text_lines(im, 12, 0.045, 4),
    "blend 0.6 over another picture": lambda im: _blended(im, 0.6, 21),
    "blend 0.4 over another picture": lambda im: _blended(im, 0.4, 22),
    "onto background 0.7, 0.7 opaque": lambda im: _onto_background(im, 0.7, 0.7, 23),
    "opacity 0.5 on white": lambda im: _on_white(im, 0.5),
}

if __name__ == "__main__":
    main(EDITS, __doc__)
