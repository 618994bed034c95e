"""Video edits the quality bench does not make: VSC22 / AugLy-style transformations of a whole excerpt, and
copied clips inside longer, unrelated videos (VSC22's queries are copied segments inside other content).

    python bench/edits_video.py --media-dir ../shared/media-dev --split tune [--only FAMILY ...]

Copies are made with ffmpeg from the sources of one side of the video split (`bench/quality_video.py`'s
``side_of``: tune = v01, v03/v04, v07/v08; "report" = the held-out side, for the lead's one run after a merge).
Families:

- whole edits (``FILTERS``): each source's first 20 s through one ffmpeg filter chain (flips, rotations, keystone,
  pixelisation, noise, colour, stretch, padding, frame rate, vignette, zoom, slow motion, grids, scrolling text,
  blur with heavy compression); truth: the whole excerpt.
- embedded layouts (``EMBEDDED``): a clip of 3-12 s of the source placed inside a host video made of excerpts of
  other sources of the side (20-40 s in all): in the middle, at the host's start or end, two clips of one source
  in one host (in either order), the clip mirrored, cropped or played at another speed; and shorter clips (2-8 s)
  cropped to 50-90% a side, in the middle, at the host's start or end, or sped up too. Every length, place, crop
  and speed is drawn (a seed per side), not taken from a grid.

Negatives: each copy against every source of the side it shows nothing of. Per family the bench prints copies
found, score quantiles, confidence counts, negatives matched (and their highest score); for the embedded
families the boundary errors of each true segment (start and end, source and target timelines, p50/p90) and
the segment precision / recall in seconds (both timelines summed, as VSC22 scores segments). Copies and
fingerprints are cached under bench/work/edits-video (an embedded copy by a hash of its ffmpeg graph, fingerprints by
the fingerprinting code's text, as the quality bench).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root

from bench.common import manifest_rows  # noqa: E402
from bench.quality_video import MATCHER, _group, _probe, _union, fingerprints_in_process, side_of  # noqa: E402

EXCERPT = 20.0  # seconds of each source the whole edits are made of
SIZE, FPS = (640, 360), 25  # every embedded copy is encoded at this size and frame rate
FILTERS = {
    "vflip": "vflip",
    "rotate 7 deg": "rotate=7*PI/180",
    "rotate 17 deg + fill": "rotate=17*PI/180:ow=iw:oh=ih:c=gray",
    "keystone": "perspective=x0=40:y0=20:x1=W-10:y1=0:x2=0:y2=H:x3=W-50:y3=H-30",
    "pixelize 1/12": "scale=iw/12:-2,scale=640:360:flags=neighbor",
    "noise 30": "noise=alls=30:allf=t",
    "eq bright/contrast/gamma": "eq=brightness=0.12:contrast=1.5:gamma=0.75:saturation=1.6",
    "stretch 1.35 wide": "scale=iw*1.35:ih,setsar=1",
    "pad coloured 18%": "pad=iw*1.36:ih*1.36:(ow-iw)/2:(oh-ih)/2:color=0xC03020",
    "fps 5": "fps=5",
    "vignette + hue 100": "vignette=PI/3.5,hue=h=100:s=1.3",
    "zoom 1.3 + hflip + crf 40": "crop=iw/1.3:ih/1.3,hflip",
    "slow 0.5 (dup frames)": "setpts=2*PTS",
    "grid 2x2 of itself": "scale=iw/2:ih/2,split=4[a][b][c][d];[a][b]hstack[t];[c][d]hstack[u];[t][u]vstack",
    "text scroll + box": "drawbox=y=ih*0.75:w=iw:h=ih*0.25:color=black@0.7:t=fill,drawtext=text='SUBSCRIBE for more "
                         "clips like this one':x=w-mod(t*120\\,w+tw):y=h*0.82:fontsize=34:fontcolor=yellow",
    "blur 6 + crf 45": "gblur=sigma=6",
}
CRF = {"zoom 1.3 + hflip + crf 40": 40, "blur 6 + crf 45": 45}  # the rest at 26
SLOW = {"slow 0.5 (dup frames)": 2.0}  # target seconds per source second
# Embedded layouts: (clips of the source, where the clip sits in the host, edit of the clip).
EMBEDDED = {
    "embedded": (1, "middle", None),
    "embedded at host start": (1, "start", None),
    "embedded at host end": (1, "end", None),
    "two clips in one host": (2, "middle", None),
    "embedded + hflip": (1, "middle", "hflip"),
    "embedded + crop": (1, "middle", "crop"),
    "embedded + speed": (1, "middle", "speed"),
    # Off the grid above: shorter clips (SHORT_CLIP) cropped harder or lighter (WIDE_CROP), also sped up or at the
    # host's start or end.
    "short clip + crop": (1, "middle", "wide crop"),
    "short clip + crop at host start": (1, "start", "wide crop"),
    "short clip + crop at host end": (1, "end", "wide crop"),
    "short clip + crop + speed": (1, "middle", "wide crop + speed"),
}
CLIP, SHORT_CLIP = (3.0, 12.0), (2.0, 8.0)  # seconds of the source a clip shows
CROP, WIDE_CROP = (0.7, 0.85), (0.5, 0.9)  # share of each side a crop keeps
SEEDS = {"tune": 19001, "report": 19002}


def _ffmpeg(dst: str, inputs: list[str], graph: str, crf: int = 26) -> None:
    tmp = dst + ".part.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", *[x for path in inputs for x in ("-i", path)],
                    "-filter_complex", graph, "-map", "[v]", "-an", "-c:v", "libx264", "-preset", "veryfast",
                    "-crf", str(crf), "-pix_fmt", "yuv420p", tmp], check=True)
    os.replace(tmp, dst)


def whole_edit(src: str, family: str, dst: str) -> list[tuple[float, float, float, float]]:
    """The first EXCERPT seconds of src through FILTERS[family]; the truth segment."""
    if not os.path.exists(dst):
        _ffmpeg(dst, [src], f"[0:v]trim=0:{EXCERPT},setpts=PTS-STARTPTS,{FILTERS[family]}[v]", CRF.get(family, 26))
    slow = SLOW.get(family, 1.0)
    return [(0.0, EXCERPT, 0.0, EXCERPT * slow)]


def _layout(rng, family: str, duration: float, hosts: list[tuple[str, float]]):
    """Draw one embedded layout: the clips [(source start, length, target speed)], the host parts
    [(path, start, length)] before, between and after them, and the clip edit's parameter."""
    count, place, edit = EMBEDDED[family]
    lengths = rng.uniform(*(SHORT_CLIP if edit and "wide crop" in edit else CLIP), count)
    # Clips of one source do not overlap in the source: each from its own part of it.
    shares = np.linspace(0, duration, count + 1)
    lengths = np.minimum(lengths, np.diff(shares) - 0.5)
    starts = [float(rng.uniform(low, max(low, high - length)))
              for low, high, length in zip(shares[:-1], shares[1:], lengths)]
    order = rng.permutation(count)  # two clips may appear in either order
    speed = float(rng.choice([rng.uniform(0.6, 0.88), rng.uniform(1.12, 1.6)])) if edit and "speed" in edit \
        else 1.0
    clips = [(starts[k], float(lengths[k]), speed) for k in order]
    total = float(rng.uniform(20.0, 40.0))
    filler = max(4.0, total - sum(length * speed for _, length, speed in clips))
    # host time before the first clip, between clips, after the last one
    gaps = rng.dirichlet(np.ones(count + 1)) * filler
    if place == "start":
        gaps[-1], gaps[0] = gaps[-1] + gaps[0], 0.0
    elif place == "end":
        gaps[0], gaps[-1] = gaps[0] + gaps[-1], 0.0
    parts = []
    for k, gap in enumerate(gaps):
        path, host_duration = hosts[k % len(hosts)]
        if gap > 0.2:
            length = min(float(gap), host_duration)
            parts.append((path, float(rng.uniform(0, host_duration - length)), length))
        else:
            parts.append(None)
    crop = WIDE_CROP if edit and "wide crop" in edit else CROP
    parameter = (float(rng.uniform(*crop)), float(rng.uniform(0, 1)), float(rng.uniform(0, 1))) \
        if edit and "crop" in edit else None
    return clips, parts, edit, parameter


def embedded(src: str, family: str, stem: str, rng, duration: float, hosts: list[tuple[str, float]]):
    """A host made of other sources with clips of src inside (EMBEDDED[family]), written to stem + a hash of its
    ffmpeg graph (a changed layout or graph is encoded afresh) + ".mp4"; its path and the truth segments."""
    clips, parts, edit, parameter = _layout(rng, family, duration, hosts)
    inputs, chains, labels, truth, t = [], [], [], [], 0.0
    common = f"scale={SIZE[0]}:{SIZE[1]},setsar=1,fps={FPS}"
    for k in range(len(clips) + 1):
        if parts[k] is not None:
            path, start, length = parts[k]
            inputs.append(path)
            chains.append(f"[{len(inputs) - 1}:v]trim={start:.3f}:{start + length:.3f},setpts=PTS-STARTPTS,"
                          f"{common}[h{k}]")
            labels.append(f"[h{k}]")
            t += round(length * FPS) / FPS
        if k < len(clips):
            start, length, speed = clips[k]
            look = ",hflip" if edit == "hflip" else _crop(parameter) if parameter else ""
            # One input per clip: two trims of one input, the later part of the source first, made ffmpeg 5.1
            # repeat the second clip's last frame for some 20 s before the next host part (the truth said host).
            inputs.append(src)
            chains.append(f"[{len(inputs) - 1}:v]trim={start:.3f}:{start + length:.3f},"
                          f"setpts={speed:.4f}*(PTS-STARTPTS){look},{common}[c{k}]")
            labels.append(f"[c{k}]")
            shown = round(length * speed * FPS) / FPS
            truth.append((start, start + shown / speed, t, t + shown))
            t += shown
    graph = ";".join(chains) + f";{''.join(labels)}concat=n={len(labels)}:v=1[v]"
    key = hashlib.sha1("\n".join([graph, *(os.path.basename(path) for path in inputs)]).encode()).hexdigest()[:8]
    dst = f"{stem}.{key}.mp4"
    if not os.path.exists(dst):
        _ffmpeg(dst, inputs, graph)
    encoded = _probe(dst)[0]
    if abs(encoded - t) > 2 * len(labels) / FPS:  # the truth holds if the file is the layout (a frame or two a part)
        raise RuntimeError(f"{dst}: {encoded:.2f} s encoded where the layout makes {t:.2f} s")
    return dst, truth


def _crop(parameter) -> str:
    share, x, y = parameter
    return f",crop=iw*{share:.3f}:ih*{share:.3f}:(iw-ow)*{x:.3f}:(ih-oh)*{y:.3f}"


def _copies(media_dir: str, work: str, split: str, only):
    """[(family, source path, copy path, truth segments, paths of the sources the copy shows)]."""
    rows = manifest_rows(media_dir, "video")
    side = {"tune": "tune", "report": "held-out"}[split]
    sources = [os.path.join(media_dir, row["path"]) for row in rows if side_of(_group(row)) == side]
    durations = {path: _probe(path)[0] for path in sources}
    stem = lambda path: os.path.splitext(os.path.basename(path))[0]  # noqa: E731
    families = [f for f in [*FILTERS, *EMBEDDED] if not only or f in only]
    copies = []
    for family in families:
        rng = np.random.default_rng([SEEDS[split], [*FILTERS, *EMBEDDED].index(family)])
        slug = family.replace(" ", "_").replace("/", "-").replace("(", "").replace(")", "").replace("+", "and")
        for k, src in enumerate(sources):
            dst = os.path.join(work, f"{stem(src)}.{slug}")
            if family in FILTERS:
                copies.append((family, src, dst + ".mp4", whole_edit(src, family, dst + ".mp4"), {src}))
            else:  # hosts: the next sources of the side, one or two of them
                others = sources[k + 1:] + sources[:k]
                hosts = [(path, durations[path]) for path in others[:1 + int(rng.integers(2))]]
                dst, truth = embedded(src, family, dst, rng, durations[src], hosts)
                copies.append((family, src, dst, truth, {src, *(path for path, _ in hosts)}))
    return sources, copies


def _overlap(a0, a1, b0, b1) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def _union_seconds(spans) -> float:
    return sum(end - start for start, end in _union(sorted(spans)))


def _segment_scores(truth, segments):
    """(boundary errors [source start, source end, target start, target end] per true segment placed, predicted
    seconds, true seconds, seconds both predicted and true) on both timelines summed."""
    errors, predicted, true, shared = [], 0.0, 0.0, 0.0
    for lo, hi in ((0, 1), (2, 3)):
        spans = [(s[lo], s[hi]) for s in segments]
        predicted += _union_seconds(spans)
        true += sum(t[hi] - t[lo] for t in truth)
        for t in truth:
            shared += _union_seconds([(max(s0, t[lo]), min(s1, t[hi]))
                                      for s0, s1 in spans if s1 > t[lo] and s0 < t[hi]])
    for t in truth:
        if segments:
            best = max(segments, key=lambda s: _overlap(s[2], s[3], t[2], t[3]) + _overlap(s[0], s[1], t[0], t[1]))
            if _overlap(best[2], best[3], t[2], t[3]) > 0:
                errors.append([abs(best[k] - t[k]) for k in range(4)])
    return errors, predicted, true, shared


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--media-dir", default="../shared/media-dev")
    parser.add_argument("--work-dir", default=os.path.join(os.path.dirname(__file__), "work", "edits-video"))
    parser.add_argument("--split", choices=("tune", "report"), required=True)
    parser.add_argument("--only", nargs="+", help="only these families (names as printed)")
    parser.add_argument("--verbose", action="store_true", help="print every copy's result")
    args = parser.parse_args(argv)
    work = os.path.join(os.path.abspath(args.work_dir), args.split)
    os.makedirs(work, exist_ok=True)
    sources, copies = _copies(os.path.abspath(args.media_dir), work, args.split, args.only)
    fingerprints = fingerprints_in_process(work, [*sources, *(dst for _, _, dst, _, _ in copies)])
    by_family = {}
    for family, src, dst, truth, shown in copies:
        result = MATCHER.compare(fingerprints[src], fingerprints[dst])
        segments = [(s.source_start, s.source_end, s.target_start, s.target_end) for s in result.segments]
        negatives = [MATCHER.compare(fingerprints[other], fingerprints[dst]) for other in sources if other not in shown]
        by_family.setdefault(family, []).append((src, truth, result, segments, negatives))
    for family, rows in by_family.items():
        _report(family, rows, family in EMBEDDED, args.verbose)


def _report(family: str, rows, embedded_family: bool, verbose: bool) -> None:
    found = [r for _, _, r, _, _ in rows if r.match]
    scores = np.array([r.similarity_score for _, _, r, _, _ in rows])
    negatives = [n for *_, ns in rows for n in ns]
    matched = [n for n in negatives if n.match]
    confidence = {}
    for _, _, r, _, _ in rows:
        key = f"{'match' if r.match else 'no match'} {r.confidence}"
        confidence[key] = confidence.get(key, 0) + 1
    print(f"{family:28} copies found {len(found)}/{len(rows)}  score min/p50/max "
          f"{scores.min():.3f}/{np.median(scores):.3f}/{scores.max():.3f}  negatives matched "
          f"{len(matched)}/{len(negatives)} (highest {max((n.similarity_score for n in negatives), default=0):.3f})  "
          + ", ".join(f"{k}: {v}" for k, v in sorted(confidence.items())), flush=True)
    if embedded_family:
        errors, totals = [], np.zeros(3)
        for _, truth, r, segments, _ in rows:
            e, *sums = _segment_scores(truth, segments if r.match else [])
            errors += e
            totals += sums
        predicted, true, shared = totals
        if errors:
            e = np.array(errors)
            names = ("source start", "source end", "target start", "target end")
            print("    boundary errors (s) p50/p90: " + ", ".join(
                f"{name} {np.percentile(e[:, k], 50):.2f}/{np.percentile(e[:, k], 90):.2f}"
                for k, name in enumerate(names))
                + f"  ({len(errors)} true segments placed)")
        print(f"    segment precision {shared / max(predicted, 1e-9):.3f} recall {shared / max(true, 1e-9):.3f} "
              f"({predicted:.1f} s predicted, {true:.1f} s true, both timelines)")
    if verbose:
        for src, truth, r, segments, _ in rows:
            print(f"    {os.path.basename(src)[:3]} {r.match} {r.similarity_score:.3f} {r.confidence} truth "
                  + " ".join(f"[{t[0]:.2f}-{t[1]:.2f}->{t[2]:.2f}-{t[3]:.2f}]" for t in truth) + " found "
                  + " ".join(f"[{s[0]:.2f}-{s[1]:.2f}->{s[2]:.2f}-{s[3]:.2f}]" for s in segments))


if __name__ == "__main__":
    main()
