"""Audio matcher: spectral-peak landmarks (after Wang's Shazam paper, audfprint and Panako) aligned by
time offset, with speed tolerance, matched segments and a score calibrated against the background;
dense band-energy bits (after Haitsma and Kalker's robust hash) for what a loud voice leaves of the music.

Fingerprint: audio at 8 kHz mono -> log-magnitude STFT (128 ms Hann window, 32 ms hop) -> local maxima
of the 50-3800 Hz band, at most PEAKS_PER_SECOND per second ranked by how far each stands above its
frequency's level in the surrounding 30 s, shared out over a bass band (50-150 Hz: where bass-heavy music has
its power, and loud noise or babble, spread over the spectrum or above 100 Hz, leaves its peaks) and four
log-spaced bands above it (so quiet passages keep peaks, EQ does not matter and a loud voice in one band cannot
take every peak).
Each peak is kept as (frame, log-frequency, salience rank, whether it stands STANDING_DB above its frequency's
level, which stationary noise's peaks hardly ever do), 8 bytes. Per frame the same spectrogram also
gives 32 energy bits: whether the level difference of neighbouring bands (33 log-spaced bands of 150-3800 Hz)
rises or falls over 64 ms, 4 bytes plus an activity flag. About 30 KiB per minute of music in all, pickled
(measured in docs/benchmarks.md, "Audio"). The fingerprint also carries a low-information verdict (silence,
steady tone, stationary noise): such audio never matches.

Compare: landmark hashes (f1, delta-f, delta-t) are made from peak pairs with a dense fan-out (each
peak paired with the next 7 peaks within 0.77 s and 2/3 octave of it; the bass band's peaks among themselves,
their frequencies in semitones, as a low peak's is measured coarsely), joined
between the two sides, and the time offsets of the joined pairs voted on. Frequencies are on a
log scale (36 steps per octave), so a speed change (which scales every frequency) only shifts f1; the
compare tries the nominal edit first (hashes tolerate ~+-0.7% of speed), fits a line (offset and slope) to
each strong offset mode, and turns its inliers into segments (gaps under 3 s bridged, runs with too little
evidence dropped, a boundary within 3 s of a file edge, a gap that would have been bridged, extended to it).
A segment's evidence is how many 0.256 s slots of its span hold aligned landmarks, against how often slots
hold pairs at the neighbouring (wrong) offsets: a binomial tail, whose -log10 is the significance.
Under a voice at the music's own level most peaks belong to the voice and few landmarks survive, but
the energy bits still agree more often than chance. Their agreement at every lag at once (an FFT
cross-correlation) is a z-score against all lags. At a lag the landmarks proposed, if it is also the
lag where the bits agree best, it adds its tail probability (the two combined by Fisher's method); the
best lag on its own, paying for the number of lags tried, is a candidate alignment too.
Beyond that, for speed changes, tempo changes with the pitch kept and pitch shifts with the tempo kept, the
pair hashes and the energy bits no longer line up. Unless the nominal landmarks already found an unambiguous
match, triplet hashes of the salient peaks above the bass band (audio_triplets: frequency differences and the
ratio of time differences, unchanged by any of these edits) are joined, their hits voted into (pitch shift, time scale)
cells, and the hits of the best cells that stand out (three times the average cell's hits: between two long
unrelated recordings none does, which spares them the rest) aligned at the time scale that lines most of them
up (the middle of the range of scales that line up equally many, refined by a line fit through those hits),
by the same line fit and chance model as the pairs (the cell's own hits beside the alignment give the chance
level, and the pick of the best of all cells is paid for). A triplet needs three peaks to survive, a pair two: so for
each of those cells (unless its edit is the nominal one) the landmark pairs are made again under the cell's
edit (B's clock scaled, its frequencies shifted back by the median shift of the best-aligned hits; and, as
a speed change moves pitch and tempo together, also at the speed that shift implies, when the cell's time
scale allows it: under a voice few hits line up and their shift is measured more finely than their scale) and
aligned as at the nominal edit, within 3.2 s of the offset those hits agree on, paying for the number of
edits tried; under a voice or noise they find far more evidence than the triplets that pointed to the edit. Segments map source time to target time through the fitted scale, and
its inverse is the speed ratio reported. The energy bits are added last, if nothing is unambiguous by then:
at the nominal edit, and on their own near each cell's edit (B's bits put on A's clock at time scales within
4% of the cell's, its bands moved by the cell's pitch shift), and near the two edits the cell's pitch shift
implies whatever its time scale (a speed change, a pitch shift with the tempo kept): under a voice, noise or
reverb the cells' few hits give the edit only roughly (the shift far more finely than the scale) and their
landmark pairs do not line up, but the bits at the true edit agree. A tempo change keeps the pitch, so no shift
implies it, and under a voice no cell's scale need be near it: the bits propose it themselves, by a coarse sweep
of the time scale (each bit's signs summed over 128 ms blocks, 25 scales 1.4% apart over tempo 0.85-1.18, cheap
beside the full bits; when one file is an excerpt of at most a minute), and where the best scale's agreement
stands out the full bits are tried around it, paying for every edit of the lattice the sweep covered.
When all of that leaves an excerpt (at most a minute) unmatched, its landmark pairs are made again on a lattice
of edits (speed changes 0.72-1.39, tempo changes 0.85-1.18, pitch shifts within 4 semitones; 2.1% or a third of a
semitone apart: the pairs still align 1.4% off the speed, more than half a step off the pitch) and aligned at the
four edits whose joined pairs crowd one offset the most, paying for every edit of the lattice: under a voice or
noise none of a copy's triplets need survive to vote for its edit, while its pairs at that edit align far beyond
the threshold.
Noise never matches, nor does one noise recording laid under two different recordings (the same pink noise at
the same place): when most peaks of both files do not stand, an alignment at the nominal speed whose peaks
coincide beyond chance among the peaks standing on neither side, but whose standing peaks (each side's) coincide
no more than by chance, is left out (_SharedNoise); a copy under noise coincides on its clean side's standing
peaks, a noisy file and its copy on those of the music above the noise.
The score maps the significance so that 0.5 is the decision threshold (significance 12), and confidence
says how far from it we are.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import scipy.fft
from scipy import ndimage, special

from medialayer.limits import Limits
from medialayer.matchers.audio_decode import SAMPLE_RATE, decode_chunks
from medialayer.matchers.audio_triplets import SCALE_BIN, edit_cells, hash_join, hits, triplets
from medialayer.matchers.base import Comparison, Matcher, Segment, comes_first
from medialayer.media import Blob

N_FFT = 1024
HOP = 256
FRAME_SECONDS = HOP / SAMPLE_RATE
LOW_HZ, HIGH_HZ = 150.0, 3800.0  # the energy bits' range, and the peaks' above the bass band
# peaks are also taken in a bass band below LOW_HZ, with a quota of their own: bass-heavy music (electronic,
# hip-hop, orchestral lows) has most of its power there, and noise spread over the spectrum (pink noise, a
# room, babble: speech has little below ~100 Hz) leaves it the most of the music's peaks
BASS_HZ = 50.0
# the bass band's landmarks hash frequencies in semitones (3 log-frequency steps): a bin there is 6 steps wide at
# 60 Hz, and noise moves a peak's interpolated frequency by steps (of a copy's bass peaks under pink noise at
# -5 dB, 25% lie within a step of the source's, 40% within 3 steps)
BASS_HASH_STEPS = 3
BASS_BIN, LOW_BIN, HIGH_BIN = (int(hz * N_FFT / SAMPLE_RATE) for hz in (BASS_HZ, LOW_HZ, HIGH_HZ))
FLOOR_DB = -80.0  # below this (relative to a full-scale sine) a bin is silence, never a peak
PEAKS_PER_SECOND = 55  # dense: under a 0 dB voice only a fraction of a recording's peaks survive
# the quota is shared out over the bass band and four log-spaced bands above it, so a loud voice (or noise)
# cannot take all the peaks
QUOTA_BANDS = 5
QUOTA_FRAMES = 32  # the "second" of the quota, in frames (1.024 s)
PEAK_NEIGHBOURHOOD = (7, 9)  # frames x bins a peak must dominate
# in the bass band a bin spans 2-5 semitones: a peak dominates one bin either way (a noise peak three bins off
# would otherwise hide a bass note)
BASS_NEIGHBOURHOOD = (7, 3)
BLOCK_FRAMES = 30 * QUOTA_FRAMES  # frames per spectrogram block (~31 s), whole quota windows
LOG_STEPS_PER_OCTAVE = 36
# 48 steps (4/3 octave) below 100 Hz: under the lowest peak (the bass band's first bin less half a bin, 43 Hz),
# and the log-frequencies of the peaks above the bass band on the same grid as when it started at 100 Hz
LOG_BASE_HZ = 100.0 * 2 ** (-48 / LOG_STEPS_PER_OCTAVE)
FREQ_SCALE = 64  # log-frequency stored in 1/64 steps as uint16

FAN_OUT = 7  # pairs per anchor peak (a search system would use 3-5; pairwise matching can afford more)
MAX_DT = 24  # frames (0.77 s) between the two peaks of a landmark
MAX_DF = 24  # log-frequency steps (2/3 octave): a target zone near the anchor survives a voice elsewhere
LOOKAHEAD = 3 * FAN_OUT  # peaks after the anchor searched for its target zone
MAX_SLOPE = 0.008  # residual speed fitted per mode, beyond the hypothesis above
INLIER_FRAMES = 2.0  # an aligned pair lies within this many frames of the fitted line
BRIDGE_SECONDS = 3.0  # gaps shorter than this inside a segment are bridged
EDGE_SNAP_SECONDS = BRIDGE_SECONDS  # a boundary this close to a file edge extends to it, as a gap is bridged
MAX_MODES = 4
MIN_ANCHORS = 6  # an offset mode with fewer votes than this is not examined
SLOT_FRAMES = 8  # evidence counts 0.256 s slots holding aligned landmarks, so a burst counts once
MIN_SLOTS = 4
MIN_RUN_SIGNIFICANCE = 4.0  # a run of aligned landmarks weaker than this even against the global chance is noise
SPAN_TOLERANCE = 0.02  # seconds at the ends of the files a segment spanning both may leave out
NEIGHBOUR_FRAMES = 250  # offsets this far beside an alignment measure the chance level
MAX_REACH = 204  # frames an offset mode reaches at most (residual speed over the longest overlap)
MATCH_SIGNIFICANCE = 12.0  # -log10 of the chance probability at which a segment counts as a match
# a spectral peak of stationary noise stands about 9 dB above its frequency's mean level (in dB) and hardly ever
# 15 dB (its power would be ~30 times the mean, which an exponentially distributed power reaches once in 10^8
# cells); most of music's peaks do (54-95% of the clean tune tracks')
STANDING_DB = 15.0
NOISY_STANDING = 0.5  # fewer of a file's peaks than this stand: noise lies under it (tune tracks clean: 0.54-0.95)
SHARED_NOISE_SPEED = 0.01  # log2 speed within which an alignment can be one noise recording under both files
CHANCE_OFFSETS = (-210, -160, -110, -60, 60, 110, 160, 210)  # frames beside an alignment: chance coincidences
ENERGY_BANDS = 33  # log-spaced bands whose energy differences give 32 sign bits per frame (Haitsma-Kalker)
ENERGY_STEP = 2  # frames between the two spectra whose band-difference slopes a bit compares (64 ms)
MIN_ENERGY_FRAMES = 64  # an alignment implying less overlap than this (2 s) gets no energy evidence
MIN_BACKGROUND = 8  # lags needed to measure the chance agreement of energy bits
TRIPLET_CELLS = 3  # (pitch shift, time scale) cells of triplet hits examined
TRIPLET_BRIDGE_SECONDS = 8.0  # triplet hits are sparser than landmark pairs: longer gaps between them are bridged
FINE_SCALE_STEP = 0.004  # log2 steps of the time scale tried within a cell (0.28%)
NOMINAL_LOG2_SCALE = 0.005  # a cell's edit this close to none is the nominal one, for the landmark pairs
NOMINAL_SHIFT = 0.25  # (their hashes tolerate ~+-0.7% of speed and a fraction of a log-frequency step)
MIN_FIT_FRAMES = 160  # hits on a cell's best line spanning this many frames (5 s) refine its time scale by a fit
EDIT_REACH = 100  # frames (3.2 s) from the offset of a cell's triplets within which its landmark pairs may align
# energy bits under the cells' edits: B's bits put on A's clock at time scales on a lattice of this log2 step
# (0.55%; their agreement halves 0.6% off the true scale) within this reach of each cell's scale (a cell's
# scale can be a whole cell off under a voice), bands moved by the cell's pitch shift
ENERGY_SCALE_STEP = 0.008
ENERGY_SCALE_REACH = 0.06
IMPLIED_SCALE_REACH = 0.016  # around the edits a cell's pitch shift implies (a shift is measured to ~0.3 steps)
# a tempo change keeps the pitch, so no cell's shift implies it, and under a voice no cell's scale need be near
# it: the energy bits propose it themselves, swept coarsely (sums of each bit's signs over blocks of COARSE_FRAMES
# frames, time scales COARSE_SCALE_STEP apart within TEMPO_LOG2_REACH either way), and where the best coarse
# scale's agreement stands out (COARSE_Z) the full bits are tried around it
COARSE_FRAMES = 4
COARSE_SCALE_STEP = 0.02
TEMPO_LOG2_REACH = 0.24  # tempo 0.85 to 1.18
COARSE_Z = 7.0
# the sweep only when the shorter file is an excerpt this long at most: a cost bound (two 5-minute files would
# pay more for it than the rest of their compare), not tuned; every bench edit's file lasts 8-28 s
TEMPO_SWEEP_SECONDS = 60.0
# an excerpt nothing else found: its landmark pairs tried on a lattice of edits, speed changes (pitch and tempo
# together), tempo changes (the pitch kept) and pitch shifts (the tempo kept). Under a voice or noise the triplet
# cells can miss the edit outright (none of a copy's triplets need survive) while its pairs, at the right edit,
# align far beyond the threshold; they still do 0.02 (log2, 1.4%) off its speed or tempo and 0.6 step off its
# pitch (tune copies that matched at 35 and 53 there: 28-31 and 41-46), more than half the lattice's step away.
# Only for excerpts (TEMPO_SWEEP_SECONDS, the same cost bound as the energy bits' sweep)
SWEEP_LOG2_STEP = 0.03
SWEEP_SHIFT_STEP = 1.0
SWEEP_LOG2_SPEED = 0.5  # speed 0.71 to 1.41 (the lattice's last points: 0.72 and 1.39)
SWEEP_SHIFT = 12  # log-frequency steps (4 semitones) either way
SWEEP_ALIGNED = 4  # edits of the sweep aligned: those whose pairs crowd one offset the most
# the sweep's edits joined at once hold at most this many of A's landmarks between them (edits x A's): a memory
# bound on their joined pairs (every edit at once against A's 3 minutes, one at a time against 3 hours)
SWEEP_JOINED_LANDMARKS = 1 << 22
BAND_STEPS = LOG_STEPS_PER_OCTAVE * np.log2(HIGH_HZ / LOW_HZ) / ENERGY_BANDS  # log-frequency steps per energy band

# low-information guard
MIN_PEAKS = 20  # fewer peaks above the floor than this: silence
MIN_EFFECTIVE_FREQUENCIES = 12.0  # exp(entropy) of the peak frequencies: a steady tone or chord has a few
MIN_MODULATION_DB = 1.5  # p10-p90 spread of half-second band energies: stationary noise has ~0.7 dB


@dataclasses.dataclass(frozen=True)
class AudioFingerprint:
    frames: np.ndarray  # uint32, peak time in frames of FRAME_SECONDS
    log_freqs: np.ndarray  # uint16, peak log-frequency in 1/FREQ_SCALE steps above LOG_BASE_HZ
    ranks: np.ndarray  # uint8, salience rank of the peak in its quota cell (0: the most salient)
    standing: np.ndarray  # bool, the peak stands STANDING_DB above its frequency's level (stationary noise's don't)
    energy_bits: np.ndarray  # uint32 per frame: signs of the band-energy slopes (0 where the frame is silent)
    active: np.ndarray  # bool per frame: above the floor, so its energy bits mean something
    duration: float  # seconds decoded
    low_information: str | None  # why this audio can never match (silence, steady tone, stationary noise)

    def __post_init__(self):
        if not len(self.frames) == len(self.log_freqs) == len(self.ranks) == len(self.standing):
            raise ValueError("frames, log_freqs, ranks and standing differ in length")
        if len(self.energy_bits) != len(self.active):
            raise ValueError("energy_bits and active differ in length")


def index_keys(fp: AudioFingerprint) -> list[int]:
    """Two families of keys, in separate ranges of the integers. Two landmark hashes of one anchor peak
    (40 bits), the anchor's landmarks in order of their end paired with the next and the one after: specific,
    and a copy at the original speed and pitch keeps many of them. Each of the four log-spaced frequency bands
    above the bass band (the peak quota's) makes its own from its own peaks, so a voice loud in some bands leaves
    the others' keys as they were; and where a voice's peak slips in among the music's, a landmark still meets
    the one it followed.
    Two triplet hashes of one first peak side by side (the triplet and the next of that peak, by its last
    peak's time): unchanged by speed, tempo and pitch edits, which move every landmark hash; made of all the
    peaks above the bass band and, like the landmark pair keys, within each band of its own peaks.
    The bass band makes no keys: its landmarks, hashed in semitones within 13 bins, are far less specific, and
    the keys stay those the catalog benches measured.
    Audio that can never match (silence, a steady tone, stationary noise) has none."""
    if fp.low_information:
        return []
    return sorted(set(_landmark_pair_keys(fp).tolist()) | set(_triplet_pair_keys(fp).tolist()))


TRIPLET_KEY_RANGE = 1 << 40  # above every landmark pair key (two 20-bit hashes)
# the top of the bass band (between its last bin and the next; log-frequency in 1/FREQ_SCALE steps)
BASS_TOP = FREQ_SCALE * LOG_STEPS_PER_OCTAVE * np.log2((LOW_BIN - 0.5) * SAMPLE_RATE / N_FFT / LOG_BASE_HZ)
# the inner edges of the peak quota's bands (the bass band's top, then 337, 755 and 1693 Hz, as before it):
# both families of keys are made within each band
KEY_BAND_EDGES = np.array([BASS_TOP, *(FREQ_SCALE * LOG_STEPS_PER_OCTAVE * np.log2(
    np.geomspace(LOW_HZ, HIGH_HZ, QUOTA_BANDS)[1:-1] / LOG_BASE_HZ))])
KEY_PAIR_REACH = 2  # each landmark of an anchor is paired with this many of its next ones


def _key_bands(fp: AudioFingerprint) -> list[AudioFingerprint]:
    """The fingerprint's peaks in each key band, as a fingerprint of their own."""
    band = np.searchsorted(KEY_BAND_EDGES, fp.log_freqs, side="right")
    return [_peaks_where(fp, band == within) for within in range(len(KEY_BAND_EDGES) + 1)]


def _peaks_where(fp: AudioFingerprint, chosen: np.ndarray) -> AudioFingerprint:
    return dataclasses.replace(fp, frames=fp.frames[chosen], log_freqs=fp.log_freqs[chosen],
                               ranks=fp.ranks[chosen], standing=fp.standing[chosen])


def _above_bass(fp: AudioFingerprint) -> AudioFingerprint:
    """The peaks above the bass band, which make the triplets: a triplet's second and third peaks are among
    its first's next LOOKAHEAD peaks, which the bass band's would crowd (a speed copy under a voice louder
    than the music lost its cells to them), and resampling moves peaks across the band's edge."""
    return _peaks_where(fp, fp.log_freqs >= BASS_TOP)


def _landmark_pair_keys(fp: AudioFingerprint) -> np.ndarray:
    keys = []
    for peaks in _key_bands(fp)[1:]:  # above the bass band
        hashes, anchors, ends = _landmarks(peaks, 1.0)
        order = np.lexsort((ends, anchors))
        hashes, anchors = hashes[order].astype(np.int64), anchors[order]
        for step in range(1, KEY_PAIR_REACH + 1):
            same_anchor = anchors[step:] == anchors[:-step]
            keys.append((hashes[:-step][same_anchor] << 20) | hashes[step:][same_anchor])
    return np.concatenate(keys)


def _triplet_pair_keys(fp: AudioFingerprint) -> np.ndarray:
    """A triplet of salient peaks next to the one of the same first peak whose last peak comes next: of all
    the peaks above the bass band (numbered 0 in bits 32-34 of the key), which a pitch edit moves across the
    bands, and within each band above it (numbered 1-4) of its own peaks only, so that a voice's peaks in other
    bands never come between the music's."""
    keys = []
    for number, peaks in enumerate([_above_bass(fp), *_key_bands(fp)[1:]]):
        found = triplets(peaks.frames, peaks.log_freqs, peaks.ranks, FREQ_SCALE)
        order = np.lexsort((found.hashes, found.ends, found.starts))  # an edit scales every time: the order stays
        hashes, starts = found.hashes[order].astype(np.int64), found.starts[order]
        same_first = starts[1:] == starts[:-1]
        keys.append(TRIPLET_KEY_RANGE | (number << 32) | (hashes[:-1][same_first] << 16)
                    | hashes[1:][same_first])  # hashes < 2**15
    return np.concatenate(keys)


class AudioMatcher(Matcher):
    media_type = "audio"
    min_shared_keys = 3

    def index_keys(self, fingerprint: AudioFingerprint) -> list[int]:
        return index_keys(fingerprint)

    def fingerprint(self, blob: Blob, limits: Limits) -> AudioFingerprint:
        return fingerprint_chunks(decode_chunks(blob, limits))

    def compare_both_orders(self, a: AudioFingerprint, b: AudioFingerprint) -> tuple[Comparison, Comparison]:
        # compare() judges a pair in one order (comes_first), the other order is that judgement swapped
        if comes_first(a, b):
            reverse = self.compare(b, a)
            return reverse.swapped(), reverse
        if comes_first(b, a):
            forward = self.compare(a, b)
            return forward, forward.swapped()
        return super().compare_both_orders(a, b)  # identical fingerprints: no order to judge in

    def compare(self, a: AudioFingerprint, b: AudioFingerprint) -> Comparison:
        # One answer whichever order the pair comes in (round order20): judged with the longer file as a, as the
        # search for edits was built (the tune side's copies found from their source: 392 of 396, the other way 391)
        if comes_first(a, b):
            return self.compare(b, a).swapped()
        if _cannot_match(a.low_information, b.low_information):
            return Comparison(False, 0.0, "low")
        landmarks_a = _sorted(_landmarks(a, 1.0))
        shared_noise = _SharedNoise(a, b)
        nominal = best = shared_noise.without(_align(landmarks_a, a, b, 1.0))
        if _top(best) < 2 * MATCH_SIGNIFICANCE:  # not unambiguous from the landmarks alone
            best, edits, implied = _invariant(a, b)
            for edit in edits:  # the landmark pairs under each edit the triplets found, most voted first
                found = _align(landmarks_a, a, b, *edit, tried=len(edits))
                best = max(best, found, key=_top)
                if _top(best) >= 2 * MATCH_SIGNIFICANCE:
                    break
            if _top(best) < 2 * MATCH_SIGNIFICANCE:  # the energy bits, at the nominal edit and near the cells'
                best = max(_with_energy(nominal, a, b),
                           _energy_under_edits(a, b, edits, implied, _tempo_proposals(a, b)), best, key=_top)
            if _top(best) < MATCH_SIGNIFICANCE and min(a.duration, b.duration) <= TEMPO_SWEEP_SECONDS:
                best = max(best, _swept(landmarks_a, a, b), key=_top)
        segments = shared_noise.without(best)
        significance = _top(segments)
        matched = significance >= MATCH_SIGNIFICANCE
        score = 1.0 - 0.5 ** (significance / MATCH_SIGNIFICANCE)
        return Comparison(
            match=matched,
            similarity_score=float(min(max(score, 0.0), 1.0)),
            confidence=_confidence(significance),
            segments=tuple(sorted((s.segment for s in segments if s.significance >= MATCH_SIGNIFICANCE),
                                  key=lambda s: (s.source_start, s.target_start))) if matched else (),
            speed_ratio=max(segments, key=lambda s: s.significance).speed_ratio if matched else None,
        )


MATCHER = AudioMatcher()


class _SharedNoise:
    """Alignments carried by one noise recording under both files (two different tracks under the same noise
    at the same place), which are left out: noise never matches. Such an alignment's peaks coincide far beyond
    chance (MATCH_SIGNIFICANCE) among the peaks standing on neither side (noise peaks, STANDING_DB), while each
    side's standing peaks coincide with the other's peaks no more than by chance (under MIN_RUN_SIGNIFICANCE).
    A copy under noise or a voice coincides on its clean side's standing peaks, a noisy file and its copy on the
    peaks of the music standing above their noise. Only when most peaks of both files do not stand (noise loud
    enough to carry an alignment takes most of a file's peaks; most of a clean recording's stand, and sustained
    notes under a voice coincide without standing), and only strong alignments within SHARED_NOISE_SPEED of the
    nominal speed (a shared recording plays at one speed in both), each offset once per compare."""

    def __init__(self, a: AudioFingerprint, b: AudioFingerprint):
        self.a, self.b, self.verdicts, self.grids = a, b, {}, None
        self.noisy = all(np.count_nonzero(fp.standing) < NOISY_STANDING * len(fp.standing) for fp in (a, b))

    def without(self, found: list[_Found]) -> list[_Found]:
        return [f for f in found if not (self.noisy and f.significance >= MATCH_SIGNIFICANCE
                                         and abs(np.log2(f.speed_ratio)) <= SHARED_NOISE_SPEED
                                         and self._carried_by_noise(f.segment))]

    def _carried_by_noise(self, segment: Segment) -> bool:
        middle = (segment.source_start + segment.source_end) / 2
        slope = (segment.target_end - segment.target_start) / max(segment.source_end - segment.source_start, 1e-9)
        offset = int(round((segment.target_start + (middle - segment.source_start) * slope - middle) / FRAME_SECONDS))
        if offset not in self.verdicts:
            counts = np.array([self._coincidences(offset + d) for d in (0, *CHANCE_OFFSETS)], float)
            chance = np.maximum(counts[1:].mean(axis=0), 0.5)
            noise, standing_a, standing_b = (-np.log10(max(special.pdtrc(n - 1, mu), 1e-300)) if n > 0 else 0.0
                                             for n, mu in zip(counts[0], chance))
            self.verdicts[offset] = (noise >= MATCH_SIGNIFICANCE
                                     and max(standing_a, standing_b) < MIN_RUN_SIGNIFICANCE)
        return self.verdicts[offset]

    def _coincidences(self, offset: int) -> tuple[int, int, int]:
        """Peaks of A and B that coincide (one frame either way, the same log-frequency step) at B frame =
        A frame + ``offset``: standing on neither side, standing in A, standing in B."""
        if self.grids is None:  # A's peaks spread a frame either way: all, non-standing, standing; then B's
            self.grids = [_peak_grid(fp, chosen, fp is self.a) for fp in (self.a, self.b)
                          for chosen in (np.ones(len(fp.frames), bool), ~fp.standing, fp.standing)]
        every_a, noise_a, standing_a, every_b, noise_b, standing_b = self.grids
        first, last = max(0, -offset), min(len(every_a), len(every_b) - offset)
        if last <= first:
            return 0, 0, 0
        return tuple(int(np.bitwise_count(x[first:last] & y[first + offset:last + offset]).sum())
                     for x, y in ((noise_a, noise_b), (standing_a, every_b), (every_a, standing_b)))


def _peak_grid(fp: AudioFingerprint, chosen: np.ndarray, spread: bool) -> np.ndarray:
    """The ``chosen`` peaks as bits, frames x 4 words of 64 log-frequency steps (below 256: 3800 Hz is step 237),
    each also on the frames either side if ``spread``."""
    steps = np.rint(fp.log_freqs[chosen] / FREQ_SCALE).astype(np.uint64)
    grid = np.zeros((int(fp.frames.max(initial=0)) + 2, 4), np.uint64)
    np.bitwise_or.at(grid, (fp.frames[chosen].astype(np.int64), (steps >> np.uint64(6)).astype(np.int64)),
                     np.uint64(1) << (steps & np.uint64(63)))
    if spread:
        original = grid.copy()
        grid[1:] |= original[:-1]
        grid[:-1] |= original[1:]
    return grid


def _with_energy(segments: list, a: AudioFingerprint, b: AudioFingerprint) -> list:
    """Nominal-speed segments with the energy bits' evidence added, plus the energy-only alignment, which
    replaces weaker segments of the same alignment and is dropped beside stronger ones (strongest first)."""
    energy = _energy_agreement(a, b)
    segments = [dataclasses.replace(s, energy=_energy_evidence(energy, s.lag)) if s.lag is not None else s
                for s in segments]
    masked = _energy_only(a, b, energy)
    if masked:
        same = [s for s in segments if _same_alignment(masked.segment, s.segment)]
        if all(s.significance < masked.significance for s in same):
            segments = [s for s in segments if s not in same] + [masked]
    return sorted(segments, key=lambda s: -s.significance)


def _energy_under_edits(a: AudioFingerprint, b: AudioFingerprint, edits: list, implied: list = (),
                        tempo: list = ()) -> list[_Found]:
    """The energy bits' best alignment on their own near the edits the triplet cells found (speed, pitch shift
    in log-frequency steps or None for resampling's own, offset): B's bits at the time scales of the lattice
    within ENERGY_SCALE_REACH of each edit's, its bands moved by the whole bands nearest the edit's shift
    (both neighbours when it lies between them). Under a voice, noise or reverb the cells' hits are too few
    to give the edit precisely, but the bits at the right edit agree clearly (the masked case of the nominal
    edit). The ``implied`` edits (speed, pitch shift or None) are the cells' shifts read as a speed change or
    as a pitch shift with the tempo kept, known more precisely: tried within IMPLIED_SCALE_REACH. The ``tempo``
    edits (speed, 0.0) are the coarse sweep's (_tempo_proposals), tried within its step (the best coarse scale
    can be the neighbour of the one nearest the truth). The best alignment pays for the number of edits tried
    (the nominal one is tried on its own), and when the sweep proposed an edit, for every edit of the lattice
    within its reach as well (it picked from them)."""
    trials, swept = set(), set()
    if tempo:
        reach = int(np.ceil(TEMPO_LOG2_REACH / ENERGY_SCALE_STEP))
        swept = {(k, 0) for k in range(-reach, reach + 1)}
    for edit_list, scale_reach in ((edits, ENERGY_SCALE_REACH), (implied, IMPLIED_SCALE_REACH),
                                   (tempo, COARSE_SCALE_STEP)):
        reach = int(np.ceil(scale_reach / ENERGY_SCALE_STEP - 1e-9))
        for speed, shift, *_ in edit_list:
            bands = (LOG_STEPS_PER_OCTAVE * np.log2(speed) if shift is None else shift) / BAND_STEPS
            near = {round(bands)} | ({int(np.floor(bands)), int(np.ceil(bands))} if 0.3 <= bands % 1 <= 0.7
                                     else set())
            centre = round(-np.log2(speed) / ENERGY_SCALE_STEP)
            trials |= {(k, band) for k in range(centre - reach, centre + reach + 1) for band in near}
    trials.discard((0, 0))
    if not trials:
        return []
    longest = int(len(b.active) / 2.0 ** (min(trials)[0] * ENERGY_SCALE_STEP)) + 1
    spectra_a = _bit_spectra(a, scipy.fft.next_fast_len(len(a.active) + longest))  # A's FFTs, once for every trial
    paid = len((trials | swept) - {(0, 0)})
    found = [_energy_only(a, b, scale=2.0 ** (k * ENERGY_SCALE_STEP), band_shift=band, tried=paid,
                          spectra_a=spectra_a) for k, band in sorted(trials)]
    return [max((f for f in found if f), key=lambda f: f.significance)] if any(found) else []


def _tempo_proposals(a: AudioFingerprint, b: AudioFingerprint) -> list[tuple[float, float]]:
    """The tempo change (speed, 0.0: the pitch kept) at which the energy bits agree best, if they stand out
    there: a coarse sweep of B's time scale within TEMPO_LOG2_REACH, each bit's signs summed over blocks of
    COARSE_FRAMES frames (a block tolerates a time scale COARSE_SCALE_STEP / 2 off over a 20 s excerpt), the
    blocks' agreement at every lag a z-score as in _energy_agreement. Under a voice the true scale's agreement
    stands out far above the chance scales' (docs/benchmarks.md, "Audio"); the full bits then decide, paying for
    the whole sweep. Empty when no scale's best agreement reaches COARSE_Z, and when neither file is an excerpt
    of at most TEMPO_SWEEP_SECONDS (longer tempo-changed copies under a voice are left to the triplet cells)."""
    if (min(a.duration, b.duration) > TEMPO_SWEEP_SECONDS
            or min(np.count_nonzero(a.active), np.count_nonzero(b.active)) < MIN_ENERGY_FRAMES):
        return []
    steps = int(round(TEMPO_LOG2_REACH / COARSE_SCALE_STEP))
    scales = 2.0 ** (COARSE_SCALE_STEP * np.arange(-steps, steps + 1))
    sums_a, counts_a = _block_sums(_cumulative_signs(a), 1.0)
    cumulative_b = _cumulative_signs(b)
    size = scipy.fft.next_fast_len(len(counts_a) + int(len(b.active) / scales[0] / COARSE_FRAMES) + 1)
    spectra_a = scipy.fft.rfft(sums_a, size, axis=1), scipy.fft.rfft(counts_a, size)
    best, best_scale = COARSE_Z, None
    for scale in scales:
        sums_b, counts_b = _block_sums(cumulative_b, scale)
        agreement = scipy.fft.irfft((spectra_a[0] * np.conj(scipy.fft.rfft(sums_b, size, axis=1))).sum(axis=0), size)
        pairs = scipy.fft.irfft(spectra_a[1] * np.conj(scipy.fft.rfft(counts_b, size)), size)
        valid = pairs >= MIN_ENERGY_FRAMES * COARSE_FRAMES  # co-active frames times the block's length, roughly
        if np.count_nonzero(valid) < 2 * MIN_BACKGROUND:
            continue
        normalised = agreement[valid] / np.sqrt(pairs[valid] * len(sums_a))
        centre = np.median(normalised)
        z = (normalised.max() - centre) / max(1.4826 * np.median(np.abs(normalised - centre)), 1e-9)
        if z > best:
            best, best_scale = z, scale
    return [] if best_scale is None else [(1 / best_scale, 0.0)]


def _swept(landmarks_a, a: AudioFingerprint, b: AudioFingerprint) -> list[_Found]:
    """The best alignment of the landmark pairs over a lattice of edits (speed, pitch shift in log-frequency
    steps or None for resampling's own), paying for every edit tried: speed changes within SWEEP_LOG2_SPEED,
    tempo changes within TEMPO_LOG2_REACH and pitch shifts within SWEEP_SHIFT, the nominal edit left out. Only
    the SWEEP_ALIGNED edits whose joined pairs crowd one offset the most are aligned (at the right edit the
    copy's pairs do: the costly part of an alignment is spared the others)."""
    def lattice(reach, step):
        k = int(np.floor(reach / step + 1e-9))
        return [x for x in step * np.arange(-k, k + 1) if abs(x) > step / 2]
    edits = ([(2.0 ** x, None) for x in lattice(SWEEP_LOG2_SPEED, SWEEP_LOG2_STEP)]
             + [(2.0 ** x, 0.0) for x in lattice(TEMPO_LOG2_REACH, SWEEP_LOG2_STEP)]
             + [(1.0, x) for x in lattice(SWEEP_SHIFT, SWEEP_SHIFT_STEP)])
    found = [_align(landmarks_a, a, b, *edits[i])
             for i in np.argsort(_crowding(landmarks_a, b, edits))[::-1][:SWEEP_ALIGNED]]
    return [dataclasses.replace(f, landmarks=f.landmarks - np.log10(len(edits))) for f in max(found, key=_top)]


def _crowding(landmarks_a, b: AudioFingerprint, edits: list[tuple[float, float | None]]) -> np.ndarray:
    """Per edit (speed, shift), the most of B's landmark pairs under it, joined with A's (``landmarks_a``,
    sorted by hash), whose offsets lie within 9 consecutive frames (as _densest counts them): every edit's
    pairs made and joined at once, their offsets counted in one histogram (a row per edit); against a long A,
    a few edits at a time (SWEEP_JOINED_LANDMARKS)."""
    hash_a, anchor_a, _ = landmarks_a
    group = max(1, SWEEP_JOINED_LANDMARKS // max(1, len(hash_a)))
    if len(edits) > group:
        return np.concatenate([_crowding(landmarks_a, b, edits[i:i + group]) for i in range(0, len(edits), group)])
    edit, hashes, anchors, _ = _landmark_sets(b, edits)
    by_hash = np.argsort(hashes)  # the join's lookups then walk A's hashes in order
    rows_a, rows_b = hash_join(hash_a, hashes[by_hash], _max_repeats(hash_a))
    if not len(rows_a):
        return np.zeros(len(edits), np.int64)
    rows_b = by_hash[rows_b]
    offsets = np.rint(anchors[rows_b] - anchor_a[rows_a]).astype(np.int64)
    offsets -= offsets.min()
    width = int(offsets.max()) + 9
    counts = np.bincount(edit[rows_b] * width + offsets, minlength=len(edits) * width).reshape(len(edits), width)
    running = np.zeros((len(edits), width + 1), np.int64)
    np.cumsum(counts, axis=1, out=running[:, 1:])
    return (running[:, 9:] - running[:, :-9]).max(axis=1)  # every window of 9 offsets


def _cumulative_signs(fp: AudioFingerprint) -> tuple[np.ndarray, np.ndarray]:
    """Running sums of the bits' signs (bits x frames + 1, 0 on inactive frames) and of the active frames."""
    signs = np.zeros((ENERGY_BANDS - 1, len(fp.active) + 1), np.float32)  # whole numbers, exact below 2 ** 24
    np.cumsum(_signs(_bit_rows(fp), fp.active), axis=1, out=signs[:, 1:])
    return signs, np.concatenate([[0], np.cumsum(fp.active)]).astype(np.float32)


def _block_sums(cumulative: tuple[np.ndarray, np.ndarray], scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Per block of COARSE_FRAMES frames on A's clock, B's (``cumulative``: _cumulative_signs) sums of signs
    and active frames over the frames it covers at ``scale`` (B frames per A frame)."""
    signs, active = cumulative
    edges = np.rint(np.arange(int((len(active) - 1) / scale / COARSE_FRAMES) + 1) * (COARSE_FRAMES * scale))
    edges = np.minimum(edges.astype(np.int64), len(active) - 1)
    return signs[:, edges[1:]] - signs[:, edges[:-1]], active[edges[1:]] - active[edges[:-1]]


def _invariant(a: AudioFingerprint, b: AudioFingerprint) -> tuple[list[_Found], list[tuple[float, float, float]],
                                                                  list[tuple[float, float | None]]]:
    """Segments from triplet hashes, for B sped up, slowed down, time-stretched or pitch-shifted: the hits of
    the most-voted (pitch shift, time scale) cells aligned at the time scale that lines the most of them up.
    Also each cell's edit, as (speed, pitch shift in log-frequency steps, offset of its best-aligned hits in
    A's frames) for the landmark pairs to try (the nominal edit left out: it has been tried), and the edits
    each cell's pitch shift implies whatever its time scale, as (speed, shift or None for resampling's own):
    a speed change and a pitch shift with the tempo kept, for the energy bits."""
    ta, tb = (triplets(peaks.frames, peaks.log_freqs, peaks.ranks, FREQ_SCALE) for peaks in map(_above_bass, (a, b)))
    rows_a, rows_b = hits(ta, tb)
    cells, n_cells = edit_cells(ta, tb, rows_a, rows_b, TRIPLET_CELLS)
    found, edits, implied = [], [], []
    for _, cell_scale, mask in cells:
        anchor_a, end_a, anchor_b = ta.starts[rows_a[mask]], ta.ends[rows_a[mask]], tb.starts[rows_b[mask]]
        if len(anchor_a) < MIN_ANCHORS:
            continue
        scale, on_line = _best_scale(anchor_a, anchor_b, cell_scale)
        aligned = _align_pairs(anchor_a, end_a, anchor_b / scale, a, b, 1 / scale, TRIPLET_BRIDGE_SECONDS)
        shift = float(np.median(tb.pitches[rows_b[mask]][on_line] - ta.pitches[rows_a[mask]][on_line]))
        if abs(np.log2(scale)) > NOMINAL_LOG2_SCALE or abs(shift) > NOMINAL_SHIFT:
            edits.append((1 / scale, shift, float(np.median(anchor_b[on_line] / scale - anchor_a[on_line]))))
        # a speed change (resampling) moves pitch and tempo together: the shift, measured more finely than the
        # time scale when few hits line up, then gives the speed too, if the cell's time scale allows it
        resampled = 2.0 ** (shift / LOG_STEPS_PER_OCTAVE)
        if abs(shift) > NOMINAL_SHIFT:  # under a voice few hits line up: the shift is right, the scale is not
            implied += [(resampled, None), (1.0, shift)]
        if (abs(shift) > NOMINAL_SHIFT and abs(np.log2(resampled * scale)) > NOMINAL_LOG2_SCALE
                and abs(np.log2(resampled * cell_scale)) <= 1.5 * SCALE_BIN):
            edits.append((resampled, None, float(np.median(anchor_b[on_line] * resampled - anchor_a[on_line]))))
        # the cell was picked as the best of n_cells: its chance is that many times higher
        found += [dataclasses.replace(f, landmarks=f.landmarks - np.log10(n_cells)) for f in aligned]
    return _strongest_distinct(found), edits, implied


def _strongest_distinct(found: list[_Found]) -> list[_Found]:
    """The segments strongest first, each alignment once: neighbouring cells of one edit find the same one."""
    kept: list[_Found] = []
    for f in sorted(found, key=lambda s: -s.significance):
        if not any(_same_alignment(f.segment, k.segment) for k in kept):
            kept.append(f)
    return kept


def _best_scale(anchor_a: np.ndarray, anchor_b: np.ndarray, scale: float) -> tuple[float, np.ndarray]:
    """The time scale (B frames per A frame) within a cell's width of ``scale`` at which the most hits share
    one offset, give or take 4 frames, and which hits do. Hits bunched in a short stretch agree at a range of
    scales: the middle of the best-voted range is taken, then refined by a least-squares line through the
    hits on it (if they span MIN_FIT_FRAMES, and the fit stays within that range)."""
    trials = scale * 2.0 ** np.arange(-1.5 * SCALE_BIN, 1.5 * SCALE_BIN + 1e-9, FINE_SCALE_STEP)
    best_votes, modes = _densest(np.rint(anchor_b[None, :] / trials[:, None] - anchor_a).astype(np.int64))
    plateau = np.nonzero(best_votes == best_votes.max())[0]
    row = int(plateau[len(plateau) // 2])
    on_line = np.abs(np.rint(anchor_b / trials[row] - anchor_a) - modes[row]) <= 4
    if np.ptp(anchor_a[on_line]) >= MIN_FIT_FRAMES:
        fitted = float(np.polyfit(anchor_a[on_line], anchor_b[on_line], 1)[0])
        if abs(np.log2(fitted / trials[row])) <= FINE_SCALE_STEP * len(plateau):
            return fitted, on_line
    return float(trials[row]), on_line


def _densest(offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of integer offsets: the most of them within 9 consecutive values, and the first such window's
    centre (not below the row's least offset). The first densest window ends on an offset (else it would
    start one earlier), so windows ending on each offset are counted: on the rows sorted and laid end to
    end (each row's values raised clear of the previous row's), one search for all."""
    rows, n = offsets.shape
    ordered = np.sort(offsets, axis=1)
    lowest = ordered[:, :1]
    laid = (ordered - lowest + np.arange(rows)[:, None] * (int(np.ptp(ordered, axis=1).max()) + 9)).ravel()
    counts = (np.arange(rows * n) - np.searchsorted(laid, laid - 8)).reshape(rows, n) + 1
    best = counts.argmax(axis=1)  # the first, lowest window's end
    ends = ordered[np.arange(rows), best]
    return counts[np.arange(rows), best], np.maximum(ends - 4, lowest[:, 0])


def _top(found: list) -> float:
    return max((s.significance for s in found), default=0.0)


def _cannot_match(reason_a: str | None, reason_b: str | None) -> bool:
    """Silence or a steady tone on either side rules a match out. Stationary noise does when both sides
    are noise: against informative audio (music under that noise, say) it cannot produce aligned landmarks."""
    reasons = [r.split(":")[0] for r in (reason_a, reason_b) if r]
    return any(r != "stationary noise" for r in reasons) or len(reasons) == 2


def _confidence(significance: float) -> str:
    ratio = significance / MATCH_SIGNIFICANCE
    if ratio >= 2.0 or ratio < 0.5:
        return "high"
    if ratio >= 1.3 or ratio < 0.8:
        return "medium"
    return "low"


# ---------------------------------------------------------------- fingerprint

def fingerprint_samples(samples: np.ndarray) -> AudioFingerprint:
    """Fingerprint mono float samples at SAMPLE_RATE (tests and benches; blobs stream through fingerprint())."""
    return fingerprint_chunks(iter([samples]))


def fingerprint_chunks(chunks) -> AudioFingerprint:
    """Peaks from a stream of sample chunks, one ~30 s spectrogram block at a time (bounded memory).

    Each block owns BLOCK_FRAMES frames and is computed with `margin` frames of context either side,
    so a peak on a block edge is judged against its full neighbourhood."""
    margin = PEAK_NEIGHBOURHOOD[0] // 2
    buffer = np.zeros(0, np.float32)  # samples from frame max(0, next_own - margin) on
    next_own = total = 0
    parts = []

    def run_block(context_end: int) -> None:
        nonlocal buffer, next_own
        context_start = max(0, next_own - margin)
        spectrum = _log_spectrogram(buffer[:(context_end - context_start - 1) * HOP + N_FFT])
        own_end = min(context_end, next_own + BLOCK_FRAMES)
        parts.append(_pick_peaks(spectrum, next_own - context_start, own_end - context_start, context_start))
        next_own = own_end
        buffer = buffer[(max(0, next_own - margin) - context_start) * HOP:]

    for chunk in chunks:
        total += len(chunk)
        buffer = np.concatenate([buffer, np.asarray(chunk, np.float32)])
        while len(buffer) >= (next_own - max(0, next_own - margin) + BLOCK_FRAMES + margin - 1) * HOP + N_FFT:
            run_block(next_own + BLOCK_FRAMES + margin)
    n_frames = 1 + (total - N_FFT) // HOP if total >= N_FFT else 0
    while next_own < n_frames:
        run_block(min(n_frames, next_own + BLOCK_FRAMES + margin))
    frames = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.uint32)
    log_freqs = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.uint16)
    ranks = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, np.uint8)
    standing = np.concatenate([p[5] for p in parts]) if parts else np.zeros(0, bool)
    levels = np.concatenate([p[3] for p in parts]) if parts else np.zeros((0, len(_BANDS) - 1), np.float32)
    energies = np.concatenate([p[4] for p in parts]) if parts else np.zeros((0, ENERGY_BANDS), np.float32)
    order = np.lexsort((log_freqs, frames))
    energy_bits, active = _energy_bits(energies)
    return AudioFingerprint(frames[order], log_freqs[order], ranks[order], standing[order], energy_bits, active,
                            total / SAMPLE_RATE, _low_information(log_freqs, levels))


_WINDOW = np.hanning(N_FFT + 2)[1:-1].astype(np.float32)
_REFERENCE = _WINDOW.sum() / 2  # magnitude of a full-scale sine
_BINS = np.arange(BASS_BIN - 1, HIGH_BIN + 2)  # the spectrogram's columns
_QUOTA_BAND = np.where(_BINS < LOW_BIN, 0, 1 + np.clip(
    (QUOTA_BANDS - 1) * np.log2(np.maximum(_BINS, 1) / LOW_BIN) / np.log2(HIGH_BIN / LOW_BIN),
    0, QUOTA_BANDS - 2).astype(np.int64))
# eight equal bands (spectrogram columns) for the stationarity test of the low-information guard
_BANDS = np.linspace(1, HIGH_BIN - BASS_BIN + 2, 9).astype(int)
# log-spaced bands (spectrogram columns) for the energy bits
_ENERGY_EDGES = (np.rint(np.geomspace(LOW_HZ, HIGH_HZ, ENERGY_BANDS + 1) * N_FFT / SAMPLE_RATE).astype(int)
                 - (BASS_BIN - 1))
_BIT_WEIGHTS = (1 << np.arange(ENERGY_BANDS - 1)).astype(np.uint32)


def _log_spectrogram(samples: np.ndarray) -> np.ndarray:
    """dB magnitudes, frames x bins BASS_BIN-1 .. HIGH_BIN+1 (one bin of padding each side)."""
    windows = np.lib.stride_tricks.sliding_window_view(samples, N_FFT)[::HOP] * _WINDOW
    magnitude = np.abs(scipy.fft.rfft(windows, axis=1)[:, BASS_BIN - 1:HIGH_BIN + 2])
    return 20 * np.log10(magnitude / _REFERENCE + 1e-9)


def _pick_peaks(spectrum: np.ndarray, own_start: int, own_end: int, first_frame: int):
    """Peaks of the frames own_start..own_end of a block: (frames, log-frequencies, salience ranks, band
    levels, energy bands, whether each peak stands STANDING_DB above its frequency's level)."""
    salience = spectrum - spectrum.mean(axis=0)  # height above this frequency's level in the block
    is_peak = (spectrum == ndimage.maximum_filter(spectrum, size=PEAK_NEIGHBOURHOOD, mode="nearest"))
    bass = LOW_BIN - BASS_BIN + 1  # the bass band's columns, after the padding column
    is_peak[:, :bass] = spectrum[:, :bass] == ndimage.maximum_filter(spectrum[:, :bass + 1], BASS_NEIGHBOURHOOD,
                                                                     mode="nearest")[:, :bass]
    is_peak &= spectrum > FLOOR_DB
    is_peak[:own_start] = is_peak[own_end:] = False
    is_peak[:, 0] = is_peak[:, -1] = False  # padding bins
    t, k = np.nonzero(is_peak)
    cell = (t + first_frame) // QUOTA_FRAMES * QUOTA_BANDS + _QUOTA_BAND[k]
    order = np.lexsort((-salience[t, k], cell))
    t, k, cell = t[order], k[order], cell[order]
    rank = np.arange(len(t)) - np.searchsorted(cell, cell)
    keep = rank < round(PEAKS_PER_SECOND * QUOTA_FRAMES * FRAME_SECONDS / QUOTA_BANDS)
    t, k, rank = t[keep], k[keep], rank[keep]
    # sub-bin frequency from a parabola through the peak and its two neighbours
    left, centre, right = spectrum[t, k - 1], spectrum[t, k], spectrum[t, k + 1]
    curvature = left - 2 * centre + right
    delta = np.where(curvature < 0, 0.5 * (left - right) / np.where(curvature < 0, curvature, -1), 0.0)
    hz = (BASS_BIN - 1 + k + np.clip(delta, -0.5, 0.5)) * SAMPLE_RATE / N_FFT
    log_freq = np.round(LOG_STEPS_PER_OCTAVE * np.log2(hz / LOG_BASE_HZ) * FREQ_SCALE)
    power = 10 ** (spectrum[own_start:own_end] / 10)
    bands = np.add.reduceat(power, _BANDS[:-1], axis=1) / np.diff(_BANDS)
    levels = 10 * np.log10(ndimage.uniform_filter1d(bands, 16, axis=0) + 1e-12)  # half-second band energies
    energies = 10 * np.log10(np.add.reduceat(power[:, :_ENERGY_EDGES[-1]], _ENERGY_EDGES[:-1], axis=1) + 1e-12)
    return ((t + first_frame).astype(np.uint32), log_freq.astype(np.uint16), rank.astype(np.uint8),
            levels.astype(np.float32), energies.astype(np.float32), salience[t, k] >= STANDING_DB)


def _energy_bits(energies: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per frame, 32 bits: does the energy difference of neighbouring bands rise or fall over ENERGY_STEP
    frames (Haitsma and Kalker's robust hash). Dense, so it keeps evidence a loud voice leaves
    when it masks most spectral peaks; ``active`` marks frames where both spectra are above the floor."""
    slopes = energies[:, :-1] - energies[:, 1:]
    bits = np.zeros(len(energies), np.uint32)
    bits[ENERGY_STEP:] = ((slopes[ENERGY_STEP:] > slopes[:-ENERGY_STEP]) * _BIT_WEIGHTS).sum(axis=1)
    loud = energies.max(axis=1, initial=FLOOR_DB) > FLOOR_DB
    active = np.zeros(len(energies), bool)
    active[ENERGY_STEP:] = loud[ENERGY_STEP:] & loud[:-ENERGY_STEP]
    return bits, active


def _low_information(log_freqs: np.ndarray, levels: np.ndarray) -> str | None:
    """Why this audio cannot support a match, or None: silence, a steady tone or chord, stationary noise."""
    if len(log_freqs) < MIN_PEAKS:
        return "silence: too few spectral peaks above the floor"
    counts = np.bincount(log_freqs // FREQ_SCALE).astype(float)
    p = counts[counts > 0] / counts.sum()
    if np.exp(-(p * np.log(p)).sum()) < MIN_EFFECTIVE_FREQUENCIES:
        return "steady tone: spectral peaks sit on a handful of frequencies"
    active = levels[levels.max(axis=1) > FLOOR_DB]
    spread = np.percentile(active, 90, axis=0) - np.percentile(active, 10, axis=0) if len(active) else [0.0]
    if np.max(spread) < MIN_MODULATION_DB:
        return "stationary noise: band energies do not change over time"
    return None


# ---------------------------------------------------------------- compare

@dataclasses.dataclass(frozen=True)
class _Found:
    segment: Segment
    landmarks: float  # -log10 chance of its aligned landmarks
    energy: float = 0.0  # -log10 chance of the energy bits along its alignment
    lag: float | None = None  # where to look the energy up (the best-supported run of a mode, nominal speed only)
    speed_ratio: float = 1.0  # how much faster B plays than A along this alignment

    @property
    def significance(self) -> float:
        """Both measures combined as independent tests (Fisher's method: the sum of two -log10 p, less the
        price of having looked twice)."""
        total = self.landmarks + self.energy
        if self.landmarks > 0 and self.energy > 0:
            total -= np.log10(1 + np.log(10) * total)
        return float(min(total, 300.0))


def _landmarks(fp: AudioFingerprint, speed: float, shift: float | None = None):
    """Hashes of peak pairs (f1, df, dt), their anchor and end frames, for ``fp`` played ``speed`` times
    too fast and ``shift`` log-frequency steps too high (by default the speed's own shift, as resampling
    does): its clock is stretched by that factor and its frequencies lowered back. The bass band's peaks pair
    among themselves and the peaks above it among theirs: an anchor's targets are among its next LOOKAHEAD
    peaks, which the other's would crowd."""
    return _landmark_sets(fp, [(speed, shift)])[1:]


def _landmark_sets(fp: AudioFingerprint, edits: list[tuple[float, float | None]]):
    """_landmarks of ``fp`` under each of ``edits`` (speed, shift) at once, after the index of each one's edit:
    an excerpt's peaks are few, and numpy's cost per call, not per peak, is most of making them one edit at a
    time (the same landmarks, bit for bit, edit by edit in the same order)."""
    speeds = np.array([speed for speed, _ in edits], np.float64)[:, None]
    shifts = np.array([LOG_STEPS_PER_OCTAVE * np.log2(speed) if shift is None else shift
                       for speed, shift in edits], np.float64)[:, None]
    bass = fp.log_freqs < BASS_TOP
    found = [_peak_pairs(fp.frames[chosen], fp.log_freqs[chosen], speeds, shifts, steps)
             for chosen, steps in ((~bass, 1), (bass, BASS_HASH_STEPS))]
    return tuple(np.concatenate(column) for column in zip(*found))


def _peak_pairs(frames: np.ndarray, log_freqs: np.ndarray, speeds: np.ndarray, shifts: np.ndarray, steps: int):
    """_landmark_sets of these peaks under the edits (``speeds`` and ``shifts``: one row each), their
    frequencies hashed in units of ``steps`` log-frequency steps. The edits' peaks are laid end to end in one
    row, each edit's followed by LOOKAHEAD that pair with nothing (more than MAX_DT frames before any peak), so
    each k-th next peak is a handful of numpy calls for all the edits."""
    n = len(frames)
    t = np.full((len(speeds), n + LOOKAHEAD), -MAX_DT - 1, np.float32)
    t[:, :n] = frames * speeds
    t = t.ravel()
    f = np.zeros((len(speeds), n + LOOKAHEAD), np.float32)
    f[:, :n] = (log_freqs / FREQ_SCALE - shifts) / steps
    f = f.ravel()
    taken = np.zeros(len(t), np.int32)  # target peaks paired with each anchor so far
    hashes, anchors, ends, places = [], [], [], []
    for k in range(1, min(LOOKAHEAD, n - 1) + 1):  # the k-th peak after each anchor
        dt = np.rint(t[k:] - t[:-k]).astype(np.int32)
        df = np.rint(f[k:] - f[:-k]).astype(np.int32)
        ok = (dt >= 1) & (dt <= MAX_DT) & (np.abs(df) * steps <= MAX_DF)
        ok &= taken[:-k] < FAN_OUT
        taken[:-k] += ok
        anchor = np.nonzero(ok)[0]
        f1 = np.clip(np.floor(f[anchor]), 0, 255).astype(np.int32)
        hashes.append((f1 << 12) | ((df[anchor] + 64) << 5) | dt[anchor])
        anchors.append(t[anchor])
        ends.append(t[anchor + k])
        places.append(anchor)
    if not hashes:
        return np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32), np.zeros(0, np.float32)
    return (np.concatenate(places) // (n + LOOKAHEAD), np.concatenate(hashes), np.concatenate(anchors),
            np.concatenate(ends))


def _sorted(landmarks):
    order = np.argsort(landmarks[0])
    return tuple(column[order] for column in landmarks)


def _joined_pairs(a, b):
    """Anchor/end frames of A and anchor frames of B for every landmark hash the two share
    (both sorted by hash, so the lookups walk memory in order)."""
    hash_a, anchor_a, end_a = a
    hash_b, anchor_b, _ = b
    rows_a, rows_b = hash_join(hash_a, hash_b, _max_repeats(hash_a))
    return anchor_a[rows_a], end_a[rows_a], anchor_b[rows_b]


def _max_repeats(hash_a: np.ndarray) -> int:
    """A hash A holds more often than this is left out of the join: too repetitive to say where it aligns."""
    return 32 + len(hash_a) // 4096


def _align(landmarks_a, a: AudioFingerprint, b: AudioFingerprint, speed: float, shift: float | None = None,
           around: float | None = None, tried: int = 1) -> list[_Found]:
    """Matched segments (strongest first), taking B to play ``speed`` times faster than A and ``shift``
    log-frequency steps higher (by default as resampling does; ``landmarks_a``: A's landmarks sorted by
    hash), only at offsets (B's frames on A's clock less A's) within EDIT_REACH of ``around`` if given;
    the significance pays for the ``tried`` edits this one was picked from."""
    anchor_a, end_a, anchor_b = _joined_pairs(landmarks_a, _sorted(_landmarks(b, speed, shift)))
    if around is not None:  # the pairs that can vote for such an offset or measure the chance beside it
        near = np.abs(anchor_b - anchor_a - around) <= EDIT_REACH + MAX_REACH + NEIGHBOUR_FRAMES + 5
        anchor_a, end_a, anchor_b = anchor_a[near], end_a[near], anchor_b[near]
    found = _align_pairs(anchor_a, end_a, anchor_b, a, b, speed, around=around)
    return [dataclasses.replace(f, landmarks=f.landmarks - np.log10(tried)) for f in found] if tried > 1 else found


def _align_pairs(anchor_a, end_a, anchor_b, a: AudioFingerprint, b: AudioFingerprint, speed: float,
                 bridge: float = BRIDGE_SECONDS, around: float | None = None) -> list[_Found]:
    """Matched segments (strongest first) from landmarks A and B share: their anchor and end frames in A and
    anchor frames in B on A's clock (B's own frames times ``speed``); gaps under ``bridge`` seconds between
    aligned landmarks are bridged; offset modes only within EDIT_REACH of ``around`` if given."""
    if len(anchor_a) < MIN_ANCHORS:
        return []
    offset = anchor_b - anchor_a
    lowest = int(np.floor(offset.min()))
    votes = np.convolve(np.bincount(np.rint(offset - lowest).astype(np.int64)), np.ones(9), "same")
    overlap = min(a.duration, b.duration * speed) / FRAME_SECONDS
    reach = int(4 + min(MAX_SLOPE * overlap, MAX_REACH - 4))  # how far a residual speed drifts the offset
    if around is not None:
        votes[np.abs(np.arange(len(votes)) + lowest - around) > EDIT_REACH] = 0
    slots = int(np.ptp(anchor_a) // SLOT_FRAMES) + 1
    found: list[_Found] = []
    for _ in range(MAX_MODES):
        mode = int(np.argmax(votes))
        if votes[mode] < MIN_ANCHORS:
            break
        votes[max(0, mode - reach):mode + reach + 1] = 0
        # the pairs a mode's segments can use or measure their chance level on (their centres lie within reach
        # of the mode, the chance level up to NEIGHBOUR_FRAMES beyond): a fraction of all when there are many
        local = np.nonzero(np.abs(offset - (mode + lowest)) <= 2 * reach + NEIGHBOUR_FRAMES + 1)[0]
        mode_a, mode_end_a, mode_b, mode_offset = (column[local] for column in (anchor_a, end_a, anchor_b, offset))
        near = np.abs(mode_offset - (mode + lowest)) <= reach
        if not near.any():  # the smoothed votes reach half a frame further than ``reach``
            continue
        inliers = _fit_line(mode_a[near], mode_offset[near])
        rows = np.nonzero(near)[0][inliers]
        chance = _occupancy(mode_a, mode_offset - (mode + lowest), reach, slots)
        runs = [_segment(rows[run], mode_a, mode_end_a, mode_b, mode_offset, speed, a, b, reach, chance)
                for run in _runs(mode_a[rows], bridge) if len(run) >= MIN_SLOTS]
        runs = sorted((r for r in runs if r), key=lambda r: -r.landmarks)
        if runs and speed == 1.0:  # the alignment's energy evidence, counted once: for its best-supported run
            slope, intercept = _line(rows, mode_a, mode_b, speed)
            middle = np.median(mode_a[rows])
            runs[0] = dataclasses.replace(runs[0], lag=float(middle - (intercept + slope * middle)))
        found += [r for r in runs if not any(_same_alignment(r.segment, kept.segment) for kept in found)]
        if any(_spans_both(kept.segment, a, b) for kept in found):
            break  # whatever a further mode found would be the same alignment as that one: none is added
    return sorted(found, key=lambda s: -s.significance)


def _fit_line(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Inliers of the best line y = c + m * x with |m| <= MAX_SLOPE, found by voting over slopes."""
    x = x - np.median(x)
    steps = int(min(50, np.ceil(MAX_SLOPE * np.ptp(x) / INLIER_FRAMES))) if len(x) else 0
    slopes = np.linspace(-MAX_SLOPE, MAX_SLOPE, 2 * steps + 1) if steps else np.zeros(1)
    voters = slice(None, None, max(1, len(x) // 4000))  # a strong alignment is found as well from a sample
    # in single precision and in place: the costliest step of comparing a copy (frames to well under a bin)
    residual = slopes[:, None].astype(np.float32) * x[None, voters]
    np.subtract(y[None, voters], residual, out=residual)
    low = np.floor(residual.min())
    residual -= low
    np.rint(residual, out=residual)
    width = int(residual.max()) + 3
    # one histogram row per slope; whole numbers stay exact in single precision (rows x width << 2 ** 24: the
    # offsets of one mode, give or take MAX_SLOPE over the longest file)
    residual += (np.arange(len(slopes)) * width).astype(np.float32)[:, None]
    votes = np.bincount(residual.astype(np.int64).ravel(), minlength=len(slopes) * width)
    votes = votes.reshape(len(slopes), width)
    votes = votes[:, :-2] + votes[:, 1:-1] + votes[:, 2:]  # a bin and its two neighbours
    row, column = np.unravel_index(np.argmax(votes), votes.shape)
    return np.abs(y - slopes[row] * x - (column + 1 + low)) <= INLIER_FRAMES


def _runs(anchors: np.ndarray, bridge: float) -> list[np.ndarray]:
    """Index groups of ``anchors`` split wherever consecutive ones are more than ``bridge`` seconds apart."""
    order = np.argsort(anchors)
    gaps = np.nonzero(np.diff(anchors[order]) > bridge / FRAME_SECONDS)[0] + 1
    return np.split(order, gaps)


def _line(rows, anchor_a, anchor_b, speed) -> tuple[float, float]:
    """Slope and intercept of the line through aligned pairs (rows) mapping A's frames to B's own frames."""
    x, y = anchor_a[rows].astype(np.float64), (anchor_b[rows] / speed).astype(np.float64)
    if np.ptp(x) > 0:  # least squares
        x_mean, y_mean = x.mean(), y.mean()
        slope = float(((x - x_mean) * (y - y_mean)).sum() / np.square(x - x_mean).sum())
        return slope, float(y_mean - slope * x_mean)
    return 1 / speed, float(np.median(y - x / speed))


def _segment(rows, anchor_a, end_a, anchor_b, offset, speed, a, b, reach, chance) -> _Found | None:
    """The segment of one run of aligned pairs (rows), with the significance of its landmarks against chance
    alignments (``chance``: the slot occupancy beside this alignment over the whole of A; the local one can
    be higher)."""
    first, last = anchor_a[rows].min(), end_a[rows].max()
    slots = _slots(anchor_a[rows])
    slots = np.count_nonzero(np.bincount(slots - slots.min()))  # the slots holding aligned landmarks
    if slots < MIN_SLOTS:
        return None
    span = int(last // SLOT_FRAMES - first // SLOT_FRAMES) + 1

    def significance_at(p):
        return -np.log10(max(special.bdtrc(slots - 1, span, min(p, 0.5)), 1e-300))
    chance = max(chance, 1e-3)
    if significance_at(chance) < MIN_RUN_SIGNIFICANCE:
        return None  # weak even against the lower, global chance level: not worth measuring the local one
    centre = np.median(offset[rows])
    in_stretch = (anchor_a >= first) & (anchor_a <= last)
    significance = significance_at(max(_occupancy(anchor_a[in_stretch], offset[in_stretch] - centre, reach, span),
                                       chance))
    slope, intercept = _line(rows, anchor_a, anchor_b, speed)
    return _Found(_edge_snapped(first, last, slope, intercept, a, b), float(significance), speed_ratio=1 / slope)


def _edge_snapped(first: float, last: float, slope: float, intercept: float, a, b) -> Segment:
    """The segment from A's frame ``first`` to ``last`` on the line mapping A's frames to B's; a boundary
    with no evidence between it and a nearby file edge extends to the edge, the likelier boundary."""
    start, end = _seconds(first), _seconds(last)
    target_start, target_end = _seconds(intercept + slope * first), _seconds(intercept + slope * last)
    before = min(start, target_start / slope)
    if before < EDGE_SNAP_SECONDS:
        start, target_start = start - before, target_start - before * slope
    after = min(a.duration - end, (b.duration - target_end) / slope)
    if after < EDGE_SNAP_SECONDS:
        end, target_end = end + after, target_end + after * slope
    return Segment(float(max(start, 0.0)), float(min(end, a.duration)),
                   float(max(target_start, 0.0)), float(min(target_end, b.duration)))


def _energy_agreement(a: AudioFingerprint, b: AudioFingerprint, band_shift: int = 0,
                      spectra_a: tuple | None = None) -> np.ndarray | None:
    """How far above chance the energy bits agree at every lag (B frame = A frame - lag; negative lags
    wrap round to the end), found at once by cross-correlating the bits with FFTs: a z-score against the
    median and spread over all lags, the agreement normalised by the overlap; -inf where the overlap is
    under MIN_ENERGY_FRAMES. None when either side has too few active frames. B's bands ``band_shift``
    higher than A's (B pitched up) compare A's bit k with B's bit k + band_shift. ``spectra_a``: A's
    _bit_spectra, when many versions of B are compared with it (their size fits the longest)."""
    if min(np.count_nonzero(a.active), np.count_nonzero(b.active)) < MIN_ENERGY_FRAMES:
        return None
    size = scipy.fft.next_fast_len(len(a.active) + len(b.active)) if spectra_a is None else spectra_a[2]
    rows_a = np.arange(max(0, -band_shift), ENERGY_BANDS - 1 - max(0, band_shift))
    bits_a, bits_b = _bit_rows(a) if spectra_a is None else None, _bit_rows(b)[rows_a + band_shift]
    spectrum = np.zeros(size // 2 + 1, np.complex64)
    for rows in np.array_split(rows_a, 4):  # 8 bits at a time: bounded memory for hours of audio
        spectrum_a = (scipy.fft.rfft(_signs(bits_a[rows], a.active), size, axis=1) if spectra_a is None
                      else spectra_a[0][rows])
        spectrum += (spectrum_a * np.conj(scipy.fft.rfft(_signs(bits_b[rows - rows_a[0]], b.active), size,
                                                         axis=1))).sum(axis=0)
    agreement = scipy.fft.irfft(spectrum, size)  # agreeing minus disagreeing bits, per lag
    active_a = scipy.fft.rfft(a.active.astype(np.float32), size) if spectra_a is None else spectra_a[1]
    frames = scipy.fft.irfft(active_a * np.conj(scipy.fft.rfft(b.active.astype(np.float32), size)), size)
    frames = np.rint(frames)  # co-active frames per lag
    valid = frames >= MIN_ENERGY_FRAMES
    if np.count_nonzero(valid) < 2 * MIN_BACKGROUND:
        return None
    normalised = agreement[valid] / np.sqrt(frames[valid] * len(rows_a))
    centre = np.median(normalised)
    spread = max(1.4826 * np.median(np.abs(normalised - centre)), 1e-9)
    z = np.full(size, -np.inf)
    z[valid] = (normalised - centre) / spread
    return z


def _bit_spectra(fp: AudioFingerprint, size: int) -> tuple:
    """The FFTs (of ``size``) of every bit row's signs and of the activity, and the size, for _energy_agreement."""
    return (scipy.fft.rfft(_signs(_bit_rows(fp), fp.active), size, axis=1),
            scipy.fft.rfft(fp.active.astype(np.float32), size), size)


def _energy_evidence(z: np.ndarray | None, lag: float) -> float:
    """-log10 chance of the energy agreement at ``lag`` (a frame or two either way: the landmarks' line
    is not that exact), for an alignment the landmarks proposed, if it is also the lag where the energy
    bits agree best. Music with a steady beat makes many lags agree more than the median lag does, and
    landmarks too find beat-aligned lags: only both methods picking the same lag is independent evidence."""
    if z is None:
        return 0.0
    lags = np.arange(int(round(lag)) - 2, int(round(lag)) + 3) % len(z)
    here = float(z[lags].max())
    return _upper_tail(here) if here >= z.max() else 0.0


def _upper_tail(z: float) -> float:
    return float(-special.log_ndtr(-z) / np.log(10)) if z > 0 else 0.0


def _energy_only(a: AudioFingerprint, b: AudioFingerprint, z: np.ndarray | None = None, scale: float = 1.0,
                 band_shift: int = 0, tried: int = 1, spectra_a: tuple | None = None) -> _Found | None:
    """The best energy alignment on its own, for music too masked (a loud voice, babble) to leave enough
    landmarks, with B taken at ``scale`` of A's tempo (B frames per A frame) and ``band_shift`` bands higher
    (its agreement ``z`` is computed here unless given): its significance pays for the number of lags it was
    picked from and the ``tried`` edits."""
    on_a_clock = b if scale == 1.0 else _time_scaled(b, scale)
    if z is None:
        z = _energy_agreement(a, on_a_clock, band_shift, spectra_a)
    if z is None:
        return None
    lag = int(np.argmax(z))
    significance = _upper_tail(float(z[lag])) - np.log10(np.count_nonzero(np.isfinite(z)) * tried)
    if significance <= 0:
        return None
    shift = lag if lag < len(a.active) else lag - len(z)  # B frame (on A's clock) = A frame - shift
    first, last = _agreeing_span(a, on_a_clock, shift, band_shift)
    return _Found(_edge_snapped(first, last, scale, -shift * scale, a, b), 0.0, float(significance),
                  speed_ratio=1 / scale)


def _time_scaled(fp: AudioFingerprint, scale: float) -> AudioFingerprint:
    """``fp``'s energy bits on a clock ``scale`` times slower (frame j holds its frame round(j * scale))."""
    frames = np.minimum(np.rint(np.arange(int(len(fp.active) / scale)) * scale).astype(np.int64),
                        len(fp.active) - 1)
    return dataclasses.replace(fp, energy_bits=fp.energy_bits[frames], active=fp.active[frames])


def _bit_rows(fp: AudioFingerprint) -> np.ndarray:
    """Energy bits unpacked, bits x frames (uint8 0/1)."""
    bits = np.unpackbits(fp.energy_bits.astype("<u4").view(np.uint8).reshape(-1, 4), axis=1, bitorder="little")
    return bits.T[:ENERGY_BANDS - 1]


def _signs(bits: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Bits as +1/-1, 0 on inactive frames."""
    return np.where(active, 2 * bits.astype(np.float32) - 1, np.float32(0))


def _agreeing_span(a: AudioFingerprint, b: AudioFingerprint, shift: int, band_shift: int = 0) -> tuple[int, int]:
    """First and last frame of A, on the alignment B frame = A frame - shift (B's bands ``band_shift`` higher),
    where the energy bits agree clearly more than by chance over a 2 s window: the boundaries of an
    energy-only alignment."""
    x = np.arange(max(0, shift), min(len(a.active), len(b.active) + shift))
    both = a.active[x] & b.active[x - shift]
    bits_b = b.energy_bits[x - shift]
    if band_shift >= 0:  # B's bit k + band_shift onto A's bit k, on the bits both have
        bits_b, compared = bits_b >> np.uint32(band_shift), (1 << (ENERGY_BANDS - 1 - band_shift)) - 1
    else:
        bits_b, compared = bits_b << np.uint32(-band_shift), (1 << (ENERGY_BANDS - 1)) - (1 << -band_shift)
    rows = ENERGY_BANDS - 1 - abs(band_shift)
    agree = np.where(both, rows - np.bitwise_count((a.energy_bits[x] ^ bits_b) & np.uint32(compared)), 0)
    window = int(2.0 / FRAME_SECONDS)
    rate = ndimage.uniform_filter1d(agree.astype(float), window) / np.maximum(
        ndimage.uniform_filter1d(both.astype(float), window) * rows, 1e-9)
    overall = agree.sum() / max(1, both.sum() * rows)
    clear = np.nonzero(rate > (0.5 + overall) / 2)[0]  # halfway between chance and the alignment's own rate
    if not len(clear):
        return int(x[0]), int(x[-1])
    return int(x[clear[0]]), int(x[clear[-1]])


def _occupancy(anchors: np.ndarray, offsets: np.ndarray, reach: int, slots: int) -> float:
    """Chance that a slot holds a pair in one offset band of width 2*INLIER_FRAMES+1, measured on the
    offsets just beside an alignment (reach..reach+NEIGHBOUR_FRAMES away on either side). Counting
    occupied (slot, band) cells, not pairs, keeps bursts of coincidences from looking rare."""
    band = 2 * INLIER_FRAMES + 1
    distance = np.abs(offsets)
    far = np.nonzero((distance > reach) & (distance <= reach + NEIGHBOUR_FRAMES))[0]
    if not len(far):
        return 0.0
    slot = _slots(anchors[far])
    column = np.floor(offsets[far] / band).astype(np.int64)
    slot -= slot.min()
    column -= column.min()
    occupied = np.zeros((int(slot.max()) + 1) * (int(column.max()) + 1), bool)  # cheaper than np.unique
    occupied[slot * (int(column.max()) + 1) + column] = True
    return np.count_nonzero(occupied) / (2 * NEIGHBOUR_FRAMES / band * slots)


def _slots(frames: np.ndarray) -> np.ndarray:
    """The SLOT_FRAMES slot of each frame (frames // SLOT_FRAMES, without NumPy's slow float floor division)."""
    return np.floor(frames * (1 / SLOT_FRAMES)).astype(np.int64)


def _seconds(frame: float) -> float:
    return float(frame * FRAME_SECONDS + N_FFT / 2 / SAMPLE_RATE)


def _spans_both(segment: Segment, a: AudioFingerprint, b: AudioFingerprint) -> bool:
    """Whether a segment spans both files but for SPAN_TOLERANCE at their ends: every other segment (if longer
    than 4 x SPAN_TOLERANCE on both files, as a run of MIN_SLOTS slots is) is then the same alignment."""
    return (segment.source_start <= SPAN_TOLERANCE and segment.source_end >= a.duration - SPAN_TOLERANCE
            and segment.target_start <= SPAN_TOLERANCE and segment.target_end >= b.duration - SPAN_TOLERANCE)


def _same_alignment(x: Segment, y: Segment) -> bool:
    """Two segments covering mostly the same source and target (e.g. a repeated chorus seen twice)."""
    def overlap(a0, a1, b0, b1):
        return max(0.0, min(a1, b1) - max(a0, b0)) / max(min(a1 - a0, b1 - b0), 1e-9)
    return (overlap(x.source_start, x.source_end, y.source_start, y.source_end) >= 0.5
            and overlap(x.target_start, x.target_end, y.target_start, y.target_end) >= 0.5)
