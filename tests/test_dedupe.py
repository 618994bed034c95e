"""Catalog dedupe through the real pipeline: a small generated catalog of images, audio and video with
copies, distractors and bad rows; the expected groups, singletons and error rows; a capped hot key that
costs no true group; the same results on the Dask runner."""
import dataclasses
import json
import os
import re

import cv2
import pyarrow.parquet as pq
import pytest

from medialayer.candidates import bucket_pairs, limit_per_asset, shared_key_counts
from medialayer.grouping import connected_groups, representative
from medialayer.limits import Limits
from medialayer.matchers import get_matcher
from medialayer.media import Blob
from medialayer.pipelines import dedupe
from medialayer.synthetic import audio, image, video
from medialayer.transforms.dedupe import StrongestCandidates

DASK_RUNNER = "apache_beam.runners.dask.dask_runner.DaskRunner"
EXPECTED_GROUPS = [{"a", "a_small", "a_flip"}, {"b", "b_crop"}, {"song", "song_excerpt"}, {"clip", "clip_copy"}]
SINGLETONS = {"c", "other_song", "other_clip"}


def _clip(path, scene, size=(160, 120), fps=10.0):
    video.write_video(str(path), (cv2.resize(frame, size) for frame in video.frames(scene, 6.0, fps)), fps)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    folder = tmp_path_factory.mktemp("catalog")
    scene, other = image.textured_scene(1, 480, 360), image.textured_scene(2, 480, 360)
    files = {"a": ("a.jpg", scene), "a_small": ("a_small.jpg", image.resize(scene, 0.5)),
             "a_flip": ("a_flip.png", image.hflip(scene)), "b": ("b.jpg", other),
             "b_crop": ("b_crop.jpg", other.crop((40, 30, 440, 330))), "c": ("c.jpg", image.textured_scene(3, 480, 360))}
    for name, picture in files.values():
        picture.save(folder / name, quality=85)
    song = audio.melody(20.0, seed=4)
    (folder / "song.wav").write_bytes(audio.encode(song, audio.SAMPLE_RATE, "wav"))
    (folder / "song_excerpt.ogg").write_bytes(audio.encode(song[4 * audio.SAMPLE_RATE:14 * audio.SAMPLE_RATE],
                                                           audio.SAMPLE_RATE, "ogg"))
    (folder / "other_song.mp3").write_bytes(audio.encode(audio.melody(20.0, seed=5), audio.SAMPLE_RATE, "mp3"))
    _clip(folder / "clip.mp4", video.MovingScene(1))
    _clip(folder / "clip_copy.mp4", video.MovingScene(1), (128, 96), 15.0)
    _clip(folder / "other_clip.mp4", video.MovingScene(2))
    urls = {name: str(folder / file) for name, (file, _) in files.items()}
    urls.update({name: str(folder / f"{name}{ext}") for name, ext in (
        ("song", ".wav"), ("song_excerpt", ".ogg"), ("other_song", ".mp3"), ("clip", ".mp4"),
        ("clip_copy", ".mp4"), ("other_clip", ".mp4"))})
    rows = [{"asset_id": name, "url": url} for name, url in urls.items()]
    rows += [{"asset_id": "missing", "url": str(folder / "missing.jpg")},
             {"asset_id": "declared-audio", "url": urls["c"], "media_type": "audio"},
             {"asset_id": 17.5, "url": urls["a"]},  # not a string id: an error row, never dropped
             {"url": urls["b"]}]  # no asset_id: derived from the row, and a second row for b's URL
    path = folder / "catalog.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path), len(rows)


def outputs(folder) -> dict:
    read = lambda name: pq.read_table(os.path.join(folder, f"{name}-00000-of-00001.parquet")).to_pylist()
    return {name: read(name) for name in ("links", "groups", "assets")}


def member_names(result: dict) -> list[set]:
    """Each group's members by file name (a URL named by several rows is one member, under its smallest id)."""
    return [{os.path.basename(m["url"]).split(".")[0] for m in g["members"]} for g in result["groups"]]


@pytest.fixture(scope="module")
def local(catalog, tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("out"))
    pipeline, args = dedupe.prepare(["--input", catalog[0], "--output", folder,
                                     "--report", os.path.join(folder, "report.html")])
    summary = dedupe.execute(pipeline, args)
    dedupe.write_run_report(args)
    return outputs(folder), summary


def test_groups_singletons_and_errors(catalog, local):
    result, summary = local
    assert sorted(member_names(result), key=sorted) == sorted(EXPECTED_GROUPS, key=sorted)
    assets = {a["asset_id"]: a for a in result["assets"]}
    assert len(result["assets"]) == catalog[1] == summary["assets"]  # one asset record per row
    assert all(assets[name]["group_id"] is None and assets[name]["error"] is None for name in SINGLETONS)
    assert assets["missing"]["error"]["code"] == "FETCH_FAILED"
    assert assets["declared-audio"]["error"]["code"] == "MEDIA_TYPE_MISMATCH"
    assert [a for a in result["assets"] if a["error"] and a["error"]["code"] == "INVALID_INPUT"]
    unnamed = [a for a in result["assets"] if a["url"] == assets["b"]["url"] and a["asset_id"] != "b"]
    assert len(unnamed) == 1 and unnamed[0]["group_id"] == assets["b"]["group_id"]  # a repeated URL joins its group
    for group in result["groups"]:
        head = [a for a in result["assets"] if a["group_id"] == group["group_id"] and a["is_representative"]]
        assert len(head) == 1 and head[0]["asset_id"] == group["representative_asset_id"]
        assert {m["asset_id"]: m["similarity_score"] for m in group["members"]}[group["representative_asset_id"]] == 1.0
    links = result["links"]
    assert links and all(link["match"] and link["error"] is None for link in links)
    assert {(link["media_type"], bool(link["matched_segments"])) for link in links} >= {("audio", True), ("image", False)}
    assert summary["groups"] == 4 and summary["candidates"] >= summary["links"] == len(links)


def test_the_report_shows_the_group_sizes_and_previews_from_the_run(local):
    result, summary = local
    folder = os.path.dirname(summary["outputs"][0])
    page = open(os.path.join(folder, "report.html")).read()
    assert f"{summary['groups']} groups, {sum(g['size'] for g in result['groups'])} members in all" in page
    previews = pq.read_table(os.path.join(folder, "previews-00000-of-00001.parquet")).to_pylist()
    fingerprinted = {a["url"] for a in result["assets"] if a["error"] is None}
    assert {p["url"] for p in previews} >= fingerprinted  # one preview per media file the run decoded
    thumbnails = len(re.findall(r'<img class="thumb" src="data:image/jpeg;base64,', page))
    assert thumbnails == 2 * sum(link["media_type"] == "image" for link in result["links"])  # made by the run


def test_a_capped_hot_key_costs_no_true_group(catalog, tmp_path):
    summary = dedupe.run(["--input", catalog[0], "--output", str(tmp_path), "--max-bucket", "2"])
    assert summary["capped_keys"] > 0  # keys shared by more than 2 of the catalog's assets paired neighbours only
    assert sorted(member_names(outputs(tmp_path)), key=sorted) == sorted(EXPECTED_GROUPS, key=sorted)


def test_the_same_results_on_the_dask_runner(catalog, local, tmp_path, tmp_path_factory):
    distributed = pytest.importorskip("dask.distributed")
    dask_config = pytest.importorskip("dask").config
    scratch = str(tmp_path_factory.mktemp("dask"))  # the cluster's and the client's, not the shared temp folder's
    with dask_config.set({"temporary-directory": scratch}), distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        try:
            dedupe.run(["--input", catalog[0], "--output", str(tmp_path), "--runner", DASK_RUNNER,
                        "--dask_client_address", cluster.scheduler_address])
        finally:
            distributed.default_client().close()
    dask, expected = outputs(tmp_path), local[0]
    in_order = lambda records, key: sorted(records, key=lambda record: (record[key], json.dumps(record, sort_keys=True)))
    assert in_order(dask["groups"], "group_id") == in_order(expected["groups"], "group_id")
    assert in_order(dask["assets"], "asset_id") == in_order(expected["assets"], "asset_id")
    without_time = lambda links: sorted(({k: v for k, v in link.items() if k != "processing_time_ms"}
                                         for link in links), key=lambda link: link["pair_id"])
    assert without_time(dask["links"]) == without_time(expected["links"])


def test_buckets_and_groups_in_isolation():
    pairs, capped = bucket_pairs(["c", "a", "b", "a"])
    assert list(pairs) == [("a", "b"), ("a", "c"), ("b", "c")] and not capped
    hot = [f"u{n}" for n in range(100)]
    pairs, capped = bucket_pairs(hot, max_bucket=4)
    pairs = list(pairs)
    assert capped and len(pairs) == len(set(pairs)) == sum(min(3, 99 - n) for n in range(100))  # linear, not 4,950
    assert len({url for pair in pairs for url in pair}) == 100  # every member keeps neighbours
    shared, capped = shared_key_counts([("a", [1, 2, 9]), ("b", [1, 2]), ("c", [2, 9])], max_bucket=2)
    # key 2 is in three assets' keys: capped, so it pairs neighbours in the fixed order only (all of them here)
    assert shared == {("a", "b"): 2, ("a", "c"): 2, ("b", "c"): 1} and capped == [3]


def test_a_capped_bucket_pairs_the_same_neighbours_in_every_key():
    """A big group of copies (keys shared by all 60 of them and by different unrelated assets in each key) stays
    connected through capped keys alone: the same neighbours meet in key after key."""
    copies = [f"copy{n}" for n in range(60)]
    members = [(url, list(range(20))) for url in copies]
    members += [(f"other{key}-{n}", [key]) for key in range(20) for n in range(5)]
    shared, capped = shared_key_counts(members, max_bucket=10)
    assert len(capped) == 20
    links = [pair for pair, count in shared.items() if count >= 3]
    assert all(a.startswith("copy") and b.startswith("copy") for a, b in links)
    assert connected_groups(links) == [sorted(copies)]
    assert connected_groups([("a", "b"), ("c", "d"), ("b", "e"), ("f", "d")]) == [["a", "b", "e"], ["c", "d", "f"]]
    assert representative(["a", "b", "e"], {("a", "b"): 0.9, ("b", "e"): 0.8}) == "b"


def test_each_asset_keeps_its_strongest_candidates():
    """A hub that is a candidate of every asset keeps only its strongest, but a pair stays while either side
    keeps it: the spokes whose strongest candidate is the hub still reach it."""
    shared = {("hub", f"s{n}"): n for n in range(1, 6)} | {("s1", "s2"): 9}
    kept = limit_per_asset(shared, max_candidates=1)
    assert kept == {("hub", "s5"): 5, ("s1", "s2"): 9, ("hub", "s3"): 3, ("hub", "s4"): 4}
    assert limit_per_asset(shared, max_candidates=10) == shared


@pytest.mark.parametrize("media_type, chosen, kept", [("image", None, 50), ("video", None, 50), ("audio", None, 120),
                                                      ("audio", 10, 10), ("image", 80, 80)])
def test_the_candidate_limit_is_the_media_types_unless_chosen(media_type, chosen, kept):
    """An asset with 120 candidates keeps its media type's default number of them (audio's 200 holds them all),
    or the number --max-candidates chose, its strongest first."""
    partners = [(media_type, f"other{n:03d}", n) for n in range(120)]
    out = list(StrongestCandidates(chosen).process(("url", partners)))
    assert len(out) == kept
    assert min(shared for _, shared in out) == 120 - kept


@pytest.mark.parametrize("layout", ["side by side", "stacked", "grid"])
def test_a_split_screen_shares_keys_with_the_video_in_one_of_its_panes(tmp_path, layout):
    """Smooth pictures (few keypoints) in split screens: the pane keys meet the middle of the source that each
    pane shows, while an unrelated video shares too few keys to become a candidate."""
    matcher = get_matcher("video")
    source, others = video.MovingScene(7), [video.MovingScene(seed) for seed in (8, 9, 10)]
    compose = {"side by side": lambda t: video.split_screen([others[0](t), source(t)]),
               "stacked": lambda t: video.split_screen([source(t), others[0](t)], stacked=True),
               "grid": lambda t: video.split_screen([others[0](t), source(t), others[1](t), others[2](t)])}[layout]

    def keys(name, scene):
        path = video.write_video(str(tmp_path / f"{name}.mp4"), video.frames(scene, 6.0, 10.0), 10.0)
        return set(matcher.index_keys(matcher.fingerprint(Blob(path=path), Limits())))

    original, split, unrelated = keys("original", source), keys("split", compose), keys("unrelated", video.MovingScene(11))
    assert len(original & split) >= matcher.min_shared_keys
    assert len(original & unrelated) < matcher.min_shared_keys


def test_a_mirrored_copy_gets_the_same_keypoint_keys(tmp_path):
    """A mirrored copy's keypoints carry the source's mirrored descriptors as their own and the other way round:
    the keys take the smaller selection of the two, so they are the same (the coefficient and pane keys
    do not change with the keypoints)."""
    matcher = get_matcher("video")
    path = video.write_video(str(tmp_path / "v.mp4"), video.frames(video.MovingScene(7), 4.0, 10.0), 10.0)
    fingerprint = matcher.fingerprint(Blob(path=path), Limits())
    mirrored = dataclasses.replace(fingerprint, local=fingerprint.local.mirror())
    assert len(fingerprint.local.descriptors) and (fingerprint.local.descriptors != fingerprint.local.mirrored).any()
    assert matcher.index_keys(mirrored) == matcher.index_keys(fingerprint)
