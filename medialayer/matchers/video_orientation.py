"""The eight 90-degree rotations and flips of a picture, applied to its low-frequency DCT descriptor."""
from __future__ import annotations

import numpy as np

BAND = 8  # DCT coefficients 0..BAND-1 in each direction, DC excluded: 63 numbers


def _orientation(transpose: bool, flip_rows: bool, flip_cols: bool) -> tuple[np.ndarray, np.ndarray]:
    """(index, sign) that turn the descriptor of a picture into the descriptor of the picture transposed
    and/or flipped: the DCT of a transpose is the transposed DCT, and a flip changes the sign of the odd
    frequencies along it. Whitening and the square grid make this exact up to resampling, whatever the
    aspect ratio, so every 90-degree rotation and flip is a pairing tried at compare time."""
    rows, cols = np.divmod(np.arange(1, BAND * BAND), BAND)  # vertical and horizontal frequency
    if transpose:
        rows, cols = cols, rows
    index = rows * BAND + cols - 1
    sign = np.ones(BAND * BAND - 1, np.float32)
    if flip_rows:
        sign *= (-1.0) ** (np.arange(1, BAND * BAND) // BAND)
    if flip_cols:
        sign *= (-1.0) ** (np.arange(1, BAND * BAND) % BAND)
    return index, sign


# The eight ways a picture can be turned by 90-degree steps and mirrored, as (transpose, flip rows, flip cols).
ORIENTATIONS = {"upright": (False, False, False), "mirrored": (False, False, True),
                "upside down": (False, True, False), "rotated 180": (False, True, True),
                "transposed": (True, False, False), "rotated 90": (True, True, False),
                "rotated 270": (True, False, True), "transposed 180": (True, True, True)}
_ORIENT = {name: _orientation(*flags) for name, flags in ORIENTATIONS.items()}


def orient(descriptors: np.ndarray, orientation: str) -> np.ndarray:
    """Descriptors (n x 63, float) of the pictures turned as ``orientation`` (a key of ORIENTATIONS) says."""
    index, sign = _ORIENT[orientation]
    return descriptors if orientation == "upright" else descriptors[:, index] * sign
