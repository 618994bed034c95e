"""The visual report of a run: one self-contained HTML page (no network: inline CSS, script and images).

    medialayer report --input 'out/results-*.parquet' --output out/report.html

It only reads result records. The summary covers every record; the rows shown are a bounded selection
(``Selection``): per media type the least confident matches and non-matches, examples of every error
code, and a random sample, so the page stays a few MB whatever the run's size. For the rows shown, the
media is fetched again under the run's guards and limits and previewed in an isolated decoder process
(``preview``): image thumbnails side by side, for video a frame at the start of each matched segment,
for audio a loudness strip; timelines of both files with the matched segments drawn as joined bands.
Everything that comes from the input (URLs, ids, messages) is HTML-escaped.
"""
from __future__ import annotations

import base64
import collections
import dataclasses
import heapq
import html
import io
import json
import random
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow.parquet as pq

from medialayer.errors import ErrorCode, MediaError
from medialayer.io.fetch import Fetcher
from medialayer.isolation import DecoderPool
from medialayer.limits import Limits
from medialayer.media import Blob

PER_KIND = 20  # least confident matches, and non-matches, shown per media type
PER_ERROR = 5  # examples shown per error code
SAMPLE = 40  # rows drawn at random from the whole run
THUMB_SIDE = 160  # px, long side of an image thumbnail
FRAME_SIDE = 96  # px, long side of a video frame at a segment start
LOUDNESS_BINS = 240
FRAMES = 60  # video frames kept per file, evenly spaced
SCORE_BINS = 20
PREVIEW = "medialayer.report:preview"  # what the isolated decoder runs for a shown row's media


@dataclasses.dataclass
class Summary:
    """Counts over every record of the run."""

    rows: int = 0
    by_type: dict = dataclasses.field(default_factory=lambda: collections.defaultdict(collections.Counter))
    errors: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    confidence: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    match_scores: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(SCORE_BINS, int))
    other_scores: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(SCORE_BINS, int))
    times: list = dataclasses.field(default_factory=list)

    def add(self, record: dict) -> None:
        self.rows += 1
        kind = record["media_type"] or "unknown"
        if record["error"]:
            self.errors[record["error"]["code"]] += 1
            self.by_type[kind]["errors"] += 1
        else:
            outcome = "matches" if record["match"] else "non-matches"
            self.by_type[kind][outcome] += 1
            self.confidence[(outcome, record["confidence"])] += 1
            scores = self.match_scores if record["match"] else self.other_scores
            scores[min(SCORE_BINS - 1, int(record["similarity_score"] * SCORE_BINS))] += 1
        self.times.append(record["processing_time_ms"])


class Selection:
    """The bounded set of rows the page shows, chosen while the records stream past."""

    def __init__(self, seed: int = 0):
        self.least_sure = collections.defaultdict(list)  # (kind, outcome) -> heap of (-margin, n, record)
        self.errors = collections.defaultdict(list)
        self.sample, self.seen, self.random = [], 0, random.Random(seed)

    def add(self, record: dict) -> None:
        self.seen += 1
        if record["error"]:
            examples = self.errors[record["error"]["code"]]
            if len(examples) < PER_ERROR:
                examples.append(record)
        else:
            heap = self.least_sure[(record["media_type"], bool(record["match"]))]
            entry = (-abs(record["similarity_score"] - 0.5), self.seen, record)  # nearest the threshold first
            if len(heap) < PER_KIND:
                heapq.heappush(heap, entry)
            elif entry > heap[0]:
                heapq.heapreplace(heap, entry)
        if len(self.sample) < SAMPLE:  # reservoir sampling: every record equally likely
            self.sample.append(record)
        elif (slot := self.random.randrange(self.seen)) < SAMPLE:
            self.sample[slot] = record

    def rows(self) -> list[dict]:
        chosen = {}
        for heap in self.least_sure.values():
            for _, _, record in sorted(heap, reverse=True):
                chosen.setdefault(_identity(record), record)
        for examples in self.errors.values():
            for record in examples:
                chosen.setdefault(_identity(record), record)
        for record in self.sample:
            chosen.setdefault(_identity(record), record)
        return list(chosen.values())


def _identity(record: dict) -> tuple:
    return record["pair_id"], record["source_url"], record["target_url"]


def read_records(pattern: str):
    """Every record in the files ``pattern`` matches (Parquet or JSONL, by extension)."""
    from apache_beam.io.filesystems import FileSystems  # here: decoders import this module for preview()

    paths = sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)
    if not paths:
        raise FileNotFoundError(f"no result files match {pattern!r}")
    for path in paths:
        with FileSystems.open(path, compression_type="uncompressed") as f:
            if path.endswith((".parquet", ".pq")):
                for batch in pq.ParquetFile(f).iter_batches():
                    yield from batch.to_pylist()
            else:
                yield from (json.loads(line) for line in f if line.strip())


# --- media previews, in an isolated decoder ------------------------------------------------------------

def preview(media_type: str, blob: Blob, limits: Limits) -> dict:
    """What the page shows of one media file: a thumbnail, or its duration and video frames or loudness."""
    if media_type == "image":
        return {"thumbnail": _jpeg(_image(blob, limits))}
    import av

    with blob.path() as path, av.open(path) as container:
        duration = float(container.duration or 0) / av.time_base
        if duration > (limits.max_audio_seconds if media_type == "audio" else limits.max_video_seconds):
            raise MediaError(ErrorCode.DURATION_EXCEEDED, f"{duration:.0f} s is over the duration cap")
        if media_type == "audio":
            return {"duration": duration, "loudness": _loudness(container)}
        return {"duration": duration, "frames": _frames(container, duration)}


def _image(blob: Blob, limits: Limits):
    from PIL import Image, ImageOps

    image = Image.open(io.BytesIO(blob.read()))
    if image.width * image.height > limits.max_image_pixels:  # refused from the header, before decoding
        raise MediaError(ErrorCode.TOO_LARGE, f"{image.width}x{image.height} exceeds max_image_pixels")
    image.draft("RGB", (2 * THUMB_SIDE, 2 * THUMB_SIDE))
    image = ImageOps.exif_transpose(image.convert("RGB"))
    image.thumbnail((THUMB_SIDE, THUMB_SIDE))
    return image


def _loudness(container) -> list[float]:
    """RMS level per bin over the whole file, 0..1 on a dB scale (-60 dB to 0)."""
    chunks = [frame.to_ndarray().astype(np.float32).reshape(-1) for frame in container.decode(audio=0)]
    samples = np.concatenate(chunks) if chunks else np.zeros(1, np.float32)
    if np.abs(samples).max() > 1.5:  # integer PCM
        samples = samples / 32768.0
    bins = np.array_split(samples, LOUDNESS_BINS)
    levels = [20 * np.log10(np.sqrt(np.mean(np.square(b))) + 1e-9) if len(b) else -60.0 for b in bins]
    return [round(float(np.clip((level + 60) / 60, 0, 1)), 3) for level in levels]


def _frames(container, duration: float) -> dict:
    """Small JPEGs of frames at up to FRAMES evenly spaced times (seconds -> data URI), found by seeking:
    the page shows the one nearest each segment start."""
    stream = container.streams.video[0]
    frames = {}
    for t in np.linspace(0, max(0.0, duration - 0.5), FRAMES):
        container.seek(int(t / stream.time_base), stream=stream, backward=True)
        frame = next((f for f in container.decode(stream) if (f.time or 0) >= t - 0.05), None)
        if frame is not None:
            image = frame.to_image()
            image.thumbnail((FRAME_SIDE, FRAME_SIDE))
            frames[round(float(t), 2)] = _jpeg(image)
    return frames


def _jpeg(image) -> str:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=70)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def fetch_previews(rows: list[dict], limits: Limits, concurrency: int = 4) -> dict:
    """url -> preview (or {"error": message}) for the media of the rows shown, each URL fetched once."""
    wanted = {url: row["media_type"] for row in rows if row["media_type"] and not _is_input_error(row)
              for url in (row["source_url"], row["target_url"]) if url}
    fetcher, pool = Fetcher(limits), DecoderPool(decode=PREVIEW)

    def one(item):
        url, media_type = item
        try:
            with fetcher.fetch(url, media_type) as blob:
                return url, pool.fingerprint(media_type, blob, limits)
        except MediaError as e:
            return url, {"error": f"{e.code.value}: {e.message}"}

    try:
        with ThreadPoolExecutor(concurrency) as threads:
            return dict(threads.map(one, wanted.items()))
    finally:
        pool.close()
        fetcher.close()


def _is_input_error(row: dict) -> bool:
    return bool(row["error"]) and row["error"]["code"] in ("INVALID_INPUT", "INVALID_URL", "UNSUPPORTED_SCHEME",
                                                           "BLOCKED_ADDRESS")


# --- the page --------------------------------------------------------------------------------------------

def build_report(pattern: str, limits: Limits | None = None, fetch_media: bool = True, seed: int = 0) -> str:
    """The HTML page for the records ``pattern`` matches."""
    summary, selection = Summary(), Selection(seed)
    for record in read_records(pattern):
        summary.add(record)
        selection.add(record)
    rows = selection.rows()
    previews = fetch_previews(rows, limits or Limits()) if fetch_media else {}
    return render(summary, rows, previews, pattern)


def write_report(pattern: str, output: str, limits: Limits | None = None, fetch_media: bool = True) -> str:
    from apache_beam.io.filesystems import FileSystems

    page = build_report(pattern, limits, fetch_media)
    with FileSystems.create(output) as f:
        f.write(page.encode("utf-8"))
    return output


def escape(value) -> str:
    """Anything from the input, made safe to place in HTML text or an attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def render(summary: Summary, rows: list[dict], previews: dict, source: str) -> str:
    times = np.asarray(summary.times or [0.0])
    percentiles = {p: float(np.percentile(times, p)) for p in (50, 90, 99)}
    cards = "".join(f'<div class="card"><b>{n:,}</b><span>{escape(label)}</span></div>' for label, n in (
        ("rows", summary.rows), ("matches", sum(c["matches"] for c in summary.by_type.values())),
        ("non-matches", sum(c["non-matches"] for c in summary.by_type.values())),
        ("errors", sum(summary.errors.values()))))
    by_type = "".join(f"<tr><td>{escape(kind)}</td><td>{c['matches']:,}</td><td>{c['non-matches']:,}</td>"
                      f"<td>{c['errors']:,}</td></tr>" for kind, c in sorted(summary.by_type.items()))
    errors = "".join(f"<tr><td>{escape(code)}</td><td>{n:,}</td></tr>" for code, n in summary.errors.most_common())
    bands = "".join(f"<tr><td>{escape(outcome)}</td><td>{escape(confidence)}</td><td>{n:,}</td></tr>"
                    for (outcome, confidence), n in sorted(summary.confidence.items()))
    panels = "\n".join(_panel(row, previews) for row in rows)
    return PAGE.format(
        source=escape(source), cards=cards, by_type=by_type, errors=errors or '<tr><td colspan="2">none</td></tr>',
        bands=bands, histogram=_histogram(summary.match_scores, summary.other_scores),
        p50=percentiles[50], p90=percentiles[90], p99=percentiles[99], tmax=float(times.max()),
        shown=len(rows), selection=f"per media type the {PER_KIND} least confident matches and non-matches, "
                                   f"up to {PER_ERROR} rows per error code, and {SAMPLE} rows drawn at random",
        panels=panels, script=SCRIPT, style=STYLE)


def _histogram(matches: np.ndarray, others: np.ndarray) -> str:
    """Bars of the similarity scores, matches above the axis and non-matches below it."""
    width, half, top = 400, 70, max(1, int(max(matches.max(), others.max())))
    bar = width / SCORE_BINS
    parts = [f'<svg class="hist" viewBox="0 0 {width} {2 * half + 20}" role="img" '
             f'aria-label="similarity scores of matches (above) and non-matches (below)">']
    for i, (m, o) in enumerate(zip(matches, others)):
        hm, ho = half * m / top, half * o / top
        parts.append(f'<rect class="m" x="{i * bar + 1:.1f}" y="{half - hm:.1f}" width="{bar - 2:.1f}" '
                     f'height="{hm:.1f}"><title>{m:,} matches, score {i / SCORE_BINS:.2f}-'
                     f'{(i + 1) / SCORE_BINS:.2f}</title></rect>')
        parts.append(f'<rect class="n" x="{i * bar + 1:.1f}" y="{half:.1f}" width="{bar - 2:.1f}" '
                     f'height="{ho:.1f}"><title>{o:,} non-matches, score {i / SCORE_BINS:.2f}-'
                     f'{(i + 1) / SCORE_BINS:.2f}</title></rect>')
    parts.append(f'<line x1="{width / 2}" y1="0" x2="{width / 2}" y2="{2 * half}" class="threshold"/>'
                 f'<text x="0" y="{2 * half + 15}">0</text><text x="{width / 2 - 8}" y="{2 * half + 15}">0.5</text>'
                 f'<text x="{width - 10}" y="{2 * half + 15}">1</text></svg>')
    return "".join(parts)


def _panel(row: dict, previews: dict) -> str:
    error = row["error"]
    outcome = "error" if error else "match" if row["match"] else "non-match"
    score = "" if error else f"{row['similarity_score']:.3f}"
    head = (f'<div class="head"><span class="badge {outcome}">{outcome}</span> <b>{escape(row["pair_id"])}</b> '
            f'<span class="kind">{escape(row["media_type"] or "unknown")}</span>'
            + ("" if error else f' score <b>{score}</b> confidence <b>{escape(row["confidence"])}</b>')
            + f' <span class="ms">{row["processing_time_ms"]:.0f} ms</span></div>'
            f'<div class="urls"><div>source: {escape(row["source_url"])}</div><div>target: {escape(row["target_url"])}</div></div>')
    if error:
        head += f'<div class="error">{escape(error["code"])}: {escape(error["message"])}</div>'
    body = ""
    source, target = previews.get(row["source_url"], {}), previews.get(row["target_url"], {})
    if row["media_type"] == "image":
        body = f'<div class="pair">{_thumbnail(source)}{_thumbnail(target)}</div>'
    elif row["media_type"] in ("video", "audio") and not error:
        body = _timeline(row, source, target)
    return (f'<section class="row" data-kind="{escape(row["media_type"] or "unknown")}" data-outcome="{outcome}" '
            f'data-score="{score or -1}" data-ms="{row["processing_time_ms"]:.1f}" '
            f'data-text="{escape(" ".join(str(row[k]) for k in ("pair_id", "source_url", "target_url")))}">'
            f"{head}{body}</section>")


def _thumbnail(preview: dict) -> str:
    if "thumbnail" in preview:
        return f'<img class="thumb" src="{preview["thumbnail"]}" alt="">'
    return f'<div class="thumb missing">{escape(preview.get("error", "media not fetched"))}</div>'


def _timeline(row: dict, source: dict, target: dict) -> str:
    """Both files as bars on one scale, each matched segment a band on each, joined across the two."""
    segments = row["matched_segments"] or []
    ends = [s["source_end"] for s in segments] + [s["target_end"] for s in segments]
    span = max([source.get("duration") or 0, target.get("duration") or 0, *ends, 1e-3])
    width, left = 600.0, 70.0

    def x(t: float) -> float:
        return left + (width - left - 10) * t / span

    parts = [f'<svg class="timeline" viewBox="0 0 {width:.0f} 150" role="img" aria-label="matched segments">']
    for y, name, side in ((20, "source", source), (110, "target", target)):
        parts.append(f'<text x="0" y="{y + 14}">{name}</text>')
        length = side.get("duration") or max([s[f"{name}_end"] for s in segments] or [span])
        parts.append(f'<rect class="file" x="{x(0):.1f}" y="{y}" width="{x(length) - x(0):.1f}" height="20"/>')
        loudness = side.get("loudness")
        if loudness:  # audio: the loudness strip inside the bar
            step = (x(length) - x(0)) / len(loudness)
            points = " ".join(f"{x(0) + i * step:.1f},{y + 20 - 18 * level:.1f}" for i, level in enumerate(loudness))
            parts.append(f'<polyline class="loud" points="{points}"/>')
    for s in segments:
        parts.append(f'<polygon class="link" points="{x(s["source_start"]):.1f},40 {x(s["source_end"]):.1f},40 '
                     f'{x(s["target_end"]):.1f},110 {x(s["target_start"]):.1f},110"/>'
                     f'<rect class="seg" x="{x(s["source_start"]):.1f}" y="20" '
                     f'width="{max(1.0, x(s["source_end"]) - x(s["source_start"])):.1f}" height="20"/>'
                     f'<rect class="seg" x="{x(s["target_start"]):.1f}" y="110" '
                     f'width="{max(1.0, x(s["target_end"]) - x(s["target_start"])):.1f}" height="20">'
                     f'<title>source {s["source_start"]:.2f}-{s["source_end"]:.2f} s, target '
                     f'{s["target_start"]:.2f}-{s["target_end"]:.2f} s</title></rect>')
    parts.append("</svg>")
    frames = ""
    if "frames" in source or "frames" in target:
        cells = []
        for s in segments:
            for name, side, start in (("source", source, s["source_start"]), ("target", target, s["target_start"])):
                image = _nearest_frame(side.get("frames") or {}, start)
                cells.append("<figure>" + (f'<img src="{image}" alt="">' if image else "")
                             + f"<figcaption>{name} {start:.1f} s</figcaption></figure>")
        frames = f'<div class="frames">{"".join(cells)}</div>'
    missing = [side["error"] for side in (source, target) if "error" in side]
    note = "".join(f'<div class="note">{escape(message)}</div>' for message in missing)
    return "".join(parts) + frames + note


def _nearest_frame(frames: dict, t: float) -> str | None:
    return frames[min(frames, key=lambda at: abs(at - t))] if frames else None


STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2430;background:#f6f7f9}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}.src{color:#667;font-size:12px}
.cards{display:flex;gap:12px;margin:16px 0}.card{background:#fff;border-radius:8px;padding:12px 18px;
box-shadow:0 1px 2px #0002}.card b{display:block;font-size:22px}.card span{color:#667}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:16px}
.box{background:#fff;border-radius:8px;padding:12px;box-shadow:0 1px 2px #0002;overflow-x:auto}
table{border-collapse:collapse;width:100%}td,th{padding:3px 8px;text-align:left;border-bottom:1px solid #eee}
.hist{width:100%;max-width:420px}.hist .m{fill:#2e8b57}.hist .n{fill:#c0504d}.threshold{stroke:#333;
stroke-dasharray:3 3}svg text{font-size:11px;fill:#445}
.controls{display:flex;gap:8px;margin:8px 0 12px;flex-wrap:wrap}.controls select,.controls input{padding:4px}
.row{background:#fff;border-radius:8px;padding:10px 12px;margin:0 0 10px;box-shadow:0 1px 2px #0002}
.badge{border-radius:4px;padding:1px 6px;color:#fff;font-size:12px}.match{background:#2e8b57}
.non-match{background:#c0504d}.error{color:#8a1f11}.badge.error{background:#8a1f11;color:#fff}
.kind{color:#667}.ms{color:#889;float:right}.urls{font:12px monospace;color:#445;word-break:break-all;margin:4px 0}
.pair{display:flex;gap:8px}.thumb{max-width:160px;max-height:160px;border:1px solid #ddd;background:#eee}
.thumb.missing{width:160px;height:90px;font-size:11px;padding:4px;overflow:hidden}
.timeline{width:100%;max-width:620px}.file{fill:#e4e7ec}.seg{fill:#3b7dd8}.link{fill:#3b7dd833}
.loud{fill:none;stroke:#667;stroke-width:1}.frames{display:flex;flex-wrap:wrap;gap:6px}
.frames figure{margin:0}.frames img{display:block;max-width:96px}.frames figcaption{font-size:11px;color:#667}
.note{font-size:12px;color:#8a1f11}
"""

SCRIPT = """
const rows=[...document.querySelectorAll('.row')], list=document.getElementById('rows');
function update(){const kind=document.getElementById('kind').value, outcome=document.getElementById('outcome').value,
 text=document.getElementById('text').value.toLowerCase(), order=document.getElementById('order').value;
 const key=r=>order==='ms'?-parseFloat(r.dataset.ms):order==='doubt'?Math.abs(parseFloat(r.dataset.score)-0.5)
 :parseFloat(r.dataset.score);
 rows.sort((a,b)=>order==='score-desc'?key(b)-key(a):key(a)-key(b));
 let shown=0;for(const r of rows){const ok=(!kind||r.dataset.kind===kind)&&(!outcome||r.dataset.outcome===outcome)
 &&(!text||r.dataset.text.toLowerCase().includes(text));r.hidden=!ok;shown+=ok;list.appendChild(r);}
 document.getElementById('count').textContent=shown+' shown';}
for(const id of ['kind','outcome','text','order'])document.getElementById(id).addEventListener('input',update);
update();
"""

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>MediaLayer report</title><style>{style}</style></head><body>
<h1>MediaLayer report</h1><div class="src">{source}</div>
<div class="cards">{cards}</div>
<div class="grid">
<div class="box"><h2>By media type</h2><table><tr><th>type</th><th>matches</th><th>non-matches</th><th>errors</th></tr>
{by_type}</table></div>
<div class="box"><h2>Errors by code</h2><table>{errors}</table></div>
<div class="box"><h2>Similarity scores</h2>{histogram}<div class="src">matches above the axis, non-matches below;
the dashed line is the decision threshold</div></div>
<div class="box"><h2>Confidence</h2><table><tr><th>decision</th><th>confidence</th><th>rows</th></tr>{bands}</table>
<h2>Processing time</h2><table><tr><td>p50</td><td>{p50:.0f} ms</td></tr><tr><td>p90</td><td>{p90:.0f} ms</td></tr>
<tr><td>p99</td><td>{p99:.0f} ms</td></tr><tr><td>max</td><td>{tmax:.0f} ms</td></tr></table></div>
</div>
<h2>Rows ({shown} of the run: {selection}; every record is in the result files)</h2>
<div class="controls"><select id="kind"><option value="">all media</option><option>image</option><option>video</option>
<option>audio</option><option>unknown</option></select><select id="outcome"><option value="">all outcomes</option>
<option>match</option><option>non-match</option><option>error</option></select>
<input id="text" placeholder="filter by id or URL"><select id="order"><option value="doubt">least confident first</option>
<option value="score-asc">score, low first</option>
<option value="score-desc">score, high first</option><option value="ms">slowest first</option></select>
<span id="count"></span></div>
<div id="rows">
{panels}
</div>
<script>{script}</script>
</body></html>
"""
