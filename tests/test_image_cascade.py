"""The image compare cascade: unrelated pictures stop at the visual-word stage, copies go on to verification."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from medialayer.limits import Limits
from medialayer.matchers import image as matcher
from medialayer.matchers.image_sketch import COARSE, FINE, MIN_SHARED_WORDS, rejected_score, shared_words
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
        assert shared_words(a.words, b.words) < MIN_SHARED_WORDS
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
    assert with_cascade == matcher.MATCHER.compare(originals[0], dataclasses.replace(copy, words=None))


def test_words_are_a_small_sorted_set_and_deterministic(scenes, originals):
    words = np.frombuffer(originals[0].words, np.uint16)
    assert 0 < len(words) <= matcher.KEYPOINTS + matcher.MIRRORED_KEYPOINTS
    assert np.all(np.diff(words.astype(int)) > 0) and words.max() < COARSE * FINE
    assert fingerprint(scenes[0]).words == originals[0].words


def test_fingerprints_without_words_are_always_verified(originals):
    old = dataclasses.replace(originals[1], words=None)
    assert matcher.may_verify(originals[0], old)
    assert not matcher.MATCHER.compare(originals[0], old).match
