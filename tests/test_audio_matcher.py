"""Audio matching on synthesised audio: offsets, segments, the low-information guard, voiceover, speed."""
import dataclasses
import pickle

import numpy as np
import pytest
from scipy.signal import resample_poly

from medialayer.matchers import audio, get_matcher
from medialayer.matchers.audio import FRAME_SECONDS, MATCHER, PEAKS_PER_SECOND, fingerprint_samples
from medialayer.matchers.audio_triplets import MAX_LOG2_SCALE, MAX_SHIFT, SCALE_BIN, Triplets, edit_cells, hash_join
from medialayer.synthetic import audio as synth

SR = 44100


def fp(samples):
    """Fingerprint 44.1 kHz samples (resampled here to the matcher's 8 kHz, as the decoder would)."""
    return fingerprint_samples(resample_poly(samples, 80, 441).astype(np.float32))


@pytest.fixture(scope="module")
def song():
    return synth.melody(60, seed=3, tempo_bpm=150)


@pytest.fixture(scope="module")
def song_fp(song):
    return fp(song)


def test_registered_for_audio():
    assert get_matcher("audio") is MATCHER


def test_excerpt_at_unknown_offset_is_located(song, song_fp):
    start, length = 23.4, 9.0
    result = MATCHER.compare(song_fp, fp(song[int(start * SR):int((start + length) * SR)]))
    assert result.match and result.confidence == "high" and result.similarity_score > 0.9
    (segment,) = result.segments
    assert abs(segment.source_start - start) < 0.5 and abs(segment.source_end - (start + length)) < 0.5
    assert abs(segment.target_start) < 0.5 and abs(segment.target_end - length) < 0.5
    assert result.speed_ratio == pytest.approx(1.0, abs=0.005)


def test_two_pieces_of_one_song_in_another_file_give_two_segments(song, song_fp):
    filler = synth.melody(8, seed=99, tempo_bpm=100)
    target = np.concatenate([song[5 * SR:15 * SR], filler, song[40 * SR:52 * SR]])
    result = MATCHER.compare(song_fp, fp(target))
    assert result.match
    assert len(result.segments) == 2
    first, second = result.segments
    for segment, (source_start, target_start, length) in zip((first, second), ((5, 0, 10), (40, 18, 12))):
        assert abs(segment.source_start - source_start) < 0.5
        assert abs(segment.source_end - (source_start + length)) < 0.5
        assert abs(segment.target_start - target_start) < 0.5
        assert abs(segment.target_end - (target_start + length)) < 0.5


def test_different_songs_do_not_match(song_fp):
    for seed in (4, 5, 6):
        result = MATCHER.compare(song_fp, fp(synth.melody(60, seed=seed, tempo_bpm=150)))
        assert not result.match and not result.segments
        assert result.confidence in ("high", "medium")


@pytest.mark.parametrize("factor", [1.0, 1.08])
def test_either_order_gives_one_answer(song, song_fp, factor):
    """An excerpt, as it is and sped up: compare(a, b) and compare(b, a) give the same decision, score and
    confidence, the segments mirrored and the speed ratio inverted."""
    copy = fp(resample_poly(song[10 * SR:30 * SR], 1000, int(round(1000 * factor))))
    forward, backward = MATCHER.compare(song_fp, copy), MATCHER.compare(copy, song_fp)
    assert forward.match
    assert (backward.match, backward.similarity_score, backward.confidence) == (
        forward.match, forward.similarity_score, forward.confidence)
    assert backward.segments == forward.swapped().segments
    assert backward.speed_ratio == pytest.approx(1 / forward.speed_ratio, rel=1e-3)


def test_both_orders_from_one_judgement_are_the_two_compares(song, song_fp):
    """compare_both_orders(a, b) is (compare(a, b), compare(b, a)) field for field: an excerpt sped up, either way
    round, a different song, silence, and a fingerprint against itself (no order to judge in)."""
    copy = fp(resample_poly(song[10 * SR:30 * SR], 1000, 1080))
    silence = fp(synth.silence(20))
    for a, b in [(song_fp, copy), (copy, song_fp), (song_fp, fp(synth.melody(60, seed=4, tempo_bpm=150))),
                 (silence, song_fp), (song_fp, song_fp)]:
        both = MATCHER.compare_both_orders(a, b)
        assert both == (MATCHER.compare(a, b), MATCHER.compare(b, a)), both
    assert MATCHER.compare_both_orders(song_fp, copy)[0].match


@pytest.mark.parametrize("name, samples, reason", [
    ("silence", synth.silence(20), "silence"),
    ("tone", synth.tone(1000, 20), "steady tone"),
    ("chord", synth.chord([262, 330, 392], 20), "steady tone"),
    ("hiss", synth.noise(20, seed=1, amplitude=0.003), "stationary noise"),
    ("pink noise", synth.noise(20, seed=2, color="pink"), "stationary noise"),
])
def test_low_information_audio_never_matches_even_itself(name, samples, reason):
    fingerprint = fp(samples)
    assert fingerprint.low_information.startswith(reason)
    result = MATCHER.compare(fingerprint, fp(samples * 0.8))
    assert not result.match and result.confidence == "low" and not result.segments


def test_low_information_against_music_never_matches(song_fp):
    for samples in (synth.silence(20), synth.tone(440, 20)):
        assert not MATCHER.compare(song_fp, fp(samples)).match


@pytest.mark.parametrize("snr_db", [10, 5, 0, -5])
def test_music_under_a_voiceover_still_matches(song, song_fp, snr_db):
    start = 17.0
    music = song[int(start * SR):int((start + 12) * SR)]
    result = MATCHER.compare(song_fp, fp(synth.mix(music, synth.speech_like(12, seed=8), snr_db)))
    assert result.match
    segment = max(result.segments, key=lambda s: s.source_end - s.source_start)
    assert abs(segment.source_start - start) < 1.5 and abs(segment.target_start) < 1.5


def test_energy_bits_alone_locate_music_under_a_louder_voice(song, song_fp):
    """The energy-bit path on its own (no landmarks): 5 s of music under a voice 5 dB louder than it."""
    start = 17.0
    music = song[int(start * SR):int((start + 5) * SR)]
    mixed = fp(synth.mix(music, synth.speech_like(5, seed=8), -5))
    found = audio._energy_only(song_fp, mixed, audio._energy_agreement(song_fp, mixed))
    assert found.significance >= audio.MATCH_SIGNIFICANCE
    assert abs(found.segment.source_start - start) < 0.5 and abs(found.segment.target_start) < 0.5
    assert abs(found.segment.source_end - (start + 5)) < 0.5


def test_shared_silences_and_lined_up_beats_are_no_evidence():
    """Two different songs at one tempo, beats lined up, with silent gaps at the same places: neither the
    silent frames nor the beat-aligned lags (which landmarks and energy bits both favour) make a match."""
    def with_gaps(seed):
        music = synth.melody(30, seed=seed, tempo_bpm=150)
        return np.concatenate([music[:10 * SR], synth.silence(10), music[10 * SR:20 * SR], synth.silence(10),
                               music[20 * SR:]])
    a, b = fp(with_gaps(4)), fp(with_gaps(5))
    assert not MATCHER.compare(a, b).match
    found = audio._energy_only(a, b, audio._energy_agreement(a, b))
    assert found is None or found.significance < audio.MATCH_SIGNIFICANCE / 2


@pytest.mark.parametrize("factor", [1.02, 1 / 1.02])
def test_speed_change_of_two_percent_matches_with_the_slope(song, song_fp, factor):
    excerpt = song[10 * SR:40 * SR]
    changed = resample_poly(excerpt, 1000, int(round(1000 * factor)))  # played back `factor` times faster
    result = MATCHER.compare(song_fp, fp(changed))
    assert result.match
    segment = max(result.segments, key=lambda s: s.source_end - s.source_start)
    assert abs(segment.source_start - 10) < 1.0 and abs(segment.source_end - 40) < 1.0
    assert abs(segment.target_end - 30 / factor) < 1.0
    assert result.speed_ratio == pytest.approx(factor, rel=0.005)


def test_fingerprint_is_compact_and_picklable(song_fp):
    data = pickle.dumps(song_fp)
    # one minute of audio: the per-second quota bounds the peaks, 8 bytes each (frame, log-frequency, rank, whether
    # it stands); 4 bytes of energy bits and an activity flag per frame; plus a little overhead
    assert len(data) < PEAKS_PER_SECOND * 60 * 8 + 60 / FRAME_SECONDS * 5 + 1024
    again = pickle.loads(data)
    assert MATCHER.compare(song_fp, again).match


def _assert_mapped(result, source_start, source_end, target_end):
    """One matched segment maps the source stretch onto the whole target through the edit's time ratio, and
    the record's speed ratio is that ratio (target speed / source speed) within 1%; no alignment is listed twice."""
    assert result.match
    for i, x in enumerate(result.segments):
        assert not any(audio._same_alignment(x, y) for y in result.segments[i + 1:]), result.segments
    segment = max(result.segments, key=lambda s: s.source_end - s.source_start)
    assert abs(segment.source_start - source_start) < 0.5 and abs(segment.source_end - source_end) < 0.5
    assert abs(segment.target_start) < 0.5 and abs(segment.target_end - target_end) < 0.5
    assert result.speed_ratio == pytest.approx((source_end - source_start) / target_end, rel=0.01)


@pytest.mark.parametrize("factor", [0.72, 0.91, 1.08, 1.29])
def test_sped_up_or_slowed_down_music_matches_through_the_ratio(song, song_fp, factor):
    """Resampled: tempo and pitch move together, by up to 30%."""
    changed = resample_poly(song[10 * SR:40 * SR], 1000, int(round(1000 * factor)))  # plays `factor` times faster
    _assert_mapped(MATCHER.compare(song_fp, fp(changed)), 10, 40, 30 / factor)


@pytest.mark.parametrize("factor", [0.86, 1.14])
def test_music_at_another_tempo_with_its_pitch_matches(song_fp, factor):
    """The same score played `factor` times faster, every note at its pitch (a time-stretch)."""
    faster = synth.melody(60 / factor, seed=3, tempo_bpm=150 * factor)
    result = MATCHER.compare(song_fp, fp(faster[int(10 / factor * SR):int(40 / factor * SR)]))
    _assert_mapped(result, 10, 40, 30 / factor)


@pytest.mark.parametrize("semitones", [-3, 2])
def test_pitch_shifted_music_at_its_tempo_matches(song_fp, semitones):
    shifted = synth.melody(60, seed=3, tempo_bpm=150, transpose=semitones)
    _assert_mapped(MATCHER.compare(song_fp, fp(shifted[10 * SR:40 * SR])), 10, 40, 30)


def test_different_music_at_the_same_tempo_does_not_match_sped_up_or_pitched(song_fp):
    for other in (resample_poly(synth.melody(40, seed=7, tempo_bpm=150), 100, 117),
                  synth.melody(40, seed=7, tempo_bpm=150, transpose=2),
                  synth.melody(40, seed=7, tempo_bpm=150 * 1.1)):
        result = MATCHER.compare(song_fp, fp(other))
        assert not result.match and not result.segments


@pytest.mark.parametrize("edit", ["speed 0.83", "pitch -3"])
def test_sped_up_or_pitched_music_under_a_louder_voice_matches(song, song_fp, edit):
    """12 s of the song, slowed down (resampled) or pitch-shifted, under a voice 3 dB louder than the music:
    too few triplets survive to match on their own, but the edit they point to lines the landmark pairs up."""
    kind, value = edit.split()
    if kind == "speed":
        music, ratio = resample_poly(song[20 * SR:32 * SR], 1000, int(round(1000 * float(value)))), float(value)
    else:
        music, ratio = synth.melody(60, seed=3, tempo_bpm=150, transpose=int(value))[20 * SR:32 * SR], 1.0
    result = MATCHER.compare(song_fp, fp(synth.mix(music, synth.speech_like(len(music) / SR, seed=8), -3)))
    assert result.match and result.speed_ratio == pytest.approx(ratio, rel=0.01)
    for segment in result.segments:  # on the true alignment (the voice may leave gaps between segments)
        assert abs(segment.source_start - (20 + segment.target_start * ratio)) < 0.5


@pytest.mark.parametrize("factor", [0.87, 1.06])
def test_sped_up_music_under_a_louder_voice_is_mapped_end_to_end(song, song_fp, factor):
    """15 s of the song resampled under a voice 3 dB louder: few triplets line up, so the edit's time scale must
    come from the line they fit (or from the pitch shift it implies), not the edge of a range of equally voted
    scales, for the landmark pairs to align over the whole excerpt."""
    music = resample_poly(song[20 * SR:35 * SR], 1000, int(round(1000 * factor)))
    mixed = synth.mix(music, synth.speech_like(len(music) / SR, seed=8), -3)
    _assert_mapped(MATCHER.compare(song_fp, fp(mixed)), 20, 35, len(music) / SR)


@pytest.mark.parametrize("factor, snr_db", [(1.17, -5), (0.83, -7)])
def test_an_edit_no_triplet_cell_finds_under_a_louder_voice_is_found_by_sweeping_the_landmark_pairs(
        song, song_fp, factor, snr_db, monkeypatch):
    """15 s of the song resampled (sped up 17% or slowed down 17%) under a voice 5-7 dB louder than the music:
    none of the triplets' cells nor the energy bits find the edit, but the landmark pairs swept over a lattice of
    edits align at it, over the whole excerpt; without the sweep the pair does not match. Another tune through
    the same edit under the same voice does not match."""
    def edited(music):
        return resample_poly(music[20 * SR:35 * SR], 1000, int(round(1000 * factor)))
    music = edited(song)
    voice = synth.speech_like(len(music) / SR, seed=8)
    mixed = fp(synth.mix(music, voice, snr_db))
    result = MATCHER.compare(song_fp, mixed)
    _assert_mapped(result, 20, 35, len(music) / SR)
    other = fp(synth.mix(edited(synth.melody(60, seed=4, tempo_bpm=150)), voice, snr_db))
    assert not MATCHER.compare(song_fp, other).match
    monkeypatch.setattr(audio, "_swept", lambda landmarks_a, a, b: [])
    assert not MATCHER.compare(song_fp, mixed).match


def test_the_sweep_of_the_landmark_pairs_is_for_excerpts_and_tries_speed_tempo_and_pitch_edits(song, song_fp,
                                                                                            monkeypatch):
    """The sweep makes B's landmark pairs under speed changes, tempo changes and pitch shifts on their lattices,
    never the nominal edit, aligns only SWEEP_ALIGNED of them, and runs only when one file is an excerpt of at
    most TEMPO_SWEEP_SECONDS."""
    edits, aligned = [], []
    landmark_sets, align_pairs = audio._landmark_sets, audio._align_pairs
    monkeypatch.setattr(audio, "_landmark_sets", lambda fp, tried: edits.extend(tried) or landmark_sets(fp, tried))
    monkeypatch.setattr(audio, "_align_pairs", lambda *args, **kwargs: aligned.append(args[-1])
                        or align_pairs(*args, **kwargs))
    excerpt = fp(synth.mix(song[20 * SR:35 * SR], synth.speech_like(15, seed=8), -20))
    landmarks_a = audio._sorted(audio._landmarks(song_fp, 1.0))
    edits.clear()
    audio._swept(landmarks_a, song_fp, excerpt)
    lattice = edits[:-audio.SWEEP_ALIGNED]  # made at once, then each aligned edit's landmarks made again
    assert (1.0, 0.0) not in lattice and (1.0, None) not in lattice and len(set(lattice)) == len(lattice)
    assert any(shift is None and speed == pytest.approx(2 ** audio.SWEEP_LOG2_SPEED, rel=0.03)
               for speed, shift in lattice)
    assert any(shift == 0.0 and speed == pytest.approx(2 ** -audio.TEMPO_LOG2_REACH, rel=0.03)
               for speed, shift in lattice)
    assert any(speed == 1.0 and shift == -audio.SWEEP_SHIFT for speed, shift in lattice)
    assert set(edits[-audio.SWEEP_ALIGNED:]) <= set(lattice) and len(aligned) == audio.SWEEP_ALIGNED
    swept = []
    monkeypatch.setattr(audio, "_swept", lambda landmarks_a, a, b: swept.append(1) or [])
    other = fp(synth.melody(20, seed=4, tempo_bpm=150))
    assert not MATCHER.compare(song_fp, other).match and swept  # an excerpt of unrelated music: swept
    swept.clear()
    longer = [dataclasses.replace(f, duration=audio.TEMPO_SWEEP_SECONDS + 1) for f in (song_fp, other)]
    assert not MATCHER.compare(*longer).match and not swept


def test_the_sweeps_landmarks_made_at_once_are_each_edits_own_and_crowd_as_joined_one_by_one(song, song_fp,
                                                                                             monkeypatch):
    """The sweep makes its edits' landmark pairs in one go and joins them with A's in one go: each edit's
    landmarks are bit for bit (values, dtypes and order) those made for it alone, and its crowding is the densest
    9 frames of its own joined pairs' offsets, however many edits are joined at once."""
    excerpt = fp(synth.mix(song[20 * SR:35 * SR], synth.speech_like(15, seed=8), -5))
    edits = [(1.13, None), (0.87, None), (1.07, 0.0), (1.0, -4.0), (1.0, 3.0), (0.95, 2.5)]
    edit, *together = audio._landmark_sets(excerpt, edits)
    for i, (speed, shift) in enumerate(edits):
        alone = audio._landmarks(excerpt, speed, shift)
        assert all(x.dtype == y.dtype and np.array_equal(x, y[edit == i]) for x, y in zip(alone, together))
    landmarks_a = audio._sorted(audio._landmarks(song_fp, 1.0))
    expected = []
    for speed, shift in edits:
        anchor_a, _, anchor_b = audio._joined_pairs(landmarks_a, audio._sorted(audio._landmarks(excerpt, speed, shift)))
        offsets = np.rint(anchor_b - anchor_a).astype(np.int64)
        expected.append(max(np.sum(np.abs(offsets - (end - 4)) <= 4) for end in offsets) if len(offsets) else 0)
    assert list(audio._crowding(landmarks_a, excerpt, edits)) == expected and max(expected) > 0
    monkeypatch.setattr(audio, "SWEEP_JOINED_LANDMARKS", 4 * len(landmarks_a[0]))  # a long A: 4 edits at a time
    assert list(audio._crowding(landmarks_a, excerpt, edits)) == expected


def test_only_triplet_cells_that_stand_out_are_examined():
    """Hits spread evenly over the (pitch shift, time scale) cells, as between unrelated recordings, leave no
    cell to examine (the costly alignments are skipped); hits of one edit gathered in one cell make it the one."""
    rng = np.random.default_rng(0)
    spread, edit = 20000, 600

    def hits_at(shifts, scales):
        n = len(shifts)
        zeros = np.zeros(n, np.float32)
        a = Triplets(np.zeros(n, np.uint16), zeros, zeros + 10, zeros)
        b = Triplets(a.hashes, zeros, (10 * scales).astype(np.float32), shifts.astype(np.float32))
        return a, b, np.arange(n), np.arange(n)

    even = (rng.uniform(-MAX_SHIFT, MAX_SHIFT, spread), 2 ** rng.uniform(-MAX_LOG2_SCALE, MAX_LOG2_SCALE, spread))
    cells, _ = edit_cells(*hits_at(*even), 3)
    assert cells == []
    with_edit = (np.concatenate([even[0], np.full(edit, 5.0)]), np.concatenate([even[1], np.full(edit, 1.1)]))
    cells, _ = edit_cells(*hits_at(*with_edit), 3)
    assert len(cells) == 1
    shift, scale, mask = cells[0]
    assert abs(shift - 5) <= 1 and abs(np.log2(scale / 1.1)) <= SCALE_BIN and mask[-edit:].all()


def test_hash_join_finds_every_shared_hash_but_overly_repeated_ones():
    rng = np.random.default_rng(1)
    for size_a, size_b, values in ((0, 5, 9), (40, 0, 9), (300, 200, 40), (300, 200, 2000)):
        hashes_a, hashes_b = np.sort(rng.integers(0, values, size_a)), rng.integers(0, values, size_b)
        rows_a, rows_b = hash_join(hashes_a, hashes_b, 6)
        expected = {(i, j) for i, h in enumerate(hashes_a) for j, g in enumerate(hashes_b)
                    if h == g and np.count_nonzero(hashes_a == h) <= 6}
        assert set(zip(rows_a.tolist(), rows_b.tolist())) == expected and len(rows_a) == len(expected)


def test_densest_window_of_offsets():
    """Per row, the most offsets within 9 consecutive values and the centre of the first such window, as a
    window slid over every position from the row's least offset finds them."""
    rng = np.random.default_rng(2)
    for spread in (10, 60, 3000):
        offsets = rng.integers(-spread, spread, (5, 200))
        offsets[1, :80] = 7  # a pile at one offset
        votes, centres = audio._densest(offsets)
        for row, v, centre in zip(offsets, votes, centres):
            counts = [np.count_nonzero(np.abs(row - c) <= 4) for c in range(row.min(), row.max() + 1)]
            assert v == max(counts) and centre == row.min() + int(np.argmax(counts))


@pytest.mark.parametrize("edit", ["tempo 1.07", "pitch -2"])
def test_energy_bits_under_a_roughly_found_edit_locate_edited_music_under_a_louder_voice(song_fp, edit):
    """12 s of the song played faster with its pitch kept, or pitch-shifted, under a voice 5 dB louder than the
    music, given an edit a triplet cell might propose: its time scale 2.5% off and its offset far off. The energy
    bits, tried at time scales around it and bands moved by its pitch shift, find the true edit and alignment;
    a different song at that tempo and pitch finds nothing."""
    kind, value = edit.split()
    factor, semitones = (float(value), 0) if kind == "tempo" else (1.0, int(value))
    start = 20.0

    def excerpt(seed):
        music = synth.melody(60 / factor, seed=seed, tempo_bpm=150 * factor, transpose=semitones)
        return music[int(start / factor * SR):int((start + 12) / factor * SR)]
    music = excerpt(3)
    mixed = fp(synth.mix(music, synth.speech_like(len(music) / SR, seed=8), -5))
    proposed = [(factor * 1.025, 3.0 * semitones, -500.0)]  # speed, shift in log-frequency steps, offset
    found = audio._energy_under_edits(song_fp, mixed, proposed)
    assert found and found[0].significance >= audio.MATCH_SIGNIFICANCE
    assert found[0].speed_ratio == pytest.approx(factor, rel=0.005)
    segment = found[0].segment
    assert abs(segment.source_start - start) < 0.5 and abs(segment.target_start) < 0.5
    assert abs(segment.source_end - (start + 12)) < 0.5 and abs(segment.target_end - 12 / factor) < 0.5
    other = fp(synth.mix(excerpt(7), synth.speech_like(len(music) / SR, seed=8), -5))
    assert all(f.significance < audio.MATCH_SIGNIFICANCE / 2 for f in audio._energy_under_edits(song_fp, other,
                                                                                                  proposed))


def test_line_fit_and_slots_as_numpy_computes_them():
    rng = np.random.default_rng(0)
    anchor_a = np.sort(rng.uniform(0, 9000, 500)).astype(np.float32)
    anchor_b = (anchor_a * 1.2 + 40 + rng.normal(0, 2, 500)).astype(np.float32)
    rows = np.arange(0, 500, 3)
    slope, intercept = audio._line(rows, anchor_a, anchor_b, 1.25)
    assert (slope, intercept) == pytest.approx(tuple(np.polyfit(anchor_a[rows], anchor_b[rows] / 1.25, 1)), rel=1e-9)
    assert np.array_equal(audio._slots(anchor_a), (anchor_a // audio.SLOT_FRAMES).astype(np.int64))


@pytest.mark.parametrize("edit", ["speed 0.77", "speed 1.31", "tempo 1.12", "pitch -3"])
def test_a_copy_through_a_speed_tempo_or_pitch_edit_keeps_triplet_pair_keys(song, song_fp, edit):
    """30 s of the song, resampled (tempo and pitch together), played at another tempo with its pitch, or
    transposed: each shares enough triplet pair keys with its source to become a catalog candidate, where a
    resampled copy keeps almost none of the landmark pair keys (real music: docs/benchmarks.md, "Catalog
    dedupe")."""
    kind, value = edit.split()
    factor = float(value)
    if kind == "speed":
        copy = resample_poly(song[10 * SR:40 * SR], 100, int(round(100 * factor)))
    elif kind == "tempo":
        copy = synth.melody(60 / factor, seed=3, tempo_bpm=150 * factor)[int(10 / factor * SR):int(40 / factor * SR)]
    else:
        copy = synth.melody(60, seed=3, tempo_bpm=150, transpose=int(factor))[10 * SR:40 * SR]
    copy_fp = fp(copy)
    shared = set(audio._triplet_pair_keys(song_fp).tolist()) & set(audio._triplet_pair_keys(copy_fp).tolist())
    assert len(shared) >= MATCHER.min_shared_keys
    assert shared <= set(MATCHER.index_keys(song_fp)) & set(MATCHER.index_keys(copy_fp))


def of_all_peaks(keys) -> set:
    """The triplet pair keys made of all the peaks (number 0), not within a band."""
    return {key for key in keys.tolist() if key >> 32 == audio.TRIPLET_KEY_RANGE >> 32}


def test_triplet_pair_keys_survive_an_exact_change_of_clock_and_pitch(song_fp):
    """The song's peaks 25% slower and 4 semitones higher, moved exactly: most triplet pair keys of all the
    peaks stay (the others have a timing rounded across a level of their time ratio), the landmark pair keys
    are lost."""
    moved = dataclasses.replace(song_fp, frames=np.rint(song_fp.frames * 1.25).astype(np.uint32),
                                log_freqs=(song_fp.log_freqs + 12 * audio.FREQ_SCALE).astype(np.uint16))
    kept = of_all_peaks(audio._triplet_pair_keys(moved))
    assert len(kept & of_all_peaks(audio._triplet_pair_keys(song_fp))) > 0.5 * len(kept)
    landmarks = set(audio._landmark_pair_keys(moved).tolist())
    assert len(landmarks & set(audio._landmark_pair_keys(song_fp).tolist())) <= 0.05 * len(landmarks)


@pytest.fixture(scope="module")
def other_tunes_keys():
    return [set(MATCHER.index_keys(fp(synth.melody(60, seed=seed)))) for seed in (1, 2, 4, 5, 6, 9)]


@pytest.mark.parametrize("start, snr_db, voice_seed", [(17, 0, 8), (30, 0, 2), (40, -5, 8)])
def test_music_under_a_voice_shares_more_keys_with_its_source_than_other_tunes_do(song, song_fp, other_tunes_keys,
                                                                                   start, snr_db, voice_seed):
    """5 s of the song under a voice as loud as it or 5 dB louder shares at least min_shared_keys index keys
    with the song, and more than with any of six unrelated tunes, so the catalog's candidates rank the song
    first. (The generated tunes share one style, so unrelated ones share a few keys by chance too; the
    specificity on real music is measured in docs/benchmarks.md, "Catalog dedupe".)"""
    music = song[start * SR:(start + 5) * SR]
    clip = set(MATCHER.index_keys(fp(synth.mix(music, synth.speech_like(5, seed=voice_seed), snr_db))))
    shared = len(clip & set(MATCHER.index_keys(song_fp)))
    assert shared >= MATCHER.min_shared_keys
    assert shared > max(len(clip & other) for other in other_tunes_keys)


def test_a_landmark_pair_key_survives_a_foreign_peak_slipped_in_between():
    """An anchor and three later peaks in one band give keys of each of its landmarks with the next two; a
    voice's peak slipped in between the first two targets keeps the key of those two, no longer side by side;
    a peak in another band changes none of the band's keys."""
    def keys(*peaks):
        frames, steps = zip(*sorted(peaks))
        peaks = audio.AudioFingerprint(np.array(frames, np.uint32), (np.array(steps) * audio.FREQ_SCALE).astype(np.uint16),
                                       np.zeros(len(frames), np.uint8), np.zeros(len(frames), bool),
                                       np.zeros(0, np.uint32), np.zeros(0, bool), 1.0, None)
        return set(audio._landmark_pair_keys(peaks).tolist())

    def landmark(anchor, target):  # the hash of _landmarks: (f1, f2 - f1, t2 - t1)
        return (anchor[1] << 12) | ((target[1] - anchor[1] + 64) << 5) | (target[0] - anchor[0])
    music = [(10, 70), (13, 72), (16, 75), (19, 73)]  # (frame, log-frequency step): 384-423 Hz, one key band
    source = keys(*music)
    first_two = (landmark(music[0], music[1]) << 20) | landmark(music[0], music[2])
    assert first_two in source
    assert first_two in keys(*music, (14, 74))
    assert keys(*music, (14, 50)) == source  # 283 Hz, in the band below


def test_triplet_pair_keys_within_a_band_ignore_a_voice_in_another_band():
    """Music's peaks in one key band (755-1693 Hz) and a voice's, denser, in 150-337 Hz, too
    far below to join a triplet with them: the voice's peaks fill the triplets' lookahead and change the keys
    of all the peaks; the band's own keys are those of the music alone."""
    rng = np.random.default_rng(5)
    music = [(frame, int(step)) for frame, step in zip(range(0, 600, 5), rng.integers(156, 188, 120))]
    voice = [(frame, int(step)) for frame, step in zip(range(1, 600, 2), rng.integers(68, 108, 300))]

    def keys(peaks):
        frames, steps = zip(*sorted(peaks))
        fp = audio.AudioFingerprint(np.array(frames, np.uint32), (np.array(steps) * audio.FREQ_SCALE).astype(np.uint16),
                                    np.zeros(len(frames), np.uint8), np.zeros(len(frames), bool),
                                    np.zeros(0, np.uint32), np.zeros(0, bool), 20.0, None)
        return set(audio._triplet_pair_keys(fp).tolist())
    alone, under_voice = keys(music), keys(music + voice)
    in_music_band = {key for key in alone if key >> 32 == (audio.TRIPLET_KEY_RANGE >> 32) | 3}
    assert in_music_band and in_music_band <= under_voice
    assert not of_all_peaks(np.array(sorted(alone))) <= under_voice


def test_energy_bits_at_the_edits_a_cells_pitch_shift_implies_find_music_whose_cell_scale_is_far_off(song_fp):
    """12 s of the song pitch-shifted 2 semitones down (tempo kept) under a voice 5 dB louder, given a cell that
    has the shift right (as under a voice it mostly does) but the time scale 10% off, beyond the energy bits'
    reach around it. Read as a pitch shift with the tempo kept (or a speed change), the shift alone puts the
    bits on the true edit; the cell alone does not. A different song finds nothing either way."""
    start = 20.0

    def excerpt(seed):
        return synth.melody(60, seed=seed, tempo_bpm=150, transpose=-2)[int(start * SR):int((start + 12) * SR)]
    voice = synth.speech_like(12, seed=8)
    mixed = fp(synth.mix(excerpt(3), voice, -5))
    proposed = [(1.10, -6.0, -500.0)]  # speed, shift in log-frequency steps, offset
    implied = [(2.0 ** (-6.0 / audio.LOG_STEPS_PER_OCTAVE), None), (1.0, -6.0)]  # as _invariant reads the shift
    assert all(f.significance < audio.MATCH_SIGNIFICANCE for f in audio._energy_under_edits(song_fp, mixed, proposed))
    found = audio._energy_under_edits(song_fp, mixed, proposed, implied)
    assert found and found[0].significance >= audio.MATCH_SIGNIFICANCE
    assert found[0].speed_ratio == pytest.approx(1.0, abs=0.005)
    segment = found[0].segment
    assert abs(segment.source_start - start) < 0.5 and abs(segment.target_start) < 0.5
    assert abs(segment.source_end - (start + 12)) < 0.5 and abs(segment.target_end - 12) < 0.5
    other = fp(synth.mix(excerpt(7), voice, -5))
    assert all(f.significance < audio.MATCH_SIGNIFICANCE / 2
               for f in audio._energy_under_edits(song_fp, other, proposed, implied))


def test_a_cells_pitch_shift_implies_a_speed_change_and_a_pitch_shift_whatever_its_time_scale(song, song_fp):
    """Every cell with a pitch shift proposes, for the energy bits, the speed change that shift means and the
    pitch shift with the tempo kept."""
    shifted = synth.melody(60, seed=3, tempo_bpm=150, transpose=-2)[20 * SR:32 * SR]
    _, _, implied = audio._invariant(song_fp, fp(shifted))
    assert any(speed == 1.0 and shift == pytest.approx(-6.0, abs=0.5) for speed, shift in implied)
    assert any(shift is None and speed == pytest.approx(2 ** (-2 / 12), rel=0.01) for speed, shift in implied)


@pytest.mark.parametrize("factor", [1.08, 1.15])
def test_a_tempo_change_under_a_louder_voice_is_found_by_the_coarse_sweep_of_the_energy_bits(song_fp, factor,
                                                                                          monkeypatch):
    """12 s of the song played faster with its pitch kept, under a voice 5 dB louder than the music: no triplet
    cell's pitch shift implies a tempo change, and here no cell's time scale is near it. The coarse sweep of the
    energy bits proposes the tempo, and the full bits then match at the right offset and speed; without the
    sweep (and the landmark pairs' own) the pair does not match. Unrelated tunes at that tempo under the same voice get no proposal and no
    match. Two files longer than TEMPO_SWEEP_SECONDS are not swept."""
    start = 20.0

    def excerpt(seed):
        music = synth.melody(60 / factor, seed=seed, tempo_bpm=150 * factor)
        return music[int(start / factor * SR):int((start + 12) / factor * SR)]
    voice = synth.speech_like(12 / factor, seed=8)
    mixed = fp(synth.mix(excerpt(3), voice, -5))
    (proposed, shift), = audio._tempo_proposals(song_fp, mixed)
    assert abs(np.log2(proposed / factor)) <= audio.COARSE_SCALE_STEP and shift == 0.0
    result = MATCHER.compare(song_fp, mixed)
    assert result.match and result.speed_ratio == pytest.approx(factor, rel=0.005)
    (segment,) = result.segments
    assert abs(segment.source_start - start) < 0.5 and abs(segment.target_start) < 0.5
    assert abs(segment.source_end - (start + 12)) < 0.5 and abs(segment.target_end - 12 / factor) < 0.5
    for seed in (4, 7):
        other = fp(synth.mix(excerpt(seed), voice, -5))
        assert audio._tempo_proposals(song_fp, other) == [] and not MATCHER.compare(song_fp, other).match
    longer = dataclasses.replace(song_fp, duration=audio.TEMPO_SWEEP_SECONDS + 1)  # the sweep is for excerpts
    assert audio._tempo_proposals(longer, dataclasses.replace(mixed, duration=audio.TEMPO_SWEEP_SECONDS + 1)) == []
    monkeypatch.setattr(audio, "_tempo_proposals", lambda a, b: [])
    monkeypatch.setattr(audio, "_swept", lambda landmarks_a, a, b: [])  # which finds it too (round audio21)
    assert not MATCHER.compare(song_fp, mixed).match


def test_noise_peaks_do_not_stand_and_music_peaks_do():
    """A peak stands STANDING_DB above its frequency's level: stationary noise hardly ever makes one, a tune
    mostly does."""
    assert np.mean(fp(synth.noise(20, seed=2, color="pink")).standing) < 0.01
    assert np.mean(fp(synth.melody(20, seed=11, tempo_bpm=120)).standing) > 0.5


def test_two_different_tunes_under_one_noise_recording_do_not_match():
    """One pink noise recording, 5 dB louder than the music, at the same place under two different tunes (at two
    tempos: generated tunes at one tempo and in one key share notes on their beats): their noise peaks line up
    (the nominal landmarks and the energy bits agree there) but noise never matches. Each tune still matches
    its copy under that noise, and a noisy file matches its own copy."""
    noise = synth.noise(20, seed=21, color="pink")
    tunes = [synth.melody(20, seed=seed, tempo_bpm=tempo) for seed, tempo in ((11, 120), (12, 100))]
    noisy = [fp(synth.mix(tune, noise, -5)) for tune in tunes]
    landmarks = audio._sorted(audio._landmarks(noisy[0], 1.0))
    assert audio._top(audio._align(landmarks, noisy[0], noisy[1], 1.0)) >= 2 * audio.MATCH_SIGNIFICANCE
    result = MATCHER.compare(noisy[0], noisy[1])
    assert not result.match and not result.segments
    for tune, noisy_tune in zip(tunes, noisy):
        assert MATCHER.compare(fp(tune), noisy_tune).match
    assert MATCHER.compare(noisy[0], fp(synth.mix(tunes[0], noise, -5) * 0.5)).match


def test_bass_heavy_music_under_loud_pink_noise_is_found_by_its_bass_peaks():
    """Bass-heavy tracks under pink noise 5 dB louder than them: above the bass band the noise takes nearly every
    peak, in it the bass line's stand out. Each track matches its copy, and would not without the bass band's
    peaks; another track under the same noise recording does not match, nor do the two noisy files."""
    noise = synth.noise(20, seed=21, color="pink")
    tracks = [synth.bass_heavy(20, seed=seed, tempo_bpm=tempo) for seed, tempo in ((11, 120), (12, 100))]
    clean = [fp(track) for track in tracks]
    noisy = [fp(synth.mix(track, noise, -5)) for track in tracks]
    for source, copy in zip(clean, noisy):
        assert MATCHER.compare(source, copy).match
        above_bass = [audio._peaks_where(f, f.log_freqs >= audio.BASS_TOP) for f in (source, copy)]
        assert not MATCHER.compare(*above_bass).match
    assert not MATCHER.compare(clean[0], noisy[1]).match and not MATCHER.compare(clean[1], noisy[0]).match
    assert not MATCHER.compare(noisy[0], noisy[1]).match


def test_bass_landmarks_hash_semitones_and_pair_among_themselves():
    """A bass peak moved by a step (noise shifts a low peak's interpolated frequency) keeps its landmark's hash
    when it stays within its semitone; the peaks above the bass band keep the landmarks they had without it."""
    def peaks(rows):
        frames, steps = zip(*rows)
        return audio.AudioFingerprint(np.array(frames, np.uint32),
                                      (np.array(steps, float) * audio.FREQ_SCALE).astype(np.uint16),
                                      np.zeros(len(rows), np.uint8), np.zeros(len(rows), bool),
                                      np.zeros(0, np.uint32), np.zeros(0, bool), 5.0, None)
    bass = [(0, 9.6), (6, 15.5), (12, 21.4)]  # log-frequency steps: 48-60 Hz, in the bass band
    above = [(1, 100.0), (5, 110.0), (9, 104.0)]
    moved = [(frame, step + 0.7) for frame, step in bass]  # across a step, within a semitone
    assert set(audio._landmarks(peaks(bass), 1.0)[0]) == set(audio._landmarks(peaks(moved), 1.0)[0])
    together = audio._landmarks(peaks(sorted(bass + above)), 1.0)
    assert set(together[0]) == set(audio._landmarks(peaks(bass), 1.0)[0]) | set(audio._landmarks(peaks(above), 1.0)[0])
