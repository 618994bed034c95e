"""Deterministic synthetic media (images, audio, video) for the example data, the tests and the benches."""
