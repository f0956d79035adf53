"""zoo.plots: the training-curves grid (panels, integer epochs, the best epoch marked), curves side by
side, the attention heatmaps (colour bar, sentence pair as the title, slanted tokens), and a classifier's
confusion matrix (counts in the cells, colours by the share of the true class)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from zoo.plots import (
    attention_figure,
    attention_heatmap,
    confusion_matrix_figure,
    history_figure,
    panels_figure,
    plot_confusion_matrix,
    plot_history,
    plot_panels,
    plt,
)


def history(epochs: int, **columns) -> list[dict[str, float]]:
    """Rows like `zoo.train.read_history`'s: "epoch" 0-based, one value per column and epoch."""
    return [
        {"epoch": float(epoch), **{key: values[epoch] for key, values in columns.items()}}
        for epoch in range(epochs)
    ]


def panels(figure) -> list:
    return [axis for axis in figure.axes if axis.axison]


def assert_whole_epoch_ticks(axis, first: int, last: int):
    low, high = axis.get_xlim()
    ticks = [tick for tick in axis.get_xticks() if low <= tick <= high]
    assert ticks and all(float(tick).is_integer() for tick in ticks)
    assert first <= min(ticks) and max(ticks) <= last


def test_one_panel_per_metric_loss_first_with_both_curves_and_the_best_epoch(tmp_path):
    rows = history(
        5,
        loss=[1.0, 0.6, 0.4, 0.3, 0.2],
        val_loss=[0.9, 0.5, 0.45, 0.5, 0.6],
        accuracy=[0.5, 0.6, 0.7, 0.8, 0.9],
        val_accuracy=[0.5, 0.6, 0.65, 0.64, 0.63],
        auc=[0.5, 0.6, 0.7, 0.8, 0.9],
        epoch_seconds=[1.0] * 5,
        learning_rate=[0.01] * 5,
    )
    figure, best = history_figure(rows, "tiny")
    try:
        assert best == 3  # the lowest val_loss, 1-based as Keras prints epochs
        shown = panels(figure)
        assert [axis.get_title() for axis in shown] == ["loss", "accuracy", "auc"]
        loss_labels = [line.get_label() for line in shown[0].get_lines()]
        assert loss_labels == ["training", "validation", "best: epoch 3"]
        assert [line.get_label() for line in shown[2].get_lines()] == ["training", "best: epoch 3"]
        np.testing.assert_array_equal(shown[0].get_lines()[0].get_xdata(), [1, 2, 3, 4, 5])
        assert shown[0].get_lines()[2].get_xdata()[0] == 3  # the vertical line
        for axis in shown:
            assert_whole_epoch_ticks(axis, 1, 5)
        assert "best epoch 3 of 5 by val_loss" in figure.texts[0].get_text()
    finally:
        plt.close(figure)
    path = tmp_path / "training_curves.png"
    assert plot_history(rows, path, "tiny") == 3
    assert path.read_bytes().startswith(b"\x89PNG") and path.stat().st_size > 5000


def test_the_best_epoch_follows_the_monitor_and_mode(tmp_path):
    rows = history(
        4, loss=[1.0, 0.8, 0.7, 0.6], val_loss=[0.9, 0.8, 0.7, 0.75], val_bleu=[5.0, 9.0, 8.0, 9.0]
    )
    assert plot_history(rows, tmp_path / "a.png", monitor="val_bleu", mode="max") == 2  # first of the tie
    assert plot_history(rows, tmp_path / "b.png", monitor="val_loss", mode="min") == 3
    with pytest.raises(ValueError, match="mode"):
        plot_history(rows, tmp_path / "c.png", mode="best")


def test_a_single_epoch_is_one_point_on_a_whole_epoch_tick(tmp_path):
    rows = history(1, loss=[0.7], val_loss=[0.6], accuracy=[0.5], val_accuracy=[0.55])
    figure, best = history_figure(rows)
    try:
        assert best == 1
        for axis in panels(figure):
            assert_whole_epoch_ticks(axis, 1, 1)
    finally:
        plt.close(figure)
    assert plot_history(rows, tmp_path / "one.png") == 1 and (tmp_path / "one.png").stat().st_size > 1000


def test_missing_validation_marks_no_epoch(tmp_path):
    # Keras writes "NA" in the val_ columns of a run without validation; read_history reads NaN.
    rows = history(3, loss=[0.9, 0.7, 0.6], val_loss=[math.nan] * 3, accuracy=[0.5, 0.6, 0.7])
    figure, best = history_figure(rows)
    try:
        assert best is None
        assert [axis.get_title() for axis in panels(figure)] == ["loss", "accuracy"]
        assert [line.get_label() for line in panels(figure)[0].get_lines()] == ["training"]
    finally:
        plt.close(figure)
    assert plot_history(history(2, loss=[0.9, 0.7]), tmp_path / "train_only.png") is None
    assert (tmp_path / "train_only.png").stat().st_size > 1000


def test_nan_and_inf_are_gaps_and_never_the_best(tmp_path):
    rows = history(4, loss=[1.0, math.nan, 0.5, math.inf], val_loss=[math.nan, 0.7, -math.inf, 0.6])
    assert plot_history(rows, tmp_path / "gaps.png") == 4
    nothing = history(2, loss=[math.nan, math.nan], val_loss=[math.nan, math.nan])
    assert plot_history(nothing, tmp_path / "nothing.png") is None
    assert (tmp_path / "nothing.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="at least one epoch"):
        plot_history([], tmp_path / "empty.png")


def test_many_metrics_wrap_into_rows(tmp_path):
    names = [f"metric_{index}" for index in range(7)]
    rows = history(3, loss=[1.0, 0.9, 0.8], **{name: [0.1, 0.2, 0.3] for name in names})
    figure, _ = history_figure(rows, columns=3)
    try:
        shown = panels(figure)
        assert len(shown) == 8 and shown[0].get_title() == "loss"
        # 8 panels in rows of 3: three rows, the last with one empty cell hidden.
        assert len(figure.axes) == 9 and len({round(axis.get_position().y0, 3) for axis in shown}) == 3
    finally:
        plt.close(figure)


def test_attention_heatmap_has_a_colour_bar_the_sentences_and_slanted_tokens(tmp_path):
    source_tokens, target_tokens = (
        ["▁I", "▁have", "▁three", "▁dogs", "."],
        ["▁Tengo", "▁tres", "▁perros", ".", "</s>"],
    )
    weights = np.random.default_rng(0).dirichlet(np.ones(5), size=5)
    source = "I have three dogs, " + "and a very long sentence goes on " * 4 + "."
    figure = attention_figure(
        weights, source_tokens, target_tokens, source_text=source, translation_text="Tengo tres perros."
    )
    try:
        heatmap, colour_bar = figure.axes
        assert colour_bar.get_ylabel() == "attention weight" and colour_bar.get_ylim() == (0.0, 1.0)
        assert heatmap.images[0].get_clim() == (0.0, 1.0)  # a fixed scale, not each figure's own
        title = heatmap.get_title(loc="left")
        assert title.startswith("source: I have three dogs,") and "translation: Tengo tres perros." in title
        assert " ".join(title.split()).count("and a very long sentence goes on") == 4  # wrapped, not cut
        assert len(title.splitlines()) >= 3 and max(map(len, title.splitlines())) < len(source)
        labels = heatmap.get_xticklabels()
        assert [label.get_text() for label in labels] == source_tokens
        assert all(label.get_rotation() == 45 for label in labels)
        assert [label.get_text() for label in heatmap.get_yticklabels()] == target_tokens
    finally:
        plt.close(figure)
    path = attention_heatmap(weights, source_tokens, target_tokens, tmp_path / "attention_0.png", "eng->spa")
    assert path.read_bytes().startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="shape"):
        attention_heatmap(weights[:, :4], source_tokens, target_tokens, tmp_path / "bad.png")


def test_panels_side_by_side_each_with_its_curves_from_one(tmp_path):
    panels = {
        "adding_20": [
            ("rnn", [1.0, 0.5, 0.25], "-o", "tab:red"),
            ("gru", np.array([1.0, 0.1]), "--", "tab:green"),
        ],
        "digits_rows": [("rnn", [2.0], "-", "tab:red")],
    }
    figure = panels_figure(panels, "epoch", "validation loss", log_scale=True)
    try:
        left, right = figure.axes
        assert [left.get_title(), right.get_title()] == ["adding_20", "digits_rows"]
        assert left.get_yscale() == "log" and left.get_xlabel() == "epoch"
        rnn, gru = left.get_lines()
        assert rnn.get_xdata().tolist() == [1, 2, 3] and gru.get_ydata().tolist() == [1.0, 0.1]
        assert gru.get_linestyle() == "--" and rnn.get_marker() == "o"
        assert [text.get_text() for text in left.get_legend().get_texts()] == ["rnn", "gru"]
    finally:
        plt.close(figure)
    path = plot_panels(panels, tmp_path / "curves.png", "epoch", "validation loss")
    assert path.read_bytes().startswith(b"\x89PNG")


def test_confusion_matrix_counts_each_pair_and_colours_by_the_true_class(tmp_path):
    names = ["cooking", "music", "sports"]
    labels = [0] * 90 + [1] * 10 + [2] * 5
    predicted = [0] * 81 + [1] * 9 + [1] * 5 + [2] * 5 + [2] * 5  # recalls 0.9, 0.5, 1.0
    figure = confusion_matrix_figure(labels, predicted, names, title="3 classes")
    try:
        matrix = figure.axes[0]
        assert [label.get_text() for label in matrix.get_xticklabels()] == names
        assert [label.get_text() for label in matrix.get_yticklabels()] == names
        shares = matrix.images[0].get_array()
        np.testing.assert_allclose(np.diag(shares), [0.9, 0.5, 1.0])  # a rare class's recall shows as is
        assert matrix.images[0].get_clim() == (0.0, 1.0)
        cells = {
            (round(text.get_position()[1]), round(text.get_position()[0])): text.get_text()
            for text in matrix.texts
        }
        assert cells[0, 0] == "81" and cells[0, 1] == "9" and cells[1, 2] == "5" and cells[2, 0] == "0"
        assert matrix.get_title() == "3 classes"
    finally:
        plt.close(figure)
    path = plot_confusion_matrix(labels, predicted, names, tmp_path / "confusion_matrix.png")
    assert path.read_bytes().startswith(b"\x89PNG")
