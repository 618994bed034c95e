"""Recall and false positives of the audio matcher on families of edits the quality bench does not make, at the
matcher's own decision, on one split's music (``bench/quality_audio.py`` ``in_split``: tune = the 11 tracks the
matcher is tuned on, report = the 17 held out).

    python bench/edits_audio.py --media-dir ../shared/media-dev --split tune [--only FAMILY ...]

Each music track of the split gives, per family, one edited file: a 20 s excerpt at a random offset (shorter for
the excerpt families) through the family's steps, every parameter drawn per track within the family's range
(seeded by the split, so the held-out files never repeat the tune split's values):
- effects: telephone band + mu-law at 8 kHz, echo, chorus, flanger, bit crush, hard clipping, EQ +-15 dB,
  a speaker played into a microphone, heavy compression, tremolo, vibrato, tempo + MP3, speed + lowpass,
  mono AAC at 22.05 kHz, highpass ~1 kHz;
- an SNR ladder: pink noise, babble (the split's speech files summed at equal level) and a real voice (one
  speech file of the split) at +5, 0, -5 and -10 dB SNR (the noise's RMS against the excerpt's; the mix is
  scaled down, not clipped, when it would overflow);
- short excerpts of 2, 3 and 5 s, and combinations (a short excerpt under noise or a voice, an effect under
  noise or a voice).
Within a family every track gets the SAME noise or voice recording at the same place: the noise is the
family's, not the track's.

Each edited file is compared with its own track (a copy: found or missed), with the split's next track (the
list's order, the last wraps to the first) under the same family's edit ("another track edited": a false positive
if matched), and both edited files with each other ("both edited": two different tracks under one edit and,
for the noise families, one noise recording at one place). Under pink noise (and any effect) a match of both
edited files is a false positive: noise never matches (README). Under babble or a voice the two files share a
recording of speech, which the README's product decision (two mixes over one shared recording match: they share
recorded content) makes a match: those are reported, not judged here. Per family: copies found, the copies'
score quantiles, negatives matched, the confidence of the decisions (copies and negatives). Files are cached in
``bench/work/audio-edits/<split>`` (gitignored).
"""
from __future__ import annotations

import argparse
import collections
import dataclasses
import os
import sys
import time
import zlib
from typing import Callable

import numpy as np
from scipy.signal import resample_poly

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root
from bench.quality_audio import SR, _ffmpeg_filter, _write, in_split, load_sources, read_stereo  # noqa: E402

from medialayer.limits import Limits  # noqa: E402
from medialayer.matchers.audio import MATCHER  # noqa: E402
from medialayer.media import Blob  # noqa: E402
from medialayer.synthetic import audio as synth  # noqa: E402

EXCERPT_SECONDS = 20.0
SNR_LADDER = (5, 0, -5, -10)
Rng = np.random.Generator


@dataclasses.dataclass(frozen=True)
class Family:
    """An edit: an excerpt of ``seconds``, ffmpeg filter graphs drawn per track (``filters``), then the family's
    noise (``noise``: "pink", "babble" or "voice", at ``snr`` dB), then the codec's sample rate, numpy steps
    (``post``) and the codec."""
    seconds: float = EXCERPT_SECONDS
    filters: Callable[[Rng], str] | None = None
    noise: str | None = None
    snr: float = 0.0
    post: Callable[[np.ndarray, Rng], np.ndarray] | None = None
    codec: tuple = ("flac", None, SR)  # format, bitrate, sample rate


def _mu_law(x: np.ndarray, rng: Rng) -> np.ndarray:
    """Mono, 8-bit mu-law companding (G.711's law, quantised to 256 levels) at 8 kHz (the codec's rate)."""
    mono = np.clip(x.mean(axis=0, keepdims=True), -1, 1)
    companded = np.sign(mono) * np.log1p(255 * np.abs(mono)) / np.log(256)
    quantised = np.round(companded * 127) / 127
    return (np.sign(quantised) * np.expm1(np.abs(quantised) * np.log(256)) / 255).astype(np.float32)


def _hard_clip(x: np.ndarray, rng: Rng) -> np.ndarray:
    return np.clip(x * 10 ** (rng.uniform(10, 16) / 20), -1, 1).astype(np.float32)


def _bit_crush(x: np.ndarray, rng: Rng) -> np.ndarray:
    levels = 2 ** int(rng.integers(4, 7)) / 2
    return (np.round(np.clip(x, -1, 1) * levels) / levels).astype(np.float32)


def _faster(rng: Rng, low: float, high: float) -> float:
    """A ratio within [low, high] or its inverse, either way at random."""
    ratio = rng.uniform(low, high)
    return ratio if rng.random() < 0.5 else 1 / ratio


EFFECTS = {
    "telephone + mu-law 8k": Family(filters=lambda r: f"highpass=f={r.uniform(250, 350):.0f},"
                                    f"lowpass=f={r.uniform(3000, 3500):.0f}",
                                    post=_mu_law, codec=("wav", None, 8000)),
    "echo": Family(filters=lambda r: f"aecho=0.8:0.7:{r.uniform(40, 120):.0f}|{r.uniform(150, 300):.0f}:"
                   f"{r.uniform(0.3, 0.5):.2f}|{r.uniform(0.2, 0.35):.2f}"),
    "chorus": Family(filters=lambda r: f"chorus=0.6:0.9:{r.uniform(40, 55):.0f}|{r.uniform(55, 70):.0f}:0.4|0.32:"
                     f"{r.uniform(0.2, 0.3):.2f}|{r.uniform(0.35, 0.5):.2f}:2|1.3"),
    "flanger": Family(filters=lambda r: f"flanger=depth={r.uniform(4, 8):.1f}:speed={r.uniform(0.4, 1.0):.2f}"),
    "bit crush 4-6 bits": Family(post=_bit_crush),
    "hard clipping +10-16 dB": Family(post=_hard_clip),
    "EQ bass/treble +-12-15 dB": Family(filters=lambda r: (lambda g, s: f"bass=g={s * g:.1f},treble=g={-s * g:.1f}")(
        r.uniform(12, 15), 1 if r.random() < 0.5 else -1)),
    "speaker into a microphone": Family(filters=lambda r: f"highpass=f={r.uniform(200, 300):.0f},lowpass=f="
                                        f"{r.uniform(4000, 6000):.0f},aecho=0.8:0.5:{r.uniform(15, 35):.0f}|"
                                        f"{r.uniform(40, 60):.0f}:0.35|0.2",
                                        codec=("wav", None, 16000)),
    "heavy compression": Family(filters=lambda r: f"acompressor=threshold={r.uniform(-35, -25):.0f}dB:ratio="
                                f"{r.uniform(8, 16):.0f}:attack=2:release=60:makeup=8"),
    "tremolo": Family(filters=lambda r: f"tremolo=f={r.uniform(4, 8):.1f}:d={r.uniform(0.5, 0.8):.2f}"),
    "vibrato": Family(filters=lambda r: f"vibrato=f={r.uniform(4, 7):.1f}:d={r.uniform(0.2, 0.4):.2f}"),
    "tempo 3-10% + mp3 48k": Family(filters=lambda r: f"atempo={_faster(r, 1.03, 1.10):.4f}",
                                    codec=("mp3", 48000, SR)),
    "speed 5-15% + lowpass": Family(filters=lambda r: f"asetrate={round(SR * _faster(r, 1.05, 1.15))},"
                                    f"aresample={SR},lowpass=f={r.uniform(5000, 7000):.0f}"),
    "mono aac 40k 22.05k": Family(post=lambda x, r: x.mean(axis=0, keepdims=True), codec=("m4a", 40000, 22050)),
    "highpass ~1 kHz": Family(filters=lambda r: (lambda f: f"highpass=f={f:.0f},highpass=f={f:.0f}")(
        r.uniform(800, 1200))),
}
NOISES = {"pink noise": "pink", "babble": "babble", "a voice": "voice"}
FAMILIES = {
    **EFFECTS,
    **{f"{label} {snr:+d} dB": Family(noise=kind, snr=snr) for label, kind in NOISES.items() for snr in SNR_LADDER},
    **{f"excerpt {seconds} s": Family(seconds=seconds) for seconds in (2, 3, 5)},
    "excerpt 5 s + pink noise 0 dB": Family(seconds=5, noise="pink", snr=0),
    "excerpt 6 s + a voice -5 dB": Family(seconds=6, noise="voice", snr=-5),
    "echo + babble 0 dB": dataclasses.replace(EFFECTS["echo"], noise="babble", snr=0),
    "telephone + a voice 0 dB": dataclasses.replace(EFFECTS["telephone + mu-law 8k"], noise="voice", snr=0),
    "tempo 3-10% + mp3 48k + pink noise -5 dB": dataclasses.replace(EFFECTS["tempo 3-10% + mp3 48k"],
                                                                     noise="pink", snr=-5),
}


def _seed(*parts) -> int:
    return zlib.crc32("/".join(map(str, parts)).encode())


def family_noise(kind: str, speech: list[np.ndarray], seconds: float, rng: Rng) -> np.ndarray:
    """The family's one noise recording (mono, ``seconds`` long): pink noise, the split's speech files summed at
    equal RMS (babble), or one of them (a voice), looped from a random start when shorter."""
    n = int(seconds * SR)
    if kind == "pink":
        return synth.noise(seconds, int(rng.integers(1 << 30)), "pink", SR)[:n]

    def looped(voice: np.ndarray) -> np.ndarray:
        start = int(rng.integers(0, len(voice)))
        part = np.resize(np.roll(voice, -start), n)
        return part / (np.sqrt(np.mean(part ** 2)) + 1e-9)
    if kind == "voice":
        return looped(speech[int(rng.integers(len(speech)))])
    return np.sum([looped(voice) for voice in speech], axis=0)


def edited_file(family: Family, audio: np.ndarray, noise: np.ndarray | None, rng: Rng, path: str) -> None:
    """Write ``audio`` (2 x n at SR) edited by ``family`` to ``path``: every draw from ``rng``, in a fixed order."""
    start = int(rng.uniform(0, max(0.0, audio.shape[1] / SR - family.seconds)) * SR)
    x = audio[:, start:start + int(family.seconds * SR)]
    graph = family.filters(rng) if family.filters else None
    post_rng = np.random.default_rng(int(rng.integers(1 << 30)))
    if graph:
        x = _ffmpeg_filter(x, graph)
    if noise is not None:  # the mix at the family's SNR, scaled down (not clipped) if it would overflow
        gain = np.sqrt(np.mean(x ** 2) / (np.mean(noise ** 2) + 1e-12)) * 10 ** (-family.snr / 20)
        x = x + gain * np.resize(noise, x.shape[1])
        x = x / max(1.0, float(np.abs(x).max()))
    fmt, bitrate, rate = family.codec
    if rate != SR:
        x = resample_poly(x, rate, SR, axis=1)
    if family.post:
        x = family.post(x, post_rng)
    x = np.clip(x, -1, 1).astype(np.float32)
    _write(path, synth.encode(x, rate, fmt, bitrate, channels=len(x)))


def _quantiles(scores: list[float]) -> str:
    return " / ".join(f"{q:.2f}" for q in np.quantile(scores, (0.0, 0.25, 0.5))) if scores else "-"


def _fraction(found: list[bool]) -> str:
    return f"{sum(found)}/{len(found)}" if found else "-"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--media-dir", required=True)
    parser.add_argument("--split", default="report", choices=("tune", "report"))
    parser.add_argument("--only", nargs="*", help="the families to run (names as printed); all by default")
    parser.add_argument("--list", action="store_true", help="print the family names and stop")
    parser.add_argument("--workdir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "work",
                                                          "audio-edits"))
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(FAMILIES))
        return
    unknown = set(args.only or ()) - set(FAMILIES)
    if unknown:
        parser.error(f"unknown families: {sorted(unknown)} (--list names them)")
    chosen = {name: f for name, f in FAMILIES.items() if not args.only or name in args.only}
    sources = [s for s in load_sources(args.media_dir) if in_split(s, args.split)]
    music = [s for s in sources if not s["speech"]]
    speech = [read_stereo(s["path"]).mean(axis=0) for s in sources if s["speech"]]
    folder = os.path.join(args.workdir, args.split)
    os.makedirs(folder, exist_ok=True)
    fingerprints = {}

    def fingerprint(path):
        if path not in fingerprints:
            fingerprints[path] = MATCHER.fingerprint(Blob(path=path), Limits())
        return fingerprints[path]
    audio = {}
    print(f"split {args.split}: {len(music)} music tracks, {len(speech)} speech files for the noise, "
          f"{len(chosen)} families", flush=True)
    print("| family | copies found | copy scores min / p25 / median | another track edited, matched | "
          "both edited, matched | copies high / medium / low | negatives not matched high / medium / low |\n"
          "|---|---|---|---|---|---|---|", flush=True)
    totals = collections.Counter()
    started = time.time()
    for name, family in chosen.items():
        noise_rng = np.random.default_rng(_seed(args.split, name, "noise"))
        noise = family_noise(family.noise, speech, family.seconds, noise_rng) if family.noise else None
        edited = []
        for source in music:
            slug = "".join(c if c.isalnum() or c in "+-." else "_" for c in name)
            path = os.path.join(folder, f"{slug}.{source['name']}.{family.codec[0]}")
            if not os.path.exists(path):
                if source["name"] not in audio:
                    audio[source["name"]] = read_stereo(source["path"])
                edited_file(family, audio[source["name"]], noise,
                            np.random.default_rng(_seed(args.split, name, source["name"])), path)
            edited.append(path)
        copies = [MATCHER.compare(fingerprint(s["path"]), fingerprint(e)) for s, e in zip(music, edited)]
        shifted = edited[1:] + edited[:1]
        other = [MATCHER.compare(fingerprint(s["path"]), fingerprint(e)) for s, e in zip(music, shifted)]
        both = [MATCHER.compare(fingerprint(e), fingerprint(f)) for e, f in zip(edited, shifted)]
        if len(music) < 2:
            other = both = []
        found = [c.match for c in copies]
        matched_copies = collections.Counter(c.confidence for c in copies if c.match)
        rejected = collections.Counter(c.confidence for c in other + both if not c.match)
        totals.update(copies=sum(found), pairs=len(found), other=sum(c.match for c in other),
                      both=sum(c.match for c in both), negatives=len(other))
        print(f"| {name} | {_fraction(found)} | {_quantiles([c.similarity_score for c in copies])} | "
              f"{_fraction([c.match for c in other])} | {_fraction([c.match for c in both])} | "
              f"{matched_copies['high']} / {matched_copies['medium']} / {matched_copies['low']} | "
              f"{rejected['high']} / {rejected['medium']} / {rejected['low']} |", flush=True)
    print(f"\nall families: copies {totals['copies']}/{totals['pairs']}, another track edited matched "
          f"{totals['other']}/{totals['negatives']}, both edited matched {totals['both']}/{totals['negatives']} "
          f"({time.time() - started:.0f} s)")


if __name__ == "__main__":
    main(sys.argv[1:])
