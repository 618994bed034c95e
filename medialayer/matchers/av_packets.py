"""The demux-and-decode loop the audio and the video decoders share: a corrupt packet is skipped, too many
of them refuse the file."""
from __future__ import annotations

from typing import Callable, Iterator

import av

from medialayer.errors import ErrorCode, MediaError

MAX_BAD_PACKETS = 8  # corrupt packets tolerated (and skipped) before the whole file is refused


def decoded_packets(container, stream, what: str, before_decode: Callable | None = None) -> Iterator[tuple]:
    """(packet, its decoded frames) for each packet of ``stream``, in decoding order. ``before_decode(packet)``
    runs just before a packet is decoded (after the frames of the packets before it were used). More than
    MAX_BAD_PACKETS packets that fail to decode: DECODE_FAILED, naming ``what``."""
    bad_packets = 0
    for packet in container.demux(stream):
        if before_decode is not None:
            before_decode(packet)
        try:
            frames = packet.decode()
        except av.FFmpegError:
            bad_packets += 1
            if bad_packets > MAX_BAD_PACKETS:
                raise MediaError(ErrorCode.DECODE_FAILED, f"too many corrupt {what} packets") from None
            continue
        yield packet, frames
