"""Fingerprint files once with the medialayer of a given checkout: a whole process to time, so two versions of
the code can be compared side by side on the same media with farm-bench (old and new run in turn):

    git worktree add /tmp/old <commit>
    farm-bench --vs "python bench/fingerprint_files.py --code /tmp/old video FILE..." -- \\
        python bench/fingerprint_files.py --code . video FILE...

Prints the CPU seconds spent fingerprinting (imports excluded) and the media seconds per file.
"""
from __future__ import annotations

import argparse
import sys
import time


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", default=".", help="the checkout whose medialayer is imported")
    parser.add_argument("media_type", choices=("image", "audio", "video"))
    parser.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    sys.path.insert(0, args.code)
    from medialayer.limits import Limits
    from medialayer.matchers import get_matcher
    from medialayer.media import Blob

    matcher = get_matcher(args.media_type)
    for path in args.files:
        started = time.process_time()
        fingerprint = matcher.fingerprint(Blob(path=path), Limits())
        seconds = getattr(fingerprint, "duration", 0.0)
        spent = time.process_time() - started
        print(f"{path}: {spent:.3f} CPU-s" + (f" for {seconds:.1f} s of media, {seconds / spent:.1f}x realtime"
                                              if seconds else ""))


if __name__ == "__main__":
    main()
