"""A user's own files: the shared flags (`zoo.config.FileDataConfig`) and the carving of missing splits."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import zoo.cli
from zoo.config import FileDataConfig
from zoo.data import carve, user_splits


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
