"""Sequence tasks whose answer depends on steps far apart: the adding problem, generated from a seed, and
scikit-learn's handwritten digits read as sequences of rows or of pixels."""

from __future__ import annotations

from typing import Literal

import numpy as np
import sklearn.datasets
import sklearn.model_selection


def adding_problem(count: int, length: int, seed: int | list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem (Hochreiter & Schmidhuber 1997, in the form of Le et al. 2015).

    Each step is a pair (value in U[0, 1], marker); exactly two markers are 1, the first in the first
    half of the sequence, the second in the second half, and the target is the sum of the two marked
    values. Always answering 1.0, the mean target, scores an MSE of 1/6.

    Args:
        count: number of sequences.
        length: steps per sequence, at least 2.
        seed: seed of `numpy.random.default_rng`; the same seed gives the same sequences.

    Returns:
        `(sequences, targets)`: float32 arrays of shape `(count, length, 2)` and `(count, 1)`.
    """
    rng = np.random.default_rng(seed)
    values = rng.uniform(size=(count, length)).astype("float32")
    half = length // 2
    first, second = rng.integers(0, half, count), rng.integers(half, length, count)
    rows = np.arange(count)
    markers = np.zeros((count, length), "float32")
    markers[rows, first] = markers[rows, second] = 1.0
    targets = values[rows, first] + values[rows, second]
    return np.stack([values, markers], axis=-1), targets[:, None]


def digit_sequences(steps: Literal["rows", "pixels"], seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """scikit-learn's 1,797 8x8 handwritten digits as sequences, split 60/15/25 into train, validation and
    test, stratified by class.

    Args:
        steps: "rows": 8 steps of 8 pixels, `(8, 8)` per image; "pixels": 64 steps of one pixel,
            `(64, 1)`, pixel-by-pixel MNIST at a small scale (Le et al. 2015).
        seed: the split's random state.

    Returns:
        `{"train": (sequences, labels), "validation": ..., "test": ...}`: float32 pixels in [0, 1] and
        integer labels 0-9.
    """
    digits = sklearn.datasets.load_digits()
    images = (digits.images / 16.0).astype("float32")
    sequences = images.reshape(-1, 8, 8) if steps == "rows" else images.reshape(-1, 64, 1)
    split = sklearn.model_selection.train_test_split
    x, x_test, y, y_test = split(
        sequences, digits.target, test_size=0.25, random_state=seed, stratify=digits.target
    )
    x_train, x_val, y_train, y_val = split(x, y, test_size=0.2, random_state=seed, stratify=y)
    return {"train": (x_train, y_train), "validation": (x_val, y_val), "test": (x_test, y_test)}
