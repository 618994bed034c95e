"""Run the MediaLayer batch job on Beam's local runner (or any runner given with --runner).

    python run_local.py --input 'pairs/*.jsonl' --output out/results

The same job as ``medialayer run``; exit statuses in the README ("Command line").
"""
import sys

from medialayer import console, stopping

console.setup_logging()  # before Beam is imported

from medialayer.pipelines.match_pairs import execute, main, prepare, run  # noqa: E402,F401 (run, prepare: the API)

if __name__ == "__main__":
    with stopping.stopped_cleanly():
        status = main(sys.argv[1:], prog="run_local.py")
    sys.exit(status)
