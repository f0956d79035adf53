"""How much of the loss's gradient reaches each step of a recurrence: the measure of vanishing gradients.

`hidden_state_gradient_norms(cell, inputs, loss_fn)` runs a trained (or fresh) RNN cell over a batch and
returns `||dL/dh[t]||` for every step t: the total derivative of the loss with respect to the hidden
state at step t, through every later step, not only the direct path from `h[t]` to the output. For a
many-to-one model whose loss reads only the last state, `||dL/dh[1]|| / ||dL/dh[T]||` says how much of
the error signal survives the trip back to the first step: about 1 when the cell can learn a dependency
spanning the whole sequence, many orders of magnitude below 1 when the gradient vanishes.

How: a wrapper cell adds a perturbation `e[t]`, all zeros, to the new state after every step,
`h[t] <- h[t] + e[t]`, and the next step reads the perturbed state. The values do not change, but
`dL/de[t] = dL/dh[t]`, the whole derivative, which `tf.GradientTape` gives for all t in one backward
pass (an intermediate tensor inside `keras.layers.RNN`'s while loop cannot be asked for directly).
TensorFlow only: the tape is TensorFlow's.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf


class _PerturbedStateCell(keras.layers.Layer):
    """Wraps a cell whose output is its first state `h` (SimpleRNN, LSTM, GRU, Keras's or zoo's). Each
    step reads `[x[t]; e[t]]` and passes on `h[t] + e[t]` as both the output and the first state."""

    def __init__(self, cell: keras.layers.Layer, input_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.cell = cell
        self.input_dim = input_dim
        self.state_size = cell.state_size
        self.output_size = cell.output_size

    def build(self, input_shape):
        if not self.cell.built:
            self.cell.build((input_shape[0], self.input_dim))

    def call(self, inputs, states, training=None):
        step_inputs, perturbation = inputs[:, : self.input_dim], inputs[:, self.input_dim :]
        output, new_states = self.cell(step_inputs, states, training=training)
        new_states = list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]
        if output is not new_states[0]:
            raise ValueError(
                f"hidden_state_gradient_norms needs a cell whose output is its first state h, as in "
                f"SimpleRNN, LSTM and GRU cells; {type(self.cell).__name__} returns something else"
            )
        hidden = new_states[0] + perturbation
        return hidden, [hidden, *new_states[1:]]


def hidden_state_gradient_norms(
    cell: keras.layers.Layer,
    inputs,
    loss_fn: Callable[[tf.Tensor], tf.Tensor],
    mask=None,
) -> np.ndarray:
    """`||dL/dh[t]||` for t = 1..T: the total derivative of the loss with respect to the state at each step.

    Args:
        cell: an RNN cell whose output is its first state, e.g. `keras.layers.LSTMCell` or
            `zoo.layers.GRUCell`; a trained one is `model.get_layer(...).cell` of a `keras.layers.LSTM`
            or `keras.layers.RNN`. Built or not; its weights are used as they are.
        inputs: float `(batch, T, input_dim)`.
        loss_fn: maps the cell's outputs `(batch, T, units)` to a scalar loss, e.g. for a many-to-one
            model `lambda outputs: keras.losses.MeanSquaredError()(targets, head(outputs[:, -1]))`.
        mask: optional boolean `(batch, T)`, True at real steps. A masked step keeps the previous state,
            so its perturbation is dropped and its gradient is 0.

    Returns:
        float64 `(T,)`: at step t, the Frobenius norm over the batch and the units of `dL/dh[t]`.

    Example: a linear recurrence `h[t] = w h[t-1] + x[t]` with loss `h[T]` has `dL/dh[t] = w^(T-t)`.

    >>> import keras
    >>> import numpy as np
    >>> import zoo.gradients
    >>> import zoo.layers
    >>> cell = zoo.layers.SimpleRNNCell(1, activation=None, use_bias=False)
    >>> cell.build((1, 1))
    >>> cell.set_weights([np.ones((1, 1)), np.full((1, 1), 0.5)])
    >>> norms = zoo.gradients.hidden_state_gradient_norms(
    ...     cell, np.ones((1, 4, 1), "float32"), lambda outputs: keras.ops.sum(outputs[:, -1])
    ... )
    >>> norms.round(4).tolist()
    [0.125, 0.25, 0.5, 1.0]
    """
    inputs = tf.convert_to_tensor(inputs, dtype=tf.float32)
    if inputs.shape.rank != 3 or inputs.shape[-1] is None:
        raise ValueError(f"inputs must be (batch, T, input_dim) with input_dim known, got {inputs.shape}")
    state_size = cell.state_size
    units = state_size[0] if isinstance(state_size, (list, tuple)) else state_size
    rnn = keras.layers.RNN(_PerturbedStateCell(cell, inputs.shape[-1]), return_sequences=True)
    perturbation = tf.zeros((*inputs.shape[:2], units), dtype=inputs.dtype)
    mask = None if mask is None else tf.convert_to_tensor(mask, dtype=tf.bool)
    # Traced (the RNN's while loop runs 1.5-5x faster than eagerly). A partial, not a closure: TensorFlow
    # counts the traces of every closure of one function together and warns of "retracing" from the
    # fifth call, when each call here is meant to trace its own cell once.
    gradients = tf.function(functools.partial(_perturbation_gradients, rnn, loss_fn))
    gradient = gradients(inputs, perturbation, mask).numpy().astype(np.float64)
    return np.sqrt((gradient**2).sum(axis=(0, 2)))


def _perturbation_gradients(rnn, loss_fn, inputs, perturbation, mask):
    with tf.GradientTape() as tape:
        tape.watch(perturbation)
        outputs = rnn(tf.concat([inputs, perturbation], axis=-1), mask=mask)
        loss = loss_fn(outputs)
    return tape.gradient(loss, perturbation)
