"""The image compare cascade: unrelated pictures stop at the word matches, copies go on to verification."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from medialayer.limits import Limits
from medialayer.matchers import image as matcher
from medialayer.matchers.image_sketch import (COARSE, FINE, MIN_WORD_MATCHES, VOCABULARY_PATH, rejected_score,
                                              visual_words)
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
        assert matcher.word_match_count(a, b) < MIN_WORD_MATCHES
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
    assert with_cascade == matcher.MATCHER.compare(originals[0], dataclasses.replace(copy, descriptor_words=None))


def test_words_are_one_per_descriptor_and_deterministic(scenes, originals):
    words = np.frombuffer(originals[0].descriptor_words, np.uint16)
    assert len(words) * 32 == len(originals[0].descriptors + originals[0].mirrored)
    assert words.max() < COARSE * FINE
    assert fingerprint(scenes[0]).descriptor_words == originals[0].descriptor_words


def test_words_are_the_nearest_fine_word_under_the_nearest_coarse_word(originals):
    vocabulary = np.load(VOCABULARY_PATH)
    descriptors = np.frombuffer(originals[0].descriptors + originals[0].mirrored, np.uint8).reshape(-1, 32)

    def nearest(centroids):  # per descriptor: the first of the centroids at the least Hamming distance
        return np.bitwise_count(descriptors[:, None, :] ^ centroids).sum(axis=2, dtype=np.int64).argmin(axis=1)

    coarse = nearest(vocabulary[None, :COARSE])
    fine = nearest(vocabulary[COARSE:].reshape(COARSE, FINE, 32)[coarse])
    assert np.array_equal(visual_words(descriptors), coarse * FINE + fine)


def test_a_picture_has_a_word_match_for_every_descriptor_with_itself(originals):
    assert matcher.word_match_count(originals[0], originals[0]) == len(originals[0].descriptors) // 32


def test_fingerprints_without_words_are_always_verified(originals):
    old = dataclasses.replace(originals[1], descriptor_words=None)
    assert matcher.may_verify(originals[0], old)
    assert not matcher.MATCHER.compare(originals[0], old).match


def test_far_pairs_the_keypoints_do_not_verify_are_scored_from_the_hash_distance(originals, monkeypatch):
    # (Scenes 11 and 12 pass the word stage only with 11's words looked up in 12's, not the order they are judged in.)
    a, b = fingerprint(synthetic.textured_scene(10, 640, 480)), originals[0]
    assert matcher.may_verify(a, b)  # (generated scenes share shapes, so they pass the word stage)
    distance, orientation = matcher.hash_match(a, b)
    assert distance > matcher.ACCEPT_DISTANCE and not matcher.verify(a, b, distance, orientation).verified
    comparison = matcher.MATCHER.compare(a, b)
    assert not comparison.match and comparison.similarity_score == round(rejected_score(distance), 4)
    monkeypatch.setattr(matcher, "CASCADE", False)  # verified and scored in full: the same decision
    assert not matcher.MATCHER.compare(a, b).match


def test_unrelated_pictures_whose_word_matches_agree_on_no_transform_stop_there():
    a, b = (fingerprint(synthetic.textured_scene(seed, 640, 480)) for seed in (13, 14))
    in_a, in_b = matcher._word_matches(a, b)
    assert matcher.word_match_count(a, b) >= MIN_WORD_MATCHES  # enough word matches: the count passes them
    assert not matcher.word_matches_agree(a, b, in_a, in_b) and not matcher.may_verify(a, b)
    distance = matcher.hash_distance(a, b)
    assert matcher.MATCHER.compare(a, b).similarity_score == round(rejected_score(distance), 4)
    assert not matcher.verify(a, b, distance, matcher.hash_match(a, b)[1]).verified  # nor would verify() find one


def test_word_matches_that_turn_or_scale_against_the_line_between_them_do_not_agree(originals):
    a = originals[0]
    in_a, in_b = matcher._word_matches(a, a)
    same = in_a == in_b  # each keypoint with itself: the identity, every match unturned at its own level
    in_a, in_b = in_a[same], in_b[same]
    assert matcher.word_matches_agree(a, a, in_a, in_b)
    geometry = np.frombuffer(a.keypoint_geometry, np.uint8).reshape(-1, 2)
    for turned, levels in ((128, 0), (0, matcher.LEVEL_TOLERANCE + 1)):  # half a turn; more levels than the line says
        other = dataclasses.replace(a, keypoint_geometry=(geometry + np.uint8([turned, levels])).tobytes())
        assert not matcher.word_matches_agree(a, other, in_a, in_b)
    assert matcher.may_verify(a, dataclasses.replace(a, keypoint_geometry=None))  # fingerprints without the angles


def test_keypoint_geometry_is_each_keypoints_angle_and_level(originals):
    geometry = np.frombuffer(originals[0].keypoint_geometry, np.uint8).reshape(-1, 2)
    assert len(geometry) == len(originals[0].keypoints)
    assert geometry[:, 1].max() >= matcher.COARSE_LEVEL  # the coarse keypoints' levels
    assert len(np.unique(geometry[:, 0])) > 64  # angles all round the turn
