"""Decode any audio (or the audio track of a video container) to mono float32 at one fixed rate.

PyAV's bundled FFmpeg reads every format we accept (WAV, FLAC, Ogg Vorbis, Opus, MP3, AAC/M4A,
MP4/WebM/MKV), so no system ffmpeg is needed. The duration cap is checked from the container's
metadata before any packet is decoded, and again while decoding when the metadata is missing.
Samples are resampled frame by frame with AudioResampler and handed out in chunks, so memory
stays bounded by the chunk size, not by the source's length or sample rate.
"""
from __future__ import annotations

from typing import Iterator

import av
import numpy as np

from medialayer.errors import ErrorCode, MediaError
from medialayer.limits import Limits
from medialayer.matchers.av_packets import decoded_packets
from medialayer.media import Blob

SAMPLE_RATE = 8000  # Hz; the fingerprint uses 150-3800 Hz, which survives 32 kbps codecs


def decode_chunks(blob: Blob, limits: Limits, chunk_seconds: float = 30.0) -> Iterator[np.ndarray]:
    """Yield mono float32 chunks at SAMPLE_RATE (each ``chunk_seconds`` long except the last)."""
    with blob.path() as path:
        try:
            container = av.open(path, mode="r")
        except av.FFmpegError as e:
            # Not str(e): it names the temporary file, so the message would differ from run to run.
            raise MediaError(ErrorCode.DECODE_FAILED,
                             f"cannot open audio: {getattr(e, 'strerror', None) or type(e).__name__}") from None
        with container:
            if not container.streams.audio:
                raise MediaError(ErrorCode.UNSUPPORTED_MEDIA, "no audio stream in the file")
            stream = container.streams.audio[0]
            declared = _declared_seconds(container, stream)
            if declared is not None and declared > limits.max_audio_seconds:
                raise MediaError(ErrorCode.DURATION_EXCEEDED,
                                 f"audio lasts {declared:.1f} s, over the {limits.max_audio_seconds:.0f} s cap")
            yield from _decode_stream(container, stream, limits, int(chunk_seconds * SAMPLE_RATE))


def decode(blob: Blob, limits: Limits) -> np.ndarray:
    """All samples at once (for tests and benches; the fingerprint streams through decode_chunks)."""
    chunks = list(decode_chunks(blob, limits))
    return np.concatenate(chunks) if chunks else np.zeros(0, np.float32)


def _declared_seconds(container, stream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _decode_stream(container, stream, limits: Limits, chunk_samples: int) -> Iterator[np.ndarray]:
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    max_samples = int((limits.max_audio_seconds + 1) * SAMPLE_RATE)
    pending: list[np.ndarray] = []
    pending_samples = total = 0
    for packet, frames in decoded_packets(container, stream, "audio"):
        for frame in frames + ([None] if packet.size == 0 else []):  # the flush packet also flushes the resampler
            for out in resampler.resample(frame):
                samples = out.to_ndarray().reshape(-1)
                total += len(samples)
                if total > max_samples:
                    raise MediaError(ErrorCode.DURATION_EXCEEDED,
                                     f"audio runs past the {limits.max_audio_seconds:.0f} s cap")
                pending.append(samples)
                pending_samples += len(samples)
                if pending_samples >= chunk_samples:
                    joined = np.concatenate(pending)
                    yield joined[:chunk_samples]
                    pending, pending_samples = [joined[chunk_samples:]], len(joined) - chunk_samples
    if total == 0:
        raise MediaError(ErrorCode.DECODE_FAILED, "no audio samples could be decoded")
    if pending_samples:
        yield np.concatenate(pending)
