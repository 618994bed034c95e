"""What the report shows of a media file, made once per URL: an image thumbnail, a video's duration and a few
small frames, an audio file's duration and loudness strip.

A run asked for a report (``--report``) makes each preview in the decoder that fingerprints the URL, from
the bytes it already fetched (``fingerprint_and_preview``), and writes them beside its records as
``<output>.previews-*.parquet`` (PREVIEW_SCHEMA: the record's redacted URL, its media type, the preview as
JSON): a few KB per image or audio file, about 60 KB per video (docs/report.md). The report reads back only the
previews of the rows it shows (``read_previews``); ``medialayer report`` on a run without them fetches the
media of those rows again, under the run's guards and limits (``fetch_previews``).
"""
from __future__ import annotations

import base64
import io
import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from medialayer.errors import ErrorCode, MediaError
from medialayer.io.fetch import Fetcher, redact
from medialayer.isolation import DecoderPool, decode
from medialayer.limits import Limits
from medialayer.media import Blob

THUMB_SIDE = 160  # px, long side of an image thumbnail
FRAME_SIDE = 96  # px, long side of a video frame at a segment start
LOUDNESS_BINS = 240
FRAMES = 24  # video frames kept per file, evenly spaced
PREVIEW = "medialayer.previews:preview"  # what an isolated decoder runs for media fetched for the report alone
FINGERPRINT_AND_PREVIEW = "medialayer.previews:fingerprint_and_preview"  # what it runs in a run with a report


def preview(media_type: str, blob: Blob, limits: Limits) -> dict:
    """What the page shows of one media file: a thumbnail, or its duration and video frames or loudness."""
    if media_type == "image":
        return {"thumbnail": _jpeg(_image(blob, limits))}
    import av

    with blob.path() as path, av.open(path) as container:
        duration = float(container.duration or 0) / av.time_base
        if duration > (limits.max_audio_seconds if media_type == "audio" else limits.max_video_seconds):
            raise MediaError(ErrorCode.DURATION_EXCEEDED, f"{duration:.0f} s is over the duration cap")
        if media_type == "audio":
            return {"duration": duration, "loudness": _loudness(container)}
        return {"duration": duration, "frames": _frames(container, duration)}


def fingerprint_and_preview(media_type: str, blob: Blob, limits: Limits) -> tuple:
    """(fingerprint, preview) from one fetch: a preview that fails costs the page a picture, never the
    fingerprint."""
    fingerprint = decode(media_type, blob, limits)
    try:
        shown = preview(media_type, blob, limits)
    except Exception as e:  # noqa: BLE001 - the fingerprint stands; the page says why the picture is missing
        shown = {"error": f"{e.code.value}: {e.message}" if isinstance(e, MediaError) else f"no preview: {e}"}
    return fingerprint, shown


def preview_record(url: str, media_type: str, shown: dict) -> dict:
    """A row of the previews output (PREVIEW_SCHEMA), keyed by the URL as the records write it."""
    return {"url": redact(url), "media_type": media_type, "preview": json.dumps(shown, separators=(",", ":"))}


def read_previews(pattern: str, urls: set) -> dict:
    """url -> preview for those of ``urls`` found in the previews files ``pattern`` matches."""
    import pyarrow.parquet as pq
    from apache_beam.io.filesystems import FileSystems

    found = {}
    for match in FileSystems.match([pattern])[0].metadata_list:
        with FileSystems.open(match.path, compression_type="uncompressed") as f:
            for batch in pq.ParquetFile(f).iter_batches(columns=["url", "preview"]):
                for url, shown in zip(*(batch.column(name).to_pylist() for name in ("url", "preview"))):
                    if url in urls:
                        found[url] = json.loads(shown)
    return found


def fetch_previews(wanted: dict, limits: Limits, concurrency: int = 4) -> dict:
    """url -> preview (or {"error": message}) for ``wanted`` (url -> media type), each URL fetched once."""
    fetcher, pool = Fetcher(limits), DecoderPool(decode=PREVIEW)

    def one(item):
        url, media_type = item
        try:
            with fetcher.fetch(url, media_type) as blob:
                return url, pool.fingerprint(media_type, blob, limits)
        except MediaError as e:
            return url, {"error": f"{e.code.value}: {e.message}"}

    try:
        with ThreadPoolExecutor(concurrency) as threads:
            return dict(threads.map(one, wanted.items()))
    finally:
        pool.close()
        fetcher.close()


def _image(blob: Blob, limits: Limits):
    from PIL import Image, ImageOps

    image = Image.open(io.BytesIO(blob.read()))
    if image.width * image.height > limits.max_image_pixels:  # refused from the header, before decoding
        raise MediaError(ErrorCode.TOO_LARGE, f"{image.width}x{image.height} exceeds max_image_pixels")
    image.draft("RGB", (2 * THUMB_SIDE, 2 * THUMB_SIDE))
    image = ImageOps.exif_transpose(image.convert("RGB"))
    image.thumbnail((THUMB_SIDE, THUMB_SIDE))
    return image


def _loudness(container) -> list[float]:
    """RMS level per bin over the whole file, 0..1 on a dB scale (-60 dB to 0)."""
    chunks = [frame.to_ndarray().astype(np.float32).reshape(-1) for frame in container.decode(audio=0)]
    samples = np.concatenate(chunks) if chunks else np.zeros(1, np.float32)
    if np.abs(samples).max() > 1.5:  # integer PCM
        samples = samples / 32768.0
    bins = np.array_split(samples, LOUDNESS_BINS)
    levels = [20 * np.log10(np.sqrt(np.mean(np.square(b))) + 1e-9) if len(b) else -60.0 for b in bins]
    return [round(float(np.clip((level + 60) / 60, 0, 1)), 3) for level in levels]


def _frames(container, duration: float) -> dict:
    """Small JPEGs of frames at up to FRAMES evenly spaced times (seconds -> data URI), found by seeking:
    the page shows the one nearest each segment start."""
    stream = container.streams.video[0]
    frames = {}
    for t in np.linspace(0, max(0.0, duration - 0.5), FRAMES):
        container.seek(int(t / stream.time_base), stream=stream, backward=True)
        frame = next((f for f in container.decode(stream) if (f.time or 0) >= t - 0.05), None)
        if frame is not None:
            image = frame.to_image()
            image.thumbnail((FRAME_SIDE, FRAME_SIDE))
            frames[str(round(float(t), 2))] = _jpeg(image)
    return frames


def _jpeg(image) -> str:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=70)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
