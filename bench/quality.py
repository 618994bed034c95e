"""Quality benchmark dispatcher: derives transformed variants and hard negatives from real media, runs
them through the pipeline and prints precision/recall per transformation.

    python bench/quality.py --media-type image --media-dir ../shared/media-dev [options of that bench]
"""
import argparse
import importlib
import os
import sys

if __name__ == "__main__":
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--media-type", choices=("image", "audio", "video"), required=True)
    args, rest = parser.parse_known_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    importlib.import_module(f"quality_{args.media_type}").main(rest)
