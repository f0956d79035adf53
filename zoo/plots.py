"""Plots every recipe writes: training curves from history.csv."""

from __future__ import annotations

import pathlib

import matplotlib

matplotlib.use("Agg")  # files only: recipes run on servers and in CI without a display

import matplotlib.pyplot as plt  # noqa: E402

# Bookkeeping columns that are not learning curves.
_NOT_CURVES = {"epoch", "epoch_seconds", "learning_rate"}


def plot_history(history: list[dict[str, float]], path: str | pathlib.Path, title: str = "") -> pathlib.Path:
    """One panel per metric with its training and validation curves, saved as a PNG at `path`.

    Args:
        history: rows of `history.csv` (see `zoo.train.read_history`), one per epoch.
        path: where the PNG goes.
        title: figure title, usually the recipe's name.
    """
    names = sorted({key.removeprefix("val_") for key in history[0]} - _NOT_CURVES)
    epochs = [int(row["epoch"]) + 1 for row in history]
    figure, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.2), squeeze=False)
    for axis, name in zip(axes[0], names):
        for key, style in ((name, "-o"), (f"val_{name}", "--s")):
            if key in history[0]:
                axis.plot(epochs, [row[key] for row in history], style, label=key, markersize=3)
        axis.set_title(name)
        axis.set_xlabel("epoch")
        axis.grid(alpha=0.3)
        axis.legend()
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return pathlib.Path(path)
