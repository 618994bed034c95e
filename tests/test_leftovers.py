"""Nothing lost, nothing left behind: decoder temp files, orphaned decoders, a missing fingerprint, a
temp file already gone (issue 17's reproductions, each as a test)."""
import glob
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.testing import test_pipeline
from apache_beam.testing.util import assert_that, equal_to

import hostile_decoders
from medialayer import isolation, media
from medialayer.errors import ErrorCode, MediaError
from medialayer.limits import Limits
from medialayer.media import Blob, scratch_dir
from medialayer.pipelines.match_pairs import DEFAULT_RUNNER
from medialayer.record import make_row
from medialayer.synthetic.image import textured_scene
from medialayer.transforms.matching import ComparePairs

TESTS = Path(__file__).resolve().parent


def files_under(folder: str) -> list[Path]:
    return [path for path in Path(folder).rglob("*") if path.is_file()]


def test_a_decoder_killed_at_its_time_limit_leaves_no_temporary_file():
    pool = isolation.DecoderPool(size=1, decode=hostile_decoders.DECODE)
    try:
        with pytest.raises(MediaError) as caught:
            pool.fingerprint("image", Blob(data=b"\x89PNG" + hostile_decoders.HANG), Limits(decode_timeout=2.0))
        assert caught.value.code == ErrorCode.DECODE_TIMEOUT
        assert files_under(scratch_dir()) == []  # the hung decoder had written one; its folder is gone
    finally:
        pool.close()


PARENT = textwrap.dedent("""
    import sys, threading
    sys.path[:0] = [{tests!r}, {repo!r}]
    import hostile_decoders
    from medialayer import isolation
    from medialayer.limits import Limits
    from medialayer.media import Blob, scratch_dir
    pool = isolation.DecoderPool(size=1, decode=hostile_decoders.DECODE)
    threading.Thread(target=pool.fingerprint, daemon=True,
                     args=("image", Blob(data=b"hang " + hostile_decoders.HANG), Limits(decode_timeout=600))).start()
    print(scratch_dir(), flush=True)
    threading.Event().wait()
""")


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def wait_for(condition, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_a_decoder_dies_with_its_killed_parent_and_its_files_are_swept():
    parent = subprocess.Popen([sys.executable, "-c", PARENT.format(tests=str(TESTS), repo=str(TESTS.parent))],
                              stdout=subprocess.PIPE, text=True)
    try:
        parent_scratch = parent.stdout.readline().strip()
        assert parent_scratch, "the parent process did not start"
        assert wait_for(lambda: files_under(parent_scratch), 60)  # the decoder is inside its hang, file written
        decoders = children_of(parent.pid)
        assert len(decoders) == 1
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    assert wait_for(lambda: not Path(f"/proc/{decoders[0]}").exists() or
                    Path(f"/proc/{decoders[0]}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z", 10)
    media._sweep_folders_of_dead_processes()  # what the next run does when it makes its own scratch folder
    assert not os.path.exists(parent_scratch)


def test_a_temporary_file_already_gone_does_not_cost_the_record():
    with Blob(data=b"some bytes").path(".bin") as path:
        os.unlink(path)  # swept by somebody else meanwhile
    spooled = Path(scratch_dir()) / "spooled"
    spooled.write_bytes(b"x")
    blob = Blob(path=str(spooled), owned=True)
    spooled.unlink()
    blob.close()


def test_a_missing_fingerprint_becomes_an_error_record_not_a_failed_bundle():
    row = make_row({"pair_id": "lost", "source_url": "https://h/a.jpg", "target_url": "https://h/b.jpg"})
    with test_pipeline.TestPipeline(runner=DEFAULT_RUNNER) as pipeline:
        records = (pipeline | beam.Create([(0, [("row", row)])]) | beam.ParDo(ComparePairs())
                   | beam.Map(lambda r: (r["pair_id"], r["error"]["code"], r["error"]["url"])))
        assert_that(records, equal_to([("lost", "INTERNAL_ERROR", "https://h/a.jpg")]))


def test_an_interrupted_run_leaves_no_output_that_looks_complete_and_a_rerun_completes(tmp_path):
    image = tmp_path / "a.png"
    textured_scene(5, 160, 120).save(image)
    done_pairs = tmp_path / "done.jsonl"
    done_pairs.write_text(json.dumps({"source_url": str(image), "target_url": str(image)}) + "\n")
    prefix = str(tmp_path / "out" / "results")
    repo = TESTS.parent
    command = [sys.executable, str(repo / "run_local.py"), "--output", prefix]
    assert subprocess.run(command + ["--input", str(done_pairs)], cwd=repo).returncode == 0
    assert len(glob.glob(prefix + "-*")) == 8  # 4 shards x 2 formats, from a finished run

    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers: the run hangs in a fetch
        hanging_pairs = tmp_path / "hanging.jsonl"
        hanging_pairs.write_text(json.dumps({"source_url": str(image), "target_url":
                                             f"http://127.0.0.1:{silent.getsockname()[1]}/b.png"}) + "\n")
        # Killed, the run cannot remove its temp folders: they go under tmp_path, not the machine's /tmp.
        run = subprocess.Popen(command + ["--input", str(hanging_pairs), "--allow-private-networks"], cwd=repo,
                               env={**os.environ, "TMPDIR": str(tmp_path)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            assert wait_for(lambda: not glob.glob(prefix + "-*"), 60)  # the earlier run's files are cleared first
            time.sleep(1.0)
        finally:
            run.send_signal(signal.SIGKILL)
            run.wait()
    assert [path for path in glob.glob(prefix + "-*") if path.endswith((".jsonl", ".parquet"))] == []

    rerun = subprocess.run(command + ["--input", str(done_pairs)], cwd=repo,
                           env={**os.environ, "TMPDIR": str(tmp_path)})
    assert rerun.returncode == 0
    # The killed run's temp folders, Beam's included (inside its scratch folder), are swept by the rerun.
    assert glob.glob(str(tmp_path / "medialayer-*")) == glob.glob(str(tmp_path / "beam-*")) == []
    assert sorted(os.path.basename(p) for p in glob.glob(prefix + "-*")) == sorted(
        f"results-{shard:05d}-of-00004.{fmt}" for shard in range(4) for fmt in ("jsonl", "parquet"))
