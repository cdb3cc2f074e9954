"""Discovery and safe reading of the input folder."""

from __future__ import annotations

import os
import time
from pathlib import Path

import polars as pl
import pytest

from transforms.discover import discover, read_files
from transforms.read import ReadConfig
from transforms.schema import CANDIDATES, INPUT_SCHEMA, LEDGER

EMPTY_LEDGER = LEDGER.empty()


def _ledger_from(found: pl.DataFrame, raw: pl.DataFrame) -> pl.DataFrame:
    loaded = raw.with_columns(
        pl.lit("loaded").alias("status"), pl.lit(None, pl.String).alias("article_id"), pl.lit("r1").alias("run_id"),
        pl.lit(None, LEDGER.schema["recorded_at"]).alias("recorded_at"),
        pl.lit(1).alias("story_count"), pl.lit(1).alias("stories_loaded"),
        pl.lit(None, pl.String).alias("story_summary"),
    )
    return LEDGER.conform(loaded)


def test_finds_nested_files_with_awkward_names(tmp_path: Path):
    names = ["a.txt", "sub dir/b [1].txt", "أخبار/خبر عاجل.txt", "x/y/z/deep.txt"]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("نص", encoding="utf-8")
    found = discover(tmp_path, EMPTY_LEDGER)
    assert sorted(found.candidates["source_path"]) == sorted(names)
    assert found.files_seen == 4 and found.files_unchanged == 0 and found.changed_paths == []
    assert found.candidates.schema == pl.Schema(CANDIDATES.schema)
    raw, deferred = read_files(tmp_path, found.candidates)
    assert raw.schema == pl.Schema(INPUT_SCHEMA)
    assert deferred == [] and raw["raw"].to_list() == [b"\xd9\x86\xd8\xb5"] * 4
    assert raw["sha256"].str.len_chars().to_list() == [64] * 4


def test_unchanged_files_are_not_read_again(tmp_path: Path):
    (tmp_path / "a.txt").write_text("one")
    (tmp_path / "b.txt").write_text("two")
    first = discover(tmp_path, EMPTY_LEDGER)
    raw, _ = read_files(tmp_path, first.candidates)
    ledger = _ledger_from(first.candidates, raw)
    (tmp_path / "b.txt").write_text("two, changed")
    second = discover(tmp_path, ledger)
    assert second.candidates["source_path"].to_list() == ["b.txt"]
    assert second.files_unchanged == 1 and second.changed_paths == ["b.txt"]
    b_sha = ledger.filter(pl.col("source_path") == "b.txt")["sha256"][0]
    assert second.previous_sha == {"b.txt": b_sha}  # only the changed candidates' hashes
    asked: list[list[str]] = []

    def lookup(paths: pl.Series) -> pl.DataFrame:  # as the warehouse answers: the rows of these paths
        asked.append(sorted(paths.to_list()))
        return ledger.filter(pl.col("source_path").is_in(paths.implode()))

    looked_up = discover(tmp_path, lookup)
    assert asked == [["a.txt", "b.txt"]]
    assert looked_up.candidates.equals(second.candidates) and looked_up.previous_sha == second.previous_sha


def test_symlink_out_of_the_folder_is_refused_without_reading(tmp_path: Path):
    outside = tmp_path / "secret.txt"
    outside.write_text("outside the input folder")
    source = tmp_path / "input"
    source.mkdir()
    (source / "inside.txt").write_text("inside")
    (source / "escape.txt").symlink_to(outside)
    (source / "alias.txt").symlink_to(source / "inside.txt")
    (source / "dangling.txt").symlink_to(tmp_path / "missing")
    (source / "linked_dir").symlink_to(tmp_path, target_is_directory=True)
    found = discover(source, EMPTY_LEDGER)
    rows = {r["source_path"]: r for r in found.candidates.iter_rows(named=True)}
    assert set(rows) == {"inside.txt", "escape.txt", "alias.txt", "dangling.txt", "linked_dir"}
    assert "folder outside the input folder" in rows["linked_dir"]["reason"]
    assert rows["escape.txt"]["status"] == "rejected"
    assert "outside the input folder" in rows["escape.txt"]["reason"]
    assert "does not exist" in rows["dangling.txt"]["reason"]
    assert rows["alias.txt"]["status"] is None
    raw, _ = read_files(source, found.candidates)
    by_path = {r["source_path"]: r for r in raw.iter_rows(named=True)}
    assert by_path["escape.txt"]["raw"] is None and by_path["escape.txt"]["sha256"] is None
    assert by_path["alias.txt"]["raw"] == b"inside"


def test_refused_links_stay_refused_without_new_rows(tmp_path: Path):
    source = tmp_path / "input"
    source.mkdir()
    (source / "escape.txt").symlink_to(tmp_path)
    first = discover(source, EMPTY_LEDGER)
    ledger = first.candidates.select("source_path", pl.lit(None, pl.String).alias("sha256"), "size_bytes",
                                     "mtime_ns", "status", "reason")
    again = discover(source, ledger)
    assert again.candidates.height == 0 and again.files_unchanged == 1


def test_fifo_is_never_opened(tmp_path: Path):
    os.mkfifo(tmp_path / "pipe")
    found = discover(tmp_path, EMPTY_LEDGER)
    row = found.candidates.row(0, named=True)
    assert row["status"] == "rejected" and "not a regular file" in row["reason"]
    raw, _ = read_files(tmp_path, found.candidates)  # would block forever if it opened the pipe
    assert raw["raw"].to_list() == [None]


def test_oversized_file_is_hashed_but_not_loaded(tmp_path: Path):
    (tmp_path / "big.txt").write_bytes(b"x" * 5000)
    config = ReadConfig(max_bytes=1000)
    found = discover(tmp_path, EMPTY_LEDGER)
    raw, _ = read_files(tmp_path, found.candidates, config)
    row = raw.row(0, named=True)
    assert row["raw"] is None and row["status"] == "rejected"
    assert "too large: 5,000 bytes" in row["reason"]
    assert row["sha256"] == __import__("hashlib").sha256(b"x" * 5000).hexdigest()


def test_file_still_being_written_is_deferred(tmp_path: Path):
    path = tmp_path / "growing.txt"
    path.write_text("first chunk")
    found = discover(tmp_path, EMPTY_LEDGER)
    time.sleep(0.01)
    with path.open("a") as handle:
        handle.write(" second chunk")
    raw, deferred = read_files(tmp_path, found.candidates)
    assert deferred == ["growing.txt"] and raw.height == 0


def test_missing_input_folder_is_an_error(tmp_path: Path):
    with pytest.raises(NotADirectoryError):
        discover(tmp_path / "absent", EMPTY_LEDGER)
