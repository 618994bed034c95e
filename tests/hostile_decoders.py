"""Fake decoders for the isolation tests, run inside real decoder processes (DecoderPool(decode=DECODE)).

A file whose first bytes carry a marker makes the "decoder" fail the way a broken native decoder
would: hang forever, abort, segfault, or raise; or take a second before decoding it for real (slow);
every other file is decoded for real.
"""
import ctypes
import os
import time

from medialayer import isolation

DECODE = "hostile_decoders:decode"
HANG, ABORT, SEGFAULT, RAISE, SLOW = (b"medialayer-test:" + word
                                     for word in (b"hang", b"abort", b"segfault", b"raise", b"slow"))


def decode(media_type, blob, limits):
    head = blob.head(4096)
    if HANG in head:
        with blob.path(".png"):  # as the video and audio decoders do: a temporary file, then the hang
            time.sleep(3600)
    if ABORT in head:
        os.abort()
    if SEGFAULT in head:
        ctypes.string_at(0)  # reads address 0: SIGSEGV
    if RAISE in head:
        raise ValueError("a decoder bug")
    if SLOW in head:
        time.sleep(1.0)
    return isolation.decode(media_type, blob, limits)
