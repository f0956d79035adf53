"""Encoder-decoder attention for RNN seq2seq models: Bahdanau (additive) and Luong (multiplicative).

Both layers wrap a Keras built-in that does the scoring, the masked softmax and the weighted sum
(`keras.layers.AdditiveAttention`, `keras.layers.Attention`); the wrappers add the learned projections
of the papers, a `call(query, value, query_mask, value_mask)` signature that picks up Keras's implicit
masks, the attention weights as a second output, and rows of weights that are exactly 0 on padding
even when a whole source sentence is padding.
"""

from __future__ import annotations

import keras
from keras import ops


def check_sequence_shapes(owner: str, *inputs: tuple[str, str, tuple]) -> None:
    """Raise a `ValueError` naming `owner` unless every input is 3-D with its last dimension known.

    Each input is `(name, expected layout, shape)`, e.g. `("query", "(batch, Tq, dq)", (2, 4, 6))`."""
    names = " and ".join(name for name, _, _ in inputs)
    shapes = " and ".join(str(tuple(shape)) for _, _, shape in inputs)
    if any(len(shape) != 3 for _, _, shape in inputs):
        layouts = " and ".join(f"{name} {layout}" for name, layout, _ in inputs)
        raise ValueError(f"{owner} needs {layouts}, got shapes {shapes}")
    if any(shape[-1] is None for _, _, shape in inputs):
        raise ValueError(f"{owner} needs the last dimension of {names} known, got shapes {shapes}")


class _EncoderDecoderAttention(keras.layers.Layer):
    """What both attentions share: masks, the call into the Keras layer, the padding guarantees, shapes.

    Subclasses set `self.attention` (a `keras.layers.Attention` or `AdditiveAttention`) and implement
    `_project(query, value) -> (query, key)`.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # The context keeps the query's Keras mask (as keras.layers.Attention and MultiHeadAttention do),
        # so a decoder's padding mask reaches the loss through Dense/Concatenate layers after this one.
        self.supports_masking = True

    def _check_shapes(self, query_shape, value_shape):
        check_sequence_shapes(type(self).__name__, ("query", "(batch, Tq, dq)", query_shape),
                              ("value", "(batch, Tv, dv)", value_shape))  # fmt: skip

    def _project(self, query, value):
        raise NotImplementedError

    def call(self, query, value, query_mask=None, value_mask=None, training=None):
        projected_query, key = self._project(query, value)
        # The masks go in as an explicit list, even [None, None]: with `mask=None` Keras would fill it in
        # from whatever `_keras_mask` the projected tensors happen to carry.
        masks = [
            None if query_mask is None else ops.cast(query_mask, "bool"),
            None if value_mask is None else ops.cast(value_mask, "bool"),
        ]
        context, weights = self.attention(
            [projected_query, value, key], mask=masks, training=training, return_attention_scores=True
        )
        if masks[1] is not None:
            # Keras masks by subtracting 1e9 from the scores, which leaves padded weights at exactly 0 as
            # long as a row has one real value; a row of padding only would get uniform weights over the
            # padding. Make those rows 0 too: no weight on padding, ever, and a zero context.
            value_mask = masks[1][:, None, :]
            weights = ops.where(value_mask, weights, ops.zeros_like(weights))
            context = ops.where(ops.any(value_mask, axis=-1, keepdims=True), context, ops.zeros_like(context))
        return context, weights

    def compute_mask(self, query, previous_mask=None):
        # Keras passes the first input and its mask; the weights (batch, Tq, Tv) carry none.
        return previous_mask, None

    def compute_output_shape(self, query_shape, value_shape):
        context_shape = (query_shape[0], query_shape[1], value_shape[-1])
        weights_shape = (query_shape[0], query_shape[1], value_shape[1])
        return context_shape, weights_shape


@keras.saving.register_keras_serializable(package="zoo")
class BahdanauAttention(_EncoderDecoderAttention):
    """Additive attention (Bahdanau et al. 2015): `score(q, k) = v^T tanh(W_q q + W_k k)`.

    For every query step (a decoder state) it scores every value step (an encoder output), turns the
    scores into weights with a softmax over the unmasked value steps, and returns their weighted sum, the
    context, along with the weights:

        weights[b, i, j] = softmax_j(v^T tanh(W_q query[b, i] + W_k value[b, j]))   over unmasked j
        context[b, i] = sum_j weights[b, i, j] * value[b, j]

    `W_q`, `W_k` are `Dense(units, use_bias=False)` projections (`query_projection`, `key_projection`);
    the values are summed unprojected, so the context has the encoder's width. The work is done by
    `keras.layers.AdditiveAttention` (its learned `scale` vector is `v`), called on
    `[W_q query, value, W_k value]`. The wrapper adds the two projections, returns the weights by
    default, names its parts and keeps the masking guarantees below.

    The query may be a whole decoder sequence (teacher forcing) or a single step `(batch, 1, dq)` at
    inference: each query row is computed independently, so both give the same numbers. The scores pass
    through a `(batch, Tq, Tv, units)` tensor, so memory grows with `Tq * Tv * units`.

    **Masking.** `value_mask` (True at real encoder steps) is honoured whether passed explicitly or
    carried by `value` from an `Embedding(mask_zero=True)` through RNN layers: Keras fills `query_mask`
    and `value_mask` from the inputs' masks when they are not given. Weights are exactly 0 at masked
    value steps and sum to 1 over the others; a row with no real value step has all-zero weights and a
    zero context. At masked query steps the context is 0 (the weights there are still a softmax). The
    context carries the query's Keras mask downstream; the weights carry none.

    Args:
        units: width of the projected query and key, the hidden size of the scoring network. Must be >= 1.
        **kwargs: standard `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        query: float `(batch, Tq, dq)`, the decoder outputs (or one step of them).
        value: float `(batch, Tv, dv)`, the encoder outputs; also the keys.
        query_mask: optional boolean `(batch, Tq)`, True at real query steps.
        value_mask: optional boolean `(batch, Tv)`, True at real value steps.
        training: unused (no dropout); accepted for the Keras call convention.

    Returns:
        `(context, weights)`: context `(batch, Tq, dv)`, weights `(batch, Tq, Tv)`.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> import zoo.layers
    >>> source = keras.Input((None,), dtype="int32")
    >>> target = keras.Input((None,), dtype="int32")
    >>> encoded = keras.layers.Embedding(100, 8, mask_zero=True)(source)
    >>> encoded, state = keras.layers.GRU(16, return_sequences=True, return_state=True)(encoded)
    >>> decoded = keras.layers.Embedding(100, 8, mask_zero=True)(target)
    >>> decoded = keras.layers.GRU(16, return_sequences=True)(decoded, initial_state=state)
    >>> context, weights = zoo.layers.BahdanauAttention(units=12)(decoded, encoded)
    >>> logits = keras.layers.Dense(100)(keras.layers.Concatenate()([decoded, context]))
    >>> model = keras.Model([source, target], [logits, weights])
    >>> logits, weights = model([np.array([[5, 6, 7, 0]]), np.array([[1, 9, 0]])])
    >>> tuple(weights.shape), float(weights[0, 0, 3])  # (batch, Tq, Tv); no weight on source padding
    ((1, 3, 4), 0.0)

    References:
        Bahdanau, Cho, Bengio. Neural Machine Translation by Jointly Learning to Align and Translate.
        ICLR 2015.
    """

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, int) or units < 1:
            raise ValueError(f"BahdanauAttention needs an integer units >= 1, got {units!r}")
        self.units = units
        self.query_projection = keras.layers.Dense(
            units, use_bias=False, dtype=self.dtype_policy, name="query_projection"
        )
        self.key_projection = keras.layers.Dense(
            units, use_bias=False, dtype=self.dtype_policy, name="key_projection"
        )
        self.attention = keras.layers.AdditiveAttention(dtype=self.dtype_policy, name="additive_attention")

    def build(self, query_shape, value_shape):
        self._check_shapes(query_shape, value_shape)
        self.query_projection.build(query_shape)
        self.key_projection.build(value_shape)
        projected_query = (*query_shape[:-1], self.units)
        projected_key = (*value_shape[:-1], self.units)
        self.attention.build([projected_query, value_shape, projected_key])

    def _project(self, query, value):
        return self.query_projection(query), self.key_projection(value)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="zoo")
class LuongAttention(_EncoderDecoderAttention):
    """Multiplicative attention (Luong et al. 2015): `score(q, k) = q . k` ("dot") or `q . W k` ("general").

    For every query step (a decoder state) it scores every value step (an encoder output), turns the
    scores into weights with a softmax over the unmasked value steps, and returns their weighted sum, the
    context, along with the weights:

        weights[b, i, j] = softmax_j(score(query[b, i], value[b, j]))   over unmasked j
        context[b, i] = sum_j weights[b, i, j] * value[b, j]

    "dot" has no weights and needs `dq == dv`. "general" learns `W`, a `Dense(dq, use_bias=False)`
    (`key_projection`) on the values, made in `build` once `dq` is known; the context is still the sum of
    the unprojected values. The work is done by `keras.layers.Attention(score_mode="dot")`, unscaled,
    called on `[query, value, key]` with `key = value` or `W value`. The wrapper adds the "general"
    projection, returns the weights by default, names its parts and keeps the masking guarantees below.
    Luong's attentional hidden state `tanh(W_c [context; query])` is left to the model (a `Concatenate`
    and a `Dense`), as is the input feeding of the previous one.

    The query may be a whole decoder sequence (teacher forcing) or a single step `(batch, 1, dq)` at
    inference: each query row is computed independently, so both give the same numbers.

    **Masking.** `value_mask` (True at real encoder steps) is honoured whether passed explicitly or
    carried by `value` from an `Embedding(mask_zero=True)` through RNN layers: Keras fills `query_mask`
    and `value_mask` from the inputs' masks when they are not given. Weights are exactly 0 at masked
    value steps and sum to 1 over the others; a row with no real value step has all-zero weights and a
    zero context. At masked query steps the context is 0 (the weights there are still a softmax). The
    context carries the query's Keras mask downstream; the weights carry none.

    Args:
        score: "dot" (default) or "general".
        **kwargs: standard `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        query: float `(batch, Tq, dq)`, the decoder outputs (or one step of them).
        value: float `(batch, Tv, dv)`, the encoder outputs; also the keys.
        query_mask: optional boolean `(batch, Tq)`, True at real query steps.
        value_mask: optional boolean `(batch, Tv)`, True at real value steps.
        training: unused (no dropout); accepted for the Keras call convention.

    Returns:
        `(context, weights)`: context `(batch, Tq, dv)`, weights `(batch, Tq, Tv)`.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> import zoo.layers
    >>> source = keras.Input((None,), dtype="int32")
    >>> target = keras.Input((None,), dtype="int32")
    >>> encoded = keras.layers.Embedding(100, 8, mask_zero=True)(source)
    >>> encoded, state = keras.layers.GRU(16, return_sequences=True, return_state=True)(encoded)
    >>> decoded = keras.layers.Embedding(100, 8, mask_zero=True)(target)
    >>> decoded = keras.layers.GRU(16, return_sequences=True)(decoded, initial_state=state)
    >>> context, weights = zoo.layers.LuongAttention(score="general")(decoded, encoded)
    >>> attentional = keras.layers.Concatenate()([context, decoded])
    >>> attentional = keras.layers.Dense(16, activation="tanh")(attentional)  # Luong's h~_t
    >>> model = keras.Model([source, target], [keras.layers.Dense(100)(attentional), weights])
    >>> logits, weights = model([np.array([[5, 6, 7, 0]]), np.array([[1, 9, 0]])])
    >>> tuple(weights.shape), float(weights[0, 0, 3])  # (batch, Tq, Tv); no weight on source padding
    ((1, 3, 4), 0.0)

    References:
        Luong, Pham, Manning. Effective Approaches to Attention-based Neural Machine Translation.
        EMNLP 2015.
    """

    SCORES = ("dot", "general")

    def __init__(self, score: str = "dot", **kwargs):
        super().__init__(**kwargs)
        if score not in self.SCORES:
            raise ValueError(f"LuongAttention score must be one of {self.SCORES}, got {score!r}")
        self.score = score
        self.key_projection = None  # "general" only; its width is the query's, known in build
        self.attention = keras.layers.Attention(
            score_mode="dot", dtype=self.dtype_policy, name="dot_product_attention"
        )

    def build(self, query_shape, value_shape):
        self._check_shapes(query_shape, value_shape)
        if self.score == "dot" and query_shape[-1] != value_shape[-1]:
            raise ValueError(
                f'LuongAttention(score="dot") needs query and value of the same width, got shapes '
                f'{tuple(query_shape)} and {tuple(value_shape)}; use score="general" to learn a map'
            )
        key_shape = value_shape
        if self.score == "general":
            self.key_projection = keras.layers.Dense(
                query_shape[-1], use_bias=False, dtype=self.dtype_policy, name="key_projection"
            )
            self.key_projection.build(value_shape)
            key_shape = (*value_shape[:-1], query_shape[-1])
        self.attention.build([query_shape, value_shape, key_shape])

    def _project(self, query, value):
        return query, value if self.key_projection is None else self.key_projection(value)

    def get_config(self):
        return {**super().get_config(), "score": self.score}
