"""zoo.progress: bars only on a terminal unless forced, on stderr, and the items pass through unchanged."""

from __future__ import annotations

import io
import sys
import time

import numpy as np
import pytest

import zoo.progress
from zoo.progress import progress, step


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def slow(items):
    for item in items:
        time.sleep(0.3)  # past the bar's half-second delay
        yield item


def test_items_pass_through_unchanged_and_nothing_is_written_off_a_terminal(capsys, monkeypatch):
    monkeypatch.delenv(zoo.progress.ENVIRONMENT_VARIABLE, raising=False)
    items = [np.arange(3), "two", None]
    for walked in (progress(items, "reading"), progress(iter(items), "reading", unit="file")):
        got = list(walked)
        assert len(got) == 3 and all(mine is theirs for mine, theirs in zip(got, items))  # the same objects
    assert list(progress(slow(range(3)), "reading")) == [0, 1, 2]
    with step("training SentencePiece on 3 sentences"):
        pass
    assert capsys.readouterr() == ("", "")  # pytest's stderr is no terminal


def test_a_terminal_gets_the_bar_on_stderr(monkeypatch):
    monkeypatch.delenv(zoo.progress.ENVIRONMENT_VARIABLE, raising=False)
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert sum(progress(slow(range(3)), "reading IMDB", unit="file")) == 3
    assert "reading IMDB" in terminal.getvalue() and "3file" in terminal.getvalue()


def test_a_quick_loop_shows_no_bar_even_on_a_terminal(monkeypatch):
    monkeypatch.delenv(zoo.progress.ENVIRONMENT_VARIABLE, raising=False)
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert sum(progress(range(1000), "counting")) == sum(range(1000))
    assert terminal.getvalue() == ""


@pytest.mark.parametrize("value, shown", [("1", True), ("on", True), ("0", False), ("off", False)])
def test_the_environment_variable_forces_bars_on_or_off(monkeypatch, value, shown):
    monkeypatch.setenv(zoo.progress.ENVIRONMENT_VARIABLE, value)
    stream = Terminal() if not shown else io.StringIO()  # forced: on a file too; off: even on a terminal
    monkeypatch.setattr(sys, "stderr", stream)
    assert list(progress(slow(range(2)), "decoding")) == [0, 1]
    with step("benchmark row: ours"):
        time.sleep(0.01)
    assert ("decoding" in stream.getvalue()) is shown
    assert ("benchmark row: ours ... 00:00" in stream.getvalue()) is shown


def test_a_step_shows_its_elapsed_time_and_lets_errors_through(monkeypatch):
    monkeypatch.setenv(zoo.progress.ENVIRONMENT_VARIABLE, "1")
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    with pytest.raises(RuntimeError, match="killed"):
        with step("training SentencePiece on 10 sentences"):
            time.sleep(1.1)
            raise RuntimeError("killed")
    assert stream.getvalue().rstrip().endswith("training SentencePiece on 10 sentences ... 00:01")


def test_naive_bayes_counts_are_the_same_with_the_bar_forced_on(monkeypatch):
    import tensorflow as tf

    import zoo.layers

    rng = np.random.default_rng(0)
    ids, labels = rng.integers(0, 50, size=(64, 12)), rng.integers(0, 2, size=64)
    batches = tf.data.Dataset.from_tensor_slices((ids, labels)).batch(8).filter(lambda x, y: True)  # no len
    ratios = {}
    monkeypatch.setattr(zoo.progress, "_DELAY_SECONDS", 0.0)  # the bar from the first batch
    for value in ("0", "1"):
        monkeypatch.setenv(zoo.progress.ENVIRONMENT_VARIABLE, value)
        monkeypatch.setattr(sys, "stderr", io.StringIO())
        layer = zoo.layers.NaiveBayesLinear(50)
        layer.adapt(batches)
        ratios[value] = layer.ratios.numpy()
        assert ("naive-Bayes counts" in sys.stderr.getvalue()) is (value == "1")
    np.testing.assert_array_equal(ratios["0"], ratios["1"])
