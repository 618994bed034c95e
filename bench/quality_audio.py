"""Audio quality benchmark: variants derived from real music and speech, hard negatives, our matcher beside
Chromaprint.

    python bench/quality.py --media-type audio --media-dir ../shared/media-dev [--engine pipeline] [--speed]

Every source in MANIFEST.tsv (audio rows) is decoded once at 44.1 kHz stereo and transformed with numpy and
PyAV's encoders (libmp3lame, aac, libopus) into bench/work/audio (cached): low-bitrate codecs, resampling,
mono, +-10 dB, trimmed edges, 5-20 s excerpts at a random offset, 10 s / 5 s excerpts under a speech
voiceover (another real speech file) at +5 / 0 dB SNR, under pink or babble noise at 0 dB, and sped up or
slowed down by 2% (resampled, so pitch follows). Each variant is compared with its source (a positive) and
with every other source of the same album/speaker group (hard negatives); generated silence, hiss, tones,
chords and noise (and MP3 copies of them) are compared with each other (must never match).
Chromaprint: ``fpcalc -raw -length 0`` on the same files, aligned by the lowest bit-error rate over
offsets with >= 4 s of overlap; a pair matches below BER 0.35 (AcoustID's order of magnitude).
Speed, tempo and pitch rows (issue 14), on the held-out half of the music only (a fixed split by a CRC-32 of
the file name; ``--split tune`` makes the same rows on the other half, the one the matcher is tuned on, at the
tuning grid's ratios TUNE_ROWS, and keeps the whole-track rows to that half too; the reported ratios EDIT_ROWS
are off that grid): a 20 s excerpt (mono) sped up or slowed down (ffmpeg
asetrate + aresample: tempo and pitch together), time-stretched with the pitch kept (ffmpeg's rubberband and
atempo filters, alternately) or pitch-shifted with the tempo kept (rubberband, or asetrate then atempo back),
each plain and combined with MP3 64 kbit/s, pink noise at 5 dB SNR, a speech voiceover at +5 dB SNR, a
reverb (exponentially decaying noise, RT60 1.2 s) or a shorter 8-15 s excerpt.
audfprint (Dan Ellis's landmark fingerprinter, https://github.com/dpwe/audfprint, not on PyPI and not part of
this repository): ``--audfprint-dir DIR`` names a checkout of it (``git clone https://github.com/dpwe/audfprint
DIR && git -C DIR checkout cb03ba9``; its dependencies docopt and joblib are in bench/requirements.txt):
every source of the pairs is indexed in one of its hash tables and every query matched against it, so its
column covers the same pairs as ours and Chromaprint's.
Same-group sources that are largely one recording (``shared_recordings``: two mixes over one backing track)
match by product decision: their pairs are reported in rows of their own, not as false positives, and the
confidence table counts them as copies.
--speed (or --speed-only) prints fingerprint speed on one core, compare time of two 5-minute fingerprints (different
music, a shifted copy, a copy played 20% faster against the original and the other way round: median and least of
7 repeats, CPU time, with the load average), size per minute, and the time and memory of the energy-bit
cross-correlation at the duration cap; and the cost of the coarse tempo sweep of the energy bits alone on
pairs that reach it (a 20 s and a 60 s excerpt of other music against 5 minutes; a 60 s excerpt at the cap).
"""
from __future__ import annotations

import argparse
import collections
import dataclasses
import os
import pickle
import subprocess
import sys
import time
import tracemalloc
import zlib

import av
import numpy as np
from scipy.signal import fftconvolve, resample_poly

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root

from bench.common import manifest_rows, print_confidence_bands, print_table, run_pipeline  # noqa: E402
from bench.shared_signal import shared_signal  # noqa: E402
from medialayer.limits import Limits  # noqa: E402
from medialayer.matchers.audio import (FRAME_SECONDS, MATCHER, TEMPO_SWEEP_SECONDS, AudioFingerprint,  # noqa: E402
                                      _energy_agreement, _tempo_proposals, fingerprint_samples)
from medialayer.matchers.audio_decode import decode  # noqa: E402
from medialayer.media import Blob  # noqa: E402
from medialayer.synthetic import audio as synth  # noqa: E402

SR = 44100
TARGETS = {"mp3 32k": 0.995, "mp3 64k": 0.995, "mp3 128k": 0.995, "aac 64k": 0.995, "opus 32k": 0.995,
           "resample 16k": 0.995, "resample 22.05k": 0.995, "mono": 0.995, "gain +10dB": 0.995,
           "gain -10dB": 0.995, "trim edges": 0.995, "excerpt 5-20s": 0.99, "voiceover +5dB 10s": 0.92,
           "voiceover 0dB 10s": 0.80, "voiceover 0dB 5s": 0.65, "pink noise 0dB 10s": 0.85,
           "babble 0dB 10s": 0.85, "speed +2%": 0.90, "speed -2%": 0.90}
# speed/tempo/pitch rows: kind and the ratios (playback speed or tempo factor; semitones) cycled over the tracks
# and combinations, all off the tuning grid (0.80/0.88/0.95/1.05/1.12/1.25, +-2.5 semitones)
EDIT_ROWS = {"speed <=10%": ("speed", (0.963, 1.083, 0.917, 1.037)),
             "speed 10-30%": ("speed", (0.821, 1.179, 0.714, 1.286)),
             "tempo <=10%": ("tempo", (0.917, 1.083, 0.937, 1.063)),
             "tempo 10-15%": ("tempo", (0.853, 1.147, 0.871, 1.129)),
             "pitch <=2 st": ("pitch", (-2.0, 2.0, -1.3, 1.7)),
             "pitch 2-3 st": ("pitch", (-3.0, 3.0, -2.7, 2.8))}
# the tuning grid, for the same rows on the other half of the music (--split tune)
TUNE_ROWS = {"speed <=10%": ("speed", (0.95, 1.05)), "speed 10-30%": ("speed", (0.80, 0.88, 1.12, 1.25)),
             "tempo <=10%": ("tempo", (0.95, 1.05)), "tempo 10-15%": ("tempo", (0.88, 1.12)),
             "pitch <=2 st": ("pitch", (-1.5, 1.5)), "pitch 2-3 st": ("pitch", (-2.5, 2.5))}
EDIT_TARGETS = {"speed <=10%": 0.95, "tempo <=10%": 0.95, "pitch <=2 st": 0.95,
                "speed 10-30%": 0.85, "tempo 10-15%": 0.85, "pitch 2-3 st": 0.85}
COMBINATIONS = ("plain", "+ mp3 64k", "+ pink noise 5dB", "+ voiceover +5dB", "+ reverb", "+ excerpt 8-15s")
VARIANTS_PER_COMBINATION = 1
HELD_OUT = 1  # sources with crc32(name) % 2 == HELD_OUT are reported on; the matcher was tuned on the others
SHARED_CORRELATION = 0.5  # two sources this correlated are one recording (unrelated tracks: ~0.03)
CHROMAPRINT_MAX_BER = 0.35
CHROMAPRINT_ITEM_SECONDS = 4096 / 11025 / 3  # fpcalc's step between sub-fingerprints (~0.124 s)


def load_sources(media_dir: str) -> list[dict]:
    rows = manifest_rows(media_dir, "audio")
    return [{"name": os.path.splitext(os.path.basename(r["path"]))[0], "path": os.path.join(media_dir, r["path"]),
             "group": r["group"], "speech": os.path.basename(r["path"]).startswith("speech")} for r in rows]


def read_stereo(path: str) -> np.ndarray:
    """2 x n float32 at 44.1 kHz."""
    resampler = av.AudioResampler(format="fltp", layout="stereo", rate=SR)
    parts = []
    with av.open(path) as container:
        for frame in container.decode(audio=0):
            parts += [f.to_ndarray() for f in resampler.resample(frame)]
    parts += [f.to_ndarray() for f in resampler.resample(None)]
    return np.concatenate(parts, axis=1)


def _mix(music: np.ndarray, other: np.ndarray, snr_db: float) -> np.ndarray:
    """music (2 x n) plus a mono ``other`` at ``snr_db`` below it."""
    return np.stack([synth.mix(channel, other, snr_db) for channel in music])


def _babble(speech: list[np.ndarray], seconds: float, rng) -> tuple[np.ndarray, list[int]]:
    """5 speech files summed at equal RMS, and the indices (into ``speech``) of the files used."""
    n = int(seconds * SR)
    voices = []
    chosen = [int(v) for v in rng.choice(len(speech), size=min(5, len(speech)), replace=False)]
    for voice in chosen:
        mono = speech[voice].mean(axis=0)
        start = int(rng.integers(0, max(1, len(mono) - n)))
        part = np.resize(mono[start:start + n], n)
        voices.append(part / (np.sqrt(np.mean(part ** 2)) + 1e-9))
    return np.sum(voices, axis=0).astype(np.float32), chosen


def make_variants(source: dict, audio: np.ndarray, speech: list[tuple[str, np.ndarray]], rng) -> list[dict]:
    """(case, samples 2 x n or 1 x n, rate, format, bitrate, truth, contains) for one source; truth is the
    source start/end of the overlap (target starts at 0) or None for whole-track variants; contains names
    the other sources whose audio was mixed in (they are not negatives for this variant)."""
    n = audio.shape[1]
    seconds = n / SR

    def excerpt(length):
        start = float(rng.uniform(0, max(0.0, seconds - length)))
        return start, audio[:, int(start * SR):int(start * SR) + int(length * SR)]

    variants = [("mp3 32k", audio, SR, "mp3", 32000, None), ("mp3 64k", audio, SR, "mp3", 64000, None),
                ("mp3 128k", audio, SR, "mp3", 128000, None), ("aac 64k", audio, SR, "m4a", 64000, None),
                ("opus 32k", audio, SR, "opus", 32000, None),
                ("resample 16k", resample_poly(audio, 160, 441, axis=1), 16000, "wav", None, None),
                ("resample 22.05k", resample_poly(audio, 1, 2, axis=1), 22050, "wav", None, None),
                ("mono", audio.mean(axis=0, keepdims=True), SR, "flac", None, None),
                ("gain +10dB", audio * 10 ** 0.5, SR, "flac", None, None),
                ("gain -10dB", audio * 10 ** -0.5, SR, "flac", None, None)]
    cut_front = float(rng.uniform(1, min(15, max(1.0, (seconds - 5) / 2))))
    cut_back = float(rng.uniform(1, min(15, max(1.0, (seconds - 5) / 2))))
    variants.append(("trim edges", audio[:, int(cut_front * SR):n - int(cut_back * SR)], SR, "flac", None,
                     (cut_front, seconds - cut_back)))
    for _ in range(2):
        length = float(rng.uniform(5, 20))
        start, part = excerpt(length)
        variants.append(("excerpt 5-20s", part, SR, "flac", None, (start, start + part.shape[1] / SR)))
    others = [s for name, s in speech if name != source["name"]]
    other_names = [name for name, _ in speech if name != source["name"]]
    contains = {}  # variant index -> names of the other sources mixed into it
    if not source["speech"]:
        for case, length, snr in (("voiceover +5dB 10s", 10, 5), ("voiceover 0dB 10s", 10, 0),
                                  ("voiceover 0dB 5s", 5, 0)):
            start, part = excerpt(length)
            chosen = int(rng.integers(len(others)))
            voice = others[chosen].mean(axis=0)
            contains[len(variants)] = {other_names[chosen]}
            offset = int(rng.integers(0, max(1, len(voice) - part.shape[1])))
            variants.append((case, _mix(part, voice[offset:], snr), SR, "flac", None,
                             (start, start + part.shape[1] / SR)))
    start, part = excerpt(10)
    variants.append(("pink noise 0dB 10s", _mix(part, synth.noise(10, int(rng.integers(1 << 30)), "pink", SR), 0),
                     SR, "flac", None, (start, start + part.shape[1] / SR)))
    start, part = excerpt(10)
    babble, chosen = _babble(others, 10, rng)
    contains[len(variants)] = {other_names[i] for i in chosen}
    variants.append(("babble 0dB 10s", _mix(part, babble, 0), SR, "flac", None,
                     (start, start + part.shape[1] / SR)))
    scales = {}
    for case, up, down in (("speed +2%", 50, 51), ("speed -2%", 50, 49)):
        start, part = excerpt(30)
        scales[len(variants)] = up / down
        variants.append((case, resample_poly(part, up, down, axis=1), SR, "flac", None,
                         (start, start + part.shape[1] / SR)))
    return [{"case": c, "samples": s, "rate": r, "format": f, "bitrate": b, "truth": t,
             "contains": contains.get(k, set()), "scale": scales.get(k, 1.0)}
            for k, (c, s, r, f, b, t) in enumerate(variants)]


def in_split(source: dict, split: str) -> bool:
    """Whether a source is in the held-out half reported on ("report") or the half tuned on ("tune")."""
    return (zlib.crc32(source["name"].encode()) % 2 == HELD_OUT) == (split == "report")


def _ffmpeg_filter(samples: np.ndarray, audio_filter: str) -> np.ndarray:
    """channels x n float32 at SR through an ffmpeg audio filter graph, back at SR."""
    channels = str(len(samples))
    pcm = ["-f", "f32le", "-ar", str(SR), "-ac", channels]
    out = subprocess.run(["ffmpeg", "-v", "error", *pcm, "-i", "-", "-af", audio_filter, *pcm, "-"],
                         input=np.ascontiguousarray(samples.T, "<f4").tobytes(), capture_output=True, check=True)
    return np.frombuffer(out.stdout, "<f4").reshape(-1, len(samples)).T


def _edited(samples: np.ndarray, kind: str, value: float, method: int) -> np.ndarray:
    """``samples`` sped up (resampled: tempo and pitch together; ``value`` is the playback speed, realised as
    round(SR * value) / SR), time-stretched with the pitch kept (``value``: the tempo factor) or pitch-shifted
    with the tempo kept (``value``: semitones), by one of two implementations (``method`` 0 or 1)."""
    if kind == "speed":
        return _ffmpeg_filter(samples, f"asetrate={round(SR * value)},aresample={SR}")
    if kind == "tempo":
        return _ffmpeg_filter(samples, f"rubberband=tempo={value}" if method == 0 else f"atempo={value}")
    ratio = 2 ** (value / 12)
    rate = round(SR * ratio)
    return _ffmpeg_filter(samples, f"rubberband=pitch={ratio:.6f}" if method == 0
                          else f"asetrate={rate},aresample={SR},atempo={SR / rate:.6f}")  # resampled, tempo put back


def _reverb(samples: np.ndarray, seed: int, rt60: float = 1.2) -> np.ndarray:
    """A room: exponentially decaying noise (-60 dB after rt60 s) as the impulse response, wet at the dry level."""
    n = int(rt60 * SR)
    response = np.random.default_rng(seed).standard_normal(n) * np.exp(-6.9 * np.arange(n) / n)
    out = []
    for channel in samples:
        wet = fftconvolve(channel, response)[:len(channel)]
        wet *= np.sqrt(np.mean(channel ** 2) / (np.mean(wet ** 2) + 1e-12))
        out.append(np.clip(channel + wet, -1, 1))
    return np.array(out, np.float32)


def make_edit_variants(source: dict, audio: np.ndarray, speech: list[tuple[str, np.ndarray]], rng,
                       index: int, rows: dict) -> list[dict]:
    """The speed/tempo/pitch variants of one source (mono: the matcher downmixes anyway, and rubberband is slow):
    for every row and combination, VARIANTS_PER_COMBINATION excerpts edited at ratios cycled from the row's list,
    by implementations taken in turn (``index`` staggers both cycles between sources). Their samples are made by
    ``make()``, only when the file is not cached; every random choice is drawn here."""
    audio = audio.mean(axis=0, keepdims=True)
    seconds = audio.shape[1] / SR
    others = [(name, s) for name, s in speech if name != source["name"]]
    variants = []
    for row, (kind, values) in rows.items():
        for c, combination in enumerate(COMBINATIONS):
            for j in range(VARIANTS_PER_COMBINATION):
                value = values[(index + c * VARIANTS_PER_COMBINATION + j) % len(values)]
                length = float(rng.uniform(8, 15)) if combination == "+ excerpt 8-15s" else 20.0
                start = float(rng.uniform(0, max(0.0, seconds - length)))
                part = audio[:, int(start * SR):int((start + length) * SR)]
                voice_name, voice = others[int(rng.integers(len(others)))]
                seed = int(rng.integers(1 << 30))

                def make(part=part, kind=kind, value=value, method=(index + c + j) % 2, combination=combination,
                         voice=voice, seed=seed):
                    edited = _edited(part, kind, value, method)
                    if combination == "+ pink noise 5dB":
                        return _mix(edited, synth.noise(edited.shape[1] / SR, seed, "pink", SR), 5)
                    if combination == "+ voiceover +5dB":
                        return _mix(edited, voice.mean(axis=0), 5)
                    if combination == "+ reverb":
                        return _reverb(edited, seed)
                    return edited
                rate = round(SR * value) if kind == "speed" else SR
                variants.append({"case": f"{row} {combination}", "make": make, "rate": SR,
                                 "format": "mp3" if combination == "+ mp3 64k" else "flac",
                                 "bitrate": 64000 if combination == "+ mp3 64k" else None,
                                 "truth": (start, start + part.shape[1] / SR),
                                 "scale": SR / rate if kind == "speed" else 1 / value if kind == "tempo" else 1.0,
                                 "contains": {voice_name} if combination == "+ voiceover +5dB" else set(),
                                 "edit": combination})
    return variants


def low_information_files(workdir: str) -> list[str]:
    signals = {"silence": synth.silence(30, SR), "hiss": synth.noise(30, 11, "white", SR, amplitude=0.003),
               "tone": synth.tone(1000, 30, SR), "tone-low": synth.tone(220, 30, SR, amplitude=0.1),
               "chord": synth.chord([262, 330, 392], 30, SR), "white": synth.noise(30, 12, "white", SR),
               "pink": synth.noise(30, 13, "pink", SR), "brown": synth.noise(30, 14, "brown", SR)}
    paths = []
    for name, samples in signals.items():
        for fmt, bitrate in (("flac", None), ("mp3", 128000)):
            path = os.path.join(workdir, f"lowinfo_{name}.{fmt}")
            if not os.path.exists(path):
                _write(path, synth.encode(samples, SR, fmt, bitrate))
            paths.append(path)
    return paths


def _write(path: str, data: bytes) -> None:
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.replace(path + ".tmp", path)


def _lasts_as_made(path: str, variant: dict) -> bool:
    """Whether a cached speed/tempo/pitch file lasts what its edit makes of the excerpt (within 0.2 s, codec
    padding): a file made by an earlier, wrong recipe is made again (pitch shifts by asetrate + atempo once
    sped the excerpt up twice instead of putting its tempo back)."""
    with av.open(path) as container:
        seconds = container.duration / av.time_base
    start, end = variant["truth"]
    return abs(seconds - (end - start) * variant["scale"]) <= 0.2


def shared_recordings(sources: list[dict]) -> set[tuple[str, str]]:
    """Pairs of names (both orders) of same-group sources that are, as waveforms, largely one recording (a
    backing track shared by two mixes): correlation >= SHARED_CORRELATION at the best lag within 0.5 s.
    Variants of one against the other share recorded content and match by product decision (README): they
    are reported in rows of their own, not counted as false positives."""
    by_group = collections.defaultdict(list)
    for source in sources:
        by_group[source["group"]].append(source)
    samples, shared = {}, set()
    for members in by_group.values():
        for i, x in enumerate(members):
            for y in members[i + 1:]:
                for source in (x, y):
                    if source["name"] not in samples:
                        samples[source["name"]] = decode(Blob(path=source["path"]), Limits())
                if shared_signal(samples[x["name"]], samples[y["name"]])[1] >= SHARED_CORRELATION:
                    shared |= {(x["name"], y["name"]), (y["name"], x["name"])}
    return shared


def build(media_dir: str, workdir: str, seed: int, max_sources: int | None, edits: bool = True,
          edits_only: bool = False, split: str = "report", first_source: int = 0):
    """The source list, the positive pairs and the negative pairs (each a dict), writing variant files. The
    speed/tempo/pitch rows are made on the ``split`` half of the music, at the tuning grid's ratios for "tune";
    with "tune" every row and negative stays within that half (the whole-track rows too: the other half's
    figures are held out). ``max_sources`` takes every n-th track of the list from ``first_source`` on."""
    os.makedirs(workdir, exist_ok=True)
    all_sources = load_sources(media_dir)
    sources = (all_sources[first_source::max(1, len(all_sources) // max_sources)][:max_sources] if max_sources
               else all_sources)
    if split == "tune":
        sources = [s for s in sources if in_split(s, split)]
    speech = [(s["name"], read_stereo(s["path"])) for s in all_sources if s["speech"]]
    positives = []
    for source in sources:
        rng = np.random.default_rng([seed, all_sources.index(source)])  # the same variants whatever the subset
        prefix = os.path.join(workdir, f"{seed}_{source['name']}")
        audio = read_stereo(source["path"])
        variants = [] if edits_only else [(f"{k:02d}", v)
                                          for k, v in enumerate(make_variants(source, audio, speech, rng))]
        if edits and in_split(source, split) and not source["speech"]:
            edit_rng = np.random.default_rng([seed, all_sources.index(source), 14])
            rows, label = (EDIT_ROWS, "edit") if split == "report" else (TUNE_ROWS, "tune")
            variants += [(f"{label}{k:03d}", v) for k, v in enumerate(
                make_edit_variants(source, audio, speech, edit_rng, all_sources.index(source), rows))]
        for label, variant in variants:
            path = f"{prefix}_{label}.{variant['format']}"
            if not os.path.exists(path) or ("make" in variant and not _lasts_as_made(path, variant)):
                samples = variant["make"]() if "make" in variant else variant["samples"]
                _write(path, synth.encode(samples, variant["rate"], variant["format"], variant["bitrate"],
                                          channels=len(samples)))
            positives.append({"case": variant["case"], "source": source, "query": path, "truth": variant["truth"],
                              "contains": variant["contains"], "scale": variant.get("scale", 1.0),
                              "edit": variant.get("edit")})
    by_group = collections.defaultdict(list)
    for source in sources:
        by_group[source["group"]].append(source)
    # a variant is not a negative for a source whose audio it contains (a speech file's babble is made of
    # other speech files of the same speaker group)
    shared = shared_recordings(sources)
    negatives = [{"case": ("same group, shared recording" if (p["source"]["name"], other["name"]) in shared
                           else "same group") + (", speed/tempo/pitch variants" if p["edit"] else ""),
                  "source": other, "query": p["query"], "edit": p["edit"]}
                 for p in positives for other in by_group[p["source"]["group"]]
                 if other is not p["source"] and other["name"] not in p["contains"]
                 and (split == "report" or in_split(other, split))]
    low = low_information_files(workdir)
    negatives += [{"case": "silence/hiss/tone/noise", "source": {"path": a}, "query": b}
                  for i, a in enumerate(low) for b in low[i:]]
    return sources, positives, negatives


# ---------------------------------------------------------------- engines

def compare_direct(pairs: list[dict]) -> list:
    cache = {}

    def fingerprint(path):
        if path not in cache:
            cache[path] = MATCHER.fingerprint(Blob(path=path), Limits())
        return cache[path]
    return [MATCHER.compare(fingerprint(p["source"]["path"]), fingerprint(p["query"])) for p in pairs]


def compare_pipeline(pairs: list[dict], workdir: str) -> list:
    rows = [{"pair_id": str(i), "source_url": p["source"]["path"], "target_url": p["query"], "media_type": "audio"}
            for i, p in enumerate(pairs)]
    records, _ = run_pipeline(rows, os.path.join(workdir, "pipeline"))
    results = []
    for i in range(len(pairs)):
        record = records[str(i)]
        if record["error"]:
            print("error:", pairs[i]["query"], record["error"], file=sys.stderr)
        results.append(record)
    return [_Result(bool(r["match"]), r["matched_segments"] or [], r["confidence"]) for r in results]


class _Result:
    def __init__(self, match, segments, confidence):
        self.match, self.confidence = match, confidence  # confidence None: an error, no decision
        self.segments = [_Seg(**s) for s in segments]


class _Seg:
    def __init__(self, source_start, source_end, target_start, target_end):
        self.source_start, self.source_end, self.target_start, self.target_end = (
            source_start, source_end, target_start, target_end)


# ---------------------------------------------------------------- Chromaprint baseline

def chromaprint(path: str) -> np.ndarray:
    # fpcalc exits non-zero on a harmless end-of-file warning, so its output is what counts
    out = subprocess.run(["fpcalc", "-raw", "-length", "0", path], capture_output=True, text=True).stdout
    values = next((x.split("=", 1)[1] for x in out.splitlines() if x.startswith("FINGERPRINT=")), "")
    return np.array([int(v) for v in values.split(",")] if values else [], np.int64).astype(np.uint32)


def chromaprint_ber(a: np.ndarray, b: np.ndarray, min_overlap_items: int = 32) -> float:
    """Lowest bit-error rate over all offsets with at least ``min_overlap_items`` items of overlap."""
    if min(len(a), len(b)) < 8:
        return 1.0
    need = min(min_overlap_items, len(a), len(b))
    best = 1.0
    for shift in range(-(len(b) - need), len(a) - need + 1):
        lo_a, lo_b = max(0, shift), max(0, -shift)
        n = min(len(a) - lo_a, len(b) - lo_b)
        errors = np.bitwise_count(a[lo_a:lo_a + n] ^ b[lo_b:lo_b + n]).sum()
        best = min(best, errors / (32.0 * n))
    return best


def compare_chromaprint(pairs: list[dict]) -> list[bool]:
    cache = {}

    def fp(path):
        if path not in cache:
            cache[path] = chromaprint(path)
        return cache[path]
    return [chromaprint_ber(fp(p["source"]["path"]), fp(p["query"])) < CHROMAPRINT_MAX_BER for p in pairs]


# ---------------------------------------------------------------- audfprint baseline

def compare_audfprint(pairs: list[dict], checkout: str) -> list[bool]:
    """Dan Ellis's audfprint (landmark pairs at 11.025 kHz) used as designed, through its own modules with its
    command line's defaults (``new`` then ``match``): every source of the pairs stored in one hash table
    (density 20, fan-out 3; 20-bit hashes, 100 entries a bucket), every query matched with 4 sub-frame shifts
    and a 2-frame match window; a pair matches when the source is among the query's results with at least 5
    aligned landmarks (``--min-count``)."""
    sys.path.insert(0, checkout)
    import audfprint_analyze
    import audfprint_match
    import hash_table
    analyzer = audfprint_analyze.Analyzer()
    table = hash_table.HashTable(hashbits=20, depth=100)
    for path in dict.fromkeys(p["source"]["path"] for p in pairs):
        table.store(path, analyzer.wavfile2hashes(path))
    analyzer.shifts = 4
    matcher = audfprint_match.Matcher()
    matcher.window = 2
    matcher.max_returns = len(table.names)
    found = {}
    for query in dict.fromkeys(p["query"] for p in pairs):
        results = matcher.match_hashes(table, analyzer.wavfile2hashes(query))
        found[query] = {table.names[int(row[0])] for row in results if row[1] >= matcher.threshcount}
    return [p["source"]["path"] in found[p["query"]] for p in pairs]


# ---------------------------------------------------------------- report

def boundary_error(result, truth, duration_scale: float = 1.0):
    """Largest of the four boundary errors (s) of the segment overlapping the truth, or None."""
    if truth is None or not result.segments:
        return None
    start, end = truth
    best = max(result.segments, key=lambda s: min(s.source_end, end) - max(s.source_start, start))
    target_end = (end - start) * duration_scale
    return max(abs(best.source_start - start), abs(best.source_end - end), abs(best.target_start),
               abs(best.target_end - target_end))


def misplaced(result, truth, duration_scale: float = 1.0) -> bool:
    """A match none of whose segments lies on the true alignment (offset off by more than 1 s)."""
    if truth is None or not result.match:
        return False
    return all(abs(s.source_start - s.target_start / duration_scale - truth[0]) > 1.0 for s in result.segments)


def _target(case: str) -> float:
    return TARGETS.get(case) or next(t for row, t in EDIT_TARGETS.items() if case.startswith(row))


def _rate(found: list | None, idx: list[int], digits: int) -> str:
    """A baseline's share of matches over those of the pairs ``idx`` it was run on ("-": none)."""
    decided = [found[i] for i in idx if found[i] is not None] if found else []
    return f"{np.mean(decided):.{digits}f}" if decided else "-"


def _positive_row(case: str, idx: list[int], positives, ours, baselines: dict) -> list:
    pairs = [positives[i] for i in idx]
    results = [ours[i] for i in idx]
    recall = np.mean([r.match for r in results])
    errors = [e for p, r in zip(pairs, results) if (e := boundary_error(r, p["truth"], p["scale"])) is not None]
    located = pairs[0]["truth"] is not None
    p90 = f"{np.percentile(errors, 90):.2f}" if errors and located else "-"
    within = f"{np.mean(np.array(errors) <= 0.5):.2f}" if errors and located else "-"
    elsewhere = sum(misplaced(r, p["truth"], p["scale"]) for p, r in zip(pairs, results)) if located else "-"
    target = _target(case)
    return [case, len(idx), f"{recall:.3f}",
            *[_rate(found, idx, 3) for found in baselines.values()], p90, within, elsewhere, f">= {target}",
            "yes" if recall >= target else "NO"]


def report(positives, negatives, ours, baselines: dict[str, list | None]) -> None:
    """Recall per case (and per speed/tempo/pitch row over its combinations), then false positives per kind
    of negative; ``baselines``: name -> a decision per pair (positives then negatives), or None if not run."""
    by_case = collections.defaultdict(list)
    for i, pair in enumerate(positives):
        by_case[pair["case"]].append(i)
    rows = [_positive_row(case, idx, positives, ours, baselines) for case, idx in by_case.items()]
    for row in EDIT_ROWS:
        idx = [i for i, p in enumerate(positives) if p["case"].startswith(row + " ")]
        if idx:
            rows.append(_positive_row(f"{row}, all combinations", idx, positives, ours, baselines))
    print_table(["case", "pairs", "recall (ours)", *[f"recall ({name})" for name in baselines],
                 "boundary err p90 (s)", "boundaries <= 0.5 s", "matched off the truth", "target", "met"], rows)
    print()
    rows = []
    for case in dict.fromkeys(n["case"] for n in negatives):
        idx = [len(positives) + i for i, n in enumerate(negatives) if n["case"] == case]
        rows.append([case, len(idx), f"{np.mean([ours[i].match for i in idx]):.4f}",
                     *[_rate(found, idx, 4) for found in baselines.values()]])
    print_table(["negatives", "pairs", "false-positive rate (ours)", *[f"FPR ({name})" for name in baselines]], rows)
    # two mixes over one backing track match by product decision (README): here their pairs count as copies
    print_confidence_bands([True] * len(positives) + [_shared(n) for n in negatives],
                           [None if r.confidence is None else r.match for r in ours], [r.confidence for r in ours])
    print("(\"shared recording\" pairs counted as copies: a match is right there, no match wrong)")


def _shared(negative: dict) -> bool:
    """Whether a negative pair is of two sources sharing a recording (a match by product decision)."""
    return negative["case"].startswith("same group, shared recording")


def speed_report(sources: list[dict]) -> None:
    """Fingerprint speed on one core, compare time of 5-minute fingerprints, bytes per minute."""
    total_audio = total_time = decode_time = 0.0
    fps = {}
    for source in sources:
        start = time.process_time()
        samples = decode(Blob(path=source["path"]), Limits())
        decode_time += time.process_time() - start
        start = time.process_time()
        fps[source["name"]] = MATCHER.fingerprint(Blob(path=source["path"]), Limits())
        total_time += time.process_time() - start
        total_audio += len(samples) / 8000
    sizes = [len(pickle.dumps(fp)) / (fp.duration / 60) for fp in fps.values() if fp.duration > 30]
    print(f"fingerprint (decode + peaks, CPU time, one thread): {total_audio / total_time:.0f}x realtime over "
          f"{total_audio / 60:.1f} min of audio (decode alone: {total_audio / decode_time:.0f}x)")
    print(f"fingerprint size: median {np.median(sizes) / 1024:.1f} KiB per minute (pickled)")
    music = [s for s in sources if not s["speech"]][:4]
    if len(music) >= 4:
        def long_track(parts):
            return np.concatenate([decode(Blob(path=p["path"]), Limits()) for p in parts])[:300 * 8000]
        x, y = long_track(music[:2] * 2), long_track(music[2:4] * 2)
        fa, fb = fingerprint_samples(x), fingerprint_samples(y)
        fa2 = fingerprint_samples(np.roll(x, 12345) * 0.5)
        faster = fingerprint_samples(resample_poly(x, 5, 6).astype(np.float32))  # played 1.2x faster
        for label, (p, q) in (("different", (fa, fb)), ("same (shifted copy)", (fa, fa2)),
                              ("same, 20% faster (resampled)", (fa, faster)),
                              ("same, 20% faster, the other way round", (faster, fa))):
            times = []
            for _ in range(7):
                start = time.process_time()
                MATCHER.compare(p, q)
                times.append(time.process_time() - start)
            print(f"compare two 5-minute fingerprints, {label}: median {np.median(times) * 1000:.1f} ms CPU "
                  f"(least {min(times) * 1000:.1f}; load average {os.getloadavg()[0]:.1f})")
        # the coarse tempo sweep runs on every pair with an excerpt of at most TEMPO_SWEEP_SECONDS that reaches
        # the energy bits unresolved (unrelated music among them): its own cost on such pairs
        for label, (p, q) in (("a 20 s excerpt of other music against a 5-minute fingerprint",
                               (fa, fingerprint_samples(y[60 * 8000:80 * 8000]))),
                              ("a 60 s excerpt of other music against a 5-minute fingerprint",
                               (fa, fingerprint_samples(y[60 * 8000:120 * 8000])))):
            times = []
            for _ in range(7):
                start = time.process_time()
                _tempo_proposals(p, q)
                times.append(time.process_time() - start)
            print(f"coarse tempo sweep alone, {label}: median {np.median(times) * 1000:.1f} ms CPU "
                  f"(least {min(times) * 1000:.1f}; load average {os.getloadavg()[0]:.1f})")
    energy_at_the_cap()


def cost_of(function, *args) -> tuple[float, int]:
    """(CPU seconds, peak bytes allocated) of one call."""
    tracemalloc.start()
    start = time.process_time()
    function(*args)
    seconds = time.process_time() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, peak


def energy_at_the_cap() -> None:
    """Time and peak memory of the energy-bit cross-correlation for two files at the duration cap
    (random bits: its cost depends only on the lengths)."""
    frames = int(Limits().max_audio_seconds / FRAME_SECONDS)
    rng = np.random.default_rng(0)
    a, b = (AudioFingerprint(np.zeros(0, np.uint32), np.zeros(0, np.uint16), np.zeros(0, np.uint8),
                             np.zeros(0, bool),
                             rng.integers(0, 1 << 32, frames, dtype=np.uint64).astype(np.uint32),
                             np.ones(frames, bool), Limits().max_audio_seconds, None) for _ in range(2))
    seconds, peak = cost_of(_energy_agreement, a, b)
    print(f"energy cross-correlation of two {Limits().max_audio_seconds / 3600:.0f}-hour files: {seconds:.2f} s CPU, "
          f"peak {peak / 2 ** 20:.0f} MiB allocated")
    excerpt = dataclasses.replace(b, energy_bits=b.energy_bits[:int(TEMPO_SWEEP_SECONDS / FRAME_SECONDS)],
                                  active=b.active[:int(TEMPO_SWEEP_SECONDS / FRAME_SECONDS)],
                                  duration=TEMPO_SWEEP_SECONDS)
    seconds, peak = cost_of(_tempo_proposals, a, excerpt)
    print(f"coarse tempo sweep of the energy bits, a {TEMPO_SWEEP_SECONDS:.0f} s excerpt against a "
          f"{Limits().max_audio_seconds / 3600:.0f}-hour file (the longest it runs on): {seconds:.2f} s CPU, "
          f"peak {peak / 2 ** 20:.0f} MiB allocated")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--media-dir", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared",
                                                            "media-dev"))
    parser.add_argument("--workdir", default=os.path.join(os.path.dirname(__file__), "work", "audio"))
    parser.add_argument("--engine", choices=("direct", "pipeline"), default="pipeline",
                        help="call the matcher directly, or run the pairs through the Beam pipeline")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-sources", type=int, default=None, help="use a spread subset of the sources")
    parser.add_argument("--no-chromaprint", action="store_true")
    parser.add_argument("--no-edits", action="store_true", help="leave out the speed/tempo/pitch rows")
    parser.add_argument("--edits-only", action="store_true", help="only the speed/tempo/pitch rows (and the "
                        "low-information negatives)")
    parser.add_argument("--split", choices=("report", "tune"), default="report",
                        help="make the speed/tempo/pitch rows on the held-out half (report) or, at the tuning "
                        "grid's ratios, on the half the matcher is tuned on (tune: every row on that half only)")
    parser.add_argument("--audfprint-dir", metavar="DIR",
                        help="a checkout of https://github.com/dpwe/audfprint (commit cb03ba9) to compare with")
    parser.add_argument("--speed", action="store_true", help="also print speed and size figures")
    parser.add_argument("--speed-only", action="store_true", help="print the speed and size figures only")
    parser.add_argument("--make-only", action="store_true", help="only make (cache) the variant files")
    args = parser.parse_args(argv)
    if args.speed_only:
        speed_report(load_sources(args.media_dir))
        return
    sources, positives, negatives = build(args.media_dir, args.workdir, args.seed, args.max_sources,
                                          edits=not args.no_edits, edits_only=args.edits_only, split=args.split)
    if args.make_only:
        return
    pairs = positives + negatives
    print(f"{len(sources)} sources, {len(positives)} positive pairs, {len(negatives)} negative pairs")
    start = time.time()
    ours = compare_direct(pairs) if args.engine == "direct" else compare_pipeline(pairs, args.workdir)
    print(f"ours ({args.engine}): {time.time() - start:.0f} s")
    baselines = {"Chromaprint": None if args.no_chromaprint else compare_chromaprint(pairs),
                 "audfprint": compare_audfprint(pairs, args.audfprint_dir) if args.audfprint_dir else None}
    report(positives, negatives, ours, baselines)
    if args.speed:
        print()
        speed_report(sources)


if __name__ == "__main__":
    main(sys.argv[1:])
