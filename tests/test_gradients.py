"""zoo.gradients: ||dL/dh_t|| against closed forms of linear recurrences and finite differences."""

import doctest

import keras
import numpy as np
import pytest

import zoo
import zoo.gradients
import zoo.layers
from zoo.gradients import hidden_state_gradient_norms


def linear_cell(recurrent: np.ndarray, kernel: np.ndarray) -> zoo.layers.SimpleRNNCell:
    """h[t] = h[t-1] U + x[t] W, no bias, no squashing."""
    cell = zoo.layers.SimpleRNNCell(recurrent.shape[0], activation=None, use_bias=False)
    cell.build((None, kernel.shape[0]))
    cell.set_weights([kernel.astype("float32"), recurrent.astype("float32")])
    return cell


@pytest.mark.parametrize("w", [0.5, -0.9, 1.2])
def test_scalar_linear_recurrence_with_loss_on_the_last_state(w):
    # h[t] = w h[t-1] + x[t], L = h[T]  =>  dL/dh[t] = w^(T-t), whatever the inputs.
    steps = 12
    cell = linear_cell(np.array([[w]]), np.array([[1.0]]))
    inputs = np.random.default_rng(0).normal(size=(1, steps, 1)).astype("float32")
    norms = hidden_state_gradient_norms(cell, inputs, lambda outputs: keras.ops.sum(outputs[:, -1]))
    expected = np.abs(w) ** (steps - 1 - np.arange(steps))
    np.testing.assert_allclose(norms, expected, rtol=1e-5)


def test_it_is_the_total_derivative_through_time_not_the_direct_path():
    # L = sum_t h[t]  =>  dL/dh[t] = sum_{k>=t} w^(k-t): the direct path alone would give 1 at every t.
    w, steps = 0.8, 6
    cell = linear_cell(np.array([[w]]), np.array([[1.0]]))
    norms = hidden_state_gradient_norms(cell, np.ones((1, steps, 1), "float32"), keras.ops.sum)
    expected = [sum(w**k for k in range(steps - t)) for t in range(steps)]
    np.testing.assert_allclose(norms, expected, rtol=1e-5)


def test_matrix_recurrence_over_a_batch_gives_the_frobenius_norm():
    # h[t] = h[t-1] U + x[t] W, L = mean over the batch of sum(h[T] v): every row's gradient is
    # g[T] = v / batch and g[t] = g[t+1] U^T; the norm at t is over the batch and the units together.
    rng = np.random.default_rng(1)
    batch, steps, units = 3, 8, 4
    recurrent = rng.normal(size=(units, units)) * 0.4
    v = rng.normal(size=units)
    cell = linear_cell(recurrent, rng.normal(size=(2, units)))
    inputs = rng.normal(size=(batch, steps, 2)).astype("float32")
    norms = hidden_state_gradient_norms(
        cell, inputs, lambda outputs: keras.ops.mean(keras.ops.matmul(outputs[:, -1], v.astype("float32")))
    )
    gradient, expected = v / batch, []
    for _ in range(steps):
        expected.append(np.sqrt(batch) * np.linalg.norm(gradient))
        gradient = gradient @ recurrent.T
    np.testing.assert_allclose(norms, expected[::-1], rtol=1e-4)


def test_masked_steps_get_no_gradient_and_keep_the_state():
    # Step 2 is masked: h[2] = h[1], so L = h[4] = w^2 h[1] + ... and dL/dh[1] = w^2.
    w = 0.5
    cell = linear_cell(np.array([[w]]), np.array([[1.0]]))
    mask = np.array([[True, False, True, True]])
    norms = hidden_state_gradient_norms(
        cell, np.ones((1, 4, 1), "float32"), lambda outputs: keras.ops.sum(outputs[:, -1]), mask=mask
    )
    np.testing.assert_allclose(norms, [w**2, 0.0, w, 1.0], rtol=1e-6)


@pytest.mark.parametrize("cell_cls", [keras.layers.LSTMCell, zoo.layers.LSTMCell, keras.layers.GRUCell])
def test_gated_cells_keras_and_zoo_agree_with_finite_differences(cell_cls):
    # No closed form for a gated cell: push the state h[t] inside the recurrence by hand, by +-eps along
    # each of the 2 x 3 coordinates of the batch's state, and take central differences of the loss. They
    # are the six entries of dL/dh[t]; their norm must be the helper's.
    keras.utils.set_random_seed(2)
    cell = cell_cls(3)
    inputs = np.random.default_rng(2).normal(size=(2, 5, 2)).astype("float32")
    cell.build((None, 2))

    def loss(outputs):
        return keras.ops.sum(outputs[:, -1] ** 2)

    norms = hidden_state_gradient_norms(cell, inputs, loss)
    assert norms.shape == (5,) and np.all(norms > 0)

    def loss_with_push(step: int, push: np.ndarray) -> float:
        states = [np.zeros((2, 3), "float32") for _ in np.atleast_1d(cell.state_size)]
        for t in range(inputs.shape[1]):
            output, states = cell(inputs[:, t], states)
            states = list(states)
            if t == step:
                states[0] = states[0] + push
                output = states[0]
        return float(np.sum(np.asarray(output, np.float64) ** 2))

    epsilon = 1e-2
    for step in (0, 2, 4):
        directions = np.eye(6).reshape(6, 2, 3).astype("float32")
        derivatives = [
            (loss_with_push(step, epsilon * e) - loss_with_push(step, -epsilon * e)) / (2 * epsilon)
            for e in directions
        ]
        np.testing.assert_allclose(np.sqrt(np.sum(np.square(derivatives))), norms[step], rtol=2e-2)


def test_rejects_a_cell_whose_output_is_not_its_state():
    class Doubled(keras.layers.Layer):
        state_size = 2
        output_size = 2

        def call(self, inputs, states):
            h = inputs[:, :2] + states[0]
            return 2.0 * h, [h]

    with pytest.raises(ValueError, match="output is its first state"):
        hidden_state_gradient_norms(Doubled(), np.ones((1, 3, 2), "float32"), keras.ops.sum)
    with pytest.raises(ValueError, match="batch, T, input_dim"):
        hidden_state_gradient_norms(keras.layers.LSTMCell(2), np.ones((3, 2), "float32"), keras.ops.sum)


def test_docstring_example_runs():
    globs = {"keras": keras, "zoo": zoo, "np": np}
    function = hidden_state_gradient_norms
    (test,) = doctest.DocTestFinder().find(function, function.__name__, globs=globs)
    assert doctest.DocTestRunner().run(test).failed == 0
