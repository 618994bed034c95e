"""Reader edge cases for JSONL, CSV and Parquet: every non-blank line or record is one row, a malformed one
is an INVALID_INPUT row carrying what was read, and problems with a whole file stop the run before it starts.
Rows are read through the real ReadPairs transform on Beam's local runner; the parsers also get
property-based tests."""
import csv
import glob
import io
import json

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medialayer.io import rows as row_files
from medialayer.io.pairs import PAIR_ROWS, ReadPairs
from medialayer.pipelines import match_pairs

SMALL_ROWS = 4096  # max_row_bytes in these tests
ROW_KEYS = {"row_id", "pair_id", "source_url", "target_url", "media_type", "error"}


def read_rows(tmp_path, pattern: str, fmt: str | None = None) -> list[dict]:
    out = tmp_path / "rows" / "part"
    with beam.Pipeline(options=match_pairs.pipeline_options([])) as pipeline:
        _ = (pipeline | ReadPairs(pattern, fmt, max_row_bytes=SMALL_ROWS)
             | beam.Map(json.dumps) | beam.io.WriteToText(str(out)))
    return [json.loads(line) for path in glob.glob(f"{out}*") for line in open(path)]


def by_pair_id(rows):
    result = {}
    for row in rows:
        result.setdefault(row["pair_id"], []).append(row)
    return result


def errors(rows) -> list[str]:
    return sorted(row["error"]["message"] for row in rows if row["error"])


def valid(pair_id, source="a.jpg", target="b.jpg", **extra):
    return json.dumps({"pair_id": pair_id, "source_url": source, "target_url": target, **extra}).encode()


# --- JSONL --------------------------------------------------------------------------------------------

def test_jsonl_edge_cases(tmp_path):
    lines = [
        valid("ok"),
        valid("dup", "a.jpg", "c.jpg"), valid("dup", "c.jpg", "a.jpg"),  # duplicate pair_ids: a row each
        b"\xef\xbb\xbf" + valid("after-bom"),  # a byte order mark
        valid("crlf") + b"\r",  # \r\n line ending
        b"", b"   \t", # blank lines are not rows
        valid(7),  # an integer pair_id
        valid("video", media_type=" VIDEO "),
        b'{"pair_id": "broken", ',
        b'{"source_url": "\xff\xfe.jpg", "target_url": "b.jpg"}',
        b"[" * 3000,  # deeper than the parser's recursion limit
        b"[1, 2]", b"null", b"\x00\x00\x00",
        b'{"pair_id": "no-target", "source_url": "a.jpg"}',
        b'{"pair_id": ["a"], "source_url": "a.jpg", "target_url": "b.jpg"}',
        b'{"pair_id": "gif", "source_url": "a.jpg", "target_url": "b.jpg", "media_type": "gif"}',
        b'{"pair_id": "surrogate", "source_url": "\\ud800.jpg", "target_url": "b.jpg"}',
        valid("huge", "x" * (SMALL_ROWS + 10)),
        b'{"pair_id": "secret", "source_url": "http://bob:hunter2@host/a.jpg"',
        valid("last-line-without-newline"),
    ]
    path = tmp_path / "pairs.jsonl"
    path.write_bytes(b"\n".join(lines))
    rows = read_rows(tmp_path, str(path))

    assert len(rows) == len(lines) - 2 and all(set(r) == ROW_KEYS for r in rows)
    assert len({r["row_id"] for r in rows}) == len(rows)
    ids = by_pair_id(rows)
    for pair_id in ("ok", "after-bom", "crlf", "7", "last-line-without-newline"):
        assert [r["error"] for r in ids[pair_id]] == [None], pair_id
    assert [(r["source_url"], r["error"]) for r in ids["dup"]] in ([("a.jpg", None), ("c.jpg", None)],
                                                                    [("c.jpg", None), ("a.jpg", None)])
    assert ids["video"][0]["media_type"] == "video"
    invalid = [r for r in rows if r["error"]]
    assert len(invalid) == 12 and {r["error"]["code"] for r in invalid} == {"INVALID_INPUT"}
    messages = "\n".join(errors(rows))
    for expected in ("invalid JSON (Expecting", "line is not UTF-8", "invalid JSON (nested too deeply)",
                     "row is not an object: [1, 2]", "row is not an object: null", "target_url is missing",
                     "pair_id must be a string, got list", "media_type must be one of", "not valid Unicode",
                     f"exceeds max_row_bytes={SMALL_ROWS}"):
        assert expected in messages, expected
    assert "hunter2" not in messages and "http://host/a.jpg" in messages  # credentials never echoed
    assert all(len(m) < 2100 for m in errors(rows))  # echoes are truncated


def test_empty_jsonl_file_has_no_rows(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    assert read_rows(tmp_path, str(path)) == []


def test_empty_input_runs_to_zero_records(tmp_path):
    (tmp_path / "empty.jsonl").write_bytes(b"\n\n")
    summary = match_pairs.run(["--input", str(tmp_path / "empty.jsonl"), "--output", str(tmp_path / "out" / "r")])
    assert summary["rows_in"] == summary["records_out"] == 0


# --- CSV ----------------------------------------------------------------------------------------------

def test_csv_edge_cases(tmp_path):
    lines = [
        "\ufeffpair_id, source_url ,target_url,media_type",  # BOM and spaces in the header
        "ok,a.jpg,b.jpg,",
        'quoted,"http://h/a,b.jpg","b.jpg",image',
        "dup,a.jpg,c.jpg,", "dup,c.jpg,a.jpg,",
        "", "  ",
        "short,a.jpg",
        "empty-source,,b.jpg,",
        'spans,"a.jpg', 'b.jpg",c.jpg,',  # a quoted field across two lines: one invalid row per line
        "huge," + "x" * SMALL_ROWS + ",b.jpg,",
    ]
    data = "\r\n".join(lines).encode() + b"\r\nnot-utf8,\xff.jpg,b.jpg,\r\n"
    path = tmp_path / "pairs.csv"
    path.write_bytes(data)
    rows = read_rows(tmp_path, str(path))

    assert len(rows) == 10 and all(set(r) == ROW_KEYS for r in rows)
    ids = by_pair_id(rows)
    assert ids["ok"][0]["error"] is None and ids["ok"][0]["media_type"] is None
    assert ids["quoted"][0]["source_url"] == "http://h/a,b.jpg" and ids["quoted"][0]["media_type"] == "image"
    assert len(ids["dup"]) == 2 and all(r["error"] is None for r in ids["dup"])
    short = ids["short"][0]  # a short row keeps the values it had, and is still invalid
    assert short["source_url"] == "a.jpg" and short["error"]["code"] == "INVALID_INPUT"
    assert "2 fields where the header has 4" in short["error"]["message"]
    messages = "\n".join(errors(rows))
    assert len(errors(rows)) == 6
    for expected in ("2 fields where the header has 4", "source_url is missing", "line is not UTF-8",
                     f"exceeds max_row_bytes={SMALL_ROWS}"):
        assert expected in messages, expected
    assert messages.count("fields where the header has 4") == 3  # short, and both halves of the spanning row


@pytest.mark.parametrize("content,problem", [
    (b"pair_id,target_url\na,b\n", "no source_url column"),
    (b"source_url,target_url,source_url\na,b,c\n", "names source_url more than once"),
    (b"\n\nsource_url,target_url\n", "header row is blank"),
    (b"source_url,\xfftarget_url\n", "unreadable CSV header"),
])
def test_unusable_csv_header_fails_before_the_run(tmp_path, content, problem):
    path = tmp_path / "pairs.csv"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=problem):
        ReadPairs(str(path))


def test_empty_csv_file_has_no_rows(tmp_path):
    (tmp_path / "a.csv").write_bytes(b"")
    (tmp_path / "b.csv").write_bytes(b"source_url,target_url\r\n")
    assert row_files.read_csv_header(str(tmp_path / "a.csv"), PAIR_ROWS) is None
    assert read_rows(tmp_path, str(tmp_path / "*.csv")) == []


# --- Parquet ------------------------------------------------------------------------------------------

def test_parquet_edge_cases(tmp_path):
    strings = pa.table({
        "pair_id": ["ok", None, "dup", "dup", "no-source", "empty-target", "gif", "huge"],
        "source_url": ["a.jpg", "a.jpg", "a.jpg", "c.jpg", None, "a.jpg", "a.jpg", "x" * (SMALL_ROWS + 1)],
        "target_url": ["b.jpg", "b.jpg", "c.jpg", "a.jpg", "b.jpg", "", "b.jpg", "b.jpg"],
        "media_type": [None, "image", None, None, None, None, "gif", None],
        "thumbnail": [b"\0" * 100_000] * 8,  # a bulky extra column: never read
    })
    numbers = pa.table({"pair_id": pa.array([1, 2], pa.int64()), "source_url": pa.array([10, 20], pa.int64()),
                        "target_url": ["b.jpg", "c.jpg"]})
    pq.write_table(strings, tmp_path / "a.parquet")
    pq.write_table(numbers, tmp_path / "b.parquet")
    reader = ReadPairs(str(tmp_path / "*.parquet"))
    assert reader.columns == ["pair_id", "source_url", "target_url"]  # present in every file; no others
    rows = read_rows(tmp_path, str(tmp_path / "*.parquet"))

    assert len(rows) == 10 and all(set(r) == ROW_KEYS for r in rows)
    ids = by_pair_id(rows)
    assert ids["ok"][0]["error"] is None and len(ids["dup"]) == 2
    derived = [r for r in rows if r["pair_id"] not in ("ok", "gif") and r["error"] is None
               and (r["source_url"], r["target_url"]) == ("a.jpg", "b.jpg")]
    assert len(derived) == 1 and len(derived[0]["pair_id"]) == 16  # no pair_id: a stable derived one
    messages = "\n".join(errors(rows))
    for expected in ("source_url is missing", "target_url is missing", "source_url is not a non-empty string (int)",
                     f"exceeds max_row_bytes={SMALL_ROWS}"):
        assert expected in messages, expected
    assert len(errors(rows)) == 5  # media_type "gif" is not read: the column is missing from b.parquet


@pytest.mark.parametrize("content,problem", [
    (b"", "not a readable Parquet file"),
    (b"PAR1 this is not parquet PAR1", "not a readable Parquet file"),
    (None, "no target_url column"),
])
def test_unusable_parquet_fails_before_the_run(tmp_path, content, problem):
    path = tmp_path / "pairs.parquet"
    if content is None:
        pq.write_table(pa.table({"source_url": ["a"]}), path)
    else:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=problem):
        row_files.read_parquet_columns(str(path), PAIR_ROWS)
    with pytest.raises(ValueError, match=problem):
        ReadPairs(str(path))


def test_missing_input_fails_before_the_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="no input files match"):
        ReadPairs(str(tmp_path / "nothing-*.csv"))


# --- properties of the parsers ------------------------------------------------------------------------

def assert_row_shape(row: dict) -> None:
    assert set(row) == ROW_KEYS and isinstance(row["pair_id"], str) and row["pair_id"]
    if row["error"] is None:
        assert all(isinstance(row[k], str) and row[k].strip() for k in ("source_url", "target_url"))
        assert row["media_type"] in (None, "image", "video", "audio")
    else:
        assert row["error"]["code"] == "INVALID_INPUT" and row["error"]["message"]
    json.dumps(row, ensure_ascii=False).encode("utf-8")  # writable as it is


HEADER = ["pair_id", "source_url", "target_url", "media_type"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_any_bytes_make_one_well_formed_row(line):
    assert_row_shape(row_files.parse_json_line(line, PAIR_ROWS, SMALL_ROWS))
    assert_row_shape(row_files.parse_csv_line(line, HEADER, PAIR_ROWS, SMALL_ROWS))


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                           max_leaves=10)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(HEADER + ["other"]), json_values | st.text(), max_size=5))
def test_any_json_object_makes_one_well_formed_row(fields):
    assert_row_shape(row_files.parse_json_line(json.dumps(fields).encode(), PAIR_ROWS, SMALL_ROWS))


line_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), min_size=1,
                    max_size=60).filter(str.strip)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(line_text, line_text, line_text, st.sampled_from(["", "image", "video", "audio"]))
def test_valid_rows_round_trip(pair_id, source, target, media_type):
    fields = {"pair_id": pair_id, "source_url": source, "target_url": target, "media_type": media_type}
    out = io.StringIO()
    csv.writer(out).writerow(fields.values())
    for row in (row_files.parse_json_line(json.dumps(fields, ensure_ascii=False).encode(), PAIR_ROWS, SMALL_ROWS),
                row_files.parse_csv_line(out.getvalue().rstrip("\r\n").encode(), HEADER, PAIR_ROWS, SMALL_ROWS)):
        assert row["error"] is None
        assert (row["pair_id"], row["source_url"], row["target_url"]) == (pair_id, source, target)
        assert row["media_type"] == (media_type or None)
