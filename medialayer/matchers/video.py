"""Video matcher: timed frame descriptors, border removal, and offset-aware alignment into segments.

Fingerprint: samples taken every SAMPLE_STEP seconds of media time (about 370 KB per minute), each
with 63-number low-frequency DCT descriptors of the whole picture inside the detected borders, of its
central region (which drops corner logos and matches crops) and of the parts split screens show
(each pane of 2-4 pane layouts and the middle of the picture such a pane shows, see video_parts), and
a weight: 0 for low-information frames (black, flat, title cards), 1/n for each of n samples of a
static stretch, else 1; and ORB keypoints every LOCAL_STEP seconds (see video_local; about 730 KB per
minute on the bench's sources).

Compare (see video_align): descriptor similarities between the two videos vote for time offsets and
speed ratios; the best lines are followed sample by sample into matched segments. Whole/central
descriptor pairings, in every 90-degree rotation and flip, and each pane against the middle it shows,
are tried and the best kept, so logos, crops, flips, rotations and split screens cost nothing at
fingerprint time. Where these do not match, the keypoints look for the video inside a part of the
other's frame; where they match without settling, the keypoints' line is taken when it differs and covers
as much (see video_align).
"""
from __future__ import annotations

import dataclasses
import hashlib
import math

import av
import cv2
import numpy as np
from av.video.reformatter import VideoReformatter

from medialayer.errors import ErrorCode, MediaError
from medialayer.limits import Limits
from medialayer.matchers.av_packets import decoded_packets
from medialayer.matchers.base import Comparison, Matcher
from medialayer.matchers.video_align import compare_both_orders, compare_fingerprints
from medialayer.matchers.video_local import CELLS, LOCAL_STEP, LocalFeatures, build, keypoints, local_size
from medialayer.matchers.video_orientation import BAND, orient
from medialayer.matchers.video_parts import PANE_SHOWS, PARTS
from medialayer.media import Blob

SAMPLE_STEP = 0.2  # seconds of media time between samples: boundaries to ~0.1 s, any frame rate
THUMB_SIDE = 160  # long side of the grey working picture every sampled frame is reduced to
GRID = 32  # the (cropped) picture is resized to GRID x GRID before the DCT
CENTER_MARGIN = 0.075  # the central descriptor drops this much of each side: crops of 5-10% a side fall near it
BORDER_WINDOW = 600  # samples (two minutes) buffered to find the borders; memory stays bounded
DARK_LEVEL = 32  # a border pixel never gets brighter than this
STILL_BORDER = 0.1  # a coloured border line moves less than this fraction of the picture's median motion
FLAT_BORDER = 6.0  # ... and its mean picture varies less than this (grey levels) along the line
BLURRED_BORDER = 0.25  # blurred fill: a line less sharp than this fraction of the sharpest lines ...
EVEN_BORDERS = 0.06  # ... on both sides, the two bands equal to within this fraction of the frame
MIN_CONTENT = 0.25  # borders never leave less than this fraction of the width or height
MIN_STD = 10.0  # grey-level standard deviation under which a frame is flat (black, fades, plain cards)
MAX_ONE_TONE = 0.7  # share of pixels of one grey level above which a frame is a title card or near-empty
SPREAD_CELLS = 12  # ... its keypoints are kept when its other tones lie in this many of the CELLS x CELLS cells (a
# star field; the tune side's title cards, credits, intro cards and logo frames: at most 10)
LIT_CELL = 0.01  # share of a cell's pixels off the main tone that counts the cell
TRUNCATED = 0.5  # decoding less than this share of the announced duration means a broken file
NO_DEBLOCK_SIZE = 2  # frames at least this many times the keypoints' picture are decoded without deblocking
STILL_DIFFERENCE = 1.5  # mean absolute grey difference under which two consecutive samples are one still

# Natural images lose energy about as 1/frequency: weighting by frequency whitens the descriptor, so
# every coefficient counts, not just the first few (unrelated pictures then score far lower).
_WHITEN = np.hypot(*np.divmod(np.arange(1, BAND * BAND), BAND)).astype(np.float32)


@dataclasses.dataclass(frozen=True)
class VideoFingerprint:
    times: np.ndarray  # float32 (n,): media time of each sample, seconds
    whole: np.ndarray  # int8 (n, 63): unit descriptor x 127 of the picture inside the borders
    center: np.ndarray  # int8 (n, 63): the same for the central region
    parts: np.ndarray  # int8 (n, len(PARTS), 63): the same for each split-screen pane and the middle it shows
    weight: np.ndarray  # float16 (n,): 0 = does not vote (low information), 1/n inside an n-sample still
    duration: float  # seconds
    box: tuple[float, float, float, float]  # content box inside the borders (top, bottom, left, right), 0..1
    local: LocalFeatures  # keypoints every LOCAL_STEP seconds (see video_local)

    def descriptors(self, region: str, orientation: str = "upright") -> np.ndarray:
        """Unit descriptors (float32) of ``region`` ("whole", "center" or a key of PARTS), of the picture
        turned as ``orientation`` (a key of ORIENTATIONS) says."""
        quantised = getattr(self, region) if region in ("whole", "center") else self.parts[:, list(PARTS).index(region)]
        return orient(quantised.astype(np.float32) / 127, orientation)

    @property
    def nbytes(self) -> int:
        return (self.times.nbytes + self.whole.nbytes + self.center.nbytes + self.parts.nbytes + self.weight.nbytes
                + self.local.nbytes)


def open_video(path: str, limits: Limits) -> av.container.InputContainer:
    """Open with PyAV and check the size and duration caps from the container metadata."""
    try:
        container = av.open(path)
    except av.FFmpegError as e:
        # Not str(e): it names the temporary file, so the message would differ from run to run.
        raise MediaError(ErrorCode.DECODE_FAILED,
                         f"not a decodable video: {getattr(e, 'strerror', None) or type(e).__name__}") from None
    try:
        if not container.streams.video:
            raise MediaError(ErrorCode.DECODE_FAILED, "no video stream in the file")
        codec = container.streams.video[0].codec_context
        if codec.width * codec.height > limits.max_image_pixels:
            raise MediaError(ErrorCode.TOO_LARGE, f"{codec.width}x{codec.height} frames exceed max_image_pixels")
        declared = _declared_seconds(container)
        if declared > limits.max_video_seconds:
            raise MediaError(ErrorCode.DURATION_EXCEEDED,
                             f"{declared:.1f} s exceeds max_video_seconds={limits.max_video_seconds}")
    except MediaError:
        container.close()
        raise
    return container


def _declared_seconds(container: av.container.InputContainer) -> float:
    """The duration the container announces (0 when it announces none)."""
    stream = container.streams.video[0]
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return container.duration / av.time_base if container.duration is not None else 0.0


def sample_frames(container: av.container.InputContainer, limits: Limits):
    """Yield (media time, grey picture with its long side THUMB_SIDE, grey picture with its long side
    LOCAL_SIDE or None) every SAMPLE_STEP seconds; the larger picture every LOCAL_STEP seconds.

    The sample is the first frame at or after each step. Frames no other frame refers to (most B-frames)
    are not decoded unless they are such a frame, so the samples are the frames and pixels a full decode
    gives, at a fraction of its cost. Only sampled frames are converted, as OpenCV's capture converts them
    (to BGR by FFmpeg, then grey and area-reduced by OpenCV): reading the luma plane instead, or FFmpeg's own
    grey and area scaling, moves keypoints by rounding enough to lose a picture-in-picture match at the edge
    of verification. Timestamps come from the stream, so the sampling is the same at any frame rate. Returns
    the duration (generator return value): up to the end of the last packet."""
    stream = container.streams.video[0]
    stream.thread_count = 1  # one core per video: the pipeline's workers already fill the machine
    codec = stream.codec_context
    if min(codec.width, codec.height) >= NO_DEBLOCK_SIZE * min(local_size((codec.height, codec.width))):
        # The deblocking filter smooths block edges that reducing to the keypoints' and descriptors' sizes
        # averages away anyway; at 720p it is a sixth of the decoding time.
        codec.options = {"skip_loop_filter": "all"}
    rate = float(stream.average_rate or 0)
    frame_seconds = 1.0 / rate if 0 < rate < 1000 else 0.04
    time_base = float(stream.time_base or 0)
    to_bgr = VideoReformatter()  # keeps its converter set up from frame to frame
    first = last = size = None
    end = 0.0  # stream time at which the last packet seen ends
    next_sample = next_local = 0.0

    def before_decode(packet):  # every packet, a corrupt one too, extends the duration
        nonlocal end
        if packet.pts is not None:
            end = max(end, (packet.pts + (packet.duration or 0)) * time_base)
        # Packets come in decoding order: whether this one shows the first frame after a step is known
        # from its timestamp alone (at a steady frame rate; otherwise the next decoded frame is taken).
        shown = None if packet.pts is None or first is None else packet.pts * time_base - first
        stream.codec_context.skip_frame = "DEFAULT" if shown is None or _first_after_step(
            shown, frame_seconds) else "NONREF"

    for _, frames in decoded_packets(container, stream, "video", before_decode):
        for frame in frames:
            t = frame.time
            if first is None:
                first = t or 0.0
            t = None if t is None else t - first
            if t is None or (last is not None and t <= last):  # some streams carry no usable timestamps
                t = 0.0 if last is None else last + frame_seconds
            last = t
            if t > limits.max_video_seconds:
                raise MediaError(ErrorCode.DURATION_EXCEEDED, f"over max_video_seconds={limits.max_video_seconds}")
            if t + 1e-3 < next_sample:
                continue
            next_sample = (np.floor(t / SAMPLE_STEP + 1e-3) + 1) * SAMPLE_STEP
            size = size or (_thumbnail_size((frame.height, frame.width)), local_size((frame.height, frame.width)))
            grey = cv2.cvtColor(to_bgr.reformat(frame, format="bgr24", threads=1).to_ndarray(), cv2.COLOR_BGR2GRAY)
            local = None
            if t + 1e-3 >= next_local:
                next_local = (np.floor(t / LOCAL_STEP + 1e-3) + 1) * LOCAL_STEP
                local = cv2.resize(grey, size[1], interpolation=cv2.INTER_AREA)
            yield t, cv2.resize(grey, size[0], interpolation=cv2.INTER_AREA), local
    if size is None:  # nothing decoded
        raise MediaError(ErrorCode.DECODE_FAILED, "no decodable video frame")
    return max(last + frame_seconds, end - first)


def _first_after_step(t: float, frame_seconds: float) -> bool:
    """Whether the frame shown at ``t`` is the first at or after a multiple of SAMPLE_STEP."""
    return math.floor(t / SAMPLE_STEP + 1e-3) > math.floor((t - frame_seconds) / SAMPLE_STEP + 1e-3)


def _thumbnail_size(shape: tuple[int, ...]) -> tuple[int, int]:
    h, w = shape[:2]
    scale = THUMB_SIDE / max(h, w)
    return max(8, int(round(w * scale))), max(8, int(round(h * scale)))


def find_content_box(thumbnails: list[np.ndarray]) -> tuple[int, int, int, int]:
    """Rows/columns (top, bottom, left, right; end exclusive) inside letterbox/pillarbox borders.

    A border line is, over all the samples, either dark (never brighter than DARK_LEVEL) or a flat
    band of one colour that stays still while the picture moves (a baked-in coloured bar). Still but
    textured lines are picture: a fixed camera films still scenery. Blurred fill (the picture itself,
    zoomed and blurred, behind a vertical re-upload) is a border only when it frames the picture
    evenly on both sides: a soft sky alone is picture."""
    shape = thumbnails[0].shape
    brightest = np.zeros(shape, np.uint8)
    mean, motion, sharpness = (np.zeros(shape, np.float32) for _ in range(3))
    for k, thumbnail in enumerate(thumbnails):  # running statistics: no copy of the whole window
        np.maximum(brightest, thumbnail, out=brightest)
        mean += thumbnail
        grey = thumbnail.astype(np.int16)
        sharpness[:, :-1] += np.abs(np.diff(grey, axis=1))
        sharpness[:-1] += np.abs(np.diff(grey, axis=0))
        if k:
            motion += cv2.absdiff(thumbnail, thumbnails[k - 1])
    mean /= len(thumbnails)
    motion /= max(1, len(thumbnails) - 1)
    typical_motion = np.median(motion)

    def border_lines(axis: int) -> np.ndarray:
        dark = (brightest < DARK_LEVEL).mean(axis=axis) > 0.98
        if typical_motion < 0.5:  # a still video: motion says nothing about borders
            return dark
        still = motion.mean(axis=axis) < STILL_BORDER * typical_motion
        flat = mean.std(axis=axis) < FLAT_BORDER
        return dark | (still & flat)

    def span(is_border: np.ndarray) -> tuple[int, int]:
        n = len(is_border)
        limit = int(n * (1 - MIN_CONTENT) / 2)
        start = 0
        while start < limit and is_border[start]:
            start += 1
        end = n
        while n - end < limit and is_border[end - 1]:
            end -= 1
        # One more line inside each found border: the encoder blurs the bar's edge into the picture.
        return start + (start > 0), end - (end < n)

    def borders(axis: int) -> tuple[int, int]:
        strict = border_lines(axis)
        line_sharpness = sharpness.mean(axis=axis)
        blurred = line_sharpness < BLURRED_BORDER * np.percentile(line_sharpness, 90)
        start, end = span(strict | blurred)
        n = len(strict)
        if start > 0 and end < n and abs(start - (n - end)) <= EVEN_BORDERS * n:
            return start, end
        return span(strict)

    top, bottom = borders(axis=1)
    left, right = borders(axis=0)
    return top, bottom, left, right


def describe(thumbnail: np.ndarray, box: tuple[int, int, int, int]):
    """(whole descriptor, central descriptor, descriptors of PARTS, informative?, keypoints kept?) of one sample
    inside the content box."""
    top, bottom, left, right = box
    picture = thumbnail[top:bottom, left:right]
    h, w = picture.shape
    dy, dx = int(round(h * CENTER_MARGIN)), int(round(w * CENTER_MARGIN))
    parts = [picture[int(round(y0 * h)):max(int(round(y0 * h)) + 1, int(round(y1 * h))),
                     int(round(x0 * w)):max(int(round(x0 * w)) + 1, int(round(x1 * w)))]
             for x0, x1, y0, y1 in PARTS.values()]
    descriptors = _dct_descriptors([picture, picture[dy:h - dy, dx:w - dx], *parts])
    one_tone = _one_tone(picture)
    return (descriptors[0], descriptors[1], descriptors[2:], picture.std() >= MIN_STD and not one_tone,
            not one_tone or _spread(thumbnail))


# The first BAND rows of the orthonormal DCT-II matrix of size GRID (cv2.dct's): the low band of all of a
# sample's pictures in two batched products instead of one full transform each.
_DCT = (np.sqrt(np.where(np.arange(BAND) == 0, 1.0, 2.0) / GRID)[:, None] *
        np.cos(np.pi * np.arange(BAND)[:, None] * (2 * np.arange(GRID) + 1) / (2 * GRID))).astype(np.float32)


def _dct_descriptors(pictures: list[np.ndarray]) -> np.ndarray:
    """Unit, whitened low-frequency DCT descriptors (n x 63) of pictures, each area-reduced to GRID x GRID."""
    grids = np.stack([cv2.resize(p, (GRID, GRID), interpolation=cv2.INTER_AREA) for p in pictures]).astype(np.float32)
    coefficients = (_DCT @ grids @ _DCT.T).reshape(len(pictures), -1)[:, 1:] * _WHITEN
    return coefficients / (np.linalg.norm(coefficients, axis=1, keepdims=True) + 1e-6)


def _main_tone(picture: np.ndarray) -> tuple[int, float]:
    """The band of 4 grey levels at the middle of the most pixels' level +-6, and the share of those pixels."""
    levels = np.bincount(picture.ravel() // 4, minlength=64)
    near = np.convolve(levels, np.ones(3), mode="same")
    tone = int(np.argmax(near))
    return tone, near[tone] / picture.size


def _one_tone(picture: np.ndarray) -> bool:
    """True for black or mostly one-tone frames (title cards, near-empty): their descriptors match anything of their
    kind. (Dark or faded frames, under MIN_STD, are left out of the descriptors' votes too; flat but many-coloured
    pictures, animation, are kept.)"""
    return _main_tone(picture)[1] > MAX_ONE_TONE


def _spread(frame: np.ndarray) -> bool:
    """Whether the tones other than the frame's main one lie in at least SPREAD_CELLS of its CELLS x CELLS cells:
    sparse detail all over, a star field, is the picture; a title card's text or a logo gathers in a few. The
    whole frame, not the content box: around a title card's text, the borders found are the card itself."""
    tone, _ = _main_tone(frame)
    off = (np.abs(frame.astype(np.int16) // 4 - tone) > 1).astype(np.float32)
    return int((cv2.resize(off, (CELLS, CELLS), interpolation=cv2.INTER_AREA) >= LIT_CELL).sum()) >= SPREAD_CELLS


def fingerprint_path(path: str, limits: Limits) -> VideoFingerprint:
    with open_video(path, limits) as container:
        return _fingerprint(container, limits)


def _fingerprint(container: av.container.InputContainer, limits: Limits) -> VideoFingerprint:
    times, wholes, centers, parts, informative, with_keypoints, still = [], [], [], [], [], [], []
    pending: list[tuple[float, np.ndarray]] = []  # samples waiting for the border box
    described: list[tuple[float, np.ndarray, np.ndarray, np.ndarray]] = []  # (time, positions, descriptors, mirrored)
    box = previous = local_size_seen = None

    def add(t: float, thumbnail: np.ndarray) -> None:
        nonlocal previous
        whole, center, pane_parts, useful, keeps_keypoints = describe(thumbnail, box)
        picture = thumbnail[box[0]:box[1], box[2]:box[3]].astype(np.int16)
        still.append(previous is not None and np.abs(picture - previous).mean() < STILL_DIFFERENCE)
        previous = picture
        times.append(t)
        wholes.append(_quantise(whole))  # int8 at once: 63 bytes a sample while the video plays
        centers.append(_quantise(center))
        parts.append(_quantise(np.asarray(pane_parts)))
        informative.append(useful)
        with_keypoints.append(keeps_keypoints)

    def describe_pending() -> None:
        nonlocal box
        box = box or find_content_box([thumbnail for _, thumbnail in pending])
        for item in pending:
            add(*item)
        pending.clear()

    samples = sample_frames(container, limits)
    while True:
        try:
            t, thumbnail, local = next(samples)
        except StopIteration as end:
            duration = end.value
            break
        pending.append((t, thumbnail))
        if local is not None:  # keypoints at once: only they are kept, not the larger picture
            described.append((t, *keypoints(local)))
            local_size_seen = local.shape[::-1]
        if box is not None or len(pending) >= BORDER_WINDOW:
            describe_pending()
    describe_pending()
    _check_complete(container, duration)
    h, w = thumbnail.shape
    # Keypoints of black or title-card frames match anything of their kind: dropped like their votes. Those of
    # dark or low-contrast frames are kept, and of one-tone frames with detail all over (a star field): a dark
    # video's picture-in-picture copy is found by them alone (`bench/quality.py --media-type video --dark-pip`).
    kept = dict(zip(times, with_keypoints))
    described = [item for item in described if kept[item[0]] and len(item[2])]
    columns = [list(column) for column in zip(*described)] or [[], [], [], []]
    local = build(*columns, tuple(local_size_seen))
    return VideoFingerprint(
        times=np.asarray(times, np.float32), whole=_stack(wholes), center=_stack(centers),
        parts=_stack(parts).reshape(-1, len(PARTS), BAND * BAND - 1),
        weight=_vote_weights(np.asarray(informative), np.asarray(still)), duration=float(duration),
        box=(box[0] / h, box[1] / h, box[2] / w, box[3] / w), local=local)


def _check_complete(container: av.container.InputContainer, duration: float) -> None:
    """A stream that stops well before the length its container announces is truncated or corrupt."""
    announced = _declared_seconds(container)
    if announced > 2.0 and duration < TRUNCATED * announced:
        raise MediaError(ErrorCode.DECODE_FAILED, f"stream ends at {duration:.1f} s of the {announced:.1f} s announced")


def _quantise(descriptor: np.ndarray) -> np.ndarray:
    return np.round(descriptor * 127).astype(np.int8)


def _stack(descriptors: list[np.ndarray]) -> np.ndarray:
    return np.asarray(descriptors, np.int8).reshape(-1, BAND * BAND - 1)


def _vote_weights(informative: np.ndarray, still: np.ndarray) -> np.ndarray:
    """1 per informative sample, shared out evenly over a run of still samples (a still counts once)."""
    run_start = np.flatnonzero(~still)  # a sample that differs from the previous one starts a run
    run_id = np.cumsum(~still) - 1
    run_length = np.diff(np.append(run_start, len(still)))
    weight = np.where(informative, 1.0 / run_length[run_id], 0.0) if len(still) else np.zeros(0)
    return weight.astype(np.float16)


# --- index keys for candidate generation (catalog dedupe) ---------------------------------------------

TOP_COEFFICIENTS = 5  # a key is which DCT coefficients are the largest in magnitude: re-encodes keep that
_TRANSPOSED = np.array([(k % BAND) * BAND + k // BAND for k in range(1, BAND * BAND)]) - 1  # 90-degree turns
# Two fixed selections of 48 bits of every keypoint descriptor: a picture inside another frame, a split-screen
# pane or a heavy crop changes every whole-frame coefficient but keeps keypoints. 48 bits, not 32: a video
# has thousands of descriptors and with 32-bit keys 16% of the tune split's unrelated pairs became
# candidates (2.5% with 48 bits, candidate recall 0.998 either way).
DESCRIPTOR_KEY_BITS = [np.random.default_rng(20261202 + table).choice(256, 48, replace=False) for table in range(2)]
_DESCRIPTOR_KEYS = 1 << 62  # above every hashed coefficient key
COEFFICIENT_KEY_COPIES = 2  # a coefficient key counts twice: two shared ones suffice, as they did alone
# A split-screen pane fits the middle of the picture it shows at cosine 0.97 and more, while the largest
# coefficients of a pane are too common to key on: each pane and each middle gets one 32-bit sign-of-random-
# projection hash (SimHash) of its descriptor, keyed apart by the middle, so a pane meets the middle it shows.
# 32 bits: on the tune split 24-40 bits and one or two hashes found the same pairs, 32 bits and one hash with
# the fewest keys and unrelated candidates (bench/dedupe.py).
PANE_KEY_BITS = 32
_PANE_PLANES = np.random.default_rng(20261203).standard_normal((BAND * BAND - 1, PANE_KEY_BITS)).astype(np.float32)
_PANE_GROUPS = {shows: (shows, *[pane for pane, its in PANE_SHOWS.items() if its == shows])
                for shows in dict.fromkeys(PANE_SHOWS.values())}
_PANE_KEYS = _DESCRIPTOR_KEYS | 1 << 56  # above every keypoint descriptor key


def index_keys(fp: VideoFingerprint) -> list[int]:
    """For every informative sample, the set of its TOP_COEFFICIENTS largest whole and central DCT
    coefficients as a 63-bit mask: magnitudes do not change under flips, and a transposed mask covers
    90-degree turns (the whole and central regions, and each key's copies, hashed apart). And two 48-bit
    selections of every keypoint descriptor (or of its mirrored descriptor: the smaller). And a 32-bit hash
    of each split-screen pane and of the middle of the picture it shows, per informative sample."""
    keys = set()
    informative = fp.weight > 0
    for group, regions in enumerate(_PANE_GROUPS.values()):
        for region in regions:
            signs = fp.descriptors(region)[informative] @ _PANE_PLANES > 0
            codes = signs.astype(np.int64) @ (np.int64(1) << np.arange(PANE_KEY_BITS, dtype=np.int64))
            keys.update(_PANE_KEYS | group << PANE_KEY_BITS | int(code) for code in codes)
    for region in ("whole", "center"):
        magnitudes = np.abs(getattr(fp, region)[informative].astype(np.int16))
        for indices in (magnitudes, magnitudes[:, _TRANSPOSED]):
            top = np.argsort(-indices, axis=1, kind="stable")[:, :TOP_COEFFICIENTS]
            masks = np.bitwise_or.reduce(np.left_shift(np.uint64(1), top.astype(np.uint64)), axis=1)
            keys.update(_hashed_key(region, copy, int(mask)) for mask in masks for copy in range(COEFFICIENT_KEY_COPIES))
    if len(fp.local.descriptors):
        upright, mirrored = (np.unpackbits(d, axis=1) for d in (fp.local.descriptors, fp.local.mirrored))
        for table, selection in enumerate(DESCRIPTOR_KEY_BITS):
            # the smaller of the upright and mirrored descriptor's selection: a mirrored copy's keypoint holds
            # the two the other way round, so it gets the same key, and there are no more keys than keypoints
            picked = np.minimum(*(_selected(bits, selection) for bits in (upright, mirrored)))
            keys.update(_DESCRIPTOR_KEYS | table << 48 | int(key) for key in picked)
    return sorted(keys)


def _selected(bits: np.ndarray, selection: np.ndarray) -> np.ndarray:
    """The selected bits of each descriptor (a row of unpacked bits) as one integer, first bit highest."""
    packed = np.packbits(bits[:, selection], axis=1).astype(np.int64)
    return packed @ (np.int64(1) << np.arange(8 * (packed.shape[1] - 1), -1, -8, dtype=np.int64))


def _hashed_key(region: str, copy: int, mask: int) -> int:
    digest = hashlib.blake2b(f"{region}/{copy}/{mask}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 2  # under _DESCRIPTOR_KEYS


class VideoMatcher(Matcher):
    media_type = "video"
    min_shared_keys = 4  # two coefficient keys, four descriptor keys, or a mix (bench/dedupe.py)

    def index_keys(self, fingerprint: VideoFingerprint) -> list[int]:
        return index_keys(fingerprint)

    def fingerprint(self, blob: Blob, limits: Limits) -> VideoFingerprint:
        with blob.path(".mp4") as path:
            return fingerprint_path(path, limits)

    def compare(self, a: VideoFingerprint, b: VideoFingerprint) -> Comparison:
        return compare_fingerprints(a, b)

    def compare_both_orders(self, a: VideoFingerprint, b: VideoFingerprint) -> tuple[Comparison, Comparison]:
        return compare_both_orders(a, b)


MATCHER = VideoMatcher()
