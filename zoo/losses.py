"""Losses Keras lacks.

`SparseCategoricalCrossentropy` is Keras's loss of the same name with the one argument Keras only gives
its one-hot sibling: `label_smoothing`. Sequence models over large vocabularies (translation, captioning,
language models) take integer targets, and one-hot targets of a 4,000-piece vocabulary would cost a
4,000-wide float vector per token just to feed `keras.losses.CategoricalCrossentropy(label_smoothing=...)`.
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="zoo")
class SparseCategoricalCrossentropy(keras.losses.Loss):
    """Cross-entropy with integer targets, label smoothing and an ignored (padding) class.

    With smoothing `e` over `K` classes the target distribution is `(1 - e)` on the true class plus `e / K`
    on every class (Szegedy et al. 2016), so the loss per position is

        (1 - e) * -log p[y] + e * mean_k(-log p[k])

    exactly what `keras.losses.CategoricalCrossentropy(label_smoothing=e)` computes from one-hot targets.
    Positions whose target is `ignore_class` count for nothing, and the mean runs over the other positions
    only, as Keras's own `SparseCategoricalCrossentropy(ignore_class=...)` does.

    Args:
        from_logits: whether predictions are logits (else probabilities).
        label_smoothing: `e` in [0, 1); 0 is the plain cross-entropy.
        ignore_class: a target id that is padding, or None.
        name, reduction, dtype: as for any `keras.losses.Loss`.

    Example:

    >>> import numpy as np
    >>> from zoo.losses import SparseCategoricalCrossentropy
    >>> loss = SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1, ignore_class=0)
    >>> targets = np.array([[1, 2, 0]])  # the last position is padding
    >>> logits = np.array([[[0.0, 2.0, 0.0], [0.0, 0.0, 2.0], [9.0, 0.0, 0.0]]])
    >>> round(float(loss(targets, logits)), 4)  # 0.9 * 0.2395 + 0.1 * 1.5728 at both real positions
    0.3729

    References:
        Szegedy et al. (2016), Rethinking the Inception Architecture for Computer Vision (CVPR), section 7;
        Vaswani et al. (2017), Attention Is All You Need, section 5.4 (label smoothing 0.1 in translation).
    """

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        ignore_class: int | None = None,
        reduction: str = "sum_over_batch_size",
        name: str = "sparse_categorical_crossentropy",
        dtype=None,
    ):
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.ignore_class = ignore_class

    def call(self, y_true, y_pred):
        y_true = keras.ops.cast(y_true, "int32")
        if self.from_logits:
            log_probabilities = keras.ops.log_softmax(y_pred, axis=-1)
        else:
            y_pred = keras.ops.clip(y_pred, keras.config.epsilon(), 1.0 - keras.config.epsilon())
            log_probabilities = keras.ops.log(y_pred / keras.ops.sum(y_pred, axis=-1, keepdims=True))
        if len(y_true.shape) == len(y_pred.shape):  # (..., 1) targets, as Keras accepts
            y_true = keras.ops.squeeze(y_true, axis=-1)
        valid = None
        if self.ignore_class is not None:
            valid = keras.ops.not_equal(y_true, self.ignore_class)
            y_true = keras.ops.where(valid, y_true, 0)
        true_log_probability = keras.ops.take_along_axis(
            log_probabilities, keras.ops.expand_dims(y_true, -1), axis=-1
        )[..., 0]
        losses = -(1.0 - self.label_smoothing) * true_log_probability
        if self.label_smoothing:
            losses -= self.label_smoothing * keras.ops.mean(log_probabilities, axis=-1)
        if valid is None:
            return losses
        valid = keras.ops.cast(valid, losses.dtype)
        if self.reduction != "sum_over_batch_size":
            return losses * valid
        # Scaled so that the "sum over batch size" reduction divides by the number of valid positions
        # instead of all of them: the weights Keras gives a masked loss (`keras.losses.loss.apply_mask`).
        size = keras.ops.cast(keras.ops.size(valid), losses.dtype)
        return losses * valid * keras.ops.divide_no_nan(size, keras.ops.sum(valid))

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "ignore_class": self.ignore_class,
        }
