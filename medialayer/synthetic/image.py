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

import cv2
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


# --- flat artwork ---------------------------------------------------------------------------------

ARTWORK_KINDS = ("illustration", "logo", "ui", "wallpaper")


def _colour(rng) -> tuple[int, int, int]:
    return tuple(int(c) for c in rng.integers(0, 256, 3))


def flat_artwork(seed: int, kind: str, width: int = 640, height: int = 480, text: str | None = None,
                 recolour: tuple[int, int, int] | None = None, palette_seed: int | None = None) -> Image.Image:
    """A flat-design picture of ``kind`` (ARTWORK_KINDS): few colours, large uniform areas, sharp edges, some text.

    The layout depends on ``seed`` only, so ``text`` (default: words drawn from the seed) and ``palette_seed``
    make other designs of one template, and ``recolour`` paints the design's main element in another colour
    (a colour variant)."""
    rng = np.random.default_rng(seed)
    palette = [_colour(rng) for _ in range(5)]
    if palette_seed is not None:
        other = np.random.default_rng(palette_seed)
        palette = [_colour(other) for _ in range(5)]
    words = " ".join(rng.choice(WORDS, size=2))
    text = words if text is None else text
    main = recolour or palette[1]
    if kind == "wallpaper":
        image = gradient(palette[0], palette[2], width, height, float(rng.uniform(0, 360)))
    else:
        image = flat((250, 250, 250) if kind in ("logo", "ui") else palette[0], width, height)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=max(10, height // 10))
    if kind == "illustration":  # hills, a sun, a house
        horizon = int(height * rng.uniform(0.55, 0.75))
        draw.ellipse((int(width * rng.uniform(0.55, 0.8)), height // 10, int(width * 0.95), height // 3), fill=palette[3])
        draw.polygon([(0, horizon), (width // 3, int(horizon * 0.8)), (width * 2 // 3, horizon), (width, int(horizon * 0.85)),
                      (width, height), (0, height)], fill=main)
        x = int(width * rng.uniform(0.1, 0.4))
        draw.rectangle((x, horizon - height // 5, x + width // 6, horizon), fill=palette[4])
        draw.polygon([(x - 10, horizon - height // 5), (x + width // 12, horizon - height // 3),
                      (x + width // 6 + 10, horizon - height // 5)], fill=palette[2])
        draw.text((width // 20, height // 20), text, fill=palette[4], font=font)
    elif kind == "logo":  # an emblem and a word mark on white
        side = min(width, height) // 2
        cx, cy = width // 2, height // 2 - height // 10
        draw.ellipse((cx - side // 2, cy - side // 2, cx + side // 2, cy + side // 2), fill=main)
        draw.regular_polygon((cx, cy, side // 3), int(rng.integers(3, 7)), rotation=float(rng.uniform(0, 90)),
                             fill=palette[3])
        draw.text((cx, cy + side // 2 + height // 12), text.upper(), fill=palette[4], font=font, anchor="mm")
    elif kind == "ui":  # an app screen: bar, cards, buttons, lines of text
        draw.rectangle((0, 0, width, height // 8), fill=main)
        draw.text((width // 30, height // 40), text, fill=(255, 255, 255), font=font)
        for row in range(2):
            top = height // 8 + height // 20 + row * height * 2 // 5
            draw.rounded_rectangle((width // 20, top, width * 19 // 20, top + height * 7 // 20), radius=12,
                                   fill=(255, 255, 255), outline=palette[2], width=2)
            draw.rectangle((width // 12, top + 12, width // 3, top + height * 7 // 20 - 12), fill=palette[3 + row])
            for line in range(3):
                y = top + 20 + line * height // 16
                draw.rectangle((width * 2 // 5, y, int(width * rng.uniform(0.6, 0.9)), y + height // 40), fill=(90, 90, 90))
            draw.rounded_rectangle((width * 2 // 5, top + height // 4, width * 3 // 5, top + height * 3 // 10), radius=8,
                                   fill=palette[2])
    else:  # wallpaper: large soft shapes on a gradient
        for _ in range(int(rng.integers(4, 8))):
            x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
            r = int(rng.integers(min(width, height) // 8, min(width, height) // 3))
            draw.ellipse((x - r, y - r, x + r, y + r), fill=_colour(rng))
        x, y = int(rng.integers(0, width // 2)), int(rng.integers(0, height // 2))
        draw.rectangle((x, y, x + width // 3, y + height // 4), fill=main)
        draw.text((width // 2, height * 9 // 10), text, fill=palette[4], font=font, anchor="mm")
    return image


def product_on_white(photo: Image.Image, seed: int, width: int = 640, height: int = 640) -> Image.Image:
    """A photographed object on a white studio background: an elliptical cut-out of ``photo``."""
    rng = np.random.default_rng(seed)
    side = min(photo.size)
    box = ((photo.width - side) // 2, (photo.height - side) // 2)
    item = photo.crop((*box, box[0] + side, box[1] + side)).resize((int(width * 0.7), int(height * 0.7)))
    mask = Image.new("L", item.size, 0)
    rounded = rng.random() < 0.5
    shape = (0, int(item.height * rng.uniform(0, 0.2)), item.width - 1, item.height - 1)
    (ImageDraw.Draw(mask).rounded_rectangle(shape, radius=item.width // 6, fill=255) if rounded
     else ImageDraw.Draw(mask).ellipse(shape, fill=255))
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    canvas.paste(item, ((width - item.width) // 2, (height - item.height) // 2), mask)
    return canvas


# --- image inside image ---------------------------------------------------------------------------

def _fit(content: Image.Image, canvas_area: float, fraction: float) -> Image.Image:
    """``content`` scaled to cover ``fraction`` of ``canvas_area``."""
    factor = math.sqrt(fraction * canvas_area / (content.width * content.height))
    return content.resize((max(8, round(content.width * factor)), max(8, round(content.height * factor))),
                          Image.Resampling.LANCZOS)


def screenshot(content: Image.Image, fraction: float, seed: int = 0, width: int = 720, height: int = 1080,
               dark: bool = False) -> Image.Image:
    """A social-media post: app bar, avatar and name, text lines, the picture covering ``fraction`` of the
    screen, and a row of buttons under it (shrunk to fit the screen's width if needed)."""
    rng = np.random.default_rng(seed)
    background, ink = ((20, 20, 24), (230, 230, 230)) if dark else ((255, 255, 255), (20, 20, 20))
    canvas = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=height // 40)
    draw.rectangle((0, 0, width, height // 14), fill=_colour(rng))
    draw.ellipse((20, height // 12, 20 + height // 16, height // 12 + height // 16), fill=_colour(rng))
    draw.text((40 + height // 16, height // 12 + 8), " ".join(rng.choice(WORDS, size=2)), fill=ink, font=font)
    for line in range(int(rng.integers(1, 4))):
        draw.text((20, height // 6 + line * height // 30), " ".join(rng.choice(WORDS, size=5)), fill=ink, font=font)
    picture = _fit(content, width * height, fraction)
    if picture.width > width:
        picture = picture.resize((width, max(8, round(picture.height * width / picture.width))))
    top = min(height // 4, height - picture.height)
    canvas.paste(picture, ((width - picture.width) // 2, top))
    y = top + picture.height + 12
    for i in range(4):
        draw.rounded_rectangle((20 + i * width // 4, y, i * width // 4 + width // 5, y + height // 30), radius=6,
                               outline=ink, width=2)
    return canvas


def collage(images: list[Image.Image], width: int = 960, height: int = 960, gap: int = 8,
            background=(255, 255, 255)) -> Image.Image:
    """2-4 images in a grid (2: side by side, 3: one wide on top and two below, 4: 2x2), each cover-cropped."""
    boxes = {2: [(0, 0, 0.5, 1), (0.5, 0, 1, 1)], 3: [(0, 0, 1, 0.5), (0, 0.5, 0.5, 1), (0.5, 0.5, 1, 1)],
             4: [(0, 0, 0.5, 0.5), (0.5, 0, 1, 0.5), (0, 0.5, 0.5, 1), (0.5, 0.5, 1, 1)]}[len(images)]
    canvas = Image.new("RGB", (width, height), tuple(background))
    for image, (x0, y0, x1, y1) in zip(images, boxes):
        box = (round(x0 * width) + gap, round(y0 * height) + gap, round(x1 * width) - gap, round(y1 * height) - gap)
        w, h = box[2] - box[0], box[3] - box[1]
        scale = max(w / image.width, h / image.height)
        scaled = image.resize((math.ceil(image.width * scale), math.ceil(image.height * scale)), Image.Resampling.LANCZOS)
        left, top = (scaled.width - w) // 2, (scaled.height - h) // 2
        canvas.paste(scaled.crop((left, top, left + w, top + h)), box[:2])
    return canvas


def meme_template(content: Image.Image, other: Image.Image, fraction: float, seed: int = 0) -> Image.Image:
    """A two-panel meme: text panels on the left, ``content`` and ``other`` stacked on the right, ``content``
    covering about ``fraction`` of the whole."""
    rng = np.random.default_rng(seed)
    width = 800
    panel_w = round(width * min(0.85, max(0.5, 2 * fraction)))
    panel_h = round(panel_w * content.height / content.width)
    height = max(2 * panel_h, round(panel_w * panel_h / fraction / width))
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    canvas.paste(content.resize((panel_w, panel_h), Image.Resampling.LANCZOS), (width - panel_w, 0))
    lower_h = height - panel_h
    canvas.paste(other.resize((panel_w, lower_h), Image.Resampling.LANCZOS), (width - panel_w, panel_h))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=max(12, (width - panel_w) // 6))
    for i, y in enumerate((panel_h // 2, panel_h + lower_h // 2)):
        draw.text(((width - panel_w) // 2, y), rng.choice(WORDS), fill=(0, 0, 0), font=font, anchor="mm")
    return canvas


def screen_photo(content: Image.Image, background: Image.Image, fraction: float, keystone: float,
                 seed: int = 0) -> Image.Image:
    """``content`` shown on a monitor (dark bezel) photographed at a slight angle inside ``background``: a
    perspective warp moving the corners by up to ``keystone`` of the side, a colour cast, blur and noise."""
    rng = np.random.default_rng(seed)
    canvas = background.convert("RGB").resize((1024, 768), Image.Resampling.LANCZOS)
    picture = _fit(content, canvas.width * canvas.height, fraction)
    if picture.width > canvas.width * 0.9 or picture.height > canvas.height * 0.9:
        picture.thumbnail((int(canvas.width * 0.9), int(canvas.height * 0.9)))
    bezel = max(6, picture.width // 30)
    screen = pad(picture, *(bezel / picture.width, bezel / picture.height) * 2, colour=(15, 15, 15))
    x = int(rng.integers(0, canvas.width - screen.width + 1))
    y = int(rng.integers(0, canvas.height - screen.height + 1))
    w, h = screen.size
    corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    jitter = rng.uniform(-1, 1, (4, 2)) * keystone * np.float32([w, h])
    target = corners + jitter + np.float32([x, y])
    matrix = cv2.getPerspectiveTransform(corners, target.astype(np.float32))
    base = np.asarray(canvas).copy()
    warped = cv2.warpPerspective(np.asarray(screen), matrix, canvas.size, flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), matrix, canvas.size) > 127
    base[mask] = warped[mask]
    cast = rng.uniform(0.85, 1.1, 3) * rng.uniform(0.8, 1.1)
    shot = np.clip(cv2.GaussianBlur(base.astype(np.float32), (0, 0), 0.8) * cast + rng.normal(0, 3, base.shape), 0, 255)
    return Image.fromarray(shot.astype(np.uint8))


# --- more edits -----------------------------------------------------------------------------------

def perspective(image: Image.Image, keystone: float, vertical: bool = False) -> Image.Image:
    """Keystone: one side shrunk by ``keystone`` of its length (both ends), as a picture shot from below or
    the side; the uncovered corners are filled black."""
    w, h = image.size
    corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    inset = keystone / 2
    target = corners.copy()
    if vertical:
        target[0, 0] += w * inset
        target[1, 0] -= w * inset
    else:
        target[1, 1] += h * inset
        target[2, 1] -= h * inset
    matrix = cv2.getPerspectiveTransform(corners, target)
    return Image.fromarray(cv2.warpPerspective(np.asarray(image.convert("RGB")), matrix, (w, h),
                                               flags=cv2.INTER_LINEAR))


def rotate90(image: Image.Image, quarter_turns: int, mirror: bool = False) -> Image.Image:
    turned = image.rotate(90 * quarter_turns, expand=True)
    return hflip(turned) if mirror else turned


def vflip(image: Image.Image) -> Image.Image:
    return image.transpose(Image.Transpose.FLIP_TOP_BOTTOM)


def tone(image: Image.Image, kind: str, amount: float = 1.0) -> Image.Image:
    """A global colour change: ``grayscale``, ``sepia`` or ``hue`` (rotate all hues by ``amount`` x 180 degrees)."""
    if kind == "grayscale":
        return image.convert("L").convert("RGB")
    if kind == "sepia":
        matrix = np.float32([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]])
        return Image.fromarray(np.clip(np.asarray(image, np.float32) @ matrix.T, 0, 255).astype(np.uint8))
    hsv = np.asarray(image.convert("HSV")).copy()
    hsv[..., 0] = (hsv[..., 0].astype(np.int32) + round(amount * 128)) % 256
    return Image.fromarray(hsv, "HSV").convert("RGB")


def blur(image: Image.Image, sigma_fraction: float) -> Image.Image:
    """Gaussian blur with sigma ``sigma_fraction`` of the long side."""
    sigma = sigma_fraction * max(image.size)
    return Image.fromarray(cv2.GaussianBlur(np.asarray(image.convert("RGB")), (0, 0), sigma))


def caption_bars(image: Image.Image, top_text: str, bottom_text: str, bar: float = 0.15,
                 colour=(255, 255, 255)) -> Image.Image:
    """Meme caption bars: ``bar`` of the height above and below, each with a line of black text."""
    height = round(image.height * bar)
    canvas = pad(image, 0, bar, 0, bar if bottom_text else 0, colour)
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=max(8, height * 2 // 3))
    draw.text((canvas.width // 2, height // 2), top_text, fill=(0, 0, 0), font=font, anchor="mm")
    if bottom_text:
        draw.text((canvas.width // 2, canvas.height - height // 2), bottom_text, fill=(0, 0, 0), font=font, anchor="mm")
    return canvas


def sticker(image: Image.Image, area: float, position=(0.5, 0.5), seed: int = 0) -> Image.Image:
    """An emoji-like sticker (a face or a star with a white outline) covering about ``area`` of the image."""
    rng = np.random.default_rng(seed)
    side = max(8, round(math.sqrt(area * image.width * image.height * 4 / math.pi)))
    x = round((image.width - side) * position[0])
    y = round((image.height - side) * position[1])
    out = image.copy()
    draw = ImageDraw.Draw(out)
    if rng.random() < 0.5:
        draw.ellipse((x, y, x + side, y + side), fill=(255, 204, 40), outline=(255, 255, 255), width=max(2, side // 20))
        eye = side // 10
        for ex in (x + side * 3 // 10, x + side * 7 // 10):
            draw.ellipse((ex - eye, y + side // 3 - eye, ex + eye, y + side // 3 + eye), fill=(60, 40, 20))
        draw.arc((x + side // 4, y + side // 3, x + side * 3 // 4, y + side * 4 // 5), 20, 160, fill=(60, 40, 20),
                 width=max(2, side // 15))
    else:
        draw.regular_polygon((x + side / 2, y + side / 2, side / 2), 5, rotation=float(rng.uniform(0, 72)),
                             fill=_colour(rng), outline=(255, 255, 255), width=max(2, side // 20))
        draw.ellipse((x + side // 3, y + side // 3, x + side * 2 // 3, y + side * 2 // 3), fill=_colour(rng))
    return out


def tiled_watermark(image: Image.Image, text: str, opacity: float = 0.3, angle: float = 30.0) -> Image.Image:
    """``text`` repeated over the whole image on a rotated grid, blended at ``opacity``."""
    size = max(image.size)
    layer = Image.new("L", (size * 2, size * 2), 0)
    draw = ImageDraw.Draw(layer)
    font = ImageFont.load_default(size=max(10, size // 20))
    step_x, step_y = size // 4, size // 8
    for row, y in enumerate(range(0, size * 2, step_y)):
        for x in range(-(row % 2) * step_x // 2, size * 2, step_x):
            draw.text((x, y), text, fill=255, font=font)
    layer = layer.rotate(angle).crop((size // 2, size // 2, size // 2 + image.width, size // 2 + image.height))
    white = Image.new("RGB", image.size, (255, 255, 255))
    return Image.composite(white, image.convert("RGB"), layer.point(lambda v: round(v * opacity)))


def recolour_region(image: Image.Image, seed: int, area: float = 0.25) -> Image.Image:
    """The same picture with one part in another colour (a product colour variant): the pixels of a soft blob
    covering about ``area`` of the image get a new hue and at least moderate saturation; structure is kept."""
    rng = np.random.default_rng(seed)
    w, h = image.size
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    aspect = rng.uniform(0.6, 1.6)
    rx = math.sqrt(area * w * h / math.pi * aspect)
    ry = area * w * h / math.pi / rx
    cx, cy = rng.uniform(rx, max(rx, w - rx)) if w > 2 * rx else w / 2, rng.uniform(ry, max(ry, h - ry)) if h > 2 * ry else h / 2
    inside = (((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2) <= 1.0
    hsv = np.asarray(image.convert("HSV")).copy()
    hue = hsv[..., 0].astype(np.int32)
    hsv[..., 0] = np.where(inside, (hue + int(rng.integers(64, 192))) % 256, hue)
    hsv[..., 1] = np.where(inside, np.maximum(hsv[..., 1], 140), hsv[..., 1])
    hsv[..., 2] = np.where(inside, np.maximum(hsv[..., 2], 90), hsv[..., 2])  # a dark part gets a visible colour too
    return Image.fromarray(hsv, "HSV").convert("RGB")



# --- different captures of one scene (hard negatives) ---------------------------------------------

def _layered_view(image: np.ndarray, near: np.ndarray, window, far_shift: float, near_shift: float,
                  keystone: float, rng) -> Image.Image:
    """One capture: the far layer shifted by ``far_shift`` and the ``near`` layer by ``near_shift`` (pixels,
    horizontal), a slight perspective, then the ``window`` (left, top, right, bottom) cut out."""
    h, w = near.shape
    far = np.roll(image, round(far_shift), axis=1)
    near_layer = np.roll(image, round(near_shift), axis=1)
    near_mask = np.roll(near, round(near_shift), axis=1)[..., None]
    view = np.where(near_mask, near_layer, far)
    corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    target = corners + (rng.uniform(-1, 1, (4, 2)) * keystone * np.float32([w, h])).astype(np.float32)
    view = cv2.warpPerspective(view, cv2.getPerspectiveTransform(corners, target), (w, h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT)
    gain = rng.uniform(0.9, 1.1, 3)
    view = np.clip(view.astype(np.float32) * gain + rng.normal(0, 2, view.shape), 0, 255).astype(np.uint8)
    left, top, right, bottom = window
    return Image.fromarray(view[top:bottom, left:right])


def _near_layer(h: int, w: int, rng) -> np.ndarray:
    """A foreground region: the lower part of the frame up to a wavy line, plus a blob."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    line = h * (rng.uniform(0.5, 0.7) + 0.08 * np.sin(xs / w * rng.uniform(3, 9) + rng.uniform(0, 6)))
    cx, cy, r = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.6) * h, rng.uniform(0.08, 0.18) * min(w, h) * 2
    return (ys > line) | (((xs - cx) ** 2 + (ys - cy) ** 2) < r * r)


def burst_pair(photo: Image.Image, seed: int, shift: float = 0.3) -> tuple[Image.Image, Image.Image]:
    """Two shots of one scene moments apart: windows of 70% x 80% of the photo ``shift`` of the width apart,
    with parallax between a near and a far layer, a slight change of viewpoint, exposure and noise."""
    rng = np.random.default_rng(seed)
    image = np.asarray(photo.convert("RGB"))
    h, w = image.shape[:2]
    near = _near_layer(h, w, rng)
    win_w, win_h = round(w * 0.7), round(h * 0.8)
    left = round(rng.uniform(0, max(0.0, w - win_w - shift * w)))
    top = [round(rng.uniform(0, h - win_h)) for _ in range(2)]
    shots = []
    for k, x in enumerate((left, min(w - win_w, left + round(shift * w)))):
        parallax = k * rng.uniform(0.02, 0.05) * w
        shots.append(_layered_view(image, near, (x, top[k], x + win_w, top[k] + win_h), 0.0, parallax, 0.02, rng))
    return shots[0], shots[1]


def stereo_pair(photo: Image.Image, seed: int, baseline: float = 0.06) -> tuple[Image.Image, Image.Image]:
    """Left and right views of one scene: the near layer shifts by ``baseline`` of the width more than the far
    one, both views cut to the same window."""
    rng = np.random.default_rng(seed)
    image = np.asarray(photo.convert("RGB"))
    h, w = image.shape[:2]
    near = _near_layer(h, w, rng)
    margin = round(w * baseline)
    window = (margin, 0, w - margin, h)
    far = w * baseline * 0.2
    return (_layered_view(image, near, window, -far / 2, -baseline * w / 2, 0.005, rng),
            _layered_view(image, near, window, far / 2, baseline * w / 2, 0.005, rng))
