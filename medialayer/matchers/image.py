"""Image matcher: a global DCT-hash stage, then ORB keypoint verification with an aligned check.

Normalise: decode to greyscale (a JPEG's luma channel only, with ``draft()`` to about 512 px; EXIF
orientation after the draft; alpha composited on white; CMYK, 16-bit and palette images converted;
only the first frame of an animation is decoded; flat images are decoded again, tiny, for colour),
trim uniform borders (padding, letterbox; repeated so padding around a photo's own flat margin goes
too, but never below TRIM_MIN_KEPT of a side), scale to at most 512 px on the long side.

Fingerprint (``ImageFingerprint``; 21.5 KB pickled with 320 keypoints, less for plain images):
  * PDQ-style 256-bit DCT hashes of the whole image and of its central 60% x 60%, each in the 8
    dihedral orientations (derived from the DCT coefficients, so flips and 90-degree turns cost nothing): 512 B;
  * a PDQ-style quality score, and a low-information flag (no trustworthy hash and hardly any corners);
  * up to 320 ORB keypoints (uint16 coordinates, 1/8 px: 1.3 KB) spread over a grid so no textured
    corner or overlaid text takes them all, with their descriptors (10 KB), plus descriptors of the
    mirrored image at the 160 strongest (5 KB) for flipped-and-edited copies;
  * a 64x64 luminance thumbnail for the aligned check (4 KB), and for flat images a 4x4 colour thumbnail.

Compare: a hash distance of at most ``ACCEPT_DISTANCE`` (PDQ's 31 bits) accepts at once when both
hashes are trustworthy. Otherwise the keypoints are matched (ratio test), upright and mirrored, a
similarity transform is fitted with RANSAC, and a candidate needs enough inliers spread over the
matched region and a large overlap. The aligned check then warps one luminance thumbnail onto the
other and counts the 8x8 blocks that agree, and measures how much of the overlap holds inliers: a true
copy agrees almost everywhere it overlaps (an overlay spoils a few blocks), a burst shot or an image
made from the same template only where the scenes coincide. The hash never rejects on its own.

Score: the evidence of each stage goes through a logistic curve fitted by maximum likelihood on the
quality benchmark (``bench/quality_image.py --fit``), so the score estimates how likely the pair is a
duplicate; 0.5 is the match threshold and the distance from it sets the confidence band (high beyond
0.4, medium beyond 0.2). Low-information images (flat, gradient, two-tone) are decided from their 4x4
colour layout and never get more than ``low`` confidence.
"""
from __future__ import annotations

import dataclasses
import io
import math
import warnings

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from medialayer.errors import ErrorCode, MediaError
from medialayer.limits import Limits
from medialayer.matchers.base import Comparison
from medialayer.media import Blob

WORK_SIDE = 512  # long side of the working image (keypoints, thumbnails)
MIN_QUALITY = 50  # PDQ quality below this: flat or two-tone image, the hash is not trustworthy
MIN_BAND_RMS = 4.0  # RMS (0-255 scale) of the hashed DCT coefficients below which the hash is noise
MIN_KEYPOINTS = 40  # fewer corners (at FAST_THRESHOLD) than this and no trustworthy hash: low information
THUMB_TOLERANCE = 12.0  # mean absolute difference (0-255) under which two flat images are the same

ACCEPT_DISTANCE = 31  # hash distance (of 256) accepted without verification: PDQ's own threshold
TRIM_TOLERANCE = 10  # max deviation (grey levels) of a border pixel from the border's level
TRIM_MIN_UNIFORM = 0.97  # fraction of a line's pixels that must be at the border's level
TRIM_MAX_SIDE = 0.4  # never trim more than this fraction of a dimension from one side
TRIM_SIDE = 256  # borders are measured on a copy at most this large
TRIM_PASSES = 4  # trim again after a band: padding around a photo's own flat margin
TRIM_MIN_KEPT = 0.55  # trimming stops before it would keep less than this of the width or height
TRIM_EDGE = 3  # lines (of the TRIM_SIDE copy) cut past a band: its resampled and JPEG-ringing edge

KEYPOINTS = 320  # ORB keypoints kept per image
MIRRORED_KEYPOINTS = 160  # of which this many also get a descriptor of the mirrored image
ORB_DETECT = 3000  # candidates detected before the grid selection
FAST_THRESHOLD, FAST_THRESHOLD_LOW = 16, 1  # FAST corner thresholds on the contrast-stretched image
GRID = 6  # cells per side of the keypoint selection grid
RATIO = 0.8  # Lowe's ratio test
MAX_DESCRIPTOR_DISTANCE = 80  # of 256 bits: a nearest neighbour further than this is no correspondence
REPROJECTION_PX = 6.0  # RANSAC inlier threshold, working-image pixels
RANSAC_SEED = 12345  # any fixed value: compare() must give the same answer every time
MIN_INLIERS = 10
MIN_INLIER_CELLS = 4  # of a 4x4 grid over the matched region, in both images
COVERAGE_GRID = 6  # cells per side of the inlier-coverage grid
MIN_OVERLAP = 0.25  # overlap area / area of the larger image (in content)
MIN_OVERLAP_OF_SMALLER = 0.5  # overlap area / area of the smaller image
LUMA_SIDE = 64  # aligned-check thumbnail
LUMA_BLOCK = 8  # aligned-check block side (in thumbnail pixels)
BLOCK_DETAIL = 0.25  # a block's own standard deviation (in units of the overlap's) above which it has detail
BLOCK_CORRELATION = 0.5  # detailed blocks agree when their details correlate above this
BLOCK_LEVEL_TOLERANCE = 0.5  # and their mean levels (in units of the overlap's standard deviation) differ less

# Logistic calibration (fitted by ``bench/quality_image.py --fit``): score = 1 / (1 + exp(-(w . x + b))),
# given as (w..., b).
HASH_LOGIT = (-0.103, 6.195)  # x = hash distance, fitted where the keypoints could not verify
VERIFY_LOGIT = (13.707, 11.416, 1.001, -13.879)  # x = verify_features(): agreement, coverage, distance/256
HIGH_MARGIN, MEDIUM_MARGIN = 0.4, 0.2  # |score - 0.5| for high / medium confidence

_GRID64 = 64
_DCT = np.sqrt(2.0 / _GRID64) * np.cos(
    np.pi / (2 * _GRID64) * np.outer(np.arange(1, 17), 2 * np.arange(_GRID64) + 1))  # rows 1..16: skip DC
_ODD = (-1.0) ** np.arange(1, 17)  # sign pattern a mirror applies to DCT coefficients
_ORIENTATION_TRANSPOSE = {  # EXIF orientation tag -> the transpose that shows the image upright
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90}
_ORB = {}  # FAST threshold -> detector, created lazily once per process (cv2 objects do not pickle)


@dataclasses.dataclass(frozen=True)
class ImageFingerprint:
    hashes: bytes  # 8 x 32 bytes: the whole-image hash in each dihedral orientation, identity first
    centre_hashes: bytes  # 8 x 32 bytes: the same for the central region
    quality: int  # 0-100, PDQ-style gradient energy; 0 when the hash is noise
    thumbnail: bytes  # 4x4 RGB of low-information images (empty for the others)
    luma: bytes  # LUMA_SIDE x LUMA_SIDE luminance of the working image, for the aligned check
    width: int  # working image (trimmed, at most WORK_SIDE on the long side)
    height: int
    points: bytes  # N x 2 uint16: keypoint (x, y) in working-image pixels x 8
    descriptors: bytes  # N x 32 ORB descriptors
    mirrored: bytes  # M x 32 descriptors of the mirrored image at the first M keypoints (mirrored)
    low_information: bool  # no trustworthy hash and hardly any real corners: flat, gradient, two-tone

    @property
    def hash_bits(self) -> np.ndarray:
        return np.unpackbits(np.frombuffer(self.hashes, dtype=np.uint8)).reshape(8, 256)

    @property
    def centre_hash_bits(self) -> np.ndarray:
        return np.unpackbits(np.frombuffer(self.centre_hashes, dtype=np.uint8)).reshape(8, 256)

    @property
    def keypoints(self) -> np.ndarray:
        return np.frombuffer(self.points, dtype=np.uint16).reshape(-1, 2).astype(np.float32) / 8.0


@dataclasses.dataclass(frozen=True)
class Evidence:
    """What the comparison found; the score is a calibrated function of it."""

    hash_distance: int  # best of whole-image and central-region hashes, any orientation
    inliers: int = 0  # RANSAC inliers of the best keypoint transform (0: not verified)
    agreement: float = 0.0  # aligned check: fraction of overlapping blocks that agree
    coverage: float = 0.0  # fraction of grid cells with keypoints in the overlap that hold an inlier
    overlap: float = 0.0  # overlap area / area of the larger image
    mirrored: bool = False  # the keypoint transform was found between one image and the other's mirror

    @property
    def verified(self) -> bool:
        return self.inliers > 0


# --- decode and normalise -------------------------------------------------------------------------

def decode_image(blob: Blob, limits: Limits, mode: str = "L", min_side: int = WORK_SIDE) -> Image.Image:
    """Decode to ``mode`` (L or RGB) with EXIF orientation applied, refusing oversized images from the header.

    Greyscale is all the matcher needs but for flat images; a JPEG then decodes its luma channel only."""
    try:
        image = Image.open(io.BytesIO(blob.read()))
    except Image.DecompressionBombError as e:  # Pillow's own cap, for images far beyond its default
        raise MediaError(ErrorCode.TOO_LARGE, str(e)) from None
    except UnidentifiedImageError:  # its message names a buffer's address: say it plainly, and the same every time
        raise MediaError(ErrorCode.DECODE_FAILED, "unrecognised or corrupt image data") from None
    except Exception as e:  # Pillow raises many types for unreadable input
        raise MediaError(ErrorCode.DECODE_FAILED, f"not a decodable image: {e}") from None
    width, height = image.size
    if width * height > limits.max_image_pixels:
        raise MediaError(ErrorCode.TOO_LARGE,
                         f"{width}x{height} pixels exceeds max_image_pixels={limits.max_image_pixels}")
    try:
        orientation = image.getexif().get(0x0112, 1)
        scale = max(1.0, max(width, height) / min_side)
        if image.format == "JPEG":
            # draft() decodes at 1/2, 1/4 or 1/8 scale (far less work for big photos), and in greyscale.
            image.draft(mode, (math.ceil(width / scale), math.ceil(height / scale)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own pixel cap applies
            image.load()  # the first frame of an animation; the others are never decoded
        image = _convert(image, mode)
        # Orientation after the draft: exif_transpose() first would force a full-size decode.
        if orientation in _ORIENTATION_TRANSPOSE:
            image = image.transpose(_ORIENTATION_TRANSPOSE[orientation])
    except MediaError:
        raise
    except Exception as e:
        raise MediaError(ErrorCode.DECODE_FAILED, f"image decode failed: {e}") from None
    return image


def _convert(image: Image.Image, mode: str) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert(mode)
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        pixels = np.asarray(image, dtype=np.float64)
        peak = max(pixels.max(), 1.0)
        return Image.fromarray((np.clip(pixels, 0, None) * (255.0 / peak)).astype(np.uint8)).convert(mode)
    return image if image.mode == mode else image.convert(mode)


def trim_borders(gray: np.ndarray) -> np.ndarray:
    """Cut away uniform bands at each side (padding, letterbox); an image uniform all over is kept.

    Measured on a copy of at most TRIM_SIDE pixels (a band's blurred inner edge stays, a few pixels)."""
    height, width = gray.shape
    factor = max(1.0, max(height, width) / TRIM_SIDE)
    small = gray if factor == 1.0 else cv2.resize(gray, (max(1, round(width / factor)), max(1, round(height / factor))),
                                                  interpolation=cv2.INTER_NEAREST)  # bands are uniform anyway
    top, bottom = _uniform_lines(small), _uniform_lines(small[::-1])
    left, right = _uniform_lines(small.T), _uniform_lines(small.T[::-1])
    if not top + bottom + left + right or top + bottom >= small.shape[0] * 0.8 or left + right >= small.shape[1] * 0.8:
        return gray
    if small[top:small.shape[0] - bottom, left:small.shape[1] - right].std() < TRIM_TOLERANCE:
        return gray  # what is left is flat too: a two-tone image
    top, bottom, left, right = (int(n * factor) for n in (top, bottom, left, right))
    return gray[top:height - bottom, left:width - right]


def _uniform_lines(gray: np.ndarray) -> int:
    """How many leading rows of ``gray`` are (nearly) the level of its first row."""
    limit = int(len(gray) * TRIM_MAX_SIDE)
    level = int(np.median(gray[0]))
    for count, row in enumerate(gray[:limit]):  # most images stop at the first row
        if (np.abs(row.astype(np.int16) - level) <= TRIM_TOLERANCE).mean() < TRIM_MIN_UNIFORM:
            # Past a band, also cut the blurred line where it met the picture, so the next pass starts clean.
            return min(limit, count + TRIM_EDGE) if count else 0
    return limit


def working_image(image: Image.Image) -> np.ndarray:
    """The trimmed greyscale image scaled to at most WORK_SIDE on its long side."""
    gray = original = np.asarray(image)
    for _ in range(TRIM_PASSES):  # until nothing changes: padding around a photo's own flat margin
        trimmed = trim_borders(gray)
        if trimmed.shape == gray.shape or min(np.divide(trimmed.shape, original.shape)) < TRIM_MIN_KEPT:
            break  # a photo that is mostly flat margin (night sky, dark foreground) keeps it
        gray = trimmed
    height, width = gray.shape
    scale = WORK_SIDE / max(width, height)
    if scale < 1:
        gray = cv2.resize(gray, (max(1, round(width * scale)), max(1, round(height * scale))),
                          interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(gray)


# --- global stage: DCT hashes ---------------------------------------------------------------------

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


def _dihedral_hashes(gray: np.ndarray) -> tuple[bytes, np.ndarray, np.ndarray]:
    luma = cv2.resize(gray, (_GRID64, _GRID64), interpolation=cv2.INTER_AREA).astype(np.float64)
    coefficients = _dct_coefficients(luma)
    bits = np.stack([(v > np.median(v)).astype(np.uint8).ravel() for v in _dihedral(coefficients)])
    return np.packbits(bits, axis=1).tobytes(), luma, coefficients


def _quality(luma: np.ndarray, coefficients: np.ndarray) -> int:
    """PDQ's gradient-energy quality (0-100); 0 when the hashed DCT band is (nearly) empty, as for
    a pure gradient or a two-tone split, whose hash bits would be rounding noise."""
    if np.sqrt(np.mean(coefficients ** 2)) < MIN_BAND_RMS:
        return 0
    gradient = np.abs(np.diff(luma, axis=0)).sum() + np.abs(np.diff(luma, axis=1)).sum()
    return int(min(100, gradient / 255.0 / 90.0 * 100.0))


def _distance(a_bits: np.ndarray, b_bits: np.ndarray) -> int:
    """Smallest Hamming distance between a's upright hash and b's hash in any orientation."""
    return int(np.min(np.sum(a_bits[0] != b_bits, axis=1)))


def hash_distance(a: ImageFingerprint, b: ImageFingerprint) -> int:
    return min(_distance(a.hash_bits, b.hash_bits), _distance(a.centre_hash_bits, b.centre_hash_bits))


# --- keypoints ------------------------------------------------------------------------------------

def _orb(fast_threshold: int = FAST_THRESHOLD):
    if fast_threshold not in _ORB:
        _ORB[fast_threshold] = cv2.ORB_create(nfeatures=ORB_DETECT, fastThreshold=fast_threshold)
    return _ORB[fast_threshold]


def _spread_keypoints(keypoints, width: int, height: int, count: int):
    """The ``count`` strongest keypoints taken round-robin over a GRID x GRID grid of cells."""
    if len(keypoints) <= count:
        return sorted(keypoints, key=lambda k: -k.response)
    xy = cv2.KeyPoint_convert(keypoints)
    cell = (np.minimum(xy[:, 1] * GRID // height, GRID - 1) * GRID + np.minimum(xy[:, 0] * GRID // width, GRID - 1))
    response = np.array([k.response for k in keypoints])
    order = np.lexsort((-response, cell))  # by cell, strongest first within a cell
    rank = np.empty(len(keypoints), dtype=np.int64)
    sorted_cells = cell[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_cells)) + 1]
    rank[order] = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    chosen = np.lexsort((-response, rank))[:count]  # all cells' best, then all cells' second best, ...
    return [keypoints[i] for i in chosen]


def _keypoints(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(points N x 2, descriptors N x 32, mirrored descriptors M x 32, corners found at the normal threshold)."""
    height, width = gray.shape
    empty = np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8), np.zeros((0, 32), np.uint8), 0
    cumulative = np.cumsum(np.bincount(gray.ravel(), minlength=256)) / gray.size
    low, high = np.searchsorted(cumulative, (0.01, 0.99))  # 1st and 99th percentiles, cheaply
    # Stretched contrast: the corner threshold then means the same on dark, hazy and contrasty photos.
    gray = cv2.convertScaleAbs(gray, alpha=255.0 / max(high - low, 16.0), beta=-low * 255.0 / max(high - low, 16.0))
    keypoints = _orb().detect(gray, None)
    strong = len(keypoints)
    if strong < KEYPOINTS:  # smooth image: take weaker corners too
        keypoints = _orb(FAST_THRESHOLD_LOW).detect(gray, None)
    if not keypoints:
        return empty[:3] + (strong,)
    keypoints, descriptors = _orb().compute(gray, _spread_keypoints(keypoints, width, height, KEYPOINTS))
    if descriptors is None:
        return empty[:3] + (strong,)
    points = cv2.KeyPoint_convert(keypoints).reshape(-1, 2)
    # The mirror image's descriptors at the mirrored keypoints: ORB keeps the given angle, mirrored too.
    mirrored_keypoints = [cv2.KeyPoint(width - 1 - k.pt[0], k.pt[1], k.size, (180.0 - k.angle) % 360.0, k.response,
                                       k.octave) for k in keypoints[:MIRRORED_KEYPOINTS]]
    kept, mirrored = _orb().compute(cv2.flip(gray, 1), mirrored_keypoints)
    if mirrored is None or len(kept) != len(mirrored_keypoints):
        mirrored = np.zeros((0, 32), np.uint8)
    return points, descriptors, mirrored, strong


# --- fingerprint ----------------------------------------------------------------------------------

def fingerprint_image(image: Image.Image) -> ImageFingerprint:
    """The fingerprint of a greyscale image; ``thumbnail`` is left empty (see ImageMatcher.fingerprint)."""
    gray = working_image(image)
    height, width = gray.shape
    hashes, luma, coefficients = _dihedral_hashes(gray)
    centre = gray[height // 5:height - height // 5, width // 5:width - width // 5]  # central 60% x 60%
    centre_hashes = _dihedral_hashes(centre if centre.size else gray)[0]
    points, descriptors, mirrored, strong_corners = _keypoints(gray)
    quality = _quality(luma, coefficients)
    return ImageFingerprint(
        hashes=hashes, centre_hashes=centre_hashes, quality=quality,
        thumbnail=b"",
        luma=cv2.resize(gray, (LUMA_SIDE, LUMA_SIDE), interpolation=cv2.INTER_AREA).tobytes(),
        width=width, height=height, points=np.round(points * 8).astype(np.uint16).tobytes(),
        descriptors=descriptors.tobytes(), mirrored=mirrored.tobytes(),
        low_information=quality < MIN_QUALITY and strong_corners < MIN_KEYPOINTS)


# --- local verification ---------------------------------------------------------------------------

def _correspondences(query: np.ndarray, train: np.ndarray) -> np.ndarray:
    """(query index, train index) pairs that pass the ratio test."""
    if len(query) < 2 or len(train) < 2:
        return np.zeros((0, 2), np.int64)
    pairs = [(m.queryIdx, m.trainIdx) for m, n in cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(query, train, k=2)
             if m.distance < RATIO * n.distance and m.distance <= MAX_DESCRIPTOR_DISTANCE]
    return np.array(pairs, np.int64).reshape(-1, 2)


def _homogeneous(matrix: np.ndarray) -> np.ndarray:
    return np.vstack([matrix, [0.0, 0.0, 1.0]])


def _overlap(transform: np.ndarray, a: ImageFingerprint, b: ImageFingerprint) -> tuple[float, float]:
    """(smaller, larger) of overlap / area over both images, with a's frame mapped into b's by ``transform``."""
    corners = np.array([[0, 0], [a.width, 0], [a.width, a.height], [0, a.height]], np.float32)
    mapped = cv2.transform(corners[None], transform)[0]
    frame_b = np.array([[0, 0], [b.width, 0], [b.width, b.height], [0, b.height]], np.float32)
    area, _ = cv2.intersectConvexConvex(mapped, frame_b)
    scale = math.sqrt(abs(np.linalg.det(transform[:, :2])))
    fractions = area / (b.width * b.height), area / (scale * scale * a.width * a.height)
    return min(fractions), max(fractions)


def _occupied_cells(points: np.ndarray) -> int:
    """Cells of a 4x4 grid over the points' bounding box that hold at least one point."""
    low, high = points.min(axis=0), points.max(axis=0)
    cells = np.minimum(((points - low) / np.maximum(high - low, 1e-6) * 4).astype(int), 3)
    return len({(int(x), int(y)) for x, y in cells})


def _aligned_agreement(transform: np.ndarray, a: ImageFingerprint, b: ImageFingerprint) -> float:
    """Warp a's luminance thumbnail onto b's with ``transform`` and return the fraction of overlapping
    blocks that agree: correlated detail where either block has detail, equal brightness where both are flat."""
    to_thumb_a = np.diag([LUMA_SIDE / a.width, LUMA_SIDE / a.height, 1.0])
    to_thumb_b = np.diag([LUMA_SIDE / b.width, LUMA_SIDE / b.height, 1.0])
    thumb_transform = (to_thumb_b @ _homogeneous(transform) @ np.linalg.inv(to_thumb_a))[:2]
    size = (LUMA_SIDE, LUMA_SIDE)
    luma_a = np.frombuffer(a.luma, np.uint8).reshape(size).astype(np.float32)
    luma_b = np.frombuffer(b.luma, np.uint8).reshape(size).astype(np.float32)
    warped = cv2.warpAffine(luma_a, thumb_transform, size, flags=cv2.INTER_LINEAR)
    valid = cv2.warpAffine(np.ones(size, np.float32), thumb_transform, size, flags=cv2.INTER_LINEAR) > 0.99
    blocks = LUMA_SIDE // LUMA_BLOCK
    shape = (blocks, LUMA_BLOCK, blocks, LUMA_BLOCK)
    valid_blocks = valid.reshape(shape).all(axis=(1, 3))
    if valid_blocks.sum() < 4:
        return 0.0
    z_a = _standardise(warped, valid).reshape(shape).transpose(0, 2, 1, 3).reshape(blocks, blocks, -1)
    z_b = _standardise(luma_b, valid).reshape(shape).transpose(0, 2, 1, 3).reshape(blocks, blocks, -1)
    z_a, z_b = z_a[valid_blocks], z_b[valid_blocks]
    mean_a, mean_b = z_a.mean(axis=1), z_b.mean(axis=1)
    detail_a, detail_b = z_a - mean_a[:, None], z_b - mean_b[:, None]
    spread_a, spread_b = np.sqrt((detail_a ** 2).mean(axis=1)), np.sqrt((detail_b ** 2).mean(axis=1))
    correlation = (detail_a * detail_b).mean(axis=1) / np.maximum(spread_a * spread_b, 1e-6)
    detailed = np.maximum(spread_a, spread_b) > BLOCK_DETAIL
    same_level = np.abs(mean_a - mean_b) < BLOCK_LEVEL_TOLERANCE
    agree = np.where(detailed, (correlation > BLOCK_CORRELATION) & same_level, same_level)
    return float(agree.mean())


def _inlier_coverage(transform, points_b, inliers_b, a, b) -> float:
    """Of the cells of a COVERAGE_GRID over b that hold keypoints inside the overlap, the fraction holding an
    inlier: a copy has inliers all over (but under an overlay), a shared template only where it is shared."""
    inverse = cv2.invertAffineTransform(transform)
    in_a = cv2.transform(points_b[None], inverse)[0]
    inside = (in_a[:, 0] >= 0) & (in_a[:, 0] < a.width) & (in_a[:, 1] >= 0) & (in_a[:, 1] < a.height)

    def cells(points):
        column = np.minimum(points[:, 0] * COVERAGE_GRID // b.width, COVERAGE_GRID - 1)
        row = np.minimum(points[:, 1] * COVERAGE_GRID // b.height, COVERAGE_GRID - 1)
        return set((row * COVERAGE_GRID + column).astype(int).tolist())

    candidates = cells(points_b[inside])
    return len(cells(inliers_b) & candidates) / max(1, len(candidates))


def _standardise(luma: np.ndarray, valid: np.ndarray) -> np.ndarray:
    values = luma[valid]
    return (luma - values.mean()) / max(values.std(), 4.0)


def verify(a: ImageFingerprint, b: ImageFingerprint, distance: int | None = None) -> Evidence:
    """Keypoint verification, upright and with a mirrored; the better-agreeing transform is kept.
    ``distance``: the pair's hash distance, when the caller has it already."""
    distance = hash_distance(a, b) if distance is None else distance
    points_a, points_b = a.keypoints, b.keypoints
    descriptors_a = np.frombuffer(a.descriptors, np.uint8).reshape(-1, 32)
    descriptors_b = np.frombuffer(b.descriptors, np.uint8).reshape(-1, 32)
    mirrored_a = np.frombuffer(a.mirrored, np.uint8).reshape(-1, 32)
    flipped_points_a = points_a[:len(mirrored_a)] * [-1.0, 1.0] + [a.width - 1.0, 0.0]
    best = Evidence(distance)
    for is_mirrored, query_points, query in ((False, points_a, descriptors_a), (True, flipped_points_a, mirrored_a)):
        pairs = _correspondences(query, descriptors_b)
        if len(pairs) < MIN_INLIERS:
            continue
        source, target = query_points[pairs[:, 0]], points_b[pairs[:, 1]]
        cv2.setRNGSeed(RANSAC_SEED)  # RANSAC samples from OpenCV's per-thread generator: same pair, same answer
        transform, inlier_mask = cv2.estimateAffinePartial2D(
            source, target, method=cv2.RANSAC, ransacReprojThreshold=REPROJECTION_PX, maxIters=1000,
            confidence=0.995, refineIters=5)
        if transform is None:
            continue
        inliers = inlier_mask.ravel().astype(bool)
        scale = math.sqrt(abs(np.linalg.det(transform[:, :2])))
        if inliers.sum() < MIN_INLIERS or not 0.2 <= scale <= 5.0:
            continue
        if min(_occupied_cells(source[inliers]), _occupied_cells(target[inliers])) < MIN_INLIER_CELLS:
            continue
        if is_mirrored:  # express the transform on a's upright frame: x -> mirror(x) -> transform
            transform = transform @ np.array([[-1.0, 0.0, a.width - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        overlap, overlap_of_smaller = _overlap(transform, a, b)
        if overlap < MIN_OVERLAP or overlap_of_smaller < MIN_OVERLAP_OF_SMALLER:
            continue
        coverage = _inlier_coverage(transform, points_b, target[inliers], a, b)
        candidate = Evidence(distance, int(inliers.sum()), _aligned_agreement(transform, a, b), coverage, overlap,
                             is_mirrored)
        if candidate.agreement > best.agreement or not best.verified:
            best = candidate
    return best


# --- score ----------------------------------------------------------------------------------------

def _logistic(features, weights: tuple[float, ...]) -> float:
    z = float(np.dot(weights[:-1], features)) + weights[-1]
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def verify_features(evidence: Evidence) -> tuple[float, float, float]:
    """The verification evidence the calibrated score weighs: the aligned check, the inliers' coverage and
    the hash distance (a verified pair whose hashes also agree is surer)."""
    return evidence.agreement, evidence.coverage, evidence.hash_distance / 256.0


def score(evidence: Evidence, trusted_hashes: bool = True) -> float:
    """The calibrated probability that the pair is a duplicate: the stronger of the two stages."""
    hash_score = _logistic([evidence.hash_distance], HASH_LOGIT) if trusted_hashes else 0.0
    if evidence.hash_distance > ACCEPT_DISTANCE:  # the hash alone only ever accepts clear duplicates
        hash_score = min(hash_score, 0.49)
    verify_score = _logistic(verify_features(evidence), VERIFY_LOGIT) if evidence.verified else 0.0
    return max(hash_score, verify_score)


def _confidence(similarity: float) -> str:
    margin = abs(similarity - 0.5)
    return "high" if margin >= HIGH_MARGIN else "medium" if margin >= MEDIUM_MARGIN else "low"


# --- index keys for candidate generation (catalog dedupe) ---------------------------------------------

HASH_WORDS = 16  # 16-bit words per 256-bit hash: a copy within ~15 bits keeps several of them intact
# Four fixed selections of 32 descriptor bits: with fewer bits unrelated pictures share keys by the
# thousand (ORB's bits are far from independent); with fewer selections a crop's descriptors keep too few.
DESCRIPTOR_KEY_BITS = [np.random.default_rng(20261201 + table).choice(256, 32, replace=False) for table in range(4)]
_HASH_KEYS, _CENTRE_KEYS, _DESCRIPTOR_KEYS, _COLOUR_KEYS = (kind << 48 for kind in range(1, 5))


def index_keys(fp: ImageFingerprint) -> list[int]:
    """16-bit words of the whole and central hashes in all 8 orientations (a turned or flipped copy's
    upright hash is one of ours, word for word), and four fixed 32-bit selections of every keypoint
    descriptor, upright and mirrored (crops, copies pasted into other pictures keep many descriptors
    nearly intact). Flat images: their mean colour on two offset 32-level grids."""
    if fp.low_information:
        colour = np.frombuffer(fp.thumbnail, np.uint8).reshape(-1, 3).mean(axis=0)
        return sorted({_COLOUR_KEYS | offset << 24 | int.from_bytes(bytes(((colour + 16 * offset) // 32)
                                                                           .astype(np.uint8)), "big")
                       for offset in (0, 1)})
    keys = set()
    for namespace, packed in ((_HASH_KEYS, fp.hashes), (_CENTRE_KEYS, fp.centre_hashes)):
        words = np.frombuffer(packed, ">u2").reshape(8, HASH_WORDS)
        keys.update(namespace | position << 16 | int(word) for (_, position), word in np.ndenumerate(words))
    bits = np.unpackbits(np.frombuffer(fp.descriptors + fp.mirrored, np.uint8).reshape(-1, 32), axis=1)
    for table, selection in enumerate(DESCRIPTOR_KEY_BITS):
        picked = np.ascontiguousarray(np.packbits(bits[:, selection], axis=1)).view(">u4").ravel()
        keys.update(_DESCRIPTOR_KEYS | table << 32 | int(value) for value in picked)
    return sorted(keys)


class ImageMatcher:
    media_type = "image"
    min_shared_keys = 3  # with the keys above: 0.998 of all-pairs matches at 7 candidates per image (bench/dedupe.py)

    def index_keys(self, fingerprint: ImageFingerprint) -> list[int]:
        return index_keys(fingerprint)

    def fingerprint(self, blob: Blob, limits: Limits) -> ImageFingerprint:
        fingerprint = fingerprint_image(decode_image(blob, limits))
        if fingerprint.low_information:  # only flat images need colour: decode again, small, in RGB
            colour = decode_image(blob, limits, "RGB", min_side=64).resize((4, 4), Image.Resampling.BOX)
            fingerprint = dataclasses.replace(fingerprint, thumbnail=colour.tobytes())
        return fingerprint

    def compare(self, a: ImageFingerprint, b: ImageFingerprint) -> Comparison:
        if a.low_information or b.low_information:
            return self._compare_low_information(a, b)
        distance = hash_distance(a, b)
        trusted_hashes = min(a.quality, b.quality) >= MIN_QUALITY
        evidence = Evidence(distance) if distance <= ACCEPT_DISTANCE and trusted_hashes else verify(a, b, distance)
        similarity = score(evidence, trusted_hashes)
        confidence = _confidence(similarity)
        if not trusted_hashes and confidence == "high":
            confidence = "medium"  # the hash of one side is noise: rest on the keypoints alone, less surely
        return Comparison(match=similarity >= 0.5, similarity_score=round(similarity, 4), confidence=confidence)

    @staticmethod
    def _compare_low_information(a: ImageFingerprint, b: ImageFingerprint) -> Comparison:
        """Flat or two-tone images: hashes are noise, so only near-identical colour layouts match, never surely."""
        if not (a.low_information and b.low_information):  # one flat, one detailed: not the same image
            return Comparison(match=False, similarity_score=0.0, confidence="low")
        difference = np.abs(np.frombuffer(a.thumbnail, np.uint8).astype(np.int16)
                            - np.frombuffer(b.thumbnail, np.uint8).astype(np.int16)).mean()
        same = difference <= THUMB_TOLERANCE
        similarity = max(0.0, 1.0 - difference / 64.0)
        return Comparison(match=same, similarity_score=round(similarity if same else min(similarity, 0.49), 4),
                          confidence="low")


MATCHER = ImageMatcher()
