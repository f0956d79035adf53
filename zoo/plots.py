"""Plots the recipes write: training curves from history.csv, attention heatmaps."""

from __future__ import annotations

import pathlib

import matplotlib
import numpy as np

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


def attention_heatmap(
    weights, source_tokens: list[str], target_tokens: list[str], path: str | pathlib.Path, title: str = ""
) -> pathlib.Path:
    """An attention matrix as a PNG: one row per output token, one column per input token, darker = more
    weight. Rows are what the decoder wrote, columns what it read while writing them.

    Args:
        weights: (len(target_tokens), len(source_tokens)) array, rows summing to 1.
        source_tokens: column labels (e.g. SentencePiece pieces).
        target_tokens: row labels.
        path: where the PNG goes.
    """
    weights = np.asarray(weights)
    if weights.shape != (len(target_tokens), len(source_tokens)):
        raise ValueError(
            f"weights have shape {weights.shape}, labels ({len(target_tokens)}, {len(source_tokens)})"
        )
    size = (max(3.0, 0.45 * len(source_tokens) + 1.5), max(2.5, 0.4 * len(target_tokens) + 1.2))
    figure, axis = plt.subplots(figsize=size)
    axis.imshow(weights, cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto")
    axis.set_xticks(range(len(source_tokens)), source_tokens, rotation=60, ha="right")
    axis.set_yticks(range(len(target_tokens)), target_tokens)
    axis.set_xlabel("source")
    axis.set_ylabel("translation")
    axis.set_title(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return pathlib.Path(path)


def image_attention(
    image, weights, words: list[str], path: str | pathlib.Path, title: str = "", columns: int = 4
) -> pathlib.Path:
    """Where a captioner looked for each word, as a PNG: the image, then one panel per word with the
    word's attention over the feature grid stretched over the image (brighter = more weight).

    Args:
        image: float `(height, width, 3)` (or `(height, width)`) in [0, 1].
        weights: `(len(words), grid_height, grid_width)`, each word's weights over the grid cells.
        words: the caption's words (the end token included, if it was scored), one panel each.
        path: where the PNG goes.
        title: above the figure, e.g. the caption and its references.
        columns: panels per row.
    """
    image, weights = np.asarray(image, dtype=np.float32), np.asarray(weights, dtype=np.float32)
    if weights.ndim != 3 or len(weights) != len(words):
        raise ValueError(f"weights must be (len(words), grid_height, grid_width), got shape {weights.shape}")
    height, width = image.shape[:2]
    rows = -(-(len(words) + 1) // columns)
    panel_width = 2.2 * min(width / height, 1.6)  # a wide strip gets a wider panel, but not 5x wider
    panel_height = panel_width * height / width + 0.4  # + the word above it
    figure, axes = plt.subplots(
        rows, columns, figsize=(columns * panel_width, rows * panel_height + 0.6), squeeze=False
    )
    for axis in axes.flat:
        axis.axis("off")
    axes.flat[0].imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1)
    for axis, word, grid in zip(axes.flat[1:], words, weights):
        axis.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1)
        # Each grid cell covers a block of pixels: stretch the weights over the whole image, smoothly.
        axis.imshow(grid, cmap="inferno", alpha=0.6, extent=(0, width, height, 0), interpolation="bilinear")
        axis.set_title(word, fontsize=10)
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return pathlib.Path(path)
