"""An LSTM that attends over a set of feature vectors before every step: Show, Attend and Tell's decoder."""

from __future__ import annotations

import keras
from keras import ops

from zoo.layers.attention import BahdanauAttention, check_sequence_shapes


@keras.saving.register_keras_serializable(package="zoo")
class AttentionLSTM(keras.layers.Layer):
    """LSTM whose every step reads a soft-attention context of a set of annotation vectors (Xu et al. 2015).

    A caption decoder looks at a different part of the image for every word. Before step `t` the
    previous hidden state `h[t-1]` scores every annotation vector (a cell of a CNN's feature grid) with
    additive attention (`zoo.layers.BahdanauAttention`), the softmax-weighted sum is the context `z[t]`,
    and the LSTM reads the step's input beside it:

        z[t], alpha[t] = attention(h[t-1], annotations)
        z[t] = sigmoid(w . h[t-1] + b) * z[t]            (the paper's gate beta, if `gate`)
        h[t], c[t] = LSTMCell([inputs[t]; z[t]], (h[t-1], c[t-1]))
        outputs[t] = [h[t]; z[t]]

    The attention sits inside the recurrence (the state that chooses where to look has read what was seen
    before), unlike the translation recipe's Luong-style attention after the RNN. The steps run one by one
    with `keras.ops.scan`; the step itself is Keras's `LSTMCell`, and the attention is
    `zoo.layers.BahdanauAttention`'s projections and Keras scoring (the keys projected once per
    sequence). The paper's "deep output", `p(y[t]) ~ exp(L_o(E y[t-1] + L_h h[t] + L_z z[t]))`, is left
    to the model: a `Dense` over `outputs` and the input embedding.

    To decode one token at a time, call it on one step `(batch, 1, d)` with the previous state as
    `initial_state` and `return_state=True`: the numbers are those of the same step in a longer call.
    Padding after the end of a sequence is not masked: steps there compute values the loss ignores, and
    the states returned are those after the last step of the input.

    Args:
        units: LSTM units. Must be >= 1.
        attention_units: hidden size of the attention's scoring network; defaults to `units`.
        gate: scale the context by a learned gate of the previous state (the paper's beta, which "made the
            attention weights put more emphasis on the objects"). Defaults to True.
        return_state: also return the final hidden and cell states. Defaults to False.
        **kwargs: standard `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: float `(batch, T, d)`, e.g. the embeddings of the previous words.
        annotations: float `(batch, L, D)`, e.g. a CNN's feature grid with its cells flattened.
        initial_state: optional `[h, c]`, each `(batch, units)`; zeros by default.
        training: passed to the cell.

    Returns:
        `(outputs, weights)`: outputs `(batch, T, units + D)`, `[h[t]; z[t]]`, and the attention weights
        `(batch, T, L)`, each row summing to 1. With `return_state`, `(outputs, weights, h, c)`.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> import zoo.layers
    >>> grid = keras.Input((12, 32))  # a 3x4 feature grid, 32 channels
    >>> words = keras.Input((None,), dtype="int32")
    >>> embedded = keras.layers.Embedding(100, 16)(words)
    >>> outputs, weights = zoo.layers.AttentionLSTM(24)(embedded, grid)
    >>> logits = keras.layers.Dense(100)(outputs)
    >>> model = keras.Model([words, grid], [logits, weights])
    >>> logits, weights = model([np.array([[2, 7, 9]]), np.ones((1, 12, 32), "float32")])
    >>> tuple(logits.shape), tuple(weights.shape), round(float(keras.ops.sum(weights[0, 1])), 4)
    ((1, 3, 100), (1, 3, 12), 1.0)

    References:
        Xu, Ba, Kiros, Cho, Courville, Salakhutdinov, Zemel, Bengio. Show, Attend and Tell: Neural Image
        Caption Generation with Visual Attention. ICML 2015.
    """

    def __init__(
        self,
        units: int,
        attention_units: int | None = None,
        gate: bool = True,
        return_state: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(units, int) or units < 1:
            raise ValueError(f"AttentionLSTM needs an integer units >= 1, got {units!r}")
        if attention_units is not None and (not isinstance(attention_units, int) or attention_units < 1):
            raise ValueError(f"attention_units must be an integer >= 1 or None, got {attention_units!r}")
        self.units = units
        self.attention_units = attention_units
        self.gate = gate
        self.return_state = return_state
        self.cell = keras.layers.LSTMCell(units, dtype=self.dtype_policy, name="cell")
        self.attention = BahdanauAttention(
            attention_units or units, dtype=self.dtype_policy, name="attention"
        )
        self.gate_layer = (
            keras.layers.Dense(1, activation="sigmoid", dtype=self.dtype_policy, name="gate")
            if gate
            else None
        )

    def build(self, inputs_shape, annotations_shape):
        check_sequence_shapes("AttentionLSTM", ("inputs", "(batch, T, d)", inputs_shape),
                              ("annotations", "(batch, L, D)", annotations_shape))  # fmt: skip
        batch = inputs_shape[0]
        self.attention.build((batch, 1, self.units), annotations_shape)
        if self.gate_layer is not None:
            self.gate_layer.build((batch, self.units))
        self.cell.build((batch, inputs_shape[-1] + annotations_shape[-1]))

    def call(self, inputs, annotations, initial_state=None, training=None):
        batch = ops.shape(inputs)[0]
        if initial_state is None:
            initial_state = [ops.zeros((batch, self.units), dtype=inputs.dtype)] * 2
        hidden, memory = initial_state
        context = ops.zeros((batch, ops.shape(annotations)[2]), dtype=inputs.dtype)
        weights = ops.zeros((batch, ops.shape(annotations)[1]), dtype=inputs.dtype)

        # BahdanauAttention's parts, called directly so the keys W_k annotations are projected once per
        # sequence, not at every step (the one large product of a step).
        keys = self.attention.key_projection(annotations)

        def step(carry, step_inputs):
            hidden, memory, _, _ = carry
            query = self.attention.query_projection(hidden[:, None, :])
            context, weights = self.attention.attention(
                [query, annotations, keys], return_attention_scores=True, training=training
            )
            context, weights = context[:, 0], weights[:, 0]
            if self.gate_layer is not None:
                context = self.gate_layer(hidden) * context
            _, (hidden, memory) = self.cell(
                ops.concatenate([step_inputs, context], axis=-1), [hidden, memory], training=training
            )
            # keras.ops.scan stacks what a step returns and needs it shaped like the carry: so the carry
            # holds the step's context and weights too.
            carry = (hidden, memory, context, weights)
            return carry, carry

        _, (hiddens, memories, contexts, weights) = ops.scan(
            step, (hidden, memory, context, weights), ops.moveaxis(inputs, 1, 0)
        )
        outputs = ops.moveaxis(ops.concatenate([hiddens, contexts], axis=-1), 0, 1)
        weights = ops.moveaxis(weights, 0, 1)
        if self.return_state:
            return outputs, weights, hiddens[-1], memories[-1]
        return outputs, weights

    def compute_output_shape(self, inputs_shape, annotations_shape, initial_state_shape=None):
        batch, steps = inputs_shape[0], inputs_shape[1]
        shapes = ((batch, steps, self.units + annotations_shape[-1]), (batch, steps, annotations_shape[1]))
        if self.return_state:
            return (*shapes, (batch, self.units), (batch, self.units))
        return shapes

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "attention_units": self.attention_units,
            "gate": self.gate,
            "return_state": self.return_state,
        }
