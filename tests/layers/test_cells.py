import doctest

import keras
import numpy as np
import pytest

import zoo
import zoo.layers
from zoo.layers import GRUCell, LSTMCell, SimpleRNNCell

BATCH, STEPS, FEATURES, UNITS = 3, 7, 5, 4
LENGTHS = np.array([7, 3, 5])  # real steps per row, for the masked cases

# name -> (our cell class, Keras's cell class, arguments for both)
CASES = {
    "simple_rnn": (SimpleRNNCell, keras.layers.SimpleRNNCell, {}),
    "simple_rnn_linear_no_bias": (
        SimpleRNNCell,
        keras.layers.SimpleRNNCell,
        {"activation": None, "use_bias": False},
    ),
    "lstm": (LSTMCell, keras.layers.LSTMCell, {}),
    "lstm_no_bias": (LSTMCell, keras.layers.LSTMCell, {"use_bias": False}),
    "gru_reset_after": (GRUCell, keras.layers.GRUCell, {"reset_after": True}),
    "gru_reset_before": (GRUCell, keras.layers.GRUCell, {"reset_after": False}),
    "gru_reset_after_no_bias": (GRUCell, keras.layers.GRUCell, {"reset_after": True, "use_bias": False}),
}


def sequences(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    inputs = rng.normal(size=(BATCH, STEPS, FEATURES)).astype("float32")
    mask = np.arange(STEPS)[None, :] < LENGTHS[:, None]
    return inputs, mask


def numpy_of(*tensors) -> list[np.ndarray]:
    return [keras.ops.convert_to_numpy(tensor) for tensor in tensors]


def ours_and_keras(name: str, seed: int = 0) -> tuple[keras.layers.RNN, keras.layers.RNN]:
    """Both cells in RNN(return_sequences, return_state), built, Keras's weights random and copied into ours.

    Random weights, not the initial ones: Keras starts biases at 0 (and 1), which would hide a bias or a
    gate block in the wrong place.
    """
    ours_cls, keras_cls, kwargs = CASES[name]
    ours = keras.layers.RNN(ours_cls(UNITS, **kwargs), return_sequences=True, return_state=True)
    theirs = keras.layers.RNN(keras_cls(UNITS, **kwargs), return_sequences=True, return_state=True)
    for layer in (ours, theirs):
        layer.build((None, None, FEATURES))
    rng = np.random.default_rng(seed + 100)
    theirs.set_weights([rng.normal(size=w.shape).astype("float32") * 0.7 for w in theirs.get_weights()])
    ours.set_weights(theirs.get_weights())
    return ours, theirs


# ---------------------------------------------------------------------------------------------------
# Numbers: Keras's cells, and the equations of the docstrings
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "ragged"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_equals_the_keras_cell_with_copied_weights(name, masked):
    ours, theirs = ours_and_keras(name, seed=1)
    inputs, mask = sequences(1)
    kwargs = {"mask": mask} if masked else {}
    expected = numpy_of(*theirs(inputs, **kwargs))
    actual = numpy_of(*ours(inputs, **kwargs))
    assert len(actual) == len(expected) == (3 if "lstm" in name else 2)  # outputs, h (, c)
    for got, want in zip(actual, expected):
        np.testing.assert_allclose(got, want, atol=1e-5)
    if masked:
        # The mask matters (a row stops at its length), so the comparison above covered it.
        final_unmasked = numpy_of(ours(inputs)[1])[0]
        assert np.abs(final_unmasked[1:] - actual[1][1:]).max() > 1e-3
        last_real_output = actual[0][np.arange(BATCH), LENGTHS - 1]
        np.testing.assert_allclose(actual[1], last_real_output, atol=1e-6)


def reference(name: str, weights: list[np.ndarray], inputs: np.ndarray) -> np.ndarray:
    """The docstrings' equations in float64 NumPy: the output at every step."""
    sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    kwargs = CASES[name][2]
    kernel, recurrent = weights[0].astype(np.float64), weights[1].astype(np.float64)
    bias = weights[2].astype(np.float64) if kwargs.get("use_bias", True) else np.zeros(kernel.shape[1])
    activation = (lambda x: x) if "activation" in kwargs else np.tanh
    h = np.zeros((BATCH, UNITS))
    c = np.zeros((BATCH, UNITS))
    outputs = []
    for x in inputs.astype(np.float64).transpose(1, 0, 2):
        if name.startswith("simple_rnn"):
            h = activation(x @ kernel + h @ recurrent + bias)
        elif name.startswith("lstm"):
            i, f, g, o = np.split(x @ kernel + h @ recurrent + bias, 4, axis=-1)
            c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
            h = sigmoid(o) * np.tanh(c)
        else:
            (w_z, w_r, w_h), (u_z, u_r, u_h) = np.split(kernel, 3, axis=1), np.split(recurrent, 3, axis=1)
            if not kwargs.get("use_bias", True):
                input_bias = state_bias = np.zeros(3 * UNITS)
            elif kwargs["reset_after"]:
                input_bias, state_bias = bias  # (2, 3 * units): input row, recurrent row
            else:
                input_bias, state_bias = bias, np.zeros(3 * UNITS)
            (b_z, b_r, b_h), (s_z, s_r, s_h) = np.split(input_bias, 3), np.split(state_bias, 3)
            z = sigmoid(x @ w_z + b_z + h @ u_z + s_z)
            r = sigmoid(x @ w_r + b_r + h @ u_r + s_r)
            if kwargs["reset_after"]:
                n = np.tanh(x @ w_h + b_h + r * (h @ u_h + s_h))
            else:
                n = np.tanh(x @ w_h + (r * h) @ u_h + b_h)
            h = z * h + (1 - z) * n
        outputs.append(h)
    return np.stack(outputs, axis=1)


@pytest.mark.parametrize("name", sorted(CASES))
def test_equals_the_equations_of_its_docstring(name):
    ours, _ = ours_and_keras(name, seed=2)
    inputs, _ = sequences(2)
    expected = reference(name, ours.get_weights(), inputs)
    np.testing.assert_allclose(numpy_of(ours(inputs)[0])[0], expected, atol=1e-5)


@pytest.mark.parametrize(
    "ours_cls, layer_cls, kwargs",
    [
        (SimpleRNNCell, keras.layers.SimpleRNN, {}),
        (LSTMCell, keras.layers.LSTM, {}),
        (GRUCell, keras.layers.GRU, {}),
        (GRUCell, keras.layers.GRU, {"reset_after": False}),
    ],
)
def test_equals_the_fused_keras_layer_which_the_recipe_trains(ours_cls, layer_cls, kwargs):
    inputs, mask = sequences(3)
    theirs = layer_cls(UNITS, return_sequences=True, **kwargs)
    ours = keras.layers.RNN(ours_cls(UNITS, **kwargs), return_sequences=True)
    theirs(inputs), ours(inputs)
    rng = np.random.default_rng(3)
    theirs.set_weights([rng.normal(size=w.shape).astype("float32") * 0.7 for w in theirs.get_weights()])
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(*numpy_of(ours(inputs, mask=mask), theirs(inputs, mask=mask)), atol=1e-5)


@pytest.mark.parametrize("name", sorted(CASES))
def test_weights_have_keras_names_shapes_and_order(name):
    ours, theirs = ours_and_keras(name)
    assert [(w.name, tuple(w.shape)) for w in ours.weights] == [
        (w.name, tuple(w.shape)) for w in theirs.weights
    ]


@pytest.mark.parametrize("unit_forget_bias", [True, False])
def test_lstm_initial_bias_opens_the_forget_gate_like_keras(unit_forget_bias):
    ours = LSTMCell(UNITS, unit_forget_bias=unit_forget_bias)
    theirs = keras.layers.LSTMCell(UNITS, unit_forget_bias=unit_forget_bias)
    ours.build((None, FEATURES)), theirs.build((None, FEATURES))
    expected = np.zeros(4 * UNITS)
    if unit_forget_bias:
        expected[UNITS : 2 * UNITS] = 1.0  # [b_i b_f b_g b_o]
    np.testing.assert_array_equal(*numpy_of(ours.bias, theirs.bias))
    np.testing.assert_array_equal(numpy_of(ours.bias)[0], expected)


def test_one_step_call_and_initial_state():
    inputs, _ = sequences(4)
    for cell, sizes in (
        (SimpleRNNCell(UNITS), [UNITS]),
        (LSTMCell(UNITS), [UNITS, UNITS]),
        (GRUCell(UNITS), [UNITS]),
    ):
        states = cell.get_initial_state(batch_size=BATCH)
        assert [tuple(s.shape) for s in states] == [(BATCH, size) for size in sizes]
        output, new_states = cell(inputs[:, 0], states)
        assert tuple(output.shape) == (BATCH, UNITS)
        assert [tuple(s.shape) for s in new_states] == [(BATCH, size) for size in sizes]
        np.testing.assert_array_equal(*numpy_of(output, new_states[0]))  # the output is h


# ---------------------------------------------------------------------------------------------------
# Config, saving, training
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell_cls, kwargs, expected",
    [
        (
            SimpleRNNCell,
            {"activation": "relu", "use_bias": False, "kernel_initializer": "he_normal"},
            {"activation": "relu", "use_bias": False, "kernel_initializer": "HeNormal"},
        ),
        (
            LSTMCell,
            {"recurrent_activation": "hard_sigmoid", "unit_forget_bias": False, "bias_initializer": "ones"},
            {"recurrent_activation": "hard_sigmoid", "unit_forget_bias": False, "bias_initializer": "Ones"},
        ),
        (
            GRUCell,
            {"reset_after": False, "recurrent_initializer": "glorot_normal", "name": "my_gru"},
            {"reset_after": False, "recurrent_initializer": "GlorotNormal", "name": "my_gru"},
        ),
    ],
    ids=["simple_rnn", "lstm", "gru"],
)
def test_config_round_trip_keeps_every_argument(cell_cls, kwargs, expected):
    cell = cell_cls(3, **kwargs)
    config = cell.get_config()
    assert cell_cls.from_config(config).get_config() == config
    # The arguments that differ from the defaults are in the config (one left out would come back as its
    # default, and the round trip above would still pass).
    assert config["units"] == 3
    for key, value in expected.items():
        shown = config[key]["class_name"] if isinstance(config[key], dict) else config[key]
        assert shown == value, key


@pytest.mark.parametrize("name", ["simple_rnn", "lstm", "gru_reset_after", "gru_reset_before"])
def test_keras_round_trip_gives_equal_outputs(name, tmp_path):
    ours, _ = ours_and_keras(name, seed=5)
    inputs, mask = sequences(5)
    sequence_in = keras.Input((None, FEATURES))
    outputs = ours(keras.layers.Masking(0.0)(sequence_in))
    model = keras.Model(sequence_in, outputs)
    padded = np.where(mask[..., None], inputs, 0.0).astype("float32")
    model.save(tmp_path / "model.keras")
    restored = keras.saving.load_model(tmp_path / "model.keras")
    restored_cell = restored.layers[-1].cell
    assert type(restored_cell) is type(ours.cell) and restored_cell.get_config() == ours.cell.get_config()
    for actual, expected in zip(numpy_of(*restored(padded)), numpy_of(*model(padded))):
        np.testing.assert_allclose(actual, expected, atol=1e-6)


@pytest.mark.parametrize("cell_cls", [SimpleRNNCell, LSTMCell, GRUCell])
def test_fit_in_a_model_lowers_the_loss(cell_cls):
    keras.utils.set_random_seed(6)
    inputs, _ = sequences(6)
    targets = inputs.sum(axis=(1, 2))[:, None] / 10  # depends on every step
    model = keras.Sequential(
        [keras.Input((STEPS, FEATURES)), keras.layers.RNN(cell_cls(8)), keras.layers.Dense(1)]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    before = [w.copy() for w in model.layers[0].get_weights()]
    history = model.fit(inputs, targets, epochs=5, batch_size=BATCH, verbose=0).history
    assert np.all(np.isfinite(history["loss"])) and history["loss"][-1] < history["loss"][0]
    assert all(np.abs(b - a).max() > 0 for b, a in zip(before, model.layers[0].get_weights()))


def test_rejects_bad_arguments():
    for cell_cls in (SimpleRNNCell, LSTMCell, GRUCell):
        with pytest.raises(ValueError, match="units >= 1"):
            cell_cls(0)
    with pytest.raises(ValueError, match="input width"):
        LSTMCell(2).build((None, None))


@pytest.mark.parametrize("cell_cls", [SimpleRNNCell, LSTMCell, GRUCell])
def test_docstring_example_runs(cell_cls):
    globs = {"keras": keras, "zoo": zoo, "np": np}
    name = cell_cls.__name__
    (test,) = [
        test for test in doctest.DocTestFinder().find(cell_cls, name, globs=globs) if test.name == name
    ]
    result = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS).run(test)
    assert result.failed == 0
