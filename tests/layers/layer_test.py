"""One small layer test helper (after keras-hub's `run_layer_test`): every zoo layer keeps the contract."""

from __future__ import annotations

import keras
import numpy as np


def run_layer_test(
    layer_cls: type[keras.layers.Layer],
    init_kwargs: dict,
    inputs: np.ndarray,
    expected_output_shape: tuple,
    mask: np.ndarray | None = None,
    tmp_path=None,
    fit_step: bool = True,
) -> None:
    """Config round trip, symbolic and eager call, one `fit` step (`fit_step=False` for layers with integer
    outputs and no weights), and a `.keras` save/load round trip with equal outputs."""
    layer = layer_cls(**init_kwargs)
    config = layer.get_config()
    clone = layer_cls.from_config(config)
    assert clone.get_config() == config, "get_config/from_config is not a round trip"

    kwargs = {} if mask is None else {"mask": keras.ops.convert_to_tensor(mask)}
    eager = layer(keras.ops.convert_to_tensor(inputs), **kwargs)
    assert tuple(eager.shape) == tuple(expected_output_shape)

    dtype = "string" if inputs.dtype.kind in "OU" else inputs.dtype  # numpy holds strings as objects
    symbolic_in = keras.Input(shape=inputs.shape[1:], batch_size=inputs.shape[0], dtype=dtype)
    symbolic = layer_cls(**init_kwargs)(symbolic_in)
    assert tuple(symbolic.shape) == tuple(expected_output_shape)

    # A model that ends in the layer must train: gradients flow and the weights change or stay finite.
    model_in = keras.Input(shape=inputs.shape[1:], dtype=dtype)
    projected = keras.layers.Dense(inputs.shape[-1])(model_in) if inputs.dtype.kind == "f" else model_in
    model_out = layer_cls(**init_kwargs)(projected)
    model = keras.Model(model_in, model_out)
    if fit_step:
        model.compile(optimizer="sgd", loss="mse")
        target = np.zeros(expected_output_shape, dtype="float32")
        loss = model.train_on_batch(inputs, target)
        assert np.isfinite(loss)

    if tmp_path is not None:
        path = tmp_path / f"{layer_cls.__name__}.keras"
        model.save(path)
        restored = keras.saving.load_model(path)
        expected = keras.ops.convert_to_numpy(model(inputs))
        actual = keras.ops.convert_to_numpy(restored(inputs))
        if expected.dtype.kind in "OSU":  # strings (a decoder's output) must be equal, not close
            np.testing.assert_array_equal(actual, expected)
        else:
            np.testing.assert_allclose(actual, expected, atol=1e-6)
