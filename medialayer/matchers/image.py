"""Image matcher: a PDQ-style 256-bit DCT hash with its eight dihedral variants.

Fingerprint (about 300 bytes): the 256-bit hash of the image in each of its 8 orientations (so flips
and 90-degree rotations cost nothing at compare time), a PDQ-style quality score (gradient energy),
and a 4x4 colour thumbnail that decides between low-information images, whose hashes are noise.

Compare: the smallest Hamming distance between one image's hash and any orientation of the other's.
Unrelated photos sit near 128 of 256 bits; re-encodes, resizes and light edits stay well under 31,
PDQ's own recommended match threshold.
"""
from __future__ import annotations

import dataclasses
import io
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

from medialayer.errors import ErrorCode, MediaError
from medialayer.limits import Limits
from medialayer.matchers.base import Comparison
from medialayer.media import Blob

MATCH_DISTANCE = 31  # PDQ's recommended threshold (bits of 256)
NO_MATCH_DISTANCE = 96  # beyond this the score is 0: unrelated images sit around 110-128
MIN_QUALITY = 50  # PDQ quality below this: flat or two-tone image, the hash is not trustworthy
MIN_BAND_RMS = 4.0  # RMS (0-255 scale) of the hashed DCT coefficients below which the hash is noise
DRAFT_SIZE = 512  # JPEGs are decoded at reduced scale to at least this many pixels on the short side
THUMB_TOLERANCE = 12.0  # mean absolute difference (0-255) under which two flat images are the same

_GRID = 64
_DCT = np.sqrt(2.0 / _GRID) * np.cos(
    np.pi / (2 * _GRID) * np.outer(np.arange(1, 17), 2 * np.arange(_GRID) + 1))  # rows 1..16: skip DC
_ODD = (-1.0) ** np.arange(1, 17)  # sign pattern a mirror applies to DCT coefficients
_ORIENTATION_TRANSPOSE = {  # EXIF orientation tag -> the transpose that shows the image upright
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90}


@dataclasses.dataclass(frozen=True)
class ImageFingerprint:
    hashes: bytes  # 8 x 32 bytes: the hash of each dihedral orientation, identity first
    quality: int  # 0-100, PDQ-style gradient energy
    thumbnail: bytes  # 4x4 RGB, for low-information images
    width: int
    height: int

    @property
    def hash_bits(self) -> np.ndarray:
        return np.unpackbits(np.frombuffer(self.hashes, dtype=np.uint8)).reshape(8, 256)


def decode_image(blob: Blob, limits: Limits, min_side: int = DRAFT_SIZE) -> Image.Image:
    """Decode to RGB with EXIF orientation applied, refusing oversized images from the header."""
    try:
        image = Image.open(io.BytesIO(blob.read()))
    except UnidentifiedImageError:
        raise MediaError(ErrorCode.DECODE_FAILED, "unrecognised or corrupt image data") from None
    except Exception as e:  # Pillow raises many types for unreadable input
        raise MediaError(ErrorCode.DECODE_FAILED, f"not a decodable image: {e}") from None
    width, height = image.size
    if width * height > limits.max_image_pixels:
        raise MediaError(ErrorCode.TOO_LARGE,
                         f"{width}x{height} pixels exceeds max_image_pixels={limits.max_image_pixels}")
    try:
        orientation = image.getexif().get(0x0112, 1)
        scale = min(width, height) / min_side
        if image.format == "JPEG" and scale >= 2:
            # draft() decodes at 1/2, 1/4 or 1/8 scale: far less work for big photos.
            image.draft("RGB", (int(width / scale), int(height / scale)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own pixel cap applies
            image.load()
        image = _to_rgb(image)
        # Orientation after the draft: exif_transpose() first would force a full-size decode.
        if orientation in _ORIENTATION_TRANSPOSE:
            image = image.transpose(_ORIENTATION_TRANSPOSE[orientation])
    except MediaError:
        raise
    except Exception as e:
        raise MediaError(ErrorCode.DECODE_FAILED, f"image decode failed: {e}") from None
    return image


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        pixels = np.asarray(image, dtype=np.float64)
        peak = max(pixels.max(), 1.0)
        return Image.fromarray((pixels * (255.0 / peak)).astype(np.uint8)).convert("RGB")
    return image.convert("RGB")


def _dct_coefficients(luma: np.ndarray) -> np.ndarray:
    """16x16 low-frequency DCT coefficients (DC excluded) of a 64x64 luminance grid."""
    return _DCT @ luma @ _DCT.T


def _dihedral(coefficients: np.ndarray) -> list[np.ndarray]:
    """The coefficients of the 8 flips/rotations of the image, derived without touching pixels."""
    mirror_cols = coefficients * _ODD[np.newaxis, :]
    mirror_rows = coefficients * _ODD[:, np.newaxis]
    both = mirror_cols * _ODD[:, np.newaxis]
    variants = [coefficients, mirror_cols, mirror_rows, both]
    return variants + [v.T for v in variants]


def _bits(coefficients: np.ndarray) -> np.ndarray:
    return (coefficients > np.median(coefficients)).astype(np.uint8).ravel()


def _quality(luma: np.ndarray, coefficients: np.ndarray) -> int:
    """PDQ's gradient-energy quality (0-100); 0 when the hashed DCT band is (nearly) empty, as for
    a pure gradient or a two-tone split, whose hash bits would be rounding noise."""
    if np.sqrt(np.mean(coefficients ** 2)) < MIN_BAND_RMS:
        return 0
    gradient = np.abs(np.diff(luma, axis=0)).sum() + np.abs(np.diff(luma, axis=1)).sum()
    return int(min(100, gradient / 255.0 / 90.0 * 100.0))


def fingerprint_image(image: Image.Image) -> ImageFingerprint:
    luma = np.asarray(image.convert("L").resize((_GRID, _GRID), Image.Resampling.BOX), dtype=np.float64)
    coefficients = _dct_coefficients(luma)
    hashes = np.packbits(np.stack([_bits(v) for v in _dihedral(coefficients)]), axis=1)
    thumbnail = image.resize((4, 4), Image.Resampling.BOX).tobytes()
    return ImageFingerprint(hashes=hashes.tobytes(), quality=_quality(luma, coefficients), thumbnail=thumbnail,
                            width=image.width, height=image.height)


def hash_distance(a: ImageFingerprint, b: ImageFingerprint) -> int:
    """Smallest Hamming distance between a's hash and b's hash in any orientation."""
    return int(np.min(np.sum(a.hash_bits[0] != b.hash_bits, axis=1)))


def _score(distance: int) -> float:
    """Piecewise linear: 0 bits -> 1.0, MATCH_DISTANCE -> 0.5, NO_MATCH_DISTANCE and beyond -> 0.0."""
    if distance <= MATCH_DISTANCE:
        return 1.0 - 0.5 * distance / MATCH_DISTANCE
    return 0.5 * max(0.0, NO_MATCH_DISTANCE - distance) / (NO_MATCH_DISTANCE - MATCH_DISTANCE)


def _confidence(distance: int) -> str:
    if distance <= 20 or distance >= 64:
        return "high"
    if distance <= 26 or distance >= 44:
        return "medium"
    return "low"


class ImageMatcher:
    media_type = "image"

    def fingerprint(self, blob: Blob, limits: Limits) -> ImageFingerprint:
        return fingerprint_image(decode_image(blob, limits))

    def compare(self, a: ImageFingerprint, b: ImageFingerprint) -> Comparison:
        if min(a.quality, b.quality) < MIN_QUALITY:
            return self._compare_low_information(a, b)
        distance = hash_distance(a, b)
        return Comparison(match=distance <= MATCH_DISTANCE, similarity_score=round(_score(distance), 4),
                          confidence=_confidence(distance))

    @staticmethod
    def _compare_low_information(a: ImageFingerprint, b: ImageFingerprint) -> Comparison:
        """Flat or two-tone images: hashes are noise, so only near-identical colour layouts match, never surely."""
        difference = np.abs(np.frombuffer(a.thumbnail, np.uint8).astype(np.int16)
                            - np.frombuffer(b.thumbnail, np.uint8).astype(np.int16)).mean()
        if max(a.quality, b.quality) >= MIN_QUALITY:  # one flat, one detailed: not the same image
            return Comparison(match=False, similarity_score=0.0, confidence="low")
        same = difference <= THUMB_TOLERANCE
        score = max(0.0, 1.0 - difference / 64.0)
        return Comparison(match=same, similarity_score=round(score if same else min(score, 0.49), 4),
                          confidence="low")


MATCHER = ImageMatcher()
