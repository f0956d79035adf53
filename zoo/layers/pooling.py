"""Pooling over time that respects the padding mask."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class MaskedGlobalMaxPooling1D(keras.layers.Layer):
    """Maximum over the time axis of the steps the mask keeps.

    `keras.layers.GlobalMaxPooling1D` drops the mask, so over a padded batch the zeros a masked RNN emits at
    padded steps take part in the maximum: a feature that is negative at every real step comes out as 0,
    and the same sentence pools differently depending on how long its batch-mates are. This layer takes
    the maximum over unmasked steps only; a row with no unmasked step gives zeros. Without a mask it equals
    `keras.layers.GlobalMaxPooling1D`. See `MaskedGlobalAveragePooling1D` for the mean.

    Args:
        **kwargs: standard `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `(batch, time, features)` tensor.
        mask: optional boolean `(batch, time)` tensor, usually propagated from
            `keras.layers.Embedding(mask_zero=True)` through the RNN.

    Output shape: `(batch, features)`; no mask is propagated.

    Example:

    >>> import keras
    >>> import zoo.layers
    >>> inputs = keras.ops.convert_to_tensor([[[1.0, -2.0], [-3.0, -1.0], [0.0, 0.0]]])
    >>> mask = keras.ops.convert_to_tensor([[True, True, False]])
    >>> pooled = zoo.layers.MaskedGlobalMaxPooling1D()(inputs, mask=mask)
    >>> keras.ops.convert_to_numpy(pooled).tolist()  # not [[1.0, 0.0]]: the padded zeros lose
    [[1.0, -1.0]]
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        # initial=-inf: an empty batch pools to an empty batch (keras.ops.max refuses empty tensors).
        if mask is None:
            return ops.max(inputs, axis=1, initial=float("-inf"))
        keep = ops.expand_dims(ops.cast(mask, "bool"), axis=-1)
        pooled = ops.max(ops.where(keep, inputs, float("-inf")), axis=1, initial=float("-inf"))
        return ops.where(ops.any(keep, axis=1), pooled, ops.zeros_like(pooled))

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])


@keras.saving.register_keras_serializable(package="zoo")
class MaskedGlobalAveragePooling1D(keras.layers.Layer):
    """Mean over the time axis of the steps the mask keeps; zeros for a row with none.

    `keras.layers.GlobalAveragePooling1D` honours masks but divides by the number of kept steps, so a row
    with no kept step (an empty review, or one that is only `<br />`) becomes NaN and so does the model's
    prediction. This layer returns zeros for such rows. Otherwise it equals the Keras layer.

    Args:
        **kwargs: standard `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `(batch, time, features)` tensor.
        mask: optional boolean `(batch, time)` tensor.

    Output shape: `(batch, features)`; no mask is propagated.

    Example:

    >>> import keras
    >>> import zoo.layers
    >>> inputs = keras.ops.ones((2, 3, 4))
    >>> mask = keras.ops.convert_to_tensor([[True, True, False], [False, False, False]])
    >>> pooled = zoo.layers.MaskedGlobalAveragePooling1D()(inputs, mask=mask)
    >>> keras.ops.convert_to_numpy(pooled).tolist()  # a row with no valid step pools to zeros
    [[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]]
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.mean(inputs, axis=1)
        weights = ops.expand_dims(ops.cast(mask, inputs.dtype), axis=-1)
        total = ops.sum(inputs * weights, axis=1)
        return total / ops.maximum(ops.sum(weights, axis=1), 1.0)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])
