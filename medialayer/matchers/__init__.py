"""Matchers by media type. Each module ``medialayer.matchers.<type>`` exposes ``MATCHER``."""
from __future__ import annotations

import importlib

from medialayer.errors import ErrorCode, MediaError
from medialayer.matchers.base import Comparison, Matcher, Segment

__all__ = ["Comparison", "Matcher", "Segment", "get_matcher"]


def get_matcher(media_type: str) -> Matcher:
    try:
        module = importlib.import_module(f"medialayer.matchers.{media_type}")
    except ModuleNotFoundError as e:
        if e.name != f"medialayer.matchers.{media_type}":
            raise
        raise MediaError(ErrorCode.UNSUPPORTED_MEDIA, f"no matcher for media type {media_type!r}") from None
    return module.MATCHER
