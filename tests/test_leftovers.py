"""Nothing lost, nothing left behind: decoder temp files, orphaned decoders, a missing fingerprint, a
temp file already gone (issue 17's reproductions, each as a test); a command stopped by SIGTERM or SIGINT
while a fetch hangs (round term27)."""
import contextlib
import glob
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.testing import test_pipeline
from apache_beam.testing.util import assert_that, equal_to

import hostile_decoders
import httpserver
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


def descendants_of(pid: int) -> list[int]:
    children = children_of(pid)
    return children + [grandchild for child in children for grandchild in descendants_of(child)]


def ended(pid: int) -> bool:
    """Gone, or a zombie (an orphan waits for init to reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def image_and_silent_url(tmp_path: Path, silent: socket.socket) -> tuple[str, str]:
    image = tmp_path / "a.png"
    textured_scene(5, 160, 120).save(image)
    return str(image), f"http://127.0.0.1:{silent.getsockname()[1]}/b.png"


def run_command(kind: str, tmp_path: Path, silent: socket.socket) -> list[str]:
    """A command that decodes a local image and fetches a URL from a server that never answers."""
    image, hanging = image_and_silent_url(tmp_path, silent)
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(json.dumps({"source_url": image, "target_url": hanging}) + "\n")
    job = ["--input", str(pairs), "--output", str(tmp_path / "out" / "results"), "--allow-private-networks"]
    if kind == "run_local.py":
        return [sys.executable, str(TESTS.parent / "run_local.py")] + job
    if kind == "medialayer run, multi_processing":
        return [sys.executable, "-m", "medialayer", "run"] + job + ["--direct_running_mode=multi_processing",
                                                                   "--direct_num_workers=2"]
    if kind == "medialayer dedupe":
        catalog = tmp_path / "catalog.jsonl"
        catalog.write_text("".join(json.dumps({"asset_id": name, "url": url}) + "\n"
                                   for name, url in (("a", image), ("b", hanging))))
        return [sys.executable, "-m", "medialayer", "dedupe", "--input", str(catalog), "--output",
                str(tmp_path / "dedupe"), "--allow-private-networks"]
    return [sys.executable, "-m", "medialayer", "match", image, hanging, "--allow-private-networks"]


def stop_and_check_nothing_is_left(run: subprocess.Popen, stop: signal.Signals, silent: socket.socket,
                                   temp: Path, stderr: Path) -> None:
    """Once the run decodes (a decoder's folder exists) and is blocked in a fetch (the silent server has its
    connection), ``stop`` ends it promptly with 128 + signal and one line, and nothing of it is left."""
    silent.settimeout(120)
    connection, _ = silent.accept()
    with connection:
        assert wait_for(lambda: glob.glob(str(temp / "medialayer-*" / "decoder-*")), 120)
        started = descendants_of(run.pid)
        assert started
        signalled = time.monotonic()
        run.send_signal(stop)
        assert run.wait(60) == 128 + stop
        assert time.monotonic() - signalled < 30
    assert sorted(os.listdir(temp)) == []  # ours, the decoders' and Beam's temp folders alike
    assert wait_for(lambda: all(ended(pid) for pid in started), 10)
    assert stderr.read_text().splitlines()[-1].startswith(f"Stopped by {stop.name} (exit status {128 + stop})")


@pytest.mark.parametrize("kind, stop", [("run_local.py", signal.SIGTERM),
                                        ("medialayer run, multi_processing", signal.SIGINT),
                                        ("medialayer dedupe", signal.SIGTERM),
                                        ("medialayer match", signal.SIGINT)], ids=["run_local.py-SIGTERM",
                                        "multi_processing-SIGINT", "dedupe-SIGTERM", "match-SIGINT"])
def test_a_stopped_command_exits_at_once_and_leaves_nothing_behind(tmp_path, kind, stop):
    temp, stderr = tmp_path / "tmp", tmp_path / "stderr.txt"
    temp.mkdir()
    with socket.create_server(("127.0.0.1", 0)) as silent, stderr.open("w") as errors:
        run = subprocess.Popen(run_command(kind, tmp_path, silent), cwd=TESTS.parent, env={
            **os.environ, "TMPDIR": str(temp)}, stdout=subprocess.DEVNULL, stderr=errors)
        try:
            stop_and_check_nothing_is_left(run, stop, silent, temp, stderr)
        finally:
            run.kill()
            run.wait()


def test_a_stopped_service_exits_within_seconds_of_a_request_blocked_in_a_fetch(tmp_path):
    temp, stderr = tmp_path / "tmp", tmp_path / "stderr.txt"
    temp.mkdir()
    port = httpserver.free_port()
    with socket.create_server(("127.0.0.1", 0)) as silent, httpserver.LoopbackServer() as server, \
            stderr.open("w") as errors:
        image, hanging = image_and_silent_url(tmp_path, silent)
        source = server.route("/a.png", httpserver.serve(Path(image).read_bytes()))
        service = subprocess.Popen([sys.executable, "-m", "medialayer", "serve", "--port", str(port),
                                    "--allow-private-networks"], cwd=TESTS.parent,
                                   env={**os.environ, "TMPDIR": str(temp)}, stdout=subprocess.DEVNULL, stderr=errors)
        try:
            assert wait_for(lambda: service_is_up(port), 120)
            request = threading.Thread(target=post_pair, args=(port, source, hanging), daemon=True)
            request.start()
            stop_and_check_nothing_is_left(service, signal.SIGTERM, silent, temp, stderr)
        finally:
            service.kill()
            service.wait()


def service_is_up(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def post_pair(port: int, source: str, target: str) -> None:
    body = json.dumps({"source_url": source, "target_url": target}).encode()
    with contextlib.suppress(OSError):  # the service is stopped while it answers
        urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/image/match", body,
                                                      {"Content-Type": "application/json"}), timeout=120)
