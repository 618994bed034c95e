"""Run the MediaLayer batch job on Beam's local runner (or any runner given with --runner).

    python run_local.py --input 'pairs/*.jsonl' --output out/results
"""
import logging
import sys

from medialayer.pipelines.match_pairs import execute, format_summary, prepare, run  # noqa: F401 (run: the API)

if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("medialayer.progress").setLevel(logging.INFO)  # periodic progress lines on long runs
    try:
        job = prepare(sys.argv[1:])
    except (FileNotFoundError, ValueError) as e:  # unusable input files or options: said before any work
        sys.exit(f"error: {e}")
    print(format_summary(execute(*job)))
