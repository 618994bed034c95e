"""MediaLayer: near-duplicate detection for images, video and audio.

    from medialayer import match
    match("a.jpg", "https://host/b.jpg")  # -> the same record the pipeline writes for that pair
"""
from medialayer.api import match

__all__ = ["match"]
