"""zoo.io: a file or folder is replaced whole or not at all; a result computed once is read back after."""

import pathlib

import numpy as np
import pytest

import zoo.io


def test_write_text_replaces_and_leaves_no_temporary(tmp_path: pathlib.Path):
    target = tmp_path / "vocabulary.txt"
    target.write_text("old\n")
    zoo.io.write_text(target, "new\n")
    assert target.read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vocabulary.txt"]


def test_a_failed_write_keeps_the_old_file(tmp_path: pathlib.Path):
    target = tmp_path / "model.keras"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with zoo.io.replacing(target) as staging:
            assert staging.suffix == ".keras" and staging.parent == tmp_path
            staging.write_text("half")
            raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"]


def test_a_folder_is_replaced_whole(tmp_path: pathlib.Path):
    target = tmp_path / "saved_model"
    target.mkdir()
    (target / "old.pb").write_text("old")
    with zoo.io.replacing(target) as staging:
        staging.mkdir()
        (staging / "new.pb").write_text("new")
    assert [p.name for p in target.iterdir()] == ["new.pb"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["saved_model"]


def test_nothing_written_is_an_error_and_the_old_file_stays(tmp_path: pathlib.Path):
    target = tmp_path / "model.tflite"
    target.write_text("old")
    with pytest.raises(FileNotFoundError, match="nothing was written"):
        with zoo.io.replacing(target):
            pass
    assert target.read_text() == "old"


def test_remove_partials_deletes_only_leftovers(tmp_path: pathlib.Path):
    (tmp_path / "metrics.json").write_text("{}")
    leftover = tmp_path / ".partial-0123abcd-saved_model"
    leftover.mkdir()
    (leftover / "x").write_text("x")
    assert zoo.io.remove_partials(tmp_path) == [leftover]
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_computed_once_computes_then_reads_back(tmp_path: pathlib.Path):
    path, calls = tmp_path / "backup" / "model_a.json", []

    def compute():
        calls.append(1)
        return {"metrics": {"loss": np.float32(0.5), "epochs": np.int64(3)}, "norms": np.array([1.0, 2.0])}

    first = zoo.io.computed_once(path, compute)
    assert first["norms"].tolist() == [1.0, 2.0]  # as computed
    again = zoo.io.computed_once(path, compute)
    assert calls == [1]  # not computed again
    assert again == {"metrics": {"loss": 0.5, "epochs": 3}, "norms": [1.0, 2.0]}
    assert type(again["metrics"]["epochs"]) is int


def test_computed_once_writes_nothing_when_compute_fails(tmp_path: pathlib.Path):
    def fail():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        zoo.io.computed_once(tmp_path / "result.json", fail)
    assert list(tmp_path.iterdir()) == []
