"""How much of two audio files is one and the same signal: the waveform correlation at the best lag
(within +-0.5 s) and the level of what is left of A once the best-scaled B is subtracted.

    python bench/shared_signal.py A B

A recording against itself under a voice at +5 dB SNR leaves a residual about 5 dB below the recording; two unrelated
tracks leave a residual at about the level of A (0 dB) and correlate near 0.
"""
from __future__ import annotations

import os
import sys

import numpy as np
import scipy.signal

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root

from medialayer.limits import Limits  # noqa: E402
from medialayer.matchers.audio_decode import SAMPLE_RATE, decode  # noqa: E402
from medialayer.media import Blob  # noqa: E402


def shared_signal(a: np.ndarray, b: np.ndarray, max_lag: int = SAMPLE_RATE // 2) -> tuple[int, float, float]:
    """(lag in samples, correlation, residual level in dB relative to A) at the best lag."""
    n = min(len(a), len(b)) - 2 * max_lag
    x = a[max_lag:max_lag + n].astype(np.float64)
    # entry j: x against b from sample j on, i.e. the lag j - max_lag
    correlation = scipy.signal.correlate(b[:n + 2 * max_lag].astype(np.float64), x, mode="valid", method="fft")
    lag = int(np.argmax(correlation)) - max_lag
    y = b[max_lag + lag:max_lag + lag + n].astype(np.float64)
    gain = np.dot(x, y) / np.dot(y, y)
    corr = np.dot(x, y) / np.sqrt(np.dot(x, x) * np.dot(y, y))
    return lag, float(corr), float(10 * np.log10(np.sum((x - gain * y) ** 2) / np.sum(x ** 2)))


if __name__ == "__main__":
    a, b = (decode(Blob(path=p), Limits()) for p in sys.argv[1:3])
    lag, corr, residual = shared_signal(a, b)
    print(f"lag {lag / SAMPLE_RATE * 1000:+.1f} ms, correlation {corr:.3f}, residual {residual:+.1f} dB relative to A")
