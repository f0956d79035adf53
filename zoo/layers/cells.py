"""Recurrent cells written from their equations: Elman's simple RNN, the LSTM and the GRU.

Each is one step of a recurrence, `cell(x[t], states[t-1]) -> (output[t], states[t])`, to be run over a
sequence by `keras.layers.RNN`, which also handles masks (a masked step keeps the previous states),
`go_backwards`, `return_state` and `initial_state`. The weights are laid out like those of Keras's
built-in cells (`keras.layers.SimpleRNNCell`, `LSTMCell`, `GRUCell`): same names, shapes, gate order
and weight order, so `cell.set_weights(keras_cell.get_weights())` gives the same numbers, and a model
trained with the fast `keras.layers.LSTM` can be read step by step with these.

They exist to be read and taken apart (the recipe `recipes.cells` measures the gradients that flow
back through them); to train, Keras's layers are as fast on CPU and also offer dropout and cuDNN.
"""

from __future__ import annotations

import keras
from keras import ops


class _RecurrentCell(keras.layers.Layer):
    """What the three cells share: arguments, initial state, config. Subclasses set `state_size`."""

    def __init__(
        self,
        units: int,
        activation: str | None = "tanh",
        use_bias: bool = True,
        kernel_initializer: str | dict = "glorot_uniform",
        recurrent_initializer: str | dict = "orthogonal",
        bias_initializer: str | dict = "zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units < 1:
            raise ValueError(f"{type(self).__name__} needs an integer units >= 1, got {units!r}")
        self.units = units
        self.activation = keras.activations.get(activation)  # None -> linear, as in Keras
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.output_size = units

    def _add_kernels(self, input_shape, gates: int) -> None:
        """`kernel` (input_dim, gates * units) and `recurrent_kernel` (units, gates * units), in that
        order: the order Keras's cells create them in, so `get_weights` lists line up."""
        if input_shape[-1] is None:
            raise ValueError(f"{type(self).__name__} needs the input width known, got shape {input_shape}")
        self.kernel = self.add_weight(
            shape=(input_shape[-1], gates * self.units), initializer=self.kernel_initializer, name="kernel"
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, gates * self.units),
            initializer=self.recurrent_initializer,
            name="recurrent_kernel",
        )

    def get_initial_state(self, batch_size=None) -> list:
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        return [ops.zeros((batch_size, size), dtype=self.compute_dtype) for size in sizes]

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }


@keras.saving.register_keras_serializable(package="zoo")
class SimpleRNNCell(_RecurrentCell):
    """Elman's simple recurrent cell: the new state is a squashed mix of the input and the old state.

        h[t] = tanh(x[t] W + h[t-1] U + b)
        output[t] = h[t]

    The same `U` multiplies the state at every step, so the gradient that reaches `h[t-k]` from a loss
    at step `t` is a product of `k` Jacobians `diag(tanh'(.)) U^T`: it shrinks (or grows) geometrically
    with `k`, which is why this cell rarely learns dependencies more than 10-20 steps long (Bengio,
    Simard and Frasconi 1994; measured in `recipes.cells`).

    Weights, as `keras.layers.SimpleRNNCell`: `kernel` W `(input_dim, units)`, `recurrent_kernel`
    U `(units, units)`, `bias` b `(units,)`.

    Args:
        units: size of the state h. Must be >= 1.
        activation: the squashing function; "tanh" by default, None for a linear recurrence.
        use_bias: whether to add b. Defaults to True.
        kernel_initializer: initializer of W. Defaults to "glorot_uniform".
        recurrent_initializer: initializer of U. Defaults to "orthogonal".
        bias_initializer: initializer of b. Defaults to "zeros".
        **kwargs: standard `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: float `(batch, input_dim)`, one time step.
        states: `[h]`, the previous state `(batch, units)`.
        training: unused (no dropout); accepted for the Keras call convention.

    Returns:
        `(h, [h])`: the output and the new state, both `(batch, units)`.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> import zoo.layers
    >>> rnn = keras.layers.RNN(zoo.layers.SimpleRNNCell(16), return_sequences=True, return_state=True)
    >>> outputs, h = rnn(np.ones((2, 7, 5), "float32"))
    >>> tuple(outputs.shape), tuple(h.shape)
    ((2, 7, 16), (2, 16))

    References:
        Elman. Finding Structure in Time. Cognitive Science 14(2), 1990.
    """

    def __init__(self, units: int, activation: str | None = "tanh", **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        self.state_size = units

    def build(self, input_shape):
        self._add_kernels(input_shape, gates=1)
        self.bias = (
            self.add_weight(shape=(self.units,), initializer=self.bias_initializer, name="bias")
            if self.use_bias
            else None
        )

    def call(self, inputs, states, training=None):
        previous = states[0] if isinstance(states, (list, tuple)) else states
        preactivation = ops.matmul(inputs, self.kernel) + ops.matmul(previous, self.recurrent_kernel)
        if self.bias is not None:
            preactivation = preactivation + self.bias
        hidden = self.activation(preactivation)
        return hidden, [hidden]


@keras.saving.register_keras_serializable(package="zoo")
class LSTMCell(_RecurrentCell):
    """Long short-term memory: a memory cell c that gates decide to keep, write and show.

        i[t] = sigmoid(x[t] W_i + h[t-1] U_i + b_i)        input gate: how much of g to write
        f[t] = sigmoid(x[t] W_f + h[t-1] U_f + b_f)        forget gate: how much of c to keep
        g[t] = tanh(x[t] W_g + h[t-1] U_g + b_g)           candidate values
        o[t] = sigmoid(x[t] W_o + h[t-1] U_o + b_o)        output gate: how much of c to show
        c[t] = f[t] * c[t-1] + i[t] * g[t]
        h[t] = o[t] * tanh(c[t])
        output[t] = h[t]

    The memory is updated by addition, not by a matrix product: along the path `c[t-1] -> c[t]` the
    gradient is multiplied only by `f[t]`, so with the forget gate open (near 1) an error signal crosses
    hundreds of steps without vanishing, the "constant error carousel" of Hochreiter and Schmidhuber.
    The forget gate itself is Gers et al.'s addition. A fresh cell's gates sit near 0.5, so at first its
    memory (and the gradient along it) still fades step by step; `unit_forget_bias` starts `b_f` at 1
    (f near 0.73) so that it fades more slowly until training learns where to hold it open (Jozefowicz et
    al. 2015).

    Weights, as `keras.layers.LSTMCell`: `kernel` `(input_dim, 4 * units)` = `[W_i W_f W_g W_o]`,
    `recurrent_kernel` `(units, 4 * units)` = `[U_i U_f U_g U_o]`, `bias` `(4 * units,)` =
    `[b_i b_f b_g b_o]`. The states are `[h, c]`, in that order.

    Args:
        units: size of h and c. Must be >= 1.
        activation: the squashing function of g and of c in h; "tanh" by default.
        recurrent_activation: the gates' function; "sigmoid" by default.
        use_bias: whether to add the b's. Defaults to True.
        unit_forget_bias: start `b_f` at 1 (the other biases from `bias_initializer`). Defaults to True.
        kernel_initializer: initializer of the W's. Defaults to "glorot_uniform".
        recurrent_initializer: initializer of the U's. Defaults to "orthogonal".
        bias_initializer: initializer of the b's. Defaults to "zeros".
        **kwargs: standard `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: float `(batch, input_dim)`, one time step.
        states: `[h, c]`, each `(batch, units)`.
        training: unused (no dropout); accepted for the Keras call convention.

    Returns:
        `(h, [h, c])`, each `(batch, units)`.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> import zoo.layers
    >>> inputs = np.random.default_rng(0).normal(size=(2, 7, 5)).astype("float32")
    >>> ours = keras.layers.RNN(zoo.layers.LSTMCell(16), return_state=True)
    >>> theirs = keras.layers.RNN(keras.layers.LSTMCell(16), return_state=True)
    >>> _ = ours(inputs), theirs(inputs)
    >>> ours.set_weights(theirs.get_weights())  # same layout: Keras's weights work as they are
    >>> h, _, c = ours(inputs)
    >>> bool(np.allclose(h, theirs(inputs)[0], atol=1e-6)), tuple(c.shape)
    (True, (2, 16))

    References:
        Hochreiter, Schmidhuber. Long Short-Term Memory. Neural Computation 9(8), 1997.
        Gers, Schmidhuber, Cummins. Learning to Forget: Continual Prediction with LSTM. Neural
        Computation 12(10), 2000.
        Jozefowicz, Zaremba, Sutskever. An Empirical Exploration of Recurrent Network Architectures.
        ICML 2015.
    """

    def __init__(
        self,
        units: int,
        activation: str | None = "tanh",
        recurrent_activation: str | None = "sigmoid",
        unit_forget_bias: bool = True,
        **kwargs,
    ):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = keras.activations.get(recurrent_activation)
        self.unit_forget_bias = unit_forget_bias
        self.state_size = [units, units]

    def build(self, input_shape):
        self._add_kernels(input_shape, gates=4)
        self.bias = None
        if self.use_bias:
            initializer = self.bias_initializer
            if self.unit_forget_bias:

                def initializer(shape, dtype=None):
                    units = self.units
                    return ops.concatenate(
                        [
                            self.bias_initializer((units,), dtype=dtype),
                            ops.ones((units,), dtype=dtype),
                            self.bias_initializer((2 * units,), dtype=dtype),
                        ]
                    )

            self.bias = self.add_weight(shape=(4 * self.units,), initializer=initializer, name="bias")

    def call(self, inputs, states, training=None):
        previous_hidden, previous_memory = states[0], states[1]
        preactivation = ops.matmul(inputs, self.kernel) + ops.matmul(previous_hidden, self.recurrent_kernel)
        if self.bias is not None:
            preactivation = preactivation + self.bias
        input_gate, forget_gate, candidate, output_gate = ops.split(preactivation, 4, axis=-1)
        input_gate = self.recurrent_activation(input_gate)
        forget_gate = self.recurrent_activation(forget_gate)
        candidate = self.activation(candidate)
        output_gate = self.recurrent_activation(output_gate)
        memory = forget_gate * previous_memory + input_gate * candidate
        hidden = output_gate * self.activation(memory)
        return hidden, [hidden, memory]

    def get_config(self):
        return {
            **super().get_config(),
            "recurrent_activation": keras.activations.serialize(self.recurrent_activation),
            "unit_forget_bias": self.unit_forget_bias,
        }


@keras.saving.register_keras_serializable(package="zoo")
class GRUCell(_RecurrentCell):
    """Gated recurrent unit: the state is a gated average of itself and a candidate, no separate memory.

        z[t] = sigmoid(x[t] W_z + h[t-1] U_z + b_z)                      update gate
        r[t] = sigmoid(x[t] W_r + h[t-1] U_r + b_r)                      reset gate
        n[t] = tanh(x[t] W_h + (r[t] * h[t-1]) U_h + b_h)                reset_after=False (Cho et al.)
        n[t] = tanh(x[t] W_h + b_h + r[t] * (h[t-1] U_h + b'_h))         reset_after=True (Keras, cuDNN)
        h[t] = z[t] * h[t-1] + (1 - z[t]) * n[t]
        output[t] = h[t]

    Where `z` is near 1 the state is copied forward unchanged, and so is the gradient along that path:
    the GRU gets the LSTM's long memory with one state and three weight blocks instead of four (Cho et
    al. 2014; compared with the LSTM by Chung et al. 2014). `reset_after=False` is the paper's form,
    the reset gate applied to the state before its product with `U_h`; `reset_after=True`, the default
    of Keras 3 and the form cuDNN implements, applies it after, which lets one matrix product serve all
    three blocks and needs a second bias `b'` for the recurrent side (`b'_z`, `b'_r` add to the gates).

    Weights, as `keras.layers.GRUCell` with the same `reset_after`: `kernel` `(input_dim, 3 * units)` =
    `[W_z W_r W_h]`, `recurrent_kernel` `(units, 3 * units)` = `[U_z U_r U_h]`, and `bias`
    `(3 * units,)` = `[b_z b_r b_h]`, or with `reset_after=True` `(2, 3 * units)`: row 0 the input
    biases `b`, row 1 the recurrent biases `b'`.

    Args:
        units: size of h. Must be >= 1.
        activation: the squashing function of the candidate; "tanh" by default.
        recurrent_activation: the gates' function; "sigmoid" by default.
        use_bias: whether to add the biases. Defaults to True.
        reset_after: apply the reset gate after the product with `U_h` (True, the Keras default) or
            before it (False, Cho et al. 2014).
        kernel_initializer: initializer of the W's. Defaults to "glorot_uniform".
        recurrent_initializer: initializer of the U's. Defaults to "orthogonal".
        bias_initializer: initializer of the biases. Defaults to "zeros".
        **kwargs: standard `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: float `(batch, input_dim)`, one time step.
        states: `[h]`, the previous state `(batch, units)`.
        training: unused (no dropout); accepted for the Keras call convention.

    Returns:
        `(h, [h])`: the output and the new state, both `(batch, units)`.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> import zoo.layers
    >>> rnn = keras.layers.RNN(zoo.layers.GRUCell(16, reset_after=False), return_sequences=True)
    >>> tuple(rnn(np.ones((2, 7, 5), "float32")).shape)
    (2, 7, 16)
    >>> [tuple(weight.shape) for weight in rnn.cell.weights]
    [(5, 48), (16, 48), (48,)]

    References:
        Cho, van Merrienboer, Gulcehre, Bahdanau, Bougares, Schwenk, Bengio. Learning Phrase
        Representations using RNN Encoder-Decoder for Statistical Machine Translation. EMNLP 2014.
        Chung, Gulcehre, Cho, Bengio. Empirical Evaluation of Gated Recurrent Neural Networks on
        Sequence Modeling. arXiv:1412.3555, 2014.
    """

    def __init__(
        self,
        units: int,
        activation: str | None = "tanh",
        recurrent_activation: str | None = "sigmoid",
        reset_after: bool = True,
        **kwargs,
    ):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = keras.activations.get(recurrent_activation)
        self.reset_after = reset_after
        self.state_size = units

    def build(self, input_shape):
        self._add_kernels(input_shape, gates=3)
        self.bias = None
        if self.use_bias:
            shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
            self.bias = self.add_weight(shape=shape, initializer=self.bias_initializer, name="bias")

    def call(self, inputs, states, training=None):
        previous = states[0] if isinstance(states, (list, tuple)) else states
        units = self.units
        from_input = ops.matmul(inputs, self.kernel)
        if self.bias is not None:
            from_input = from_input + (self.bias[0] if self.reset_after else self.bias)
        input_z, input_r, input_h = ops.split(from_input, 3, axis=-1)
        if self.reset_after:
            from_state = ops.matmul(previous, self.recurrent_kernel)
            if self.bias is not None:
                from_state = from_state + self.bias[1]
            state_z, state_r, state_h = ops.split(from_state, 3, axis=-1)
            update = self.recurrent_activation(input_z + state_z)
            reset = self.recurrent_activation(input_r + state_r)
            candidate = self.activation(input_h + reset * state_h)
        else:
            from_state = ops.matmul(previous, self.recurrent_kernel[:, : 2 * units])
            state_z, state_r = ops.split(from_state, 2, axis=-1)
            update = self.recurrent_activation(input_z + state_z)
            reset = self.recurrent_activation(input_r + state_r)
            candidate = self.activation(
                input_h + ops.matmul(reset * previous, self.recurrent_kernel[:, 2 * units :])
            )
        hidden = update * previous + (1.0 - update) * candidate
        return hidden, [hidden]

    def get_config(self):
        return {
            **super().get_config(),
            "recurrent_activation": keras.activations.serialize(self.recurrent_activation),
            "reset_after": self.reset_after,
        }
