"""The same pipeline on other runners: Beam's DaskRunner against a dask.distributed LocalCluster with worker
processes, and the portable Job API (PortableRunner against Beam's own Python job service, LOOPBACK
environment). Each must write the same records as the local runner, and the run's own check (rows read ==
records written to each format) must hold on all of them."""
import glob
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np
import pyarrow.parquet as pq
import pytest
from httpserver import free_port
from PIL import Image

from medialayer.media import scratch_dir
from medialayer.pipelines.match_pairs import run, verify_counts
from medialayer.progress import Progress

DASK_RUNNER = "apache_beam.runners.dask.dask_runner.DaskRunner"


def _image(seed: int) -> Image.Image:
    pattern = np.random.default_rng(seed).integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    return Image.fromarray(pattern).resize((160, 160), Image.Resampling.BICUBIC)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    """A small pair file: duplicates, non-duplicates, URLs shared by many rows, a missing file, a bad row."""
    d = tmp_path_factory.mktemp("runners")
    urls = []
    for seed in range(4):
        original, copy = d / f"img{seed}.png", d / f"img{seed}_q50.jpg"
        _image(seed).save(original)
        _image(seed).resize((120, 120)).save(copy, quality=50)
        urls += [str(original), str(copy)]
    rows = [{"pair_id": f"dup{i}", "source_url": urls[2 * i], "target_url": urls[2 * i + 1]} for i in range(4)]
    rows += [{"pair_id": f"diff{i}", "source_url": urls[2 * i], "target_url": urls[(2 * i + 3) % len(urls)],
              "media_type": "image"} for i in range(4)]
    rows += [{"pair_id": "missing", "source_url": urls[0], "target_url": str(d / "nowhere.jpg")},
             {"pair_id": "bad", "source_url": 7, "target_url": urls[1]}]
    path = d / "pairs.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path), len(rows)


def _records(prefix: str) -> dict:
    """JSONL and Parquet read back; they must agree. Keyed by pair_id, without the timing column."""
    jsonl = [json.loads(line) for p in glob.glob(prefix + "-*.jsonl") for line in open(p)]
    parquet = pq.read_table(glob.glob(prefix + "-*.parquet")).to_pylist()
    strip = lambda records: {r["pair_id"]: {k: v for k, v in r.items() if k != "processing_time_ms"}
                             for r in records}
    assert strip(jsonl) == strip(parquet) and len(jsonl) == len(parquet)
    return strip(jsonl)


@pytest.fixture(scope="module")
def local(pairs, tmp_path_factory):
    prefix = str(tmp_path_factory.mktemp("local") / "results")
    summary = run(["--input", pairs[0], "--output", prefix])
    records = _records(prefix)
    assert len(records) == pairs[1] == summary["rows_in"] == summary["records_out"]
    assert records["dup0"]["match"] is True and records["diff0"]["match"] is False
    assert records["missing"]["error"]["code"] == "FETCH_FAILED"
    assert records["bad"]["error"]["code"] == "INVALID_INPUT"
    return records, summary


def test_dask_runner_on_a_local_cluster(pairs, local, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    dask_config = pytest.importorskip("dask").config
    scratch = str(tmp_path / "dask")  # the cluster's and the client's, not the shared temp folder's
    with dask_config.set({"temporary-directory": scratch}), distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        prefix = str(tmp_path / "results")
        try:
            summary = run(["--input", pairs[0], "--output", prefix, "--runner", DASK_RUNNER,
                           "--dask_client_address", cluster.scheduler_address])
        finally:
            distributed.default_client().close()  # the runner's client, before its cluster goes away
    assert _records(prefix) == local[0]
    # The Dask runner has no metrics: the summary comes from the files written.
    assert summary["fetches"] is None
    assert {k: summary[k] for k in ("rows_in", "records_out", "matches", "errors", "errors_by_code")} == \
        {k: local[1][k] for k in ("rows_in", "records_out", "matches", "errors", "errors_by_code")}


def test_portable_runner_against_the_python_job_service(pairs, local, tmp_path, monkeypatch):
    scratch = scratch_dir()  # made before the temp folder moves: it outlives this test
    temp = tmp_path / "temp"  # the temp folder of this process and the job service: the run leaves nothing in it
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    port = free_port()
    service = subprocess.Popen([sys.executable, "-m", "apache_beam.runners.portability.local_job_service_main",
                                "--port", str(port), "--staging_dir", str(tmp_path / "staging")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "TMPDIR": str(temp)})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert service.poll() is None and time.monotonic() < deadline, "job service did not start"
                time.sleep(0.2)
        prefix = str(tmp_path / "results")
        summary = run(["--input", pairs[0], "--output", prefix, "--runner", "PortableRunner",
                       "--job_endpoint", f"localhost:{port}", "--environment_type", "LOOPBACK"])
    finally:
        service.terminate()
        service.wait(timeout=30)
    assert _records(prefix) == local[0]
    assert {k: summary[k] for k in ("rows_in", "records_out", "fetches", "fingerprints", "fingerprint_reuses")} == \
        {k: local[1][k] for k in ("rows_in", "records_out", "fetches", "fingerprints", "fingerprint_reuses")}
    assert list(temp.iterdir()) == [] and glob.glob(os.path.join(scratch, "submission-*")) == []


def test_fetches_and_fingerprints_once_per_unique_url(pairs, local):
    summary = local[1]
    rows = [json.loads(line) for line in open(pairs[0])]
    urls = {row[side] for row in rows if isinstance(row["source_url"], str) for side in ("source_url", "target_url")}
    references = 2 * sum(isinstance(row["source_url"], str) for row in rows)
    assert summary["fetches"] == len(urls)
    assert summary["fingerprints"] == len(urls) - 1  # the missing file is fetched once and fails
    assert summary["fingerprint_reuses"] == references - len(urls)


def test_the_run_fails_when_a_format_lost_records():
    assert verify_counts({"rows": 3, "jsonl": 3, "parquet": 3}, ["jsonl", "parquet"])["rows"] == 3
    with pytest.raises(RuntimeError, match="3 rows read but 2 records written to parquet"):
        verify_counts({"rows": 3, "jsonl": 3, "parquet": 2}, ["jsonl", "parquet"])


def test_progress_lines_report_items_rate_and_eta():
    now = [0.0]
    progress = Progress("pairs compared", total_units=10, unit_name="join cells", workers=2, interval_s=30,
                        clock=lambda: now[0])
    now[0] = 10.0
    assert progress.add(500) is None  # not yet due
    now[0] = 40.0
    line = progress.add(1500, units=2)  # 2 of this worker's 5 cells in 40 s: 60 s to go
    assert line == ("pairs compared: 2,000 in 0m40s (50.0/s); 2 of ~5 join cells for this worker, ETA 1m00s")
    now[0] = 50.0
    assert progress.add(100) is None  # the next line is due 30 s after the last
    progress.start_unit(4000)  # a join cell of 4,000 rows begins
    now[0] = 80.0
    # 3,000 items in 80 s overall is 37.5/s: the 3,100 rows left in this cell take 1m23s
    assert progress.add(900).endswith("; current one: 900 of 4,000, 1m23s left")
