"""The image compare cascade: unrelated pictures stop at the word matches, copies go on to verification."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from medialayer.limits import Limits
from medialayer.matchers import image as matcher
from medialayer.matchers.image_sketch import (MIN_CONSISTENT_MATCHES, WORDS, WORDS_PER_DESCRIPTOR, consistent_group,
                                             rejected_score)
from medialayer.media import Blob
from medialayer.synthetic import image as synthetic


def fingerprint(image, fmt="JPEG", quality=90):
    return matcher.MATCHER.fingerprint(Blob(data=synthetic.encode(image, fmt, quality)), Limits())


@pytest.fixture(scope="module")
def scenes():
    return [synthetic.textured_scene(seed, 640, 480) for seed in (11, 12)]


@pytest.fixture(scope="module")
def originals(scenes):
    return [fingerprint(image) for image in scenes]


def test_unrelated_pictures_stop_at_the_words(originals):
    # (Generated scenes share many words with one another: they are drawn from the same few shapes.)
    illustration = fingerprint(synthetic.flat_artwork(4, "illustration"), "PNG")
    for a, b in ((originals[0], illustration), (illustration, originals[1])):
        assert matcher.consistent_word_matches(a, b) < MIN_CONSISTENT_MATCHES
        distance = matcher.hash_distance(a, b)
        comparison = matcher.MATCHER.compare(a, b)
        assert not comparison.match and comparison.confidence == "high"
        assert comparison.similarity_score == round(rejected_score(distance), 4) < 0.1


COPIES = {
    "crop_60%": lambda im: synthetic.crop(im, 0.6, (0.2, 0.7)),
    "hflip_crop_25%": lambda im: synthetic.hflip(synthetic.crop(im, 0.25, (1.0, 0.0))),
    "rotate_-10": lambda im: synthetic.rotate(im, -10, fill_corners=False),
    "inside_a_post": lambda im: synthetic.screenshot(im, 0.3, seed=4),
    "thumbnail_128": lambda im: synthetic.resize(im, 128 / max(im.size)),
}


@pytest.mark.parametrize("name", list(COPIES))
def test_copies_pass_the_words_and_match_as_without_the_cascade(scenes, originals, name):
    copy = fingerprint(COPIES[name](scenes[0]), quality=80)
    assert matcher.may_verify(originals[0], copy)
    with_cascade = matcher.MATCHER.compare(originals[0], copy)
    assert with_cascade.match
    assert with_cascade == matcher.MATCHER.compare(originals[0], dataclasses.replace(copy, keypoint_geometry=None))


def test_words_and_geometry_are_one_per_descriptor_and_deterministic(scenes, originals):
    words = np.frombuffer(originals[0].descriptor_words, np.uint8).reshape(-1, WORDS_PER_DESCRIPTOR)
    assert len(words) * 32 == len(originals[0].descriptors + originals[0].mirrored)
    assert words.max() < WORDS and all(len(set(row)) == WORDS_PER_DESCRIPTOR for row in words)
    assert len(originals[0].keypoint_geometry) * 16 == len(originals[0].descriptors)  # 2 bytes against 32
    again = fingerprint(scenes[0])
    assert (again.descriptor_words, again.keypoint_geometry) == (originals[0].descriptor_words,
                                                                 originals[0].keypoint_geometry)


def test_nearly_all_word_matches_of_a_picture_with_itself_agree(originals):
    # (all but keypoints closer than MIN_MATCH_SEPARATION to the one the others agree with)
    assert matcher.consistent_word_matches(originals[0], originals[0]) >= 0.9 * len(originals[0].descriptors) // 32


def test_word_matches_agree_when_one_similarity_transform_explains_them():
    rng = np.random.default_rng(3)
    points_a, angles_a, levels_a = rng.uniform(0, 512, (20, 2)), rng.uniform(0, 360, 20), rng.integers(2, 6, 20) * 1.0
    turn, scale = np.radians(30.0), 1.2 ** -2  # b: a turned by 30 degrees, two pyramid levels smaller, shifted
    rotation = scale * np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    points_b = points_a @ rotation.T + [40.0, -25.0]
    angles_b, levels_b = (angles_a + 30.0 + rng.uniform(-5, 5, 20)) % 360.0, levels_a - 2
    upright = np.zeros(20, bool)
    assert consistent_group(points_a, angles_a, levels_a, points_b, angles_b, levels_b, upright) == 20
    # matches of a's upright and of its mirrored descriptors never agree with each other
    assert consistent_group(points_a, angles_a, levels_a, points_b, angles_b, levels_b, np.arange(20) % 2 == 1) == 10
    # chance matches (b's keypoints shuffled) say different things
    shuffled = rng.permutation(20)
    assert consistent_group(points_a, angles_a, levels_a, points_b[shuffled], angles_b[shuffled],
                            levels_b[shuffled], upright) < MIN_CONSISTENT_MATCHES


def test_fingerprints_without_keypoint_geometry_are_always_verified(originals):
    old = dataclasses.replace(originals[1], keypoint_geometry=None)
    assert matcher.may_verify(originals[0], old)
    assert not matcher.MATCHER.compare(originals[0], old).match


def test_far_pairs_the_keypoints_do_not_verify_are_scored_from_the_hash_distance(originals, monkeypatch):
    a, b = originals[0], dataclasses.replace(originals[1], keypoint_geometry=None)  # so it passes the word stage
    assert matcher.may_verify(a, b) and not matcher.may_verify(*originals)
    distance, orientation = matcher.hash_match(a, b)
    assert distance > matcher.ACCEPT_DISTANCE and not matcher.verify(a, b, distance, orientation).verified
    comparison = matcher.MATCHER.compare(a, b)
    assert not comparison.match and comparison.similarity_score == round(rejected_score(distance), 4)
    monkeypatch.setattr(matcher, "CASCADE", False)  # verified and scored in full: the same decision
    assert not matcher.MATCHER.compare(a, b).match
