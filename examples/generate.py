"""Generate the bundled example data: images, audio and video with true duplicates and true non-duplicates.

    python examples/generate.py --out examples

writes ``<out>/data/...`` (the media), ``<out>/pairs.jsonl`` (one row per pair; ``expected_match`` is an
extra column the job ignores, so you can check its answers) and ``<out>/catalog.jsonl`` (every file once,
for catalog dedupe). Deterministic: the same files every time.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root

from medialayer.synthetic import audio, image, video  # noqa: E402


def _images(data: str) -> list[tuple]:
    scene, other = image.textured_scene(seed=11), image.textured_scene(seed=12)
    files = {
        "scene.jpg": scene,
        "scene_q30.jpg": scene,
        "scene_small.png": image.resize(scene, 0.5),
        "scene_caption.jpg": image.overlay_text(scene, "SALE -50%", area=0.08),
        "scene_flipped.jpg": image.hflip(scene),
        "scene_letterboxed.jpg": image.letterbox(scene, 16 / 9),
        "other.jpg": other,
        "flat_blue.png": image.flat((40, 80, 200)),
        "flat_red.png": image.flat((200, 40, 40)),
    }
    for name, picture in files.items():
        picture.save(os.path.join(data, name), quality=30 if "q30" in name else 90)
    return [("image-reencoded", "scene.jpg", "scene_q30.jpg", True),
            ("image-resized", "scene.jpg", "scene_small.png", True),
            ("image-caption", "scene.jpg", "scene_caption.jpg", True),
            ("image-flipped", "scene.jpg", "scene_flipped.jpg", True),
            ("image-letterboxed", "scene.jpg", "scene_letterboxed.jpg", True),
            ("image-different", "scene.jpg", "other.jpg", False),
            ("image-flat-colours", "flat_blue.png", "flat_red.png", False)]


def _audio(data: str) -> list[tuple]:
    rate = audio.SAMPLE_RATE
    song, other = audio.melody(30.0, seed=21), audio.melody(30.0, seed=22)
    excerpt = song[8 * rate:20 * rate]
    files = {
        "song.flac": audio.encode(song, rate, "flac"),
        "song_64k.mp3": audio.encode(song, rate, "mp3", bitrate=64_000),
        "song_excerpt.ogg": audio.encode(excerpt, rate, "ogg"),
        "song_voiceover.m4a": audio.encode(audio.mix(song, audio.speech_like(30.0, seed=23), snr_db=5), rate, "m4a"),
        "other.flac": audio.encode(other, rate, "flac"),
        "silence.wav": audio.encode(audio.silence(10.0), rate, "wav"),
        "silence_too.wav": audio.encode(audio.silence(12.0), rate, "wav"),
    }
    for name, payload in files.items():
        with open(os.path.join(data, name), "wb") as f:
            f.write(payload)
    return [("audio-transcoded", "song.flac", "song_64k.mp3", True),
            ("audio-excerpt", "song.flac", "song_excerpt.ogg", True),
            ("audio-voiceover", "song.flac", "song_voiceover.m4a", True),
            ("audio-different", "song.flac", "other.flac", False),
            ("audio-silence", "silence.wav", "silence_too.wav", False)]


def _video(data: str) -> list[tuple]:
    scene, other = video.MovingScene(seed=31), video.MovingScene(seed=32)
    sources = {
        "clip.mp4": (video.frames(scene, 12.0, 25), 25),
        "clip_15fps.mp4": (video.frames(scene, 12.0, 15), 15),
        "clip_letterboxed.mp4": ((video.letterbox(f, 214, 120) for f in video.frames(scene, 12.0, 25)), 25),
        "clip_trimmed.mp4": (video.frames(scene, 7.0, 25, start=3.0), 25),
        "other.mp4": (video.frames(other, 12.0, 25), 25),
    }
    for name, (frames, fps) in sources.items():
        video.write_video(os.path.join(data, name), frames, fps)
    return [("video-frame-rate", "clip.mp4", "clip_15fps.mp4", True),
            ("video-letterboxed", "clip.mp4", "clip_letterboxed.mp4", True),
            ("video-trimmed", "clip.mp4", "clip_trimmed.mp4", True),
            ("video-different", "clip.mp4", "other.mp4", False)]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    out = parser.parse_args(argv).out
    data = os.path.join(out, "data")
    os.makedirs(data, exist_ok=True)
    pairs = _images(data) + _audio(data) + _video(data)
    with open(os.path.join(out, "pairs.jsonl"), "w") as f:
        for pair_id, source, target, expected in pairs:
            f.write(json.dumps({"pair_id": pair_id, "source_url": os.path.join(data, source),
                                "target_url": os.path.join(data, target), "expected_match": expected}) + "\n")
    print(f"wrote {len(pairs)} pairs to {os.path.join(out, 'pairs.jsonl')}")
    # The same media as a catalog, for catalog dedupe: every file once, no pairs given.
    files = sorted({name for _, source, target, _ in pairs for name in (source, target)})
    with open(os.path.join(out, "catalog.jsonl"), "w") as f:
        for name in files:
            f.write(json.dumps({"asset_id": name, "url": os.path.join(data, name)}) + "\n")
    print(f"wrote {len(files)} assets to {os.path.join(out, 'catalog.jsonl')}")


if __name__ == "__main__":
    main()
