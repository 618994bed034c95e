"""Video matcher on the edits re-uploads use beyond re-encoding: rotations, free speed changes, heavy
crops, picture-in-picture, split screens, short excerpts, and the fixed-camera negative (small videos
generated at test time)."""
from __future__ import annotations

import dataclasses
import functools
import os

import cv2
import numpy as np
import pytest

from medialayer.limits import Limits
from medialayer.matchers import get_matcher
from medialayer.matchers.video_local import (GUIDED_MATCHES, MATCH_DISTANCE, MIN_INLIERS, WEAK_INLIERS, LocalFeatures,
                                             _bridge, _one_place, compare_local, keypoints)
from medialayer.media import Blob
from medialayer.synthetic import video as synth
from medialayer.synthetic.image import textured_scene

MATCHER = get_matcher("video")
SCENE = synth.MovingScene(seed=7)


@pytest.fixture(scope="module")
def make(tmp_path_factory):
    """make(name, scene, seconds, fps=25, start=0, speed=1, transform=None) -> fingerprint, written once."""
    folder = tmp_path_factory.mktemp("edits")
    made = {}

    def make(name, scene, seconds, fps=25, start=0.0, speed=1.0, transform=None):
        if name not in made:
            frames = synth.frames(scene, seconds, fps, start=start, speed=speed)
            frames = (transform(f) for f in frames) if transform else frames
            path = synth.write_video(os.path.join(folder, name + ".mp4"), frames, fps)
            made[name] = MATCHER.fingerprint(Blob(path=path), Limits())
        return made[name]
    return make


@pytest.fixture(scope="module")
def original(make):
    return make("original", SCENE, 12)


def _longest(comparison):
    assert comparison.match
    s = max(comparison.segments, key=lambda s: s.source_end - s.source_start)
    return np.array([s.source_start, s.source_end, s.target_start, s.target_end])


def _both_orders(a, b):
    """compare(a, b) and compare(b, a), asserting they give one answer: the same decision, score and confidence,
    the segments mirrored and the speed ratio inverted; and that compare_both_orders(a, b), from one judgement,
    gives the two field for field (each order's region its own)."""
    forward, backward = MATCHER.compare(a, b), MATCHER.compare(b, a)
    assert MATCHER.compare_both_orders(a, b) == (forward, backward)
    assert (backward.match, backward.similarity_score, backward.confidence) == (
        forward.match, forward.similarity_score, forward.confidence)
    assert backward.segments == forward.swapped().segments
    if forward.match:
        assert backward.speed_ratio == pytest.approx(1 / forward.speed_ratio, rel=1e-3)
    return forward, backward


@pytest.mark.parametrize("name, start, seconds, speed, expected", [
    ("clip", 3.0, 6.0, 1.0, (3, 9, 0, 6)),  # a clip inside a longer video
    ("clip_faster", 0.0, 12 / 1.7, 1.7, (0, 12, 0, 12 / 1.7)),  # a sped-up copy, shorter too
])
def test_either_order_gives_one_answer(original, make, name, start, seconds, speed, expected):
    forward, _ = _both_orders(original, make(name, SCENE, seconds, start=start, speed=speed))
    assert np.allclose(_longest(forward), expected, atol=0.4)


def test_both_orders_of_a_video_and_itself_are_the_two_compares(original):
    """A fingerprint against itself has no order to judge in: compare_both_orders compares it each way."""
    assert MATCHER.compare_both_orders(original, original) == (MATCHER.compare(original, original),) * 2


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_rotations_match(original, make, turns):
    rotated = make(f"rot{turns}", SCENE, 12, transform=functools.partial(synth.rotate, quarter_turns=turns))
    assert np.allclose(_longest(MATCHER.compare(original, rotated)), (0, 12, 0, 12), atol=0.3)


@pytest.mark.parametrize("speed", [0.6, 1.7])
def test_speed_changes_far_from_one_are_followed(original, make, speed):
    # 12 s of content played at ``speed`` lasts 12 / speed seconds: target = source / speed.
    changed = make(f"speed{speed}", SCENE, 12 / speed, speed=speed)
    result = MATCHER.compare(original, changed)
    assert np.allclose(_longest(result), (0, 12, 0, 12 / speed), atol=0.4)
    assert result.speed_ratio == pytest.approx(speed, rel=0.01)


def test_two_moments_of_a_fixed_camera_do_not_match(make):
    background = synth.MovingScene(seed=3)(0.5)
    camera = synth.FixedCamera(background, seed=1)
    first = make("camera_first", camera, 8, start=0.0)
    later = make("camera_later", camera, 8, start=20.0)
    other_people = make("camera_other", synth.FixedCamera(background, seed=2), 8)
    for a, b in [(first, later), (first, other_people)]:
        result = MATCHER.compare(a, b)
        assert not result.match and result.similarity_score < 0.5
    # The same moments re-encoded do match: the guard looks at what changes over time, not at the background.
    assert MATCHER.compare(first, make("camera_first_again", camera, 8, start=0.0, fps=20)).match



def _test_card(t: float):
    """A still picture with one small square moving over it, as FFmpeg's testsrc2 card: every moment fits every
    other nearly as well as the aligned one (cosine about 0.95), as two moments of a fixed camera do."""
    frame = TEST_CARD.copy()
    x, y = int(20 + 110 * abs((t / 7) % 2 - 1)), int(55 + 40 * np.sin(t))
    frame[y:y + 12, x:x + 12] = 255
    return frame


TEST_CARD = synth.MovingScene(seed=3)(0.5)
NO_KEYPOINTS = LocalFeatures(np.zeros(0, np.float32), np.zeros(0, np.uint16), np.zeros((0, 2), np.float16),
                             np.zeros((0, 32), np.uint8), np.zeros((0, 32), np.uint8), (160, 120))


def test_a_near_static_video_matches_itself_by_its_descriptors(make):
    # The fixed-camera margin alone rejected a near-static video's own alignment (a 30-minute testsrc2 did not
    # match itself); what changes from sample to sample changes alike only in a copy. Keypoints left out: the
    # descriptors must find it on their own.
    card = dataclasses.replace(make("card", _test_card, 20), local=NO_KEYPOINTS)
    again = dataclasses.replace(make("card_again", _test_card, 20, fps=20), local=NO_KEYPOINTS)
    later = dataclasses.replace(make("card_later", _test_card, 20, start=30.0), local=NO_KEYPOINTS)
    for copy in (card, again):
        assert np.allclose(_longest(MATCHER.compare(card, copy)), (0, 20, 0, 20), atol=0.3)
    assert not MATCHER.compare(card, later).match

# --- the keypoint path: a part of the frame, turned or cropped (320x240: ORB needs some pixels) ---------

BIG = synth.MovingScene(seed=7, width=320, height=240, grain=3, blur=1.0)  # detail for keypoints
BIG_OTHERS = [synth.MovingScene(seed=s, width=320, height=240, grain=3, blur=1.0) for s in (8, 9, 10)]


def _composed(compose, seconds=12):
    """A scene whose frame at t is compose(BIG(t), [each other scene at t])."""
    return lambda t: compose(BIG(t), [other(t) for other in BIG_OTHERS])


@pytest.fixture(scope="module")
def big(make):
    return make("big", BIG, 12)


# Where the source's whole frame lands in the target's: the corner picture (175 x 131 pixels at 123, 16 of
# 320 x 240); the right pane (the frame scaled to the pane's height, cut evenly: the left quarter of the
# target would hold the part cut away); the bottom-right quarter.
@pytest.mark.parametrize("name,compose,region", [
    ("pip_corner", lambda f, o: synth.picture_in_picture(f, o[0], area=0.3, x=0.85, y=0.15),
     (123 / 320, 16 / 240, 298 / 320, 147 / 240)),
    ("split_side", lambda f, o: synth.split_screen([o[0], f]), (0.25, 0, 1, 1)),
    ("split_grid", lambda f, o: synth.split_screen([o[0], o[1], o[2], f]), (0.5, 0.5, 1, 1)),
    ("crop40_rotated", lambda f, o: synth.rotate(synth.crop_area(f, 0.4, x=0.2, y=0.7), 1), None),
    ("pip_corner_mirrored", lambda f, o: synth.picture_in_picture(synth.hflip(f), o[0], area=0.3, x=0.85, y=0.15),
     (123 / 320, 16 / 240, 298 / 320, 147 / 240)),
])
def test_part_of_the_frame_is_found(big, make, name, compose, region):
    result, backward = _both_orders(big, make(name, _composed(compose), 12))
    assert np.allclose(_longest(result), (0, 12, 0, 12), atol=0.6)
    assert result.speed_ratio == pytest.approx(1.0, abs=0.01)
    if region is not None:
        assert result.region == pytest.approx(region, abs=0.02)
        # The other way round: the keypoints put the copy's frame around all of the picture; a pane's descriptors
        # say nothing of the split screen's frame beyond the pane
        assert backward.region == (None if name.startswith("split") else (0, 0, 1, 1))


def test_a_dark_picture_inside_a_bright_frame_keeps_its_keypoints():
    # A picture at a quarter of its contrast (ORB's corner threshold finds 8 corners in all of it, 1 in its right
    # half) fills the right half of a bright frame: the cells it covers get weaker corners, found at the same
    # places with look-alike descriptors in the dark picture shown alone.
    def grey(scene):
        return cv2.resize(cv2.cvtColor(scene(1.0), cv2.COLOR_BGR2GRAY), (480, 360), interpolation=cv2.INTER_AREA)
    dark = (grey(BIG) * 0.25).astype(np.uint8)
    framed = grey(BIG_OTHERS[0])
    framed[:, 240:] = dark[:, 240:]
    (alone, described, _), (inside, framed_described, _) = keypoints(dark), keypoints(framed)
    right = inside[:, 0] >= 240
    near = np.hypot(*(inside[right][:, None] - alone[None]).transpose(2, 0, 1)) <= 2
    alike = np.bitwise_count(framed_described[right][:, None].view(np.uint64) ^
                             described[None].view(np.uint64)).sum(axis=2) <= MATCH_DISTANCE
    assert (near & alike).any(axis=1).sum() >= 32


def _grained_photo(seed: int) -> np.ndarray:
    """A photo-like grey picture, 480 x 270: smooth colour noise and filled shapes (coarse corners) under a fine
    grain, sharper than they are, so ORB's strongest corners are nearly all the grain's, at its finest levels."""
    picture = cv2.cvtColor(np.asarray(textured_scene(seed, 480, 270, with_text=False)), cv2.COLOR_RGB2GRAY)
    grain = cv2.resize(np.random.default_rng(seed).random((90, 160)), (480, 270), interpolation=cv2.INTER_CUBIC)
    return np.clip(picture + 80 * (grain - 0.5), 0, 255).astype(np.uint8)


def test_a_picture_shown_at_less_than_half_its_size_meets_its_coarse_keypoints():
    # Eight pictures, each at 0.4 of its size (16% of the area, a small picture-in-picture) in a corner of another:
    # the grain is gone at that size, and the copy's corners are the ones the picture shows at its coarse levels.
    # Counted: the picture's keypoints that the copy has within 3 pixels of their place with a look-alike
    # descriptor (58 of them without the coarse keypoints, 119 with).
    found = 0
    for seed in range(1, 9):
        picture, frame = _grained_photo(seed), _grained_photo(seed + 100)
        copy = cv2.resize(picture, None, fx=0.4, fy=0.4, interpolation=cv2.INTER_AREA)
        frame[30:30 + copy.shape[0], 20:20 + copy.shape[1]] = copy
        (points, described, _), (shown, shown_described, _) = keypoints(picture), keypoints(frame)
        near = np.hypot(*(points[:, None] * 0.4 + [20, 30] - shown[None]).transpose(2, 0, 1)) <= 3
        alike = np.bitwise_count(described[:, None].view(np.uint64) ^
                                 shown_described[None].view(np.uint64)).sum(axis=2) <= MATCH_DISTANCE
        found += int((near & alike).any(axis=1).sum())
    assert found >= 90


def test_a_dark_video_keeps_its_keypoint_frames(make):
    # A quarter of the brightness: every sample is under MIN_STD, so none votes with its descriptors, but the
    # keypoints of every described frame are kept (a picture-in-picture copy of it is found by them alone).
    source = make("big_dark", lambda t: (BIG(t) * 0.25).astype(np.uint8), 12)
    assert not source.weight.any()
    assert len(source.local.times) == 12 and len(source.local.frame) >= 12 * 100


def _star_field(t: float) -> np.ndarray:
    """300 points of light on black, the view panning 8 pixels a second."""
    rng = np.random.default_rng(3)
    stars, light, size = rng.uniform(0, 640, (300, 2)), rng.integers(120, 256, 300), rng.integers(0, 3, 300)
    frame = np.zeros((240, 320, 3), np.uint8)
    for (x, y), v, r in zip((stars - [8 * t, 4 * t]) % [320, 240], light, size):
        cv2.circle(frame, (int(x), int(y)), int(r), (int(v),) * 3, -1, cv2.LINE_AA)
    return frame


def test_a_star_field_keeps_its_keypoints_and_a_title_card_does_not(make):
    # Both are one tone nearly everywhere, so neither votes with its descriptors; a star field's other tones are
    # spread over the frame (it is the picture), a title card's gather in its text. (The card is dark grey, not
    # black: black would be cut off as borders around the text.)
    stars = make("star_field", _star_field, 12)
    card = np.maximum(synth.title_card("Welcome back\nto the channel", 320, 240), 40)
    card = make("grey_title_card", synth.still_scene(card), 12)
    assert not stars.weight.any() and not card.weight.any()
    assert len(stars.local.times) == 12 and len(card.local.times) == 0


def test_picture_in_picture_of_an_excerpt_inside_a_longer_video(make):
    # 8 s of BIG, small in a corner, after 10 s of something else.
    pip = lambda t: synth.picture_in_picture(BIG(t - 6.0), BIG_OTHERS[1](t), area=0.35, x=0.1, y=0.9)
    host = make("pip_host", lambda t: BIG_OTHERS[0](t) if t < 10 else pip(t), 18)
    excerpt = make("big_excerpt", BIG, 8, start=4.0)
    got = _longest(MATCHER.compare(excerpt, host))
    assert np.allclose(got, (0, 8, 10, 18), atol=0.6), got


def test_sharing_a_logo_or_an_intro_card_is_not_a_match(make):
    logo = functools.partial(synth.overlay_logo, area=0.12, text="CHANNEL")
    intro = synth.still_scene(synth.title_card("Welcome back\nto the channel", 320, 240))
    first = make("logo_first", lambda t: logo(intro(t) if t < 3 else BIG_OTHERS[0](t)), 12)
    second = make("logo_second", lambda t: logo(intro(t) if t < 3 else BIG_OTHERS[1](t)), 12)
    result = MATCHER.compare(first, second)
    assert not result.match and result.similarity_score < 0.5


def test_a_copy_is_one_segment_across_frames_that_do_not_verify(make):
    # The corner copy is blurred from 5.5 to 10.5 s: too blurred for keypoints, yet nothing else is shown there.
    def compose(t):
        picture = BIG(t)
        if 5.5 <= t < 10.5:
            picture = cv2.GaussianBlur(picture, (0, 0), 6)
        return synth.picture_in_picture(picture, BIG_OTHERS[0](t), area=0.3, x=0.85, y=0.15)
    result = MATCHER.compare(make("big16", BIG, 16), make("pip_blurred_middle", compose, 16))
    assert len(result.segments) == 1
    assert np.allclose(_longest(result), (0, 16, 0, 16), atol=0.6)


def test_runs_of_one_line_are_joined_only_where_nothing_else_was_verified():
    times = np.arange(20.0)
    runs = [np.arange(0, 6), np.arange(12, 20)]
    joined = _bridge(runs, times, np.array([]), np.array([]), 1.0, 0.0)
    assert [list(r) for r in joined] == [list(range(6)) + list(range(12, 20))]
    # Frame 8 of the source verified at another time of the target: the copy stopped there.
    kept = _bridge(runs, times, np.array([8.0]), np.array([30.0]), 1.0, 0.0)
    assert [list(r) for r in kept] == [list(r) for r in runs]
    # A target moment inside the gap verified with another source frame: the same.
    assert len(_bridge(runs, times, np.array([25.0]), np.array([9.0]), 1.0, 0.0)) == 2



def test_the_copy_is_placed_where_most_frames_put_it():
    # A slideshow zooming in and out at another rate on each slide, and its crop: the copy's moments (k, k) put
    # the crop at one place; moments a second apart verify too, at a place and size set by each slide's zoom.
    frames = np.arange(20)
    copy = np.tile([0.18, 0.0, -0.1, -0.05], (20, 1))
    zoom = np.array([0.05, -0.08, 0.12, -0.15])[frames // 5, None] * [1.0, 0.0, -0.5, -0.3]
    placement = np.concatenate([copy + zoom, copy - zoom, copy])  # the copy's pairs last: found, not first
    placed = _one_place(placement, np.ones(60, bool), np.tile(frames, 3))
    assert list(np.flatnonzero(placed)) == list(range(40, 60))
    # Chance agreements (a fixed camera's figures) land anywhere: no place holds more than one frame.
    scattered = np.random.default_rng(0).uniform([-0.5, -0.5, -0.3, -0.3], [0.5, 0.5, 0.3, 0.3], (8, 4))
    assert _one_place(scattered, np.ones(8, bool), np.arange(8)).sum() == 1


def _shown_small(strong_frames: int, frames: int = 8, seed: int = 0):
    """Keypoints of a video and of a copy of it at half size in a corner: per frame, MIN_INLIERS of the video's
    keypoints found again in the first strong_frames frames of the copy, WEAK_INLIERS in the others, and one more
    found at a wrong place; each among as many unrelated keypoints."""
    rng = np.random.default_rng(seed)
    size, per_frame = (480, 270), 40
    points = rng.uniform([20, 20], [460, 250], (frames, per_frame, 2))
    descriptors = rng.integers(0, 256, (frames, per_frame, 32), dtype=np.uint8)
    shown = [(MIN_INLIERS if i < strong_frames else WEAK_INLIERS) + 1 for i in range(frames)]
    copy_points = [np.concatenate([points[i, :n - 1] * 0.5 + [240, 10], rng.uniform([0, 0], size, (n + 1, 2))])
                   for i, n in enumerate(shown)]
    copy_descriptors = [np.concatenate([descriptors[i, :n], rng.integers(0, 256, (n, 32), dtype=np.uint8)])
                        for i, n in enumerate(shown)]

    def features(points, descriptors):
        return LocalFeatures(times=np.arange(frames, dtype=np.float32),
                             frame=np.repeat(np.arange(frames), [len(p) for p in points]).astype(np.uint16),
                             points=np.concatenate(points).astype(np.float16), descriptors=np.concatenate(descriptors),
                             mirrored=np.concatenate(descriptors), size=size)
    return features(list(points), list(descriptors)), features(copy_points, copy_descriptors)


def test_frames_with_fewer_inliers_count_on_a_line_at_a_place_that_a_verified_frame_confirms():
    # A dark picture shown small keeps few keypoints that survive in the copy: one frame pair verifies on its
    # own, the others agree with it on fewer keypoints, at its place and on one time line.
    video, copy = _shown_small(strong_frames=1)
    found = compare_local(video, copy, 8.0, 8.0)
    assert found.frames == 8 and found.coverage == 1.0 and found.ratio == 1.0, found
    assert np.allclose(found.region, (0.5, 0.037, 1.0, 0.537), atol=0.01), found.region
    # Without a frame pair of MIN_INLIERS, weak agreements alone are no match.
    assert compare_local(*_shown_small(strong_frames=0), 8.0, 8.0).frames == 0


def test_a_clip_segment_does_not_run_on_to_a_lone_guided_frame_seconds_later():
    # A 7-s clip (frames 2-8 of the video, at +3 s in the copy, cropped) verified frame by frame, then other
    # content; 8 s later one frame of the copy holds GUIDED_MATCHES look-alikes of a frame of the video where the
    # clip's transform puts them (too few to verify on its own). The segment ends at the clip (bench
    # "short clip + crop", v07: a lone guided frame 10 s on carried the segment to the host's end).
    rng = np.random.default_rng(3)
    frames, size, per_frame = 20, (480, 270), 40
    points = rng.uniform([20, 20], [460, 250], (frames, per_frame, 2))
    descriptors = rng.integers(0, 256, (frames, per_frame, 32), dtype=np.uint8)
    copy_points = list(rng.uniform([0, 0], size, (frames, per_frame, 2)))
    copy_descriptors = list(rng.integers(0, 256, (frames, per_frame, 32), dtype=np.uint8))
    for i, shown in [*((i, 30) for i in range(2, 9)), (16, GUIDED_MATCHES)]:
        copy_points[i + 3][:shown] = points[i, :shown] * 1.25 - [60, 30]
        copy_descriptors[i + 3][:shown] = descriptors[i, :shown]

    def features(points, descriptors):
        return LocalFeatures(times=np.arange(frames, dtype=np.float32),
                             frame=np.repeat(np.arange(frames), per_frame).astype(np.uint16),
                             points=np.concatenate(points).astype(np.float16), descriptors=np.concatenate(descriptors),
                             mirrored=np.concatenate(descriptors), size=size)
    found = compare_local(features(points, descriptors), features(copy_points, copy_descriptors), 20.0, 20.0)
    assert found.frames == 7 and found.ratio == 1.0 and found.offset == 3.0, found
    (segment,) = found.segments
    assert 8.0 < segment.source_end < 9.0 and 11.0 < segment.target_end < 12.0, segment


def test_a_segment_reaches_the_end_over_black_that_neither_video_describes(make):
    # 9 s of picture, then 4 s of black, cropped and turned: the keypoints see the copy up to 9 s, and nothing
    # after it in either video says it stopped.
    fading = lambda t: BIG(t) if t < 9 else np.zeros_like(BIG(0))  # noqa: E731
    turned = make("crop40_rotated_black_end", lambda t: synth.rotate(synth.crop_area(fading(t), 0.4, x=0.2, y=0.7),
                                                                     1), 13)
    got = _longest(MATCHER.compare(make("big_black_end", fading, 13), turned))
    assert np.allclose(got, (0, 13, 0, 13), atol=0.6), got


# Split screens of a smooth picture (160x120: too few keypoints for the keypoint path): found by the descriptors
# of each pane against the middle of the picture that pane shows, either video being the split screen.
@pytest.mark.parametrize("name,compose,region", [
    ("stacked", lambda f, o: synth.split_screen([f, o[0]], stacked=True), (0, 0, 1, 0.75)),
    ("three_across", lambda f, o: synth.split_screen([o[0], o[1], f]), (1 / 3, 0, 1, 1)),
    ("grid", lambda f, o: synth.split_screen([o[0], f, o[1], o[2]]), (0.5, 0, 1, 0.5)),
])
def test_split_screen_panes_are_found_without_keypoints(original, make, name, compose, region):
    others = [synth.MovingScene(seed=s) for s in (8, 9, 10)]
    split = make(f"small_{name}", lambda t: compose(SCENE(t), [other(t) for other in others]), 12)
    result = MATCHER.compare(original, split)
    assert np.allclose(_longest(result), (0, 12, 0, 12), atol=0.3)
    assert result.region == pytest.approx(region, abs=0.03)
    assert np.allclose(_longest(MATCHER.compare(split, original)), (0, 12, 0, 12), atol=0.3)


def test_a_cropped_clip_inside_a_longer_video_is_judged_on_its_span_and_ends_at_its_cuts(make):
    # 6.8 s of the source, cropped to 74% a side (only the keypoints see it), cut into 30 s of other videos: a
    # quarter of the 26-s source, under LOCAL_COVERAGE of it, yet a copy by the span copied; its ends are the
    # host's cuts into and out of it (found to a sample), not the keypoints' frames a second apart. The host's next
    # part cuts to its next shot 0.2 s after the clip's end: the innermost cut is the copy's. (Scenes at 0.4x: the
    # generated ones change far more from one sample to the next than footage does.)
    calm = [lambda t, scene=scene: scene(0.4 * t) for scene in (BIG, *BIG_OTHERS)]
    cropped = functools.partial(synth.crop_area, removed=0.45, x=0.3, y=0.6)
    host = make("crop_host", synth.concatenate((calm[1], 9.5), (lambda t: cropped(calm[0](t + 8.5)), 6.8),
                                               (lambda t: calm[2](t + 39.8), 13.7)), 30)
    result = MATCHER.compare(make("calm26", calm[0], 26), host)
    assert result.match and result.similarity_score > 0.5 and result.speed_ratio == 1.0
    got = _longest(result)
    assert np.allclose(got[2:], (9.5, 16.3), atol=0.15), got
    assert np.allclose(got[:2], (8.5, 15.3), atol=0.35), got  # the keypoints' line: to about a sample or two


def _clip_in_other_content(clip_frames: int, twice_as_fast: bool = False, seed: int = 4):
    """Keypoints of a 20-s video and of a 20-s copy holding clip_frames of its frames (from 6 s, at 9 s, shown at
    1.25x and shifted: cropped), 30 keypoints each (or, twice_as_fast, two frames' 15 in each frame of the copy),
    among other content's random keypoints."""
    rng = np.random.default_rng(seed)
    frames, size, per_frame = 20, (480, 270), 40
    points = rng.uniform([20, 20], [460, 250], (frames, per_frame, 2))
    descriptors = rng.integers(0, 256, (frames, per_frame, 32), dtype=np.uint8)
    copy_points = list(rng.uniform([0, 0], size, (frames, per_frame, 2)))
    copy_descriptors = list(rng.integers(0, 256, (frames, per_frame, 32), dtype=np.uint8))
    for k, i in enumerate(range(6, 6 + clip_frames)):
        at, shown = (9 + k // 2, slice(15 * (k % 2), 15 * (k % 2) + 15)) if twice_as_fast else (i + 3, slice(0, 30))
        copy_points[at][shown] = points[i, shown] * 1.25 - [60, 30]
        copy_descriptors[at][shown] = descriptors[i, shown]

    def features(points, descriptors):
        return LocalFeatures(times=np.arange(frames, dtype=np.float32),
                             frame=np.repeat(np.arange(frames), per_frame).astype(np.uint16),
                             points=np.concatenate(points).astype(np.float16), descriptors=np.concatenate(descriptors),
                             mirrored=np.concatenate(descriptors), size=size)
    return features(points, descriptors), features(copy_points, copy_descriptors)


def test_a_clip_of_four_described_frames_inside_other_content_is_found_and_three_are_not():
    # A clip of 4-5 s has 4 described frames a second apart (bench "short clip + crop at host end", v07: 4.5 s,
    # its 5 frames verifying at two offsets along a pan, 4 on the clip's line). Three frames are too few: on the tune
    # side a negative had a line of three; and so are 4 frames of the video on 2 of the copy's (a shared logo on a
    # line at half speed matched a tune negative so).
    found = compare_local(*_clip_in_other_content(4), 20.0, 20.0)
    assert found.frames == 4 and found.ratio == 1.0 and found.offset == 3.0, found
    (segment,) = found.segments
    assert (segment.source_start, segment.source_end) == (5.5, 9.5), segment
    assert compare_local(*_clip_in_other_content(3), 20.0, 20.0).frames == 0
    assert compare_local(*_clip_in_other_content(4, twice_as_fast=True), 20.0, 20.0).frames == 0
