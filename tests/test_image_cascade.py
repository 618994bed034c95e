"""The image compare cascade: unrelated pictures stop at the word matches, copies go on to verification."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PIL import Image

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
    a, b = originals
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


def look_alike(seed, side=128):
    """An enlarged random grid of 16 x 16 colours: unrelated ones share hundreds of word matches (the same corners)."""
    colours = np.random.default_rng(seed).integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    return Image.fromarray(colours).resize((side, side), Image.Resampling.BICUBIC)


def test_unrelated_look_alikes_with_many_word_matches_vote_for_no_transform():
    a, b = fingerprint(look_alike(21)), fingerprint(look_alike(22))
    in_a, in_b = matcher._word_matches(a, b)
    assert len(in_a) > matcher.AGREEMENT_CHECK_MAX  # too many to try every two: the vote decides
    assert not matcher.word_matches_vote(a, b, in_a, in_b) and not matcher.may_verify(a, b)
    distance, orientation = matcher.hash_match(a, b)
    assert not matcher.verify(a, b, distance, orientation).verified  # nor would verify() find one


def test_a_turned_copy_with_many_word_matches_wins_the_vote():
    original = look_alike(21, 512)
    a, b = fingerprint(original), fingerprint(synthetic.rotate(synthetic.resize(original, 0.7), 20), quality=60)
    in_a, in_b = matcher._word_matches(a, b)
    assert len(in_a) > matcher.AGREEMENT_CHECK_MAX and matcher.hash_distance(a, b) > matcher.ACCEPT_DISTANCE
    assert matcher.word_matches_vote(a, b, in_a, in_b) and matcher.may_verify(a, b)
    assert matcher.MATCHER.compare(a, b).match


def test_word_matches_to_keypoints_anywhere_do_not_pile_up(originals):
    a = originals[0]
    in_a, in_b = (matches[::6] for matches in matcher._word_matches(a, a))  # (hundreds: some bin has a few by chance)
    assert len(in_a) > matcher.AGREEMENT_CHECK_MAX and matcher.word_matches_vote(a, a, in_a, in_b)
    anywhere = np.random.default_rng(5).permutation(in_b)  # each match to another of the keypoints: no one transform
    assert not matcher.word_matches_vote(a, a, in_a, anywhere)
