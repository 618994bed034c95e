"""The image compare's fast paths (round speed13) give exactly what their plain formulations give: the hash distance,
the word matches, the ratio test (since round speed23 read off one table of distances, as FAISS's searches gave it),
the word matches' geometry, the verified path's gathers of pixels and points (round speed28); and the data a compare
derives and keeps on a fingerprint is never pickled with it."""
from __future__ import annotations

import pickle

import faiss
import numpy as np
import pytest

from medialayer.limits import Limits
from medialayer.matchers import image as matcher
from medialayer.matchers.base import Comparison
from medialayer.matchers.image_sketch import WORD_MATCH_DISTANCE, word_matches, word_order
from medialayer.media import Blob
from medialayer.synthetic import image as synthetic


def fingerprint(image, fmt="JPEG", quality=90):
    return matcher.MATCHER.fingerprint(Blob(data=synthetic.encode(image, fmt, quality)), Limits())


@pytest.fixture(scope="module")
def fingerprints():
    scene, design = synthetic.textured_scene(21, 640, 480), synthetic.flat_artwork(3, "logo")
    return [fingerprint(scene), fingerprint(synthetic.rotate(synthetic.crop(scene, 0.5, (0.3, 0.4)), 90)),
            fingerprint(synthetic.hflip(scene), quality=60), fingerprint(synthetic.textured_scene(22, 480, 640)),
            fingerprint(design, "PNG"), fingerprint(synthetic.resize(design, 0.6), quality=70)]


def test_hash_match_is_the_smallest_popcount_over_orientations(fingerprints):
    for a in fingerprints:
        for b in fingerprints:
            whole = np.bitwise_count(a.hash_words[0] ^ b.hash_words).sum(axis=1)
            centre = np.bitwise_count(a.centre_hash_words[0] ^ b.centre_hash_words).sum(axis=1)
            distances = np.minimum(whole, centre)
            assert matcher._hash_match(a, b) == (distances.min(), int(np.argmin(distances)))  # (a's upright hash)


def brute_force_word_matches(words_a, descriptors_a, words_b, descriptors_b):
    bits = np.unpackbits(descriptors_a, axis=1)[:, None, :] != np.unpackbits(descriptors_b, axis=1)[None, :, :]
    return ((words_a[:, None] == words_b[None, :]) & (bits.sum(axis=2) <= WORD_MATCH_DISTANCE)).nonzero()


def test_word_matches_are_every_same_word_pair_within_the_distance(fingerprints):
    rng = np.random.default_rng(3)
    base = rng.integers(0, 256, (40, 32), dtype=np.uint8)
    noisy = base[rng.integers(0, 40, 300)] ^ (rng.random((300, 32)) < 0.1).astype(np.uint8)  # some within 56 bits
    cases = [(rng.integers(0, 6, 120).astype(np.uint16), noisy[:120],  # few words: most shared, many times over
              rng.integers(0, 6, 180).astype(np.uint16), noisy[120:])]
    first, turned, flipped, other, design, design_copy = fingerprints
    for a, b in ((first, turned), (flipped, first), (other, other), (design_copy, design)):
        cases.append((np.frombuffer(a.descriptor_words, np.uint16),
                      np.frombuffer(a.descriptors + a.mirrored, np.uint8).reshape(-1, 32),
                      np.frombuffer(b.descriptor_words, np.uint16)[:len(b.descriptors) // 32],
                      np.frombuffer(b.descriptors, np.uint8).reshape(-1, 32)))
    for words_a, descriptors_a, words_b, descriptors_b in cases:
        expected = brute_force_word_matches(words_a, descriptors_a, words_b, descriptors_b)
        found = word_matches(words_a, descriptors_a, *word_order(words_b), descriptors_b)
        assert len(expected[0]) > 0
        assert np.array_equal(found[0], expected[0]) and np.array_equal(found[1], expected[1])


def second_elsewhere(distances, nearest, points):
    """_second_elsewhere as it was before round speed25 (FAISS's search's RIVALS nearest, ranked): per query, the
    distance of its nearest neighbour of those found, in order, lying further than SAME_PLACE_PX from its nearest one;
    the last one found's when all lie there."""
    offsets = points[nearest[:, 1:]] - points[nearest[:, :1]]
    elsewhere = np.einsum("ijk,ijk->ij", offsets, offsets) > matcher.SAME_PLACE_PX ** 2
    rival = np.where(elsewhere.any(axis=1), elsewhere.argmax(axis=1) + 1, distances.shape[1] - 1)
    return distances[np.arange(len(distances)), rival]


def ratio_test_on_every_query(query, train, upright, train_points):
    """_correspondences as it was before round speed13: the rival looked for on every query."""
    index = faiss.IndexBinaryFlat(256)
    index.add(train)
    distances, nearest = index.search(query, min(matcher.RIVALS, len(train)))
    second = second_elsewhere(distances, nearest, train_points)
    passed = (distances[:, 0] < matcher.RATIO * second) & (distances[:, 0] <= matcher.MAX_DESCRIPTOR_DISTANCE)
    pairs = np.stack([np.flatnonzero(passed), nearest[passed, 0]], axis=1).astype(np.int64)
    return matcher._one_to_one(pairs, distances[passed, 0], upright)


def test_the_rivals_searched_only_where_the_two_nearest_lie_at_one_place_give_the_same_correspondences(
        fingerprints):
    """The RIVALS nearest are searched only for queries whose two nearest lie at one place and which the second
    nearest alone would fail: the same correspondences as searching them for every query, on photos, on a flat design (many descriptors at equal distances: FAISS's
    order by distance then id makes the two nearest the first two of the four) and on generated descriptors whose
    nearest neighbours crowd at one place."""
    rng = np.random.default_rng(9)
    train = rng.integers(0, 256, (60, 32), dtype=np.uint8)
    train[1::3] = train[::3][:len(train[1::3])] ^ (rng.random((20, 32)) < 0.02).astype(np.uint8)
    query = train[rng.integers(0, 60, 90)] ^ (rng.random((90, 32)) < 0.15).astype(np.uint8)
    points = rng.integers(0, 4000, (60, 2)).astype(np.float32) / 8
    points[1::3] = points[::3][:len(points[1::3])] + 1.0  # the near-copies at one place with their originals
    cases = [(query, train, 50, points)]
    first, turned, flipped, other, design, design_copy = fingerprints
    for a, b in ((first, turned), (flipped, first), (first, other), (design, design_copy)):
        cases.append((np.frombuffer(a.descriptors + a.mirrored, np.uint8).reshape(-1, 32),
                      np.frombuffer(b.descriptors, np.uint8).reshape(-1, 32), len(a.descriptors) // 32, b.keypoints))
    for query, train, upright, train_points in cases:
        index = faiss.IndexBinaryFlat(256)
        index.add(train)
        two, four = index.search(query, 2), index.search(query, 4)
        assert np.array_equal(two[0], four[0][:, :2]) and np.array_equal(two[1], four[1][:, :2])
        expected = ratio_test_on_every_query(query, train, upright, train_points)
        assert len(expected) > 0
        assert np.array_equal(matcher._correspondences(query, train, upright, train_points)[0], expected)


def correspondences_by_faiss_search(query, train, upright, train_points):
    """_correspondences as it was before round speed23: FAISS's search for the two nearest, for the RIVALS nearest of
    the rivalled queries, and back from the train descriptors for the mutual nearest."""
    index = faiss.IndexBinaryFlat(256)
    index.add(train)
    distances, nearest = index.search(query, 2)
    distance, second = distances[:, 0], distances[:, 1].copy()
    offsets = train_points[nearest[:, 1]] - train_points[nearest[:, 0]]
    rivalled = (((offsets ** 2).sum(axis=1) <= matcher.SAME_PLACE_PX ** 2) & (distance >= matcher.RATIO * second)
                & (distance <= matcher.MAX_DESCRIPTOR_DISTANCE)).nonzero()[0]
    if len(rivalled):
        second[rivalled] = second_elsewhere(*index.search(query[rivalled], min(matcher.RIVALS, len(train))),
                                                     train_points)
    passed = (distance < matcher.RATIO * second) & (distance <= matcher.MAX_DESCRIPTOR_DISTANCE)
    mutual = ~passed & (distance <= matcher.MUTUAL_DISTANCE)
    for start, end in ((0, upright), (upright, len(query))):
        asked = start + mutual[start:end].nonzero()[0]
        if len(asked):
            back = faiss.IndexBinaryFlat(256)
            back.add(query[start:end])
            mutual[asked] = back.search(train[nearest[asked, 0]], 1)[1][:, 0] == asked - start
    return [matcher._ratio_pairs(distance, nearest[:, 0], kept, upright) for kept in (passed, passed | mutual)]


def test_the_correspondences_read_off_one_distance_table_are_faiss_searches(fingerprints):
    """_correspondences reads the nearest and the rivals off one table of Hamming distances and the mutual nearest off
    the asked train descriptors' distances to the queries (round speed29): the
    same correspondences as FAISS's searches give, ties (the first of equals) included: on descriptors drawn from a
    few templates with a few bits flipped (many at equal distances, many rivalled at one place), on photos and on a
    flat design."""
    rng = np.random.default_rng(23)
    cases = []
    for _ in range(40):
        templates = rng.integers(0, 256, (int(rng.integers(2, 8)), 32), dtype=np.uint8)
        train = templates[rng.integers(0, len(templates), int(rng.integers(2, 80)))]
        train = train ^ (rng.random(train.shape) < 0.01).astype(np.uint8)
        query = templates[rng.integers(0, len(templates), int(rng.integers(1, 120)))]
        query = query ^ (rng.random(query.shape) < 0.01).astype(np.uint8) << 3
        points = rng.integers(0, 40, (len(train), 2)).astype(np.float32) / 8  # crowded: many at one place
        cases.append((query, train, int(rng.integers(0, len(query) + 1)), points))
    first, turned, flipped, other, design, design_copy = fingerprints
    for a, b in ((first, turned), (flipped, first), (first, other), (design, design_copy), (design_copy, design)):
        cases.append((np.frombuffer(a.descriptors + a.mirrored, np.uint8).reshape(-1, 32),
                      np.frombuffer(b.descriptors, np.uint8).reshape(-1, 32), len(a.descriptors) // 32, b.keypoints))
    mutual_found = 0
    for query, train, upright, train_points in cases:
        ratio, with_mutual = correspondences_by_faiss_search(query, train, upright, train_points)
        found, found_with_mutual, _ = matcher._correspondences(query, train, upright, train_points)
        assert np.array_equal(found, ratio) and np.array_equal(found_with_mutual(), with_mutual)
        mutual_found += len(with_mutual) > len(ratio)
    assert mutual_found >= 5


def test_match_geometry_is_each_descriptors_keypoint_angle_and_level(fingerprints):
    for fp in fingerprints:
        upright, mirrored = len(fp.descriptors) // 32, len(fp.mirrored) // 32
        position, angle, level = fp.match_geometry
        geometry = np.frombuffer(fp.keypoint_geometry, np.uint8).reshape(-1, 2)
        points = fp.keypoints.astype(np.float64)
        flipped = points[:mirrored] * [-1.0, 1.0] + [fp.width - 1.0, 0.0]  # verify()'s mirror
        assert np.array_equal(position, np.concatenate([points, flipped]) @ (1, 1j))
        assert np.array_equal(angle, np.concatenate([geometry[:, 0], (128 - geometry[:mirrored, 0].astype(int)) % 256]))
        assert np.array_equal(level, np.concatenate([geometry[:, 1], geometry[:mirrored, 1]]))
        assert len(position) == upright + mirrored


def test_what_a_compare_derives_is_read_only_and_never_pickled(fingerprints):
    a, b = fingerprints[0], fingerprints[3]
    fresh = pickle.dumps(a)
    for other in fingerprints:
        matcher.MATCHER.compare(a, other)
        matcher.MATCHER.compare(other, a)
    assert {"keypoints", "hash_integers", "word_order", "match_geometry"} <= set(vars(a))
    assert pickle.dumps(a) == fresh
    restored = pickle.loads(fresh)
    assert restored == a and set(vars(restored)) == {field for field in a.__dataclass_fields__}
    assert matcher.MATCHER.compare(restored, b) == matcher.MATCHER.compare(a, b)
    for array in (a.keypoints, *a.word_order, *a.match_geometry):
        with pytest.raises(ValueError):
            array[0] = 0


def one_to_one_by_lexsort(pairs, distances, upright):
    """_one_to_one as it was before round speed25: a sort on each of its four keys in turn."""
    if len(pairs) < 2:
        return pairs
    group = (pairs[:, 0] >= upright).astype(np.int64)
    order = np.lexsort((pairs[:, 0], distances, pairs[:, 1], group))
    key = pairs[order, 1] * 2 + group[order]
    first = np.concatenate([[True], key[1:] != key[:-1]])
    return pairs[np.sort(order[first])]


def test_one_to_one_on_one_key_keeps_the_closest_of_each_target_the_first_on_a_tie():
    """Pairs sharing a train descriptor in either set of queries, many at equal distances (the ratio test's int32 and
    _same_picture_correspondences' uint64 distances): the same pairs kept as sorting on each key in turn."""
    rng = np.random.default_rng(31)
    kept_fewer = 0
    for _ in range(300):
        count = int(rng.integers(0, 300))
        query = np.sort(rng.choice(700, count, replace=False))
        pairs = np.stack([query, rng.integers(0, int(rng.integers(1, 60)), count)], axis=1).astype(np.int64)
        distances = rng.integers(0, int(rng.integers(1, 257)), count).astype(rng.choice([np.int32, np.uint64]))
        upright = int(rng.integers(0, 701))
        expected = one_to_one_by_lexsort(pairs, distances, upright)
        found = matcher._one_to_one(pairs, distances, upright)
        assert np.array_equal(found, expected) and found.dtype == expected.dtype
        kept_fewer += len(expected) < len(pairs)
    assert kept_fewer > 200


def word_matches_agree_with_distinct_checks(a, b, in_a, in_b):
    """word_matches_agree as it was before round speed26: two matches of one keypoint, of a or of b, ruled out by
    name as well as by their distance."""
    if len(in_a) < 2:
        return False
    upright = len(a.descriptors) // 32
    mirrored = in_a >= upright
    index_a = in_a - upright * mirrored
    (z, angle_a, level_a), (w, angle_b, level_b) = a.match_geometry, b.match_geometry
    z, w = z[in_a], w[in_b]
    turn = np.exp(2j * np.pi * (angle_b[in_b] - angle_a[in_a]) / 256)
    level = level_b[in_b] - level_a[in_a]
    i, j = np.triu_indices(len(in_a), 1)
    dz, dw = z[j] - z[i], w[j] - w[i]
    candidate = ((mirrored[i] == mirrored[j]) & (index_a[i] != index_a[j]) & (in_b[i] != in_b[j])
                 & (np.minimum(np.abs(dz), np.abs(dw)) >= matcher.REPROJECTION_PX))
    i, j, dz, dw = i[candidate], j[candidate], dz[candidate], dw[candidate]
    gain = dw / dz
    scale = np.abs(gain)
    levels = np.log(scale) / np.log(matcher.ORB_LEVEL_SCALE)
    cos_tolerance = np.cos(np.radians(matcher.TURN_TOLERANCE))
    agree = ((scale >= matcher.MIN_SCALE) & (scale <= matcher.MAX_SCALE)
             & ((gain * turn[i].conj()).real >= scale * cos_tolerance)
             & ((gain * turn[j].conj()).real >= scale * cos_tolerance)
             & (np.abs(levels - level[i]) <= matcher.LEVEL_TOLERANCE)
             & (np.abs(levels - level[j]) <= matcher.LEVEL_TOLERANCE))
    return bool(agree.any())


def test_word_matches_agree_as_with_the_distinct_keypoint_checks(fingerprints):
    """Sets of word matches drawn with repeats (one match twice, one keypoint of a or of b in several matches, as a
    word b has several descriptors of gives), upright and mirrored mixed: the same answer as with the checks that two
    matches join distinct keypoints on each side, which the distance between them implies."""
    rng = np.random.default_rng(26)
    answers = []
    for a in fingerprints:
        for b in fingerprints:
            in_a, in_b = matcher._word_matches(a, b)
            if len(in_a) < 2:
                continue
            for _ in range(40):
                drawn = np.sort(rng.integers(0, len(in_a), int(rng.integers(2, matcher.AGREEMENT_CHECK_MAX + 1))))
                query, train = in_a[drawn], in_b[drawn]
                if rng.random() < 0.3:  # one keypoint of b in matches of other keypoints of a
                    train = np.where(rng.random(len(train)) < 0.3, train[0], train)
                expected = word_matches_agree_with_distinct_checks(a, b, query, train)
                assert matcher.word_matches_agree(a, b, query, train) == expected
                answers.append(expected)
    assert 50 < sum(answers) < len(answers) - 50  # both answers, many times


def test_the_unverified_evidence_is_made_once_per_distance_and_type():
    assert matcher._unverified(40) == matcher.Evidence(40) and matcher._unverified(40) is matcher._unverified(40)
    assert not matcher._unverified(40).verified
    assert type(matcher._unverified(np.int64(41)).hash_distance) is np.int64  # (as Evidence(distance) keeps it)


def matched_count_on_arrays(in_a, upright):
    """_matched_count as it was before round speed27: the distinct ones of each sorted half counted by numpy."""
    def distinct(ordered):
        return int(len(ordered) > 0) + int(np.count_nonzero(ordered[1:] != ordered[:-1]))
    split = int(np.searchsorted(in_a, upright))
    return max(distinct(in_a[:split]), distinct(in_a[split:]))


def test_matched_count_on_lists_counts_as_on_arrays(fingerprints):
    """Word matches of the module's fingerprints and random sorted sets with repeats (a word b has several descriptors
    of), none, all upright, all mirrored: the same counts as numpy's."""
    rng = np.random.default_rng(27)
    cases = [(matcher._word_matches(a, b)[0], len(a.descriptors) // 32) for a in fingerprints for b in fingerprints]
    for _ in range(500):
        upright = int(rng.integers(1, 600))
        low, high = rng.choice([(0, upright), (0, 2 * upright), (upright, 2 * upright)])  # upright, both, mirrored
        cases.append((np.sort(rng.integers(low, high, int(rng.integers(0, 80)))), upright))
    counts = [matcher._matched_count(in_a, upright) for in_a, upright in cases]
    assert counts == [matched_count_on_arrays(in_a, upright) for in_a, upright in cases]
    assert min(counts) == 0 and max(counts) > matcher.MIN_WORD_MATCHES


def at_their_places_by_mask(transform, a, b, query, train):
    """_at_their_places as it was before round speed27: the upright pairs picked by a mask, wherever they lie."""
    upright = query < len(a.descriptors) // 32
    if not upright.any():
        return 0
    offsets = matcher._project(transform, a.keypoints[query[upright]]) - b.keypoints[train[upright]]
    return int(np.count_nonzero(np.einsum("ij,ij->i", offsets, offsets) <= matcher.SAME_PICTURE_RADIUS ** 2))


def test_at_their_places_on_the_upright_prefix_counts_as_by_a_mask(fingerprints):
    """Both callers' pairs come in query order (the word matches by a's descriptor, verify()'s correspondences by
    query), so the upright ones lead: counted on that prefix, the same as by a mask, on every pair of the module's
    fingerprints' word matches and correspondences, some with no upright pair at all."""
    counted = []
    for a in fingerprints:
        for b in fingerprints:
            transform = matcher._whole_picture(a, b)
            if transform is None:
                continue
            queries = np.frombuffer(a.descriptors + a.mirrored, np.uint8).reshape(-1, 32)
            ratio, with_mutual, _ = matcher._correspondences(queries, np.frombuffer(b.descriptors, np.uint8).reshape(
                -1, 32), len(a.descriptors) // 32, b.keypoints)
            word_a, word_b = matcher._word_matches(a, b)
            mirrored = word_a >= len(a.descriptors) // 32
            for query, train in ((word_a, word_b), (word_a[mirrored], word_b[mirrored]), tuple(ratio.T),
                                 tuple(with_mutual().T)):
                assert np.all(np.diff(query) >= 0)
                count = matcher._at_their_places(transform, a, b, query, train)
                assert count == at_their_places_by_mask(transform, a, b, query, train)
                counted.append(count)
    assert 0 in counted and max(counted) >= matcher.SAME_PICTURE_SUPPORT


def test_a_rejected_pairs_comparison_is_made_once_per_distance_and_trust():
    """The comparison of a pair the word stage stops, shared, is what the score and confidence rules give it."""
    for distance in range(matcher.ACCEPT_DISTANCE + 1, 257):
        for trusted in (False, True):
            similarity = matcher.rejected_score(distance) if trusted else 0.0
            confidence = matcher._confidence(similarity)
            expected = Comparison(match=False, similarity_score=round(similarity, 4),
                                  confidence="medium" if confidence == "high" and not trusted else confidence)
            assert matcher._rejected(distance, trusted) == expected
            assert matcher._rejected(distance, trusted) is matcher._rejected(distance, trusted)
    assert matcher._rejected(256, True).confidence == "high" and matcher._rejected(256, False).confidence == "medium"


def test_the_turns_undone_are_read_off_a_table_bit_for_bit():
    """word_matches_agree reads each match's turn undone off a table: every difference of two ORB angles gives the
    very complex number (signed zeros too) the per-match formula gave."""
    differences = np.arange(-255, 256).astype(np.int16)
    computed = np.exp(2j * np.pi * differences / 256).conj()
    assert np.array_equal(matcher._TURNED_BACK[differences].view(np.uint64), computed.view(np.uint64))


def test_rows_are_the_boolean_indexing_of_pixels_and_points():
    rng = np.random.default_rng(28)
    colours = rng.integers(0, 256, (matcher.COLOUR_SIDE, matcher.COLOUR_SIDE, 3)).astype(np.float32)
    points = rng.random((200, 2)).astype(np.float32) * 512
    design = np.hstack([rng.random((200, 3)), np.ones((200, 1))])
    for share in (0.0, 0.3, 0.9, 1.0):
        valid = rng.random(colours.shape[:2]) < share
        kept = rng.random(len(points)) < share
        for values, mask in ((colours, valid), (colours.transpose(1, 0, 2), valid), (points, kept), (design, kept)):
            rows = matcher._rows(values, mask)
            assert rows.dtype == values.dtype and np.array_equal(rows, values[mask])


def shifted_residual_reference(fitted, target, valid):
    """_shifted_residual written plainly: the colours at their pixels, the edge repeated by np.pad, the nearest of the
    9 neighbours by squared distance (channels summed in the matcher's order, so float32 gives the same bits)."""
    predicted = np.full(target.shape, np.inf, np.float32)
    predicted[valid] = fitted
    padded = np.pad(predicted, ((1, 1), (1, 1), (0, 0)), mode="edge")
    height, width = valid.shape
    differences = [(padded[dy:dy + height, dx:dx + width] - target) ** 2 for dy in range(3) for dx in range(3)]
    nearest = np.sqrt(np.min([d[..., 0] + d[..., 1] + d[..., 2] for d in differences], axis=0))
    return np.where(valid & np.isfinite(nearest), nearest, 0.0).astype(np.float32)


def test_shifted_residual_gives_bit_for_bit_what_the_plain_formula_gives():
    rng = np.random.default_rng(28)
    side = matcher.COLOUR_SIDE
    target = rng.random((side, side, 3)).astype(np.float32)
    for share in (0.0, 0.5, 1.0):
        valid = rng.random((side, side)) < share
        valid[: side // 4] = False  # (a warped picture's edge: whole rows invalid)
        fitted = rng.random((int(valid.sum()), 3))
        assert np.array_equal(matcher._shifted_residual(fitted, target, valid),
                              shifted_residual_reference(fitted, target, valid))


def test_the_mutual_nearest_of_equally_near_queries_is_the_first_of_its_set():
    """_mutual_nearest computes the asked train descriptors' distances to each set of queries again: of queries
    equally near a train descriptor the first of each set (upright, mirrored) is its nearest, as the table's column
    gave it; a query nearer still in the other set does not count."""
    rng = np.random.default_rng(30)
    train = rng.integers(0, 256, (6, 32), dtype=np.uint8)
    flip = np.zeros(32, np.uint8)
    flip[0] = 0b111  # three bits off its train descriptor: no ratio test passes against the near copies below
    near = train[0] ^ flip
    query = np.stack([train[1], near, near, train[0] ^ flip << 1, near, train[0]])  # upright: the first three
    train = np.vstack([train, near ^ np.roll(flip, 5)])  # (a rival as near to the near copies: their ratio test fails)
    distances = matcher._hamming_distances(query, train)
    distance, nearest, passed = matcher._nearest_train(distances)
    mutual = matcher._mutual_nearest(query, train, distance, nearest, passed, 3)
    for start, end in ((0, 3), (3, 6)):
        for q in range(start, end):
            column = distances[start:end, nearest[q]]
            expected = not passed[q] and distance[q] <= matcher.MUTUAL_DISTANCE and column.argmin() == q - start
            assert mutual[q] == expected
    assert mutual.tolist() == [False, True, False, False, False, False]  # (the last passes the ratio test)
