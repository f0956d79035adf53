"""Every layer `zoo.layers` exports passes the shared layer test. A new layer without a case here fails."""

import keras
import numpy as np
import pytest

import zoo.layers
from tests.layers.layer_test import run_layer_test

RNG = np.random.default_rng(0)

# name -> (init kwargs, inputs, expected output shape, whether a fit step applies)
CASES = {
    "BackbonePreprocessing": (
        {"backbone": "MobileNetV2"},
        # Its own generator: the draws of RNG below stay as they were.
        np.random.default_rng(1).uniform(size=(2, 4, 6, 3)).astype("float32"),
        (2, 4, 6, 3),
        True,
    ),
    "CharacterEncoder": (
        {"vocabulary_size": 9, "filters": 6},
        RNG.integers(0, 9, (2, 4, 5)),
        (2, 4, 6),
        True,
    ),
    "ConvSubsampling": ({"filters": 4}, RNG.normal(size=(2, 6, 3)).astype("float32"), (2, 2, 4), True),
    "CRF": ({"num_tags": 6}, RNG.normal(size=(2, 4, 6)).astype("float32"), (2, 4, 6), True),
    "CTCLogits": ({"num_classes": 5}, RNG.normal(size=(2, 4, 3)).astype("float32"), (2, 4, 5), True),
    "CTCTranscriber": ({"alphabet": ["a", "b"]}, RNG.normal(size=(2, 4, 3)).astype("float32"), (2,), False),
    "HashedNgrams": ({"vocabulary_size": 10, "num_buckets": 50}, RNG.integers(0, 10, (2, 4)), (2, 7), False),
    "MaskedGlobalAveragePooling1D": ({}, RNG.normal(size=(2, 4, 6)).astype("float32"), (2, 6), True),
    "MaskedGlobalMaxPooling1D": ({}, RNG.normal(size=(2, 4, 6)).astype("float32"), (2, 6), True),
    "NaiveBayesLinear": ({"num_features": 10}, RNG.integers(0, 10, (2, 4)), (2, 1), True),
    "TokenFeatures": (
        {"word_vocabulary": ["the", "0000"], "char_vocabulary": list("theTH"), "max_word_length": 3},
        np.array([["The", "2019", "@bob", "😀"], ["THE", "3.5", "", ""]], dtype=object),
        (2, 4, 5),
        False,
    ),
}


# Layers called as `layer(query, value)` that return `(context, weights)`: name -> (init kwargs, inputs,
# expected output shapes). Query and value widths differ where the layer allows it.
QUERY, VALUE = RNG.normal(size=(2, 4, 6)).astype("float32"), RNG.normal(size=(2, 5, 3)).astype("float32")
TWO_INPUT_CASES = {
    "AttentionLSTM": ({"units": 7}, (QUERY, VALUE), ((2, 4, 10), (2, 4, 5))),
    "BahdanauAttention": ({"units": 7}, (QUERY, VALUE), ((2, 4, 3), (2, 4, 5))),
    "LuongAttention": ({"score": "general"}, (QUERY, VALUE), ((2, 4, 3), (2, 4, 5))),
}


def run_two_input_layer_test(layer_cls, init_kwargs, inputs, expected_output_shapes, tmp_path) -> None:
    """`run_layer_test` for a layer called on two tensors and returning a tuple: config round trip,
    symbolic and eager call, one `fit` step, a `.keras` round trip with equal outputs."""
    layer = layer_cls(**init_kwargs)
    config = layer.get_config()
    assert layer_cls.from_config(config).get_config() == config, "get_config/from_config is not a round trip"

    eager = layer(*(keras.ops.convert_to_tensor(x) for x in inputs))
    assert [tuple(x.shape) for x in eager] == [tuple(s) for s in expected_output_shapes]

    symbolic_in = [keras.Input(shape=x.shape[1:], batch_size=x.shape[0]) for x in inputs]
    symbolic = layer_cls(**init_kwargs)(*symbolic_in)
    assert [tuple(x.shape) for x in symbolic] == [tuple(s) for s in expected_output_shapes]

    model_in = [keras.Input(shape=x.shape[1:]) for x in inputs]
    projected = [keras.layers.Dense(x.shape[-1])(x_in) for x, x_in in zip(inputs, model_in)]
    model = keras.Model(model_in, list(layer_cls(**init_kwargs)(*projected)))
    model.compile(optimizer="sgd", loss="mse")
    targets = [np.zeros(shape, dtype="float32") for shape in expected_output_shapes]
    losses = model.train_on_batch(list(inputs), targets)
    assert np.all(np.isfinite(losses))

    path = tmp_path / f"{layer_cls.__name__}.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    for actual, expected in zip(restored(list(inputs)), model(list(inputs))):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(actual), keras.ops.convert_to_numpy(expected), atol=1e-6
        )


def test_every_exported_layer_has_a_case():
    assert not set(CASES) & set(TWO_INPUT_CASES)
    assert sorted([*CASES, *TWO_INPUT_CASES]) == sorted(zoo.layers.__all__)


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_contract(name, tmp_path):
    init_kwargs, inputs, expected_shape, fit_step = CASES[name]
    layer_cls = getattr(zoo.layers, name)
    run_layer_test(layer_cls, init_kwargs, inputs, expected_shape, tmp_path=tmp_path, fit_step=fit_step)


@pytest.mark.parametrize("name", sorted(TWO_INPUT_CASES))
def test_two_input_layer_contract(name, tmp_path):
    init_kwargs, inputs, expected_shapes = TWO_INPUT_CASES[name]
    run_two_input_layer_test(getattr(zoo.layers, name), init_kwargs, inputs, expected_shapes, tmp_path)
