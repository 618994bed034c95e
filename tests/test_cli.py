"""The ``medialayer`` command as a user runs it: installed console script from any folder, ``match`` output,
``run`` exit statuses and summary, and ``processing_time_ms`` counted the same way in match() and the job."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from medialayer import console, match
from medialayer.cli import main, readable
from medialayer.pipelines import match_pairs
from medialayer.synthetic.image import resize, textured_scene

CONSOLE_SCRIPT = Path(sys.executable).parent / "medialayer"


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    scene = textured_scene(3, 320, 240)
    scene.save(folder / "a.png")
    resize(scene, 0.5).save(folder / "a_small.jpg", quality=80)
    textured_scene(4, 320, 240).save(folder / "b.jpg", quality=90)
    return {name: str(folder / name) for name in ("a.png", "a_small.jpg", "b.jpg")}


def write_pairs(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


@pytest.mark.skipif(not CONSOLE_SCRIPT.exists(), reason="the package is not installed into this environment "
                                                        "(make test installs it)")
def test_the_console_command_works_from_a_folder_outside_the_repository(images, tmp_path):
    done = subprocess.run([str(CONSOLE_SCRIPT), "match", images["a.png"], images["a_small.jpg"], "--json"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == console.OK, done.stderr
    record = json.loads(done.stdout)
    assert record["match"] is True and record["media_type"] == "image" and record["error"] is None
    assert "apitools" not in done.stderr  # Beam's import-time notes about GCP clients are not shown
    version = subprocess.run([str(CONSOLE_SCRIPT), "--version"], cwd=tmp_path, capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("medialayer ")


def test_match_prints_json_when_piped_and_a_readable_summary_on_a_terminal(images, capsys):
    assert main(["match", images["a.png"], images["b.jpg"]]) == console.OK
    record = json.loads(capsys.readouterr().out)  # stdout is not a terminal here: JSON
    assert record["match"] is False and record["error"] is None
    assert readable(record).startswith(f"no match (image): similarity {record['similarity_score']:.3f}")
    same = match(images["a.png"], images["a_small.jpg"])
    assert readable(same).startswith("MATCH (image)") and same["confidence"] in readable(same)


def test_match_of_a_missing_file_is_an_error_record_and_status_3(images, tmp_path, capsys):
    assert main(["match", images["a.png"], str(tmp_path / "nope.jpg"), "--json"]) == console.NO_RESULTS
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "FETCH_FAILED"


def test_usage_errors_exit_2():
    with pytest.raises(SystemExit) as exit_:
        main(["match", "only-one-argument"])
    assert exit_.value.code == console.USAGE


def test_run_exit_statuses_and_summary(images, tmp_path, capsys):
    good = write_pairs(tmp_path / "good.jsonl", [
        {"pair_id": "copy", "source_url": images["a.png"], "target_url": images["a_small.jpg"]},
        {"pair_id": "gone", "source_url": images["a.png"], "target_url": str(tmp_path / "missing.jpg")}])
    assert main(["run", "--input", good, "--output", str(tmp_path / "out" / "good")]) == console.OK
    summary = capsys.readouterr().out
    assert "2 pair rows read" in summary and "FETCH_FAILED: 1" in summary
    assert "pair gone: FETCH_FAILED" in summary  # the first errors are listed
    assert str(tmp_path / "out" / "good") + "-00000-of-00004.parquet" in summary  # the output files are named

    failed = write_pairs(tmp_path / "failed.jsonl", [{"source_url": "nope/a.jpg", "target_url": "nope/b.jpg"}])
    assert main(["run", "--input", failed, "--output", str(tmp_path / "out" / "failed")]) == console.NO_RESULTS
    assert "NO RESULTS: every one of the 1 rows is an error" in capsys.readouterr().out

    (tmp_path / "empty.jsonl").write_text("\n")
    empty = str(tmp_path / "empty.jsonl")
    assert main(["run", "--input", empty, "--output", str(tmp_path / "out" / "empty")]) == console.NO_ROWS
    assert "the input held no rows" in capsys.readouterr().out

    assert main(["run", "--input", str(tmp_path / "absent-*.jsonl"), "--output", str(tmp_path / "x")]) == \
        console.FAILED
    assert "no input files match" in capsys.readouterr().err


def test_run_local_script_exits_with_the_same_statuses(tmp_path):
    failed = write_pairs(tmp_path / "failed.jsonl", [{"source_url": "nope/a.jpg", "target_url": "nope/b.jpg"}])
    repo = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, str(repo / "run_local.py"), "--input", failed, "--output",
                           str(tmp_path / "out")], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(repo)})
    assert done.returncode == console.NO_RESULTS, done.stderr
    assert "apitools" not in done.stderr


def test_processing_time_counts_the_same_work_in_match_and_in_the_job(images, tmp_path):
    direct = match(images["a.png"], images["a_small.jpg"])["processing_time_ms"]
    pairs = write_pairs(tmp_path / "one.jsonl", [{"source_url": images["a.png"], "target_url": images["a_small.jpg"]}])
    match_pairs.run(["--input", pairs, "--output", str(tmp_path / "out" / "r"), "--formats", "jsonl"])
    record = next(json.loads(line) for path in sorted((tmp_path / "out").glob("r-*.jsonl"))
                  for line in path.read_text().splitlines())
    # The same work (two fetches, two fingerprints, one compare), waits for threads and decoders excluded.
    assert direct / 10 < record["processing_time_ms"] < direct * 10
