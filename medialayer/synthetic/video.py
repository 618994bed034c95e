"""Deterministic synthetic videos and the transformations re-uploads apply to videos.

A scene is a function of media time (seconds -> BGR frame), so the same content can be rendered at
any frame rate, trimmed or clipped exactly. Shots of panned random texture with moving shapes, cut
every ``shot_seconds``, give frames that differ from one moment to the next, as real footage does.
The frame transformations (letterbox, crop, flip, logo) are plain functions on BGR frames, shared by
the tests (videos written with OpenCV's writer) and the benchmark (variants of real videos).
"""
from __future__ import annotations

import functools
from typing import Callable, Iterable, Iterator

import cv2
import numpy as np

Frame = np.ndarray  # height x width x 3, uint8, BGR
Scene = Callable[[float], Frame]


class MovingScene:
    """Shots of a panned, smoothed-noise colour texture with bouncing circles and rectangles."""

    def __init__(self, seed: int, width: int = 160, height: int = 120, shot_seconds: float = 2.0, grain: int = 8,
                 blur: float = 3.0):
        self.seed, self.width, self.height, self.shot_seconds = seed, width, height, shot_seconds
        self.grain, self.blur = grain, blur  # texture: noise cells of ``grain`` pixels, blurred by ``blur``

    @functools.lru_cache(maxsize=4)
    def _shot(self, index: int):
        rng = np.random.default_rng([self.seed, index])
        big_w, big_h = self.width * 3, self.height * 3
        noise = rng.random((big_h // self.grain, big_w // self.grain, 3)).astype(np.float32)
        texture = cv2.resize(noise, (big_w, big_h), interpolation=cv2.INTER_CUBIC)
        texture = cv2.GaussianBlur(texture, (0, 0), self.blur)
        texture = np.clip((texture - texture.min()) / (np.ptp(texture) + 1e-6) * 255, 0, 255).astype(np.uint8)
        start = rng.random(2) * [big_w - self.width, big_h - self.height] * 0.5
        velocity = (rng.random(2) - 0.5) * [self.width, self.height] * 0.4  # pixels per second
        shapes = [(rng.integers(0, 2), rng.random(2) * [self.width, self.height],
                   (rng.random(2) - 0.5) * [self.width, self.height], int(rng.integers(6, self.height // 4)),
                   tuple(int(c) for c in rng.integers(0, 256, 3))) for _ in range(3)]
        return texture, start, velocity, shapes

    def __call__(self, t: float) -> Frame:
        index = int(t // self.shot_seconds)
        local = t - index * self.shot_seconds
        texture, start, velocity, shapes = self._shot(index)
        max_xy = np.array([texture.shape[1] - self.width, texture.shape[0] - self.height])
        x, y = np.clip(start + velocity * local, 0, max_xy).astype(int)
        frame = texture[y:y + self.height, x:x + self.width].copy()
        for kind, position, speed, size, colour in shapes:
            px, py = _bounce(position + speed * local, [self.width, self.height])
            if kind:
                cv2.circle(frame, (int(px), int(py)), size, colour, -1)
            else:
                cv2.rectangle(frame, (int(px) - size, int(py) - size), (int(px) + size, int(py) + size), colour, -1)
        return frame


def _bounce(position: np.ndarray, bounds) -> np.ndarray:
    """Reflect a linearly moving point off the frame edges."""
    bounds = np.asarray(bounds, dtype=float)
    folded = np.mod(position, 2 * bounds)
    return np.where(folded > bounds, 2 * bounds - folded, folded)


class FixedCamera:
    """A fixed camera: one still background with people-like figures (a head over a body) walking across
    it, and sensor noise. Two seeds over the same background are two moments of one recording."""

    def __init__(self, background: Frame, seed: int, figures: int = 3):
        self.background = background
        h, w = background.shape[:2]
        rng = np.random.default_rng(seed)
        self.seed = seed
        self.figures = [(rng.random(2) * [w, h * 0.5] + [0, h * 0.3], (rng.random(2) - 0.5) * [w * 0.3, h * 0.05],
                         int(rng.integers(h // 16, h // 8)), tuple(int(c) for c in rng.integers(0, 256, 3)))
                        for _ in range(figures)]

    def __call__(self, t: float) -> Frame:
        frame = self.background.copy()
        h, w = frame.shape[:2]
        for start, velocity, size, colour in self.figures:
            x, y = _bounce(start + velocity * t, [w, h])
            cv2.rectangle(frame, (int(x - size), int(y)), (int(x + size), int(y + 3 * size)), colour, -1)
            cv2.circle(frame, (int(x), int(y - size * 0.8)), int(size * 0.7), colour, -1)
        noise = np.random.default_rng([self.seed, int(t * 1000)]).normal(0, 3, frame.shape)
        return np.clip(frame + noise, 0, 255).astype(np.uint8)


def still_scene(frame: Frame) -> Scene:
    return lambda t: frame


def black_frame(width: int = 160, height: int = 120) -> Frame:
    return np.zeros((height, width, 3), np.uint8)


def title_card(text: str, width: int = 160, height: int = 120) -> Frame:
    """White centred text on black, as in intros and credits."""
    frame = black_frame(width, height)
    scale = width / 320
    for line_number, line in enumerate(text.split("\n")):
        (w, h), _ = cv2.getTextSize(line, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        y = height // 2 + int((line_number - 0.5) * h * 2)
        cv2.putText(frame, line, ((width - w) // 2, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1,
                    cv2.LINE_AA)
    return frame


# --- timing: which media times of a scene a video shows ------------------------------------------------

def frames(scene: Scene, duration: float, fps: float, start: float = 0.0, speed: float = 1.0) -> Iterator[Frame]:
    """Frames of ``scene`` from media time ``start`` for ``duration`` seconds of output at ``fps``.

    ``speed`` > 1 plays faster (25 fps material shown at 25/23.976 speed, say)."""
    for k in range(int(round(duration * fps))):
        yield scene(start + k / fps * speed)


def concatenate(*parts: tuple[Scene, float]) -> Scene:
    """One scene playing each (scene, seconds) part in turn, each from its own time 0."""
    def scene(t: float) -> Frame:
        for part, seconds in parts:
            if t < seconds:
                return part(t)
            t -= seconds
        return parts[-1][0](t + parts[-1][1])
    return scene


# --- frame transformations --------------------------------------------------------------------------------

def letterbox(frame: Frame, width: int, height: int) -> Frame:
    """Fit the frame inside width x height keeping its aspect ratio; black bars fill the rest."""
    h, w = frame.shape[:2]
    scale = min(width / w, height / h)
    new_w, new_h = max(2, int(round(w * scale))), max(2, int(round(h * scale)))
    out = np.zeros((height, width, 3), np.uint8)
    x, y = (width - new_w) // 2, (height - new_h) // 2
    out[y:y + new_h, x:x + new_w] = cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_AREA)
    return out


def blurred_fill(frame: Frame, width: int, height: int) -> Frame:
    """Fit the frame inside width x height like ``letterbox``, over a zoomed, blurred copy of itself
    instead of black bars (how landscape video is re-posted in portrait)."""
    h, w = frame.shape[:2]
    cover = max(width / w, height / h)
    background = cv2.resize(frame, (int(np.ceil(w * cover)), int(np.ceil(h * cover))))
    y, x = (background.shape[0] - height) // 2, (background.shape[1] - width) // 2
    out = cv2.GaussianBlur(background[y:y + height, x:x + width], (0, 0), max(width, height) / 20)
    boxed = letterbox(frame, width, height)
    mask = letterbox(np.full_like(frame, 255), width, height) > 0
    out[mask] = boxed[mask]
    return out


def crop(frame: Frame, fraction: float, keep_size: bool = True) -> Frame:
    """Cut ``fraction`` of the width and height off each side; scale back to the original size if asked."""
    h, w = frame.shape[:2]
    dx, dy = int(round(w * fraction)), int(round(h * fraction))
    cut = frame[dy:h - dy, dx:w - dx]
    return cv2.resize(cut, (w, h), interpolation=cv2.INTER_AREA) if keep_size else cut.copy()


def hflip(frame: Frame) -> Frame:
    return frame[:, ::-1].copy()


def rotate(frame: Frame, quarter_turns: int) -> Frame:
    """Turn the frame by 90 degrees counter-clockwise ``quarter_turns`` times (a phone held sideways)."""
    return np.ascontiguousarray(np.rot90(frame, quarter_turns))


def crop_area(frame: Frame, removed: float, x: float = 0.5, y: float = 0.5) -> Frame:
    """Keep a window of the same aspect ratio with ``removed`` of the area cut away, placed at fractions
    (x, y) of the free space, scaled back to the frame's size."""
    h, w = frame.shape[:2]
    side = np.sqrt(1 - removed)
    cw, ch = int(round(w * side)), int(round(h * side))
    left, top = int(round((w - cw) * x)), int(round((h - ch) * y))
    return cv2.resize(frame[top:top + ch, left:left + cw], (w, h), interpolation=cv2.INTER_AREA)


def picture_in_picture(frame: Frame, background: Frame, area: float, x: float, y: float,
                       border: int = 2) -> Frame:
    """``frame`` scaled to ``area`` of the background's frame, placed at fractions (x, y) of the free space,
    with a white border (how reaction videos and commentary show what they react to)."""
    out = background.copy()
    h, w = out.shape[:2]
    side = np.sqrt(area)
    pw, ph = max(4, int(w * side)), max(4, int(h * side))
    left, top = int((w - pw) * x), int((h - ph) * y)
    out[max(0, top - border):top + ph + border, max(0, left - border):left + pw + border] = 255
    out[top:top + ph, left:left + pw] = cv2.resize(frame, (pw, ph), interpolation=cv2.INTER_AREA)
    return out


def split_screen(panes: list[Frame], stacked: bool = False) -> Frame:
    """Panes side by side (or stacked; four panes make a 2 x 2 grid) in the first pane's frame size, each
    scaled to cover its share and cut evenly, as split-screen apps fill them."""
    h, w = panes[0].shape[:2]
    rows, cols = (2, 2) if len(panes) == 4 else (len(panes), 1) if stacked else (1, len(panes))
    ys, xs = np.linspace(0, h, rows + 1).astype(int), np.linspace(0, w, cols + 1).astype(int)
    out = np.empty_like(panes[0])
    for k, pane in enumerate(panes):
        r, c = divmod(k, cols)
        out[ys[r]:ys[r + 1], xs[c]:xs[c + 1]] = _cover(pane, xs[c + 1] - xs[c], ys[r + 1] - ys[r])
    return out


def _cover(frame: Frame, width: int, height: int) -> Frame:
    """Scale to cover width x height and cut the overflow evenly."""
    h, w = frame.shape[:2]
    scale = max(width / w, height / h)
    big = cv2.resize(frame, (max(width, int(np.ceil(w * scale))), max(height, int(np.ceil(h * scale)))),
                     interpolation=cv2.INTER_AREA)
    y, x = (big.shape[0] - height) // 2, (big.shape[1] - width) // 2
    return big[y:y + height, x:x + width]


def overlay_logo(frame: Frame, area: float = 0.1, text: str = "LOGO", corner: str = "bottom-right") -> Frame:
    """A solid box with text covering ``area`` of the frame near a corner, like a channel logo."""
    out = frame.copy()
    h, w = out.shape[:2]
    box_w, box_h = int(w * np.sqrt(area * 2)), int(h * np.sqrt(area / 2))  # twice as wide as tall, relatively
    margin = int(0.03 * min(w, h))
    x = w - box_w - margin if "right" in corner else margin
    y = h - box_h - margin if "bottom" in corner else margin
    cv2.rectangle(out, (x, y), (x + box_w, y + box_h), (40, 200, 240), -1)
    scale = box_h / 40
    cv2.putText(out, text, (x + box_h // 4, y + int(box_h * 0.7)), cv2.FONT_HERSHEY_SIMPLEX, scale, (20, 20, 20),
                max(1, int(scale * 2)), cv2.LINE_AA)
    return out


def overlay_caption(frame: Frame, text: str, area: float = 0.08) -> Frame:
    """A text band across the bottom (subtitles, burnt-in captions) covering ``area`` of the frame."""
    out = frame.copy()
    h, w = out.shape[:2]
    band = max(8, int(h * area))
    out[h - band:] = (out[h - band:] * 0.3).astype(np.uint8)
    scale = band / 36
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.putText(out, text, (max(0, (w - tw) // 2), h - (band - th) // 2), cv2.FONT_HERSHEY_SIMPLEX, scale,
                (255, 255, 255), max(1, int(scale * 2)), cv2.LINE_AA)
    return out


# --- writing -------------------------------------------------------------------------------------------------

def write_video(path: str, video_frames: Iterable[Frame], fps: float) -> str:
    """Encode frames with OpenCV's writer (MPEG-4 Part 2 in .mp4, bundled FFmpeg); returns the path."""
    writer = None
    try:
        for frame in video_frames:
            if writer is None:
                h, w = frame.shape[:2]
                writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
                if not writer.isOpened():
                    raise RuntimeError(f"OpenCV cannot write {path}")
            writer.write(frame)
    finally:
        if writer is not None:
            writer.release()
    return path
