"""Audio decoding: every accepted format, bounded streaming, corrupt input, the duration cap."""
import io

import numpy as np
import pytest

from medialayer.errors import ErrorCode, MediaError
from medialayer.limits import Limits
from medialayer.matchers.audio import HOP, MATCHER, N_FFT, fingerprint_chunks, fingerprint_samples
from medialayer.matchers.audio_decode import SAMPLE_RATE, decode, decode_chunks
from medialayer.media import Blob
from medialayer.synthetic import audio as synth

SR = 44100
MELODY = synth.melody(8, seed=11, tempo_bpm=160)


@pytest.mark.parametrize("fmt", sorted(synth.FORMATS))
def test_every_format_decodes_to_the_same_recording(fmt):
    samples = decode(Blob(data=synth.encode(MELODY, SR, fmt)), Limits())
    assert samples.dtype == np.float32
    assert abs(len(samples) / SAMPLE_RATE - 8.0) < 0.1  # codec padding trimmed or tiny
    reference = synth.encode(MELODY, SR, "wav")
    result = MATCHER.compare(MATCHER.fingerprint(Blob(data=reference), Limits()), fingerprint_samples(samples))
    assert result.match and result.confidence == "high"


def test_stereo_and_odd_rates_come_out_mono_at_the_fixed_rate():
    stereo = np.stack([MELODY, -MELODY * 0.5])
    samples = decode(Blob(data=synth.encode(stereo, 22050, "flac")), Limits())
    assert samples.ndim == 1 and samples.dtype == np.float32
    assert abs(len(samples) / SAMPLE_RATE - 8 * SR / 22050) < 0.05


def test_decoding_streams_in_chunks():
    blob = Blob(data=synth.encode(synth.melody(5, seed=1), SR, "wav"))
    chunks = list(decode_chunks(blob, Limits(), chunk_seconds=1.0))
    assert [len(c) for c in chunks[:-1]] == [SAMPLE_RATE] * (len(chunks) - 1)
    assert len(chunks) == 5


def test_fingerprint_does_not_depend_on_how_the_stream_is_chunked():
    samples = synth.melody(75, seed=5)[::5][: 75 * SAMPLE_RATE]  # crude 8.82 kHz is fine: any signal will do
    whole = fingerprint_samples(samples)
    pieces = fingerprint_chunks(samples[i:i + 12345] for i in range(0, len(samples), 12345))
    assert np.array_equal(whole.frames, pieces.frames) and np.array_equal(whole.log_freqs, pieces.log_freqs)
    assert np.array_equal(whole.energy_bits, pieces.energy_bits) and np.array_equal(whole.active, pieces.active)
    assert len(whole.energy_bits) == 1 + (len(samples) - N_FFT) // HOP  # one per frame, across the ~30 s blocks


@pytest.mark.parametrize("payload", [b"\x00" * 5000, b"ID3" + bytes(range(256)) * 20,
                                     b"RIFF\x24\x00\x00\x00WAVEjunkjunkjunk", b"OggS" + b"\x01" * 3000])
def test_corrupt_input_is_decode_failed(payload):
    with pytest.raises(MediaError) as err:
        MATCHER.fingerprint(Blob(data=payload), Limits())
    assert err.value.code == ErrorCode.DECODE_FAILED


def test_truncated_compressed_file_keeps_what_decodes_or_fails_cleanly():
    data = synth.encode(MELODY, SR, "m4a")[:3000]
    try:
        fp = MATCHER.fingerprint(Blob(data=data), Limits())
    except MediaError as err:
        assert err.code == ErrorCode.DECODE_FAILED
    else:
        assert fp.duration < 8.0


def test_over_long_audio_is_refused_from_the_container_metadata():
    # a FLAC whose STREAMINFO declares one hour over two seconds of frames: refused before decoding
    data = bytearray(synth.encode(MELODY[:2 * SR], SR, "flac"))
    packed = int.from_bytes(data[18:26], "big")  # rate, channels, bits, then 36 bits of total samples
    data[18:26] = ((packed >> 36 << 36) | (SR * 3600)).to_bytes(8, "big")
    with pytest.raises(MediaError) as err:
        MATCHER.fingerprint(Blob(data=bytes(data)), Limits(max_audio_seconds=600))
    assert err.value.code == ErrorCode.DURATION_EXCEEDED
    assert "3600" in err.value.message


def test_over_long_audio_is_refused():
    with pytest.raises(MediaError) as err:
        MATCHER.fingerprint(Blob(data=synth.encode(MELODY, SR, "mp3")), Limits(max_audio_seconds=5))
    assert err.value.code == ErrorCode.DURATION_EXCEEDED


def test_video_without_audio_is_unsupported():
    import av
    buf = io.BytesIO()
    with av.open(buf, "w", format="matroska") as container:
        stream = container.add_stream("mpeg4", rate=5)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with pytest.raises(MediaError) as err:
        MATCHER.fingerprint(Blob(data=buf.getvalue()), Limits())
    assert err.value.code == ErrorCode.UNSUPPORTED_MEDIA
