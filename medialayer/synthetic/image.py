"""Deterministic synthetic photo-like images and the transformations re-uploads apply to images.

Generators (seeded, so tests and examples are reproducible): a textured scene (smoothed colour noise
with shapes and a line of text), flat colours, gradients and two-tone splits (the low-information
images a matcher must not trust), and a shared "template" (a frame, header and footer) around
different content. Transformations are plain functions ``PIL.Image -> PIL.Image`` shared by the
tests and by the quality benchmark, which applies them to real photos.
"""
from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont

WORDS = ("SALE", "holiday", "2024", "meme", "photo", "copyright", "news", "watch", "LIVE", "share", "best", "wow")


# --- generators -----------------------------------------------------------------------------------

def textured_scene(seed: int, width: int = 480, height: int = 360, with_text: bool = True) -> Image.Image:
    """Smoothed colour noise at two scales, with random filled shapes and (optionally) a word."""
    rng = np.random.default_rng(seed)
    coarse = Image.fromarray((rng.random((height // 40 + 2, width // 40 + 2, 3)) * 255).astype(np.uint8))
    fine = Image.fromarray((rng.random((height // 6 + 2, width // 6 + 2, 3)) * 255).astype(np.uint8))
    base = np.asarray(coarse.resize((width, height), Image.Resampling.BICUBIC), np.float32) * 0.7 \
        + np.asarray(fine.resize((width, height), Image.Resampling.BICUBIC), np.float32) * 0.3
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(6, 12))):
        x, y = rng.integers(0, width), rng.integers(0, height)
        size = int(rng.integers(min(width, height) // 20, min(width, height) // 5))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        box = (int(x) - size, int(y) - size, int(x) + size, int(y) + size)
        kind = rng.integers(0, 3)
        if kind == 0:
            draw.ellipse(box, fill=colour)
        elif kind == 1:
            draw.rectangle(box, fill=colour, outline=(0, 0, 0))
        else:
            draw.polygon([(box[0], box[3]), ((box[0] + box[2]) // 2, box[1]), (box[2], box[3])], fill=colour)
    if with_text:
        word = WORDS[int(rng.integers(0, len(WORDS)))]
        font = ImageFont.load_default(size=max(12, height // 8))
        draw.text((int(rng.integers(0, width // 2)), int(rng.integers(0, height * 3 // 4))), word,
                  fill=tuple(int(c) for c in rng.integers(0, 256, 3)), font=font, stroke_width=2, stroke_fill=(0, 0, 0))
    return image


def flat(colour, width: int = 320, height: int = 240) -> Image.Image:
    return Image.new("RGB", (width, height), tuple(colour))


def gradient(start, end, width: int = 320, height: int = 240, angle_degrees: float = 0.0) -> Image.Image:
    """A linear colour ramp from ``start`` to ``end`` along ``angle_degrees`` (0 = left to right)."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    theta = math.radians(angle_degrees)
    t = (xs / width - 0.5) * math.cos(theta) + (ys / height - 0.5) * math.sin(theta)
    t = (t - t.min()) / max(1e-6, t.max() - t.min())
    pixels = np.asarray(start, np.float32) * (1 - t[..., None]) + np.asarray(end, np.float32) * t[..., None]
    return Image.fromarray(pixels.round().astype(np.uint8))


def two_tone(first, second, width: int = 320, height: int = 240, split: float = 0.5,
             vertical: bool = True) -> Image.Image:
    image = flat(first, width, height)
    box = (int(width * split), 0, width, height) if vertical else (0, int(height * split), width, height)
    ImageDraw.Draw(image).rectangle(box, fill=tuple(second))
    return image


def templated(content: Image.Image, seed: int = 0, width: int = 480, height: int = 360,
              caption: str = "") -> Image.Image:
    """``content`` inside a fixed layout (border, header bar with a badge, footer bar, caption): images made
    from one template and different contents share about 40-50% of their pixels."""
    rng = np.random.default_rng(seed)
    background = tuple(int(c) for c in rng.integers(0, 256, 3))
    image = textured_scene(seed, width, height, with_text=False)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, height // 6), fill=background)
    draw.ellipse((8, 4, height // 6 - 4, height // 6 - 4), fill=(255, 255, 255), outline=(0, 0, 0), width=3)
    font = ImageFont.load_default(size=max(10, height // 12))
    draw.text((height // 6 + 8, 6), "The Daily Template", fill=(255, 255, 255), font=font)
    inner = (width // 10, height // 6 + 10, width * 9 // 10, height * 5 // 6)
    image.paste(content.resize((inner[2] - inner[0], inner[3] - inner[1])), inner[:2])
    if caption:
        draw.text((width // 10, height * 5 // 6 + 6), caption, fill=(255, 255, 0), font=font)
    return image


# --- transformations ------------------------------------------------------------------------------

def encode(image: Image.Image, fmt: str = "JPEG", quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    options = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def resize(image: Image.Image, factor: float) -> Image.Image:
    size = (max(8, round(image.width * factor)), max(8, round(image.height * factor)))
    return image.resize(size, Image.Resampling.LANCZOS if factor < 1 else Image.Resampling.BICUBIC)


def crop(image: Image.Image, removed_area: float, position=(0.5, 0.5), aspect_jitter: float = 1.0) -> Image.Image:
    """Keep ``1 - removed_area`` of the area; ``position`` in [0,1]^2 places the kept window (0,0 = top left);
    ``aspect_jitter`` > 1 makes it wider than the original, < 1 taller."""
    keep = math.sqrt(1.0 - removed_area)
    kept_w = min(image.width, round(image.width * keep * aspect_jitter))
    kept_h = min(image.height, round(image.width * image.height * (1.0 - removed_area) / kept_w))
    left = round((image.width - kept_w) * position[0])
    top = round((image.height - kept_h) * position[1])
    return image.crop((left, top, left + kept_w, top + kept_h))


def pad(image: Image.Image, left: float, top: float, right: float, bottom: float, colour=(0, 0, 0)) -> Image.Image:
    """Add borders, each a fraction of the image's width (left/right) or height (top/bottom)."""
    sides = [round(image.width * left), round(image.height * top), round(image.width * right),
             round(image.height * bottom)]
    canvas = Image.new("RGB", (image.width + sides[0] + sides[2], image.height + sides[1] + sides[3]), tuple(colour))
    canvas.paste(image, (sides[0], sides[1]))
    return canvas


def letterbox(image: Image.Image, aspect: float, colour=(0, 0, 0)) -> Image.Image:
    """Centre the image on a canvas of width/height ``aspect`` (bars top/bottom or left/right)."""
    if image.width / image.height < aspect:
        extra = (image.height * aspect - image.width) / image.width / 2
        return pad(image, extra, 0, extra, 0, colour)
    extra = (image.width / aspect - image.height) / image.height / 2
    return pad(image, 0, extra, 0, extra, colour)


def rotate(image: Image.Image, degrees: float, fill_corners: bool = True) -> Image.Image:
    """Rotate counter-clockwise; ``fill_corners`` keeps the full canvas with black corners, otherwise the
    largest upright rectangle inside the rotated image is kept (as photo editors do)."""
    if fill_corners:
        return image.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True)
    rotated = image.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=False)
    theta = math.radians(abs(degrees))
    # Largest axis-aligned rectangle of the same aspect inside the rotated image.
    scale = 1.0 / (math.cos(theta) + math.sin(theta) * max(image.width / image.height, image.height / image.width))
    w, h = image.width * scale, image.height * scale
    box = ((image.width - w) / 2, (image.height - h) / 2, (image.width + w) / 2, (image.height + h) / 2)
    return rotated.crop(tuple(round(v) for v in box))


def hflip(image: Image.Image) -> Image.Image:
    return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def adjust(image: Image.Image, brightness: float = 1.0, contrast: float = 1.0, saturation: float = 1.0,
           gamma: float = 1.0) -> Image.Image:
    image = ImageEnhance.Brightness(image).enhance(brightness)
    image = ImageEnhance.Contrast(image).enhance(contrast)
    image = ImageEnhance.Color(image).enhance(saturation)
    if gamma != 1.0:
        table = [round(255 * (i / 255) ** gamma) for i in range(256)]
        image = image.point(table * 3)
    return image


def overlay_text(image: Image.Image, text: str, area: float = 0.1, position=(0.5, 0.85),
                 colour=(255, 255, 255)) -> Image.Image:
    """Draw ``text`` with a dark outline, sized so its bounding box covers about ``area`` of the image."""
    out = image.copy()
    draw = ImageDraw.Draw(out)
    size = max(8, image.height // 10)
    font = ImageFont.load_default(size=size)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font, stroke_width=2)
    box_area = max(1, (right - left) * (bottom - top))
    size = max(8, int(size * math.sqrt(area * image.width * image.height / box_area)))
    font = ImageFont.load_default(size=size)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font, stroke_width=2)
    x = (image.width - (right - left)) * position[0] - left
    y = (image.height - (bottom - top)) * position[1] - top
    draw.text((x, y), text, fill=tuple(colour), font=font, stroke_width=max(1, size // 15), stroke_fill=(0, 0, 0))
    return out


def overlay_logo(image: Image.Image, area: float = 0.05, position=(0.95, 0.05), seed: int = 0,
                 opacity: float = 1.0) -> Image.Image:
    """Paste a square badge (rings and a letter) covering ``area`` of the image, blended at ``opacity``."""
    rng = np.random.default_rng(seed)
    side = max(8, round(math.sqrt(area * image.width * image.height)))
    logo = Image.new("RGB", (side, side), tuple(int(c) for c in rng.integers(0, 256, 3)))
    draw = ImageDraw.Draw(logo)
    for i in range(3):
        inset = side * i // 8
        draw.ellipse((inset, inset, side - inset, side - inset), outline=tuple(int(c) for c in rng.integers(0, 256, 3)),
                     width=max(1, side // 16))
    draw.text((side // 3, side // 4), "ML"[int(rng.integers(0, 2))], font=ImageFont.load_default(size=max(6, side // 2)),
              fill=(255, 255, 255))
    x = round((image.width - side) * position[0])
    y = round((image.height - side) * position[1])
    out = image.copy()
    region = out.crop((x, y, x + side, y + side))
    out.paste(Image.blend(region, logo, opacity), (x, y))
    return out
