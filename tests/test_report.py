"""The HTML report: counts, thumbnails, segment bands at the right places, escaping, and a bounded page for a
large run. Media is generated, the run is the real pipeline, the page is parsed back."""
import glob
import json
import os
import re
import shutil
import subprocess
import time
from html.parser import HTMLParser

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from medialayer import report
from medialayer.pipelines import match_pairs
from medialayer.record import RESULT_SCHEMA
from medialayer.synthetic import audio, image

MAX_PAGE_BYTES = 5 * 1024 * 1024  # the documented bound for any run size


class Elements(HTMLParser):
    """Every start tag with its attributes, and the page's text."""

    def __init__(self, page: str):
        super().__init__()
        self.tags, self.text = [], []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def with_class(self, tag: str, cls: str) -> list[dict]:
        return [a for t, a in self.tags if t == tag and cls in (a.get("class") or "").split()]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    scene = image.textured_scene(7, 320, 240)
    scene.save(folder / "a.png")
    image.resize(scene, 0.5).save(folder / "a_small.jpg", quality=80)
    image.textured_scene(8, 320, 240).save(folder / "b.png")
    song = audio.melody(20.0, seed=3)
    (folder / "song.wav").write_bytes(audio.encode(song, audio.SAMPLE_RATE, "wav"))
    excerpt = song[5 * audio.SAMPLE_RATE:13 * audio.SAMPLE_RATE]  # 5-13 s of the song
    (folder / "excerpt.ogg").write_bytes(audio.encode(excerpt, audio.SAMPLE_RATE, "ogg"))
    rows = [{"pair_id": "copy", "source_url": str(folder / "a.png"), "target_url": str(folder / "a_small.jpg")},
            {"pair_id": "other", "source_url": str(folder / "a.png"), "target_url": str(folder / "b.png")},
            {"pair_id": "excerpt", "source_url": str(folder / "song.wav"), "target_url": str(folder / "excerpt.ogg")},
            {"pair_id": "<script>alert(1)</script>", "source_url": str(folder / "a.png"),
             "target_url": str(folder / "missing.png?<script>x</script>")}]
    (folder / "pairs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    prefix = str(folder / "out" / "results")
    assert match_pairs.main(["--input", str(folder / "pairs.jsonl"), "--output", prefix,
                             "--report", str(folder / "report.html")]) == 0
    records = [json.loads(line) for path in sorted((folder / "out").glob("results-*.jsonl"))
               for line in path.read_text().splitlines()]
    return {r["pair_id"]: r for r in records}, (folder / "report.html").read_text()


def test_the_report_counts_every_record(run):
    records, page = run
    cards = {label: int(n.replace(",", "")) for n, label in
             re.findall(r'<div class="card"><b>([\d,]+)</b><span>([\w-]+)</span>', page)}
    assert cards == {"rows": 4, "matches": 2, "non-matches": 1, "errors": 1}
    assert "FETCH_FAILED" in page


def test_each_image_row_shown_has_its_two_thumbnails(run):
    records, page = run
    elements = Elements(page)
    image_rows = [r for r in records.values() if r["media_type"] == "image" and not r["error"]]
    thumbnails = [a for a in elements.with_class("img", "thumb") if a["src"].startswith("data:image/jpeg;base64,")]
    assert len(thumbnails) == 2 * len(image_rows)
    assert "http" not in "".join(a["src"][:30] for t, a in elements.tags if t in ("img", "script", "link") and "src" in a)


def test_the_previews_come_from_the_run_own_decode(run, monkeypatch):
    records, page = run
    # The run wrote the report without fetching anything again: its thumbnails came from the previews file
    # its decoders made, one row per media file fingerprinted.
    folder = os.path.dirname(records["copy"]["source_url"])
    previews = pq.read_table(glob.glob(os.path.join(folder, "out", "results.previews-*.parquet"))).to_pylist()
    fingerprinted = {r[f"{side}_url"] for r in records.values() if not r["error"] for side in ("source", "target")}
    assert {p["url"] for p in previews} == fingerprinted
    assert json.loads(next(p["preview"] for p in previews if p["url"].endswith("song.wav")))["duration"] > 19
    monkeypatch.setattr(report, "fetch_previews", lambda *_: pytest.fail("media fetched again"))
    again = report.build_report(os.path.join(folder, "out", "results-*.parquet"),
                                previews=os.path.join(folder, "out", "results.previews-*.parquet"))
    assert again.count('<img class="thumb" src="data:image/jpeg') == page.count('<img class="thumb" src="data:image/jpeg')


def test_the_matched_region_is_outlined_on_the_target():
    record = {"pair_id": "pip", "source_url": "a.jpg", "target_url": "b.jpg", "media_type": "image", "match": True,
              "confidence": "high", "similarity_score": 0.9, "processing_time_ms": 3.0, "matched_segments": [],
              "error": None, "matched_region": {"left": 0.25, "top": 0.1, "right": 0.75, "bottom": 0.6},
              "speed_ratio": None}
    thumbnail = {"thumbnail": "data:image/jpeg;base64,AAAA"}
    page = report.render(report.Summary(), [record], {"a.jpg": thumbnail, "b.jpg": thumbnail}, "test")
    assert page.count('class="region"') == 1
    assert 'style="left:25.0%;top:10.0%;width:50.0%;height:50.0%"' in page


def test_one_band_per_matched_segment_at_its_place(run):
    records, page = run
    segments = records["excerpt"]["matched_segments"]
    assert segments and abs(segments[0]["source_start"] - 5.0) < 0.5
    panel = page[page.index('data-text="excerpt'):]
    panel = panel[:panel.index("</section>")]
    links = re.findall(r'<polygon class="link" points="([^"]+)"', panel)
    assert len(links) == len(segments)
    # The timeline is drawn to the longer file's duration (the 20 s song): x = 70 + 520 * t / 20.
    xs = [float(point.split(",")[0]) for point in links[0].split()]
    expected = [70 + 520 * t / 20.0 for t in (segments[0]["source_start"], segments[0]["source_end"],
                                             segments[0]["target_end"], segments[0]["target_start"])]
    assert np.allclose(xs, expected, atol=8.0)  # within the decoder's duration rounding


def test_nothing_from_the_input_is_left_unescaped(run):
    _, page = run
    assert "<script>alert(1)</script>" not in page and "<script>x</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<script>") == 1  # the page's own script, nothing else


def test_a_large_run_gives_a_bounded_page_in_bounded_time(tmp_path):
    rng = np.random.default_rng(0)
    n = 100_000
    kinds = rng.choice(["image", "video", "audio"], n)
    scores = rng.random(n)
    failed = rng.random(n) < 0.02
    records = [{"pair_id": f"p{i}", "source_url": f"https://media.invalid/{i}/a", "target_url": f"https://media.invalid/{i}/b",
                "media_type": str(kinds[i]), "match": None if failed[i] else bool(scores[i] >= 0.5),
                "confidence": None if failed[i] else "high", "similarity_score": None if failed[i] else float(scores[i]),
                "processing_time_ms": float(rng.exponential(50)),
                "matched_segments": [] if failed[i] or kinds[i] == "image" or scores[i] < 0.5 else
                [{"source_start": 1.0, "source_end": 9.0, "target_start": 0.0, "target_end": 8.0}],
                "error": {"code": "FETCH_FAILED", "message": "gone", "url": None} if failed[i] else None}
               for i in range(n)]
    pq.write_table(pa.Table.from_pylist(records, RESULT_SCHEMA), tmp_path / "results-00000-of-00001.parquet")
    started = time.monotonic()
    page = report.build_report(str(tmp_path / "results-*.parquet"), fetch_media=False)
    elapsed = time.monotonic() - started
    assert len(page.encode()) < MAX_PAGE_BYTES and elapsed < 120
    shown = page.count('<section class="row"')
    assert shown <= 3 * 2 * report.PER_KIND + report.PER_ERROR + report.SAMPLE
    assert '<b>100,000</b><span>rows</span>' in page


CHROMIUM = shutil.which("chromium")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_the_page_works_offline_in_a_real_browser(run, tmp_path):
    _, page = run
    path = tmp_path / "report.html"
    path.write_text(page)
    dom = subprocess.run([CHROMIUM, *HEADLESS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                          "--virtual-time-budget=5000", path.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert re.search(r'<span id="count">4 shown</span>', dom.stdout)  # the page's own script ran, with no network


HEADLESS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]
