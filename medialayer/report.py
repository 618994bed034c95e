"""The visual report of a run: one self-contained HTML page (no network: inline CSS, script and images).

    medialayer report --input 'out/results-*.parquet' --output out/report.html

It only reads result records (and, for catalog dedupe, its group records). The summary covers every
record; the rows shown are a bounded selection (``Selection``): per media type the least confident matches
and non-matches, examples of every error code, and a random sample, so the page stays a few MB whatever the
run's size. The rows shown get their media previews (medialayer.previews) from the run's own previews file
when it wrote one, else fetched again under the run's guards and limits: image thumbnails side by side with
the matched region outlined, for video a frame at the start of each matched segment, for audio a loudness
strip; timelines of both files with the matched segments drawn as joined bands. Everything that comes from
the input (URLs, ids, messages) is HTML-escaped.
"""
from __future__ import annotations

import collections
import dataclasses
import heapq
import html
import json
import random

import numpy as np
import pyarrow.parquet as pq

from medialayer.limits import Limits
from medialayer.previews import fetch_previews, read_previews

PER_KIND = 20  # least confident matches, and non-matches, shown per media type
PER_ERROR = 5  # examples shown per error code
SAMPLE = 40  # rows drawn at random from the whole run
SCORE_BINS = 20
GROUP_SIZES = (("2", 2), ("3", 3), ("4", 4), ("5-9", 5), ("10-99", 10), ("100+", 100))  # label, smallest size
LARGEST_GROUPS = 10  # groups listed by size


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


@dataclasses.dataclass
class Groups:
    """Catalog dedupe's duplicate groups: how many, how big, the largest ones."""

    count: int = 0
    members: int = 0
    sizes: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    largest: list = dataclasses.field(default_factory=list)  # heap of (size, group_id, representative_url)

    def add(self, group: dict) -> None:
        self.count += 1
        self.members += group["size"]
        self.sizes[next(label for label, low in reversed(GROUP_SIZES) if group["size"] >= low)] += 1
        entry = (group["size"], group["group_id"], group["representative_url"])
        if len(self.largest) < LARGEST_GROUPS:
            heapq.heappush(self.largest, entry)
        elif entry > self.largest[0]:
            heapq.heapreplace(self.largest, entry)


def _identity(record: dict) -> tuple:
    return record["pair_id"], record["source_url"], record["target_url"]


def read_records(pattern: str):
    """Every record in the files ``pattern`` matches (Parquet or JSONL, by extension)."""
    from apache_beam.io.filesystems import FileSystems

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


def _is_input_error(row: dict) -> bool:
    return bool(row["error"]) and row["error"]["code"] in ("INVALID_INPUT", "INVALID_URL", "UNSUPPORTED_SCHEME",
                                                           "BLOCKED_ADDRESS")


# --- the page --------------------------------------------------------------------------------------------

def build_report(pattern: str, limits: Limits | None = None, fetch_media: bool = True, seed: int = 0,
                 previews: str | None = None, groups: str | None = None) -> str:
    """The HTML page for the records ``pattern`` matches (and catalog dedupe's ``groups`` files). The media
    previews of the rows shown come from the previews files ``previews`` matches, and those not found there
    are fetched when ``fetch_media``."""
    summary, selection, group_summary = Summary(), Selection(seed), Groups() if groups else None
    for record in read_records(pattern):
        summary.add(record)
        selection.add(record)
    for group in read_records(groups) if groups else ():
        group_summary.add(group)
    rows = selection.rows()
    wanted = {url: row["media_type"] for row in rows if row["media_type"] and not _is_input_error(row)
              for url in (row["source_url"], row["target_url"]) if url}
    shown = read_previews(previews, set(wanted)) if previews else {}
    missing = {url: kind for url, kind in wanted.items() if url not in shown}
    if fetch_media and missing:
        shown.update(fetch_previews(missing, limits or Limits()))
    return render(summary, rows, shown, pattern, group_summary)


def write_report(pattern: str, output: str, limits: Limits | None = None, fetch_media: bool = True,
                 previews: str | None = None, groups: str | None = None) -> str:
    from apache_beam.io.filesystems import FileSystems

    page = build_report(pattern, limits, fetch_media, previews=previews, groups=groups)
    with FileSystems.create(output) as f:
        f.write(page.encode("utf-8"))
    return output


def escape(value) -> str:
    """Anything from the input, made safe to place in HTML text or an attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def render(summary: Summary, rows: list[dict], previews: dict, source: str, groups: Groups | None = None) -> str:
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
        panels=panels, script=SCRIPT, style=STYLE, groups=_groups_box(groups) if groups else "")


def _groups_box(groups: Groups) -> str:
    sizes = "".join(f"<tr><td>{label}</td><td>{groups.sizes[label]:,}</td></tr>" for label, _ in GROUP_SIZES)
    largest = "".join(f"<tr><td>{size:,}</td><td>{escape(group_id)}</td><td class=\"url\">{escape(url)}</td></tr>"
                      for size, group_id, url in sorted(groups.largest, reverse=True))
    return (f'<div class="box"><h2>Duplicate groups</h2><p>{groups.count:,} groups, {groups.members:,} '
            f'members in all</p><table><tr><th>size</th><th>groups</th></tr>{sizes}</table></div>'
            f'<div class="box wide"><h2>Largest groups</h2><table><tr><th>size</th><th>group</th>'
            f'<th>representative</th></tr>{largest}</table></div>')


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
            + (f' speed <b>{row["speed_ratio"]:.3g}x</b>' if row.get("speed_ratio") else "")
            + f' <span class="ms">{row["processing_time_ms"]:.0f} ms</span></div>'
            f'<div class="urls"><div>source: {escape(row["source_url"])}</div><div>target: {escape(row["target_url"])}</div></div>')
    if error:
        head += f'<div class="error">{escape(error["code"])}: {escape(error["message"])}</div>'
    body = ""
    source, target = previews.get(row["source_url"], {}), previews.get(row["target_url"], {})
    if row["media_type"] == "image":
        body = f'<div class="pair">{_thumbnail(source)}{_thumbnail(target, row.get("matched_region"))}</div>'
    elif row["media_type"] in ("video", "audio") and not error:
        body = _timeline(row, source, target)
    return (f'<section class="row" data-kind="{escape(row["media_type"] or "unknown")}" data-outcome="{outcome}" '
            f'data-score="{score or -1}" data-ms="{row["processing_time_ms"]:.1f}" '
            f'data-text="{escape(" ".join(str(row[k]) for k in ("pair_id", "source_url", "target_url")))}">'
            f"{head}{body}</section>")


def _thumbnail(preview: dict, region: dict | None = None) -> str:
    """An image thumbnail; ``region`` (fractions of its size) outlined on it: where the source sits."""
    if "thumbnail" in preview:
        image = f'<img class="thumb" src="{escape(preview["thumbnail"])}" alt="">'
        if not region:
            return image
        left, top, right, bottom = (100 * float(region[k]) for k in ("left", "top", "right", "bottom"))
        return (f'<div class="framed">{image}<div class="region" style="left:{left:.1f}%;top:{top:.1f}%;'
                f'width:{right - left:.1f}%;height:{bottom - top:.1f}%" title="where the source sits"></div></div>')
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
                cells.append("<figure>" + (f'<img src="{escape(image)}" alt="">' if image else "")
                             + f"<figcaption>{name} {start:.1f} s</figcaption></figure>")
        frames = f'<div class="frames">{"".join(cells)}</div>'
    missing = [side["error"] for side in (source, target) if "error" in side]
    note = "".join(f'<div class="note">{escape(message)}</div>' for message in missing)
    return "".join(parts) + frames + note


def _nearest_frame(frames: dict, t: float) -> str | None:
    return frames[min(frames, key=lambda at: abs(float(at) - t))] if frames else None


STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2430;background:#f6f7f9}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}.src{color:#667;font-size:12px}
.cards{display:flex;gap:12px;margin:16px 0}.card{background:#fff;border-radius:8px;padding:12px 18px;
box-shadow:0 1px 2px #0002}.card b{display:block;font-size:22px}.card span{color:#667}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:16px}
.box{background:#fff;border-radius:8px;padding:12px;box-shadow:0 1px 2px #0002;overflow-x:auto}
.wide{grid-column:span 2}
table{border-collapse:collapse;width:100%}td,th{padding:3px 8px;text-align:left;border-bottom:1px solid #eee}
.hist{width:100%;max-width:420px}.hist .m{fill:#2e8b57}.hist .n{fill:#c0504d}.threshold{stroke:#333;
stroke-dasharray:3 3}svg text{font-size:11px;fill:#445}
.controls{display:flex;gap:8px;margin:8px 0 12px;flex-wrap:wrap}.controls select,.controls input{padding:4px}
.row{background:#fff;border-radius:8px;padding:10px 12px;margin:0 0 10px;box-shadow:0 1px 2px #0002}
.badge{border-radius:4px;padding:1px 6px;color:#fff;font-size:12px}.match{background:#2e8b57}
.non-match{background:#c0504d}.error{color:#8a1f11}.badge.error{background:#8a1f11;color:#fff}
.kind{color:#667}.ms{color:#889;float:right}.urls{font:12px monospace;color:#445;word-break:break-all;margin:4px 0}
.pair{display:flex;gap:8px;align-items:flex-start}.framed{position:relative;line-height:0}
.region{position:absolute;border:2px solid #f0a000;box-sizing:border-box}
.url{word-break:break-all;font:12px monospace}.thumb{max-width:160px;max-height:160px;border:1px solid #ddd;background:#eee}
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
{groups}</div>
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
