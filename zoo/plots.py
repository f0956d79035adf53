"""Plots the recipes write: training curves from history.csv, curves side by side, attention heatmaps, a
classifier's confusion matrix."""

from __future__ import annotations

import pathlib
import textwrap
from collections.abc import Sequence

import matplotlib
import matplotlib.figure
import matplotlib.ticker
import numpy as np

matplotlib.use("Agg")  # files only: recipes run on servers and in CI without a display

import matplotlib.pyplot as plt  # noqa: E402

# Bookkeeping columns that are not learning curves.
_NOT_CURVES = {"epoch", "epoch_seconds", "learning_rate"}
_TRAINING, _VALIDATION, _BEST = "tab:blue", "tab:orange", "tab:green"


def plot_history(
    history: list[dict[str, float]],
    path: str | pathlib.Path,
    title: str = "",
    monitor: str = "val_loss",
    mode: str = "min",
    columns: int = 3,
) -> int | None:
    """Training curves as a grid of small panels (`history_figure`), saved as a PNG at `path`.

    Returns:
        The best epoch (1-based) marked on the curves, or None when none was.
    """
    figure, best_epoch = history_figure(history, title, monitor=monitor, mode=mode, columns=columns)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return best_epoch


def history_figure(
    history: list[dict[str, float]],
    title: str = "",
    monitor: str = "val_loss",
    mode: str = "min",
    columns: int = 3,
) -> tuple[matplotlib.figure.Figure, int | None]:
    """Training curves: one small panel per metric, the best epoch marked.

    One panel per metric, loss first and the others by name, each with its training curve (solid) and
    validation curve (dashed) when the history has them. Epochs are 1-based integers, as Keras prints
    them. The best epoch by `monitor` (the first one at its lowest value with `mode="min"`, highest with
    "max", as the runner chooses its best weights) is a dotted vertical line in every panel, named in the
    legend and the title. NaN or infinite values are gaps (each point has a marker, so a lone value still
    shows); a curve with no finite value is left out, and so is a metric without any; a single epoch is a
    single point; a monitor missing from the history, or without a finite value, marks nothing.

    Args:
        history: rows of `history.csv` (see `zoo.train.read_history`), one per epoch, "epoch" 0-based.
        title: figure title, usually the recipe's name.
        monitor: the column the best epoch is chosen by, e.g. "val_loss" or "val_accuracy".
        mode: "min" or "max", whether lower or higher `monitor` is better.
        columns: panels per row (fewer when there are fewer metrics).

    Returns:
        `(figure, best_epoch)`: the figure, which the caller saves and closes, and the 1-based epoch
        marked, or None.

    Raises:
        ValueError: an empty history or a `mode` other than "min" and "max".
    """
    if not history:
        raise ValueError("plotting training curves needs at least one epoch of history")
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
    keys = list(dict.fromkeys(key for row in history for key in row))
    epochs = np.array(
        [int(row["epoch"]) + 1 if "epoch" in row else number for number, row in enumerate(history, 1)]
    )

    def values(key: str) -> np.ndarray:
        column = np.array([row.get(key, np.nan) for row in history], dtype=np.float64)
        return np.where(np.isfinite(column), column, np.nan)

    curves = {key: values(key) for key in keys if key not in _NOT_CURVES}
    curves = {key: column for key, column in curves.items() if np.isfinite(column).any()}
    names = sorted({key.removeprefix("val_") for key in curves}, key=lambda name: (name != "loss", name))
    best_epoch = best_value = None
    if monitor in curves:
        monitored = curves[monitor]
        index = int(np.nanargmin(monitored) if mode == "min" else np.nanargmax(monitored))
        best_epoch, best_value = int(epochs[index]), float(monitored[index])

    columns = max(1, min(columns, len(names)))
    rows = max(1, -(-len(names) // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 2.7 * rows + 0.5), squeeze=False)
    for axis in axes.flat[len(names) :]:
        axis.axis("off")
    if not names:
        axes.flat[0].text(0.5, 0.5, "no finite values to plot", ha="center", va="center")
    for axis, name in zip(axes.flat, names):
        for key, label, style, color in (
            (name, "training", "-o", _TRAINING),
            (f"val_{name}", "validation", "--s", _VALIDATION),
        ):
            if key in curves:
                axis.plot(epochs, curves[key], style, color=color, label=label, markersize=3, linewidth=1.2)
        if best_epoch is not None:
            axis.axvline(
                best_epoch, color=_BEST, linestyle=":", linewidth=1.5, label=f"best: epoch {best_epoch}"
            )
        axis.set_title(name, fontsize=10)
        axis.set_xlabel("epoch", fontsize=8)
        # Whole epochs only, even for a run of one or two epochs.
        axis.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True, min_n_ticks=1))
        axis.set_xlim(epochs.min() - 0.5, epochs.max() + 0.5)
        axis.tick_params(labelsize=8)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    if best_epoch is not None:
        title = f"{title}: " if title else ""
        title += f"best epoch {best_epoch} of {len(epochs)} by {monitor} = {best_value:.4g}"
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return figure, best_epoch


def plot_panels(
    panels: dict[str, list[tuple[str, Sequence[float], str, str]]],
    path: str | pathlib.Path,
    xlabel: str,
    ylabel: str,
    log_scale: bool = False,
) -> pathlib.Path:
    """Curves side by side (`panels_figure`), saved as a PNG at `path`, e.g. one panel per task with a
    curve per model compared on it."""
    figure = panels_figure(panels, xlabel, ylabel, log_scale)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return pathlib.Path(path)


def panels_figure(
    panels: dict[str, list[tuple[str, Sequence[float], str, str]]],
    xlabel: str,
    ylabel: str,
    log_scale: bool = False,
) -> matplotlib.figure.Figure:
    """Curves side by side: one panel per entry of `panels`, in one row, each with a legend.

    Args:
        panels: `{title: [(label, values, style, colour), ...]}`; `values` are drawn against 1, 2, ...
            (steps or epochs) with the matplotlib format `style` ("-", "--", "-o") in `colour`.
        xlabel: the x axis of every panel.
        ylabel: the y axis of every panel.
        log_scale: a logarithmic y axis.

    Returns:
        The figure, which the caller saves and closes.
    """
    figure, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
    for axis, (title, curves) in zip(axes[0], panels.items()):
        for label, values, style, colour in curves:
            steps = np.arange(1, len(values) + 1)
            axis.plot(steps, values, style, color=colour, label=label, markersize=3)
        axis.set_xlabel(xlabel)
        axis.set_ylabel(ylabel)
        if log_scale:
            axis.set_yscale("log")
        axis.set_title(title)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.tight_layout()
    return figure


def attention_heatmap(
    weights,
    source_tokens: list[str],
    target_tokens: list[str],
    path: str | pathlib.Path,
    title: str = "",
    *,
    source_text: str = "",
    translation_text: str = "",
) -> pathlib.Path:
    """An attention matrix as a PNG (`attention_figure`): one row per output token, one column per input
    token, darker = more weight, with a colour bar and the sentence pair as the title.

    Args:
        weights: (len(target_tokens), len(source_tokens)) array, rows summing to 1.
        source_tokens: column labels (e.g. SentencePiece pieces).
        target_tokens: row labels.
        path: where the PNG goes.
        title: a first title line, e.g. the model's name.
        source_text: the source sentence, shown in the title.
        translation_text: the translation, shown in the title.
    """
    figure = attention_figure(
        weights,
        source_tokens,
        target_tokens,
        title,
        source_text=source_text,
        translation_text=translation_text,
    )
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return pathlib.Path(path)


def attention_figure(
    weights,
    source_tokens: list[str],
    target_tokens: list[str],
    title: str = "",
    *,
    source_text: str = "",
    translation_text: str = "",
) -> matplotlib.figure.Figure:
    """An attention matrix as a figure: rows are what the decoder wrote, columns what it read while
    writing them, grey from white (weight 0) to black (weight 1) with a colour bar on that fixed scale,
    so figures of different sentences compare. The source tokens are slanted to stay readable; the title
    holds `title`, then "source: ..." and "translation: ..." lines, each wrapped to the figure's width.

    Args: as `attention_heatmap`, without the path. Returns the figure, which the caller saves and closes.

    Raises:
        ValueError: `weights` whose shape is not `(len(target_tokens), len(source_tokens))`.
    """
    weights = np.asarray(weights)
    if weights.shape != (len(target_tokens), len(source_tokens)):
        raise ValueError(
            f"weights have shape {weights.shape}, labels ({len(target_tokens)}, {len(source_tokens)})"
        )
    longest = max((len(token) for token in source_tokens), default=1)
    width = max(4.0, 0.4 * len(source_tokens) + 2.6)  # + the row labels and the colour bar
    height = max(3.0, 0.35 * len(target_tokens) + 0.09 * longest + 1.4)
    # About 11 characters of 9-point text per inch of the figure, less the labels and colour bar.
    lines = [line for line in (title,) if line] + [
        f"{label}: {text}"
        for label, text in (("source", source_text), ("translation", translation_text))
        if text
    ]
    wrapped = [textwrap.fill(line, width=int(11 * width), subsequent_indent="  ") for line in lines]
    height += 0.18 * sum(line.count("\n") + 1 for line in wrapped)
    figure, axis = plt.subplots(figsize=(width, height))
    image = axis.imshow(weights, cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto", interpolation="nearest")
    colour_bar = figure.colorbar(image, ax=axis, fraction=0.05, pad=0.03)
    colour_bar.set_label("attention weight", fontsize=8)
    colour_bar.ax.tick_params(labelsize=7)
    axis.set_xticks(range(len(source_tokens)), source_tokens, rotation=45, ha="right", rotation_mode="anchor")
    axis.set_yticks(range(len(target_tokens)), target_tokens)
    axis.tick_params(labelsize=8)
    axis.set_xlabel("source", fontsize=8)
    axis.set_ylabel("translation", fontsize=8)
    axis.set_title("\n".join(wrapped), fontsize=9, loc="left")
    figure.tight_layout()
    return figure


def plot_confusion_matrix(
    labels: Sequence[int],
    predicted: Sequence[int],
    class_names: Sequence[str],
    path: str | pathlib.Path,
    title: str = "",
) -> pathlib.Path:
    """A classifier's confusion matrix as a PNG (`confusion_matrix_figure`)."""
    figure = confusion_matrix_figure(labels, predicted, class_names, title)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return pathlib.Path(path)


def confusion_matrix_figure(
    labels: Sequence[int], predicted: Sequence[int], class_names: Sequence[str], title: str = ""
) -> matplotlib.figure.Figure:
    """A confusion matrix (scikit-learn's `ConfusionMatrixDisplay`): one row per true class, one column per
    predicted class, each cell the count of its examples, coloured by that count's share of its row (its
    class's recall on the diagonal), so a rare class's errors show as plainly as a common one's. Counts are
    written in the cells up to 20 classes.

    Args:
        labels: the true class ids, 0 to `len(class_names) - 1`.
        predicted: the predicted class ids, paired with `labels`.
        class_names: the classes in id order, the axes' tick labels.
        title: above the matrix.

    Returns:
        The figure, which the caller saves and closes.
    """
    import sklearn.metrics

    ids = np.arange(len(class_names))
    counts = sklearn.metrics.confusion_matrix(labels, predicted, labels=ids)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = max(4.0, 0.45 * len(class_names) + 2.5)
    figure, axis = plt.subplots(figsize=(size + 1.0, size))
    display = sklearn.metrics.ConfusionMatrixDisplay(shares, display_labels=list(class_names))
    display.plot(ax=axis, cmap="Blues", include_values=False, colorbar=True, im_kw={"vmin": 0.0, "vmax": 1.0})
    display.im_.colorbar.set_label("share of the true class", fontsize=8)
    if len(class_names) <= 20:
        for (row, column), count in np.ndenumerate(counts):
            colour = "white" if shares[row, column] > 0.5 else "black"
            axis.text(column, row, str(count), ha="center", va="center", color=colour, fontsize=8)
    axis.tick_params(axis="x", labelrotation=45)
    for label in axis.get_xticklabels():
        label.set_horizontalalignment("right")
    axis.set_title(title or f"{int(counts.sum())} examples", fontsize=9)
    figure.tight_layout()
    return figure


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
