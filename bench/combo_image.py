"""Image copies under combinations of edits with parameters off the quality bench's tune grid: a crop, a keystone,
meme caption bars and a sticker together (its ``combined_meme``), a crop under an overlay at a low JPEG quality (its
``combined``), padding or caption bars over a crop or a keystone, at values between and beyond the grid's points
and at the ends of every range at once: recall at the matcher's own decision, per edit, on one split's images.

    python bench/combo_image.py --media-dir ../shared/media-dev --split tune [--designs]

The quality bench draws each combination's parameters on the tune split from a 3-point grid (crop 10 / 20 / 30% of
the area, keystone 3 / 6.5 / 10%, caption bars 8 / 14 / 20% of the height, a sticker of 3 / 4.5 / 6%, JPEG
quality 40 / 55 / 70; ``combined``: an overlay of 5 / 7.5 / 10% at quality 30); here the values lie between those
points, or all at the hard end of their ranges together. Each edit is saved at its own JPEG quality here (the
runner then saves it as q85 too). Negatives, ``bench/edits_image.py``: the split's next image under the very same
edit (the same bars, words and sticker: two different memes of one template must not match). None of these values
is a constant of the matcher.
"""
from __future__ import annotations

import io
import os
import sys

from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root
from bench.edits_image import main  # noqa: E402

from medialayer.synthetic import image as synthetic  # noqa: E402


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    data = io.BytesIO()
    image.convert("RGB").save(data, "JPEG", quality=quality)
    return Image.open(data).convert("RGB")


def _meme(image: Image.Image, crop: float, place: tuple, keystone: float, vertical: bool, bar: float,
          bottom: bool, sticker: float, spot: tuple, quality: int) -> Image.Image:
    """The quality bench's combined_meme: crop, keystone, caption bars (a bottom one or not), sticker, JPEG."""
    edited = synthetic.perspective(synthetic.crop(image, crop, place), keystone, vertical=vertical)
    edited = synthetic.caption_bars(edited, "WHEN THE", "NOBODY ASKED" if bottom else "", bar)
    return _jpeg(synthetic.sticker(edited, sticker, spot, seed=5), quality)


def _combined(image: Image.Image, crop: float, place: tuple, area: float, text: bool, quality: int) -> Image.Image:
    """The quality bench's combined: a crop under a text or a logo overlay, at a low JPEG quality."""
    cropped = synthetic.crop(image, crop, place)
    if text:
        edited = synthetic.overlay_text(cropped, "so true lol", area, (0.3, 0.7), (255, 240, 40))
    else:
        edited = synthetic.overlay_logo(cropped, area, (0.7, 0.25), seed=3, opacity=0.8)
    return _jpeg(edited, quality)


EDITS = {
    "meme crop 15% keystone 5% bars 11% sticker 4% q47":
        lambda im: _meme(im, 0.15, (0.2, 0.8), 0.05, False, 0.11, True, 0.04, (0.8, 0.3), 47),
    "meme crop 25% keystone 8.5% vertical top bar 17% sticker 5.5% q63":
        lambda im: _meme(im, 0.25, (0.7, 0.3), 0.085, True, 0.17, False, 0.055, (0.15, 0.6), 63),
    "meme crop 20% keystone 7% bars 14% sticker 5% on the bottom bar q55":
        lambda im: _meme(im, 0.2, (0.5, 0.5), 0.07, False, 0.14, True, 0.05, (0.5, 0.97), 55),
    "meme at the hard ends: crop 30% keystone 10% bars 20% sticker 6% q40":
        lambda im: _meme(im, 0.3, (1.0, 0.0), 0.1, True, 0.2, True, 0.06, (0.6, 0.45), 40),
    "meme crop 12% keystone 4% top bar 9% sticker 3.5% q68":
        lambda im: _meme(im, 0.12, (0.0, 1.0), 0.04, False, 0.09, False, 0.035, (0.9, 0.9), 68),
    "combined crop 20% text 8.5% q25": lambda im: _combined(im, 0.2, (0.3, 0.6), 0.085, True, 25),
    "combined crop 20% logo 6.5% q35": lambda im: _combined(im, 0.2, (0.8, 0.2), 0.065, False, 35),
    "crop 25% + keystone 8% + white padding 12% q50":
        lambda im: _jpeg(synthetic.pad(synthetic.perspective(synthetic.crop(im, 0.25, (0.4, 0.4)), 0.08),
                                       0.12, 0.05, 0.12, 0.05, (255, 255, 255)), 50),
    "letterbox black + caption bars 15% q45":
        lambda im: _jpeg(synthetic.caption_bars(synthetic.letterbox(im, im.width / im.height * 1.4), "ME", "ALSO ME",
                                                0.15), 45),
}

if __name__ == "__main__":
    main(EDITS, __doc__)
