"""The smallest reproduction of the multi_processing loss: Beam's timed output stream drops what is written
while its timer thread flushes (issue 17; docs/benchmarks.md, "The multi_processing loss").

    python bench/beam_flush_race.py [--chunks 400] [--flush-ms 1000]

Beam's local runner sends a stage's input to gRPC workers through a ``TimeBasedBufferingClosableOutputStream``
that a timer thread flushes every second: copy the buffer, hand the copy to the send queue, clear the buffer.
Writes are not locked against that flush, so a chunk written while the send queue makes the flush wait is
cleared without being sent. Here ``--chunks`` chunks of 1 MiB are written a few milliseconds apart into that
stream and into the size-based stream the pipelines use instead (``match_pairs.send_stage_inputs_whole``),
both sending into a callback that waits 50 ms per call, as a full send queue does; printed: bytes written and
bytes that reached the callback, for each.
"""
from __future__ import annotations

import argparse
import os
import time

from apache_beam.runners.worker.data_plane import (SizeBasedBufferingClosableOutputStream,
                                                   TimeBasedBufferingClosableOutputStream)

SEND_WAIT_S = 0.05  # a send that waits for room in the queue, without holding the GIL
WRITE_GAP_S = 0.005


def delivered(stream_class, chunks: int, **options) -> tuple[int, int]:
    """(bytes written, bytes handed to the send callback) for ``chunks`` chunks written into one stream."""
    sent = []

    def send(data: bytes) -> None:
        time.sleep(SEND_WAIT_S)
        sent.append(len(data))

    stream = stream_class(close_callback=lambda data: sent.append(len(data)), flush_callback=send, **options)
    chunk = os.urandom(1 << 20)
    for _ in range(chunks):
        stream.write(chunk)
        time.sleep(WRITE_GAP_S)
    stream.close()
    return chunks * len(chunk), sum(sent)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=400)
    parser.add_argument("--flush-ms", type=int, default=1000,
                        help="the timed stream's flush period (Beam's local runner: 1000)")
    args = parser.parse_args(argv)
    for name, stream_class, options in (
            (f"timed flush every {args.flush_ms} ms (Beam's local runner)", TimeBasedBufferingClosableOutputStream,
             {"time_flush_threshold_ms": args.flush_ms}),
            ("size-based flush (send_stage_inputs_whole)", SizeBasedBufferingClosableOutputStream, {})):
        written, sent = delivered(stream_class, args.chunks, **options)
        print(f"{name}: {written:,} bytes written, {sent:,} sent ({written - sent:,} lost)")


if __name__ == "__main__":
    main()
