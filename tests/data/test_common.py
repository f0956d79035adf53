"""A user's own files: the shared flags (`zoo.config.FileDataConfig`), the carving of missing splits, and
the columns of a CSV or TSV file (`read_table`)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import zoo.cli
from zoo.config import FileDataConfig
from zoo.data import carve, read_table, user_splits
from zoo.errors import DataFormatError


def test_carve_splits_every_example_once_in_order_and_repeatably():
    splits = carve(1000, 0.1, 0.2, seed=3)
    assert [len(splits[name]) for name in ("train", "validation", "test")] == [700, 100, 200]
    joined = np.concatenate(list(splits.values()))
    assert sorted(joined.tolist()) == list(range(1000))
    assert all(np.all(np.diff(indices) > 0) for indices in splits.values())  # file order kept
    again = carve(1000, 0.1, 0.2, seed=3)
    assert all(np.array_equal(splits[name], again[name]) for name in splits)
    other = carve(1000, 0.1, 0.2, seed=4)
    assert not np.array_equal(splits["test"], other["test"])


def test_carve_keeps_a_group_in_one_split():
    groups = [f"image{i // 5}" for i in range(100)]  # 20 images, 5 captions each
    splits = carve(100, 0.1, 0.1, seed=0, groups=groups)
    seen = {name: {groups[i] for i in indices} for name, indices in splits.items()}
    assert not (
        seen["train"] & seen["validation"]
        or seen["train"] & seen["test"]
        or seen["validation"] & seen["test"]
    )
    assert [len(seen[name]) for name in ("train", "validation", "test")] == [16, 2, 2]


def test_carve_takes_at_least_one_and_leaves_one_to_train():
    splits = carve(3, 0.01, 0.01, seed=0)
    assert [len(splits[name]) for name in ("train", "validation", "test")] == [1, 1, 1]
    with pytest.raises(ValueError, match="cannot be split"):
        carve(2, 0.1, 0.1, seed=0)
    with pytest.raises(ValueError, match="leave some"):
        carve(10, 0.5, 0.5, seed=0)


def test_user_splits_reads_given_files_and_carves_only_the_missing_ones(tmp_path):
    def read(path):
        return [line for line in open(path, encoding="utf-8").read().splitlines()]

    train = tmp_path / "train.txt"
    train.write_text("\n".join(f"t{i}" for i in range(50)) + "\n")
    test = tmp_path / "test.txt"
    test.write_text("x\ny\n")
    splits = user_splits(read, str(train), test_file=str(test), validation_fraction=0.2, seed=1)
    assert splits["test"] == ["x", "y"]  # the given file, whole
    assert len(splits["validation"]) == 10 and len(splits["train"]) == 40  # nothing carved for test
    assert sorted(splits["train"] + splits["validation"]) == sorted(read(train))


@dataclasses.dataclass
class _Config(FileDataConfig):
    pass


def test_file_flags_imply_dataset_file_and_are_refused_elsewhere(tmp_path):
    config = zoo.cli.parse(_Config, ["--train-file", "data.csv", "--test-fraction", "0"])
    assert config.dataset == "file" and config.data_files()["test_fraction"] == 0
    with pytest.raises(SystemExit):
        zoo.cli.parse(_Config, ["--dataset", "file"])  # no --train-file
    with pytest.raises(ValueError, match="only with --dataset file"):
        _Config(dataset="imdb", train_file="data.csv")
    with pytest.raises(ValueError, match="leave some"):
        _Config(train_file="data.csv", validation_fraction=0.5, test_fraction=0.5)
    # Given files carve nothing, so their fractions do not count.
    assert _Config(
        train_file="a", validation_file="b", test_file="c", validation_fraction=0.9, test_fraction=0.5
    )


@dataclasses.dataclass
class _NoTestConfig(FileDataConfig):
    UNUSED_SPLITS = {"test": "this recipe has no test split"}


def test_a_split_a_recipe_has_no_use_for_is_refused_by_name():
    config = _NoTestConfig(train_file="a", validation_fraction=0.95)  # the unused test share does not count
    assert config.dataset == "file"
    with pytest.raises(ValueError, match="--test-file: this recipe has no test split"):
        _NoTestConfig(train_file="a", test_file="b")
    with pytest.raises(ValueError, match="--test-fraction: this recipe has no test split"):
        _NoTestConfig(train_file="a", test_fraction=0.2)
    assert _NoTestConfig(train_file="a", test_fraction=0.1)  # the default is not a request


def test_read_table_reads_csv_and_tsv_columns_by_name_with_their_lines(tmp_path):
    table = tmp_path / "rows.csv"
    table.write_bytes('\ufeffID, Text ,extra\r\n1,"a, ""quoted"" text",x\r\n\r\n2,  plain  ,y\r\n'.encode())
    assert read_table(table, ["text", "id"]) == [(2, ['a, "quoted" text', "1"]), (4, ["plain", "2"])]
    assert read_table(table, ["id"], optional=["speaker"]) == [(2, ["1", ""]), (4, ["2", ""])]
    tabs = tmp_path / "rows.txt"  # no suffix to go by: the header's tab decides, and nothing is quoted
    tabs.write_text('id\ttext\n1\t"as" written, with commas\n')
    assert read_table(tabs, ["text"]) == [(2, ['"as" written, with commas'])]
    tabs.write_text("id\ttext\n1\ttwo\tthree\n")
    with pytest.raises(
        DataFormatError, match=r"rows\.txt:2: 3 fields where the header has 2; a value cannot"
    ):
        read_table(tabs, ["text"])
    table.write_bytes(b"id,text\n1,caf\xe9\n")
    with pytest.raises(DataFormatError, match=r"rows\.csv:2: not UTF-8"):
        read_table(table, ["text"])
    table.write_text("")
    with pytest.raises(DataFormatError, match=r"rows\.csv: empty: no header and no rows"):
        read_table(table, ["text"])


@dataclasses.dataclass
class _ColumnConfig(FileDataConfig):
    text_column: str = "text"
    FILE_ONLY = ("text_column",)


def test_a_recipes_file_only_flags_are_refused_without_its_files():
    assert _ColumnConfig(train_file="data.csv", text_column="body").text_column == "body"
    _ColumnConfig(dataset="imdb")  # the default column: nothing to refuse
    with pytest.raises(ValueError, match="--text-column: only with --dataset file"):
        _ColumnConfig(dataset="imdb", text_column="body")
    with pytest.raises(ValueError, match="not the embedded sample"):
        _ColumnConfig(text_column="body")
