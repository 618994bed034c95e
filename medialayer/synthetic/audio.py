"""Deterministic synthetic audio: tones, chords, noise, generated melodies, a speech-like voiceover,
and writing any of them as WAV, FLAC, Ogg Vorbis, Opus, MP3, AAC/M4A or the audio track of MP4/WebM/MKV.

Every generator takes a seed (where randomness is involved) and returns float32 mono samples in
[-1, 1]; the same arguments always give the same samples. Encoding uses PyAV's bundled FFmpeg.
"""
from __future__ import annotations

import fractions
import io

import av
import numpy as np

SAMPLE_RATE = 44100
_SCALE = np.array([0, 2, 4, 5, 7, 9, 11])  # major scale, in semitones


def tone(freq: float, seconds: float, sr: int = SAMPLE_RATE, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def chord(freqs, seconds: float, sr: int = SAMPLE_RATE, amplitude: float = 0.5) -> np.ndarray:
    return (sum(tone(f, seconds, sr) for f in freqs) * (amplitude / (0.5 * len(freqs)))).astype(np.float32)


def silence(seconds: float, sr: int = SAMPLE_RATE) -> np.ndarray:
    return np.zeros(int(seconds * sr), np.float32)


def noise(seconds: float, seed: int, color: str = "white", sr: int = SAMPLE_RATE, amplitude: float = 0.3) -> np.ndarray:
    """White, pink (1/f power) or brown (1/f^2 power) Gaussian noise scaled to ``amplitude`` RMS."""
    n = int(seconds * sr)
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    f = np.maximum(np.fft.rfftfreq(n, 1 / sr), 20.0)
    spectrum *= {"white": 1.0, "pink": f ** -0.5, "brown": f ** -1.0}[color]
    x = np.fft.irfft(spectrum, n)
    return (amplitude * x / (np.sqrt(np.mean(x ** 2)) + 1e-12)).astype(np.float32)


def melody(seconds: float, seed: int, sr: int = SAMPLE_RATE, tempo_bpm: float | None = None,
           transpose: float = 0.0) -> np.ndarray:
    """A generated tune: random notes of a scale with harmonics and decaying envelopes over an
    eighth-note arpeggio, a bass line and a few percussive noise hits; different seeds give unrelated
    tunes in a similar style. One seed with a given ``tempo_bpm`` plays the same score at any tempo (a tempo
    change with the pitch kept), and ``transpose`` (semitones) moves its key (a pitch shift, tempo kept)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    out = np.zeros(n, np.float64)
    beat = 60.0 / (tempo_bpm or rng.uniform(90, 150))
    root = 48 + int(rng.integers(0, 12)) + transpose  # MIDI note of the key
    t = 0.0
    while t < seconds:
        length = beat * float(rng.choice([0.5, 0.5, 1.0, 1.0, 1.5, 2.0]))
        note = root + 12 + _SCALE[rng.integers(0, 7)] + 12 * int(rng.integers(0, 2))
        _add_note(out, sr, t, length, note, rng.uniform(0.25, 0.5), harmonics=4)
        if rng.random() < 0.5:  # bass note under it
            _add_note(out, sr, t, length, root - 12 + _SCALE[rng.integers(0, 7)], 0.3, harmonics=2)
        chord_root = root + _SCALE[rng.integers(0, 7)]
        for step in range(int(round(length / (beat / 2)))):  # an eighth-note arpeggio of the chord
            arpeggio_note = chord_root + (0, 4, 7, 12)[int(rng.integers(0, 4))]
            _add_note(out, sr, t + step * beat / 2, beat / 2, arpeggio_note, 0.15, harmonics=3)
        if rng.random() < 0.3:  # a snare-like hit
            start = int(t * sr)
            hit = rng.standard_normal(min(int(0.08 * sr), max(n - start, 0))) * 0.2
            out[start:start + len(hit)] += hit * np.exp(-np.arange(len(hit)) / (0.02 * sr))
        t += length
    return _normalise(out, 0.5)


def bass_heavy(seconds: float, seed: int, sr: int = SAMPLE_RATE, tempo_bpm: float | None = None) -> np.ndarray:
    """A generated bass-heavy track (electronic or hip-hop music's balance): a bass line of one note a beat,
    fundamentals 41-147 Hz with two harmonics, over a kick-like thump on every other beat, and a melody
    (``melody`` of the same seed and tempo) 20 dB below it."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    out = np.zeros(n, np.float64)
    beat = 60.0 / (tempo_bpm or rng.uniform(90, 150))
    root = 28 + int(rng.integers(0, 12))  # MIDI note of the key, two octaves below ``melody``'s
    for index, t in enumerate(np.arange(0.0, seconds, beat)):
        _add_note(out, sr, t, beat * float(rng.choice([0.5, 1.0])), root + _SCALE[rng.integers(0, 7)], 0.5,
                  harmonics=3)
        if index % 2 == 0:  # a kick: a short falling sine
            k = np.arange(min(int(0.12 * sr), n - int(t * sr)))
            out[int(t * sr):int(t * sr) + len(k)] += 0.4 * np.sin(2 * np.pi * (45 + 60 * np.exp(-k / (0.02 * sr)))
                                                                  * k / sr) * np.exp(-k / (0.05 * sr))
    out = _normalise(out, 0.5)
    return _normalise(out + 0.1 * melody(seconds, seed, sr, tempo_bpm=60.0 / beat), 0.5)


def speech_like(seconds: float, seed: int, sr: int = SAMPLE_RATE) -> np.ndarray:
    """A voiceover stand-in: a glottal pulse train with a wandering pitch through moving vowel formants,
    cut into syllables and words, with fricative noise bursts between some syllables."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    out = np.zeros(n, np.float64)
    formants = np.array([[730, 1090, 2440], [270, 2290, 3010], [530, 1840, 2480], [570, 840, 2410],
                         [300, 870, 2240], [660, 1720, 2410], [440, 1020, 2240]], float)
    t = float(rng.uniform(0, 0.3))
    while t < seconds:
        for _ in range(int(rng.integers(1, 5))):  # syllables of one word
            length = float(rng.uniform(0.12, 0.3))
            start, stop = int(t * sr), min(int((t + length) * sr), n)
            if stop <= start:
                break
            k = np.arange(stop - start)
            pitch = rng.uniform(95, 220) * (1 + 0.1 * np.sin(2 * np.pi * rng.uniform(1, 4) * k / sr))
            phase = np.cumsum(pitch / sr)
            pulses = np.diff(np.floor(phase), prepend=0.0) * 10.0  # one impulse per glottal period
            voiced = sum(_resonate(pulses, f, 80 + f * 0.05, sr) for f in formants[rng.integers(0, 7)])
            out[start:stop] += voiced * np.hanning(len(k)) ** 0.5
            if rng.random() < 0.3:  # a fricative
                burst = min(int(0.08 * sr), n - stop)
                hiss = np.diff(rng.standard_normal(burst + 1)) * 0.05
                out[stop:stop + burst] += hiss * np.hanning(burst)
            t += length + float(rng.uniform(0.0, 0.06))
        t += float(rng.uniform(0.1, 0.5))  # pause between words
    return _normalise(out, 0.5)


def mix(signal: np.ndarray, other: np.ndarray, snr_db: float) -> np.ndarray:
    """``signal`` plus ``other`` scaled to ``snr_db`` dB below it (RMS over the signal's length)."""
    other = np.resize(other, len(signal))
    gain = np.sqrt(np.mean(signal ** 2) / (np.mean(other ** 2) + 1e-12)) * 10 ** (-snr_db / 20)
    return np.clip(signal + gain * other, -1, 1).astype(np.float32)


# format name -> (container format, codec, sample rates the codec accepts or None for any)
FORMATS = {
    "wav": ("wav", "pcm_s16le", None),
    "flac": ("flac", "flac", None),
    "ogg": ("ogg", "vorbis", None),
    "opus": ("ogg", "libopus", (48000, 24000, 16000, 12000, 8000)),
    "mp3": ("mp3", "libmp3lame", (48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000)),
    "m4a": ("ipod", "aac", None),
    "mp4": ("mp4", "aac", None),
    "webm": ("webm", "libopus", (48000, 24000, 16000, 12000, 8000)),
    "mkv": ("matroska", "libmp3lame", (48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000)),
}
VIDEO_FORMATS = {"mp4": "mpeg4", "webm": "libvpx", "mkv": "mpeg4"}  # containers that get a small video track


def encode(samples: np.ndarray, sr: int, fmt: str, bitrate: int | None = None, channels: int = 1) -> bytes:
    """Encode float samples (mono, or channels x samples) as ``fmt`` (a key of FORMATS); MP4/WebM/MKV
    also get a tiny video track. ``channels=2`` writes a mono signal on both channels."""
    container_format, codec, rates = FORMATS[fmt]
    pcm = np.atleast_2d(np.clip(samples, -1, 1).astype(np.float32))
    channels = 2 if codec == "vorbis" else max(channels, len(pcm))  # FFmpeg's Vorbis encoder writes stereo only
    pcm = np.resize(pcm, (channels, pcm.shape[1])) if len(pcm) != channels else pcm
    out_rate = sr if rates is None or sr in rates else min(rates, key=lambda r: abs(r - sr) if r >= sr else 1e9)
    buf = io.BytesIO()
    layout = "mono" if channels == 1 else "stereo"
    with av.open(buf, "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=out_rate, layout=layout)
        if codec == "vorbis":
            stream.codec_context.options = {"strict": "experimental"}
        if bitrate:
            stream.bit_rate = bitrate
        video = _add_video_stream(container, VIDEO_FORMATS[fmt]) if fmt in VIDEO_FORMATS else None
        resampler = av.AudioResampler(format=stream.codec_context.format.name, layout=layout, rate=out_rate)
        pts = 0
        for start in range(0, pcm.shape[1], sr):  # one-second chunks
            chunk = np.ascontiguousarray(pcm[:, start:start + sr])
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
            frame.sample_rate, frame.pts, frame.time_base = sr, pts, fractions.Fraction(1, sr)
            pts += chunk.shape[1]
            for resampled in resampler.resample(frame):
                container.mux(stream.encode(resampled))
        for resampled in resampler.resample(None):
            container.mux(stream.encode(resampled))
        container.mux(stream.encode(None))
        if video is not None:
            _write_video(container, video, seconds=pcm.shape[1] / sr)
    return buf.getvalue()


def _add_video_stream(container, codec: str):
    stream = container.add_stream(codec, rate=5)
    stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
    return stream


def _write_video(container, stream, seconds: float) -> None:
    for i in range(max(1, int(seconds * 5))):
        image = np.full((48, 64, 3), (i * 7) % 256, np.uint8)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = i
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def _add_note(out: np.ndarray, sr: int, start_s: float, length_s: float, midi_note: float, amplitude: float,
              harmonics: int) -> None:
    start = int(start_s * sr)
    k = np.arange(min(int(length_s * sr), len(out) - start))
    if len(k) == 0:
        return
    freq = 440.0 * 2 ** ((midi_note - 69) / 12)
    envelope = np.minimum(1, k / (0.01 * sr)) * np.exp(-k / (0.6 * length_s * sr))
    wave = sum(np.sin(2 * np.pi * freq * h * k / sr) / h for h in range(1, harmonics + 1))
    out[start:start + len(k)] += amplitude * envelope * wave


def _resonate(x: np.ndarray, freq: float, bandwidth: float, sr: int) -> np.ndarray:
    """A two-pole resonator (one formant) applied to ``x``."""
    from scipy.signal import lfilter
    r = np.exp(-np.pi * bandwidth / sr)
    return lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * freq / sr), r * r], x)


def _normalise(x: np.ndarray, peak: float) -> np.ndarray:
    return (x * (peak / (np.max(np.abs(x)) + 1e-12))).astype(np.float32)
