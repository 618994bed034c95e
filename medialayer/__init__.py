"""MediaLayer: near-duplicate detection for images, video and audio."""
