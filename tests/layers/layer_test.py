"""The one layer test helper (after keras-hub's `run_layer_test`): every zoo layer keeps the contract."""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np


def _call(layer, inputs, **kwargs):
    """A tuple is the layer's positional arguments (`layer(query, value)`), a list its one argument."""
    return layer(*inputs, **kwargs) if isinstance(inputs, tuple) else layer(inputs, **kwargs)


def _shapes(outputs) -> list[tuple]:
    return [tuple(output.shape) for output in keras.tree.flatten(outputs)]


def _dtype(array: np.ndarray) -> str:
    return "string" if array.dtype.kind in "OU" else str(array.dtype)  # numpy holds strings as objects


def _numpy(outputs) -> list[np.ndarray]:
    return [keras.ops.convert_to_numpy(output) for output in keras.tree.flatten(outputs)]


def run_layer_test(
    layer_cls: type[keras.layers.Layer],
    init_kwargs: dict,
    inputs: np.ndarray | tuple | list,
    expected_output_shape: tuple,
    mask: np.ndarray | None = None,
    tmp_path=None,
    fit_step: bool = True,
    wrap: Callable[[keras.layers.Layer], keras.layers.Layer] | None = None,
) -> None:
    """Config round trip, eager and symbolic calls with the expected shapes, one `fit` step of a model
    ending in the layer (`fit_step=False` for layers with integer outputs or no weights), and a `.keras`
    save/load round trip giving back the layer's class and equal outputs.

    Args:
        inputs: one array, a tuple of arrays (the layer's positional arguments) or a list (its one
            argument, a list).
        expected_output_shape: the output's shape, or a tuple of shapes for several outputs.
        wrap: makes the callable layer from an instance (an RNN cell runs in `keras.layers.RNN`).
    """
    layer = layer_cls(**init_kwargs)
    config = layer.get_config()
    assert layer_cls.from_config(config).get_config() == config, "get_config/from_config is not a round trip"
    expected = [expected_output_shape] if isinstance(expected_output_shape[0], int) else expected_output_shape
    expected = [tuple(shape) for shape in expected]

    def make():
        instance = layer_cls(**init_kwargs)
        return wrap(instance) if wrap else instance

    arrays = keras.tree.flatten(inputs)
    feed = arrays if len(arrays) > 1 else arrays[0]
    kwargs = {} if mask is None else {"mask": keras.ops.convert_to_tensor(mask)}
    eager = _call(make(), keras.tree.map_structure(keras.ops.convert_to_tensor, inputs), **kwargs)
    assert _shapes(eager) == expected

    symbolic_in = [keras.Input(x.shape[1:], batch_size=x.shape[0], dtype=_dtype(x)) for x in arrays]
    symbolic = _call(make(), keras.tree.pack_sequence_as(inputs, symbolic_in))
    assert _shapes(symbolic) == expected

    # A model that ends in the layer must train: gradients flow and the loss stays finite.
    model_in = [keras.Input(x.shape[1:], dtype=_dtype(x)) for x in arrays]
    projected = [
        keras.layers.Dense(x.shape[-1])(x_in) if x.dtype.kind == "f" else x_in
        for x, x_in in zip(arrays, model_in)
    ]
    outputs = _call(make(), keras.tree.pack_sequence_as(inputs, projected))
    outputs = list(outputs) if isinstance(outputs, tuple | list) else outputs
    model = keras.Model(model_in if len(model_in) > 1 else model_in[0], outputs)
    if fit_step:
        model.compile(optimizer="sgd", loss="mse")
        targets = [np.zeros(shape, dtype="float32") for shape in expected]
        losses = model.train_on_batch(feed, targets if len(targets) > 1 else targets[0])
        assert np.all(np.isfinite(losses))

    if tmp_path is not None:
        path = tmp_path / f"{layer_cls.__name__}.keras"
        model.save(path)
        restored = keras.saving.load_model(path)
        found = [type(x) for layer in restored.layers for x in (layer, getattr(layer, "cell", None))]
        assert layer_cls in found, f"{layer_cls.__name__} not restored"
        for actual, wanted in zip(_numpy(restored(feed)), _numpy(model(feed))):
            if wanted.dtype.kind in "OSU":  # strings (a decoder's output) must be equal, not close
                np.testing.assert_array_equal(actual, wanted)
            else:
                np.testing.assert_allclose(actual, wanted, atol=1e-6)
