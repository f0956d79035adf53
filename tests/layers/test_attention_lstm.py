"""AttentionLSTM (Show, Attend and Tell's decoder step) against a NumPy reference, one step at a time equal
to a whole sequence, and BackbonePreprocessing equal to keras.applications' own preprocess_input."""

from __future__ import annotations

import doctest

import keras
import numpy as np
import pytest

import zoo.layers

RNG = np.random.default_rng(0)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def reference(layer: zoo.layers.AttentionLSTM, inputs, annotations, h, c):
    """The layer's equations in NumPy, from its weights: Bahdanau attention on the previous state, the gate,
    then Keras's LSTM cell (gates i, f, c, o in that order, recurrent activation sigmoid)."""
    w_q = keras.ops.convert_to_numpy(layer.attention.query_projection.kernel)
    w_k = keras.ops.convert_to_numpy(layer.attention.key_projection.kernel)
    v = keras.ops.convert_to_numpy(layer.attention.attention.scale)
    kernel, recurrent, bias = (keras.ops.convert_to_numpy(w) for w in layer.cell.weights)
    gate_kernel, gate_bias = (keras.ops.convert_to_numpy(w) for w in layer.gate_layer.weights)
    outputs, all_weights = [], []
    for step in range(inputs.shape[1]):
        scores = np.tanh((h @ w_q)[:, None, :] + annotations @ w_k) @ v  # (batch, L)
        weights = np.exp(scores - scores.max(-1, keepdims=True))
        weights /= weights.sum(-1, keepdims=True)
        context = np.einsum("bl,bld->bd", weights, annotations) * sigmoid(h @ gate_kernel + gate_bias)
        z = np.concatenate([inputs[:, step], context], -1) @ kernel + h @ recurrent + bias
        i, f, g, o = np.split(z, 4, axis=-1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        outputs.append(np.concatenate([h, context], -1))
        all_weights.append(weights)
    return np.stack(outputs, 1), np.stack(all_weights, 1), h, c


def test_attention_lstm_matches_the_equations_and_steps_one_at_a_time():
    inputs = RNG.normal(size=(3, 5, 4)).astype("float32")
    annotations = RNG.normal(size=(3, 6, 7)).astype("float32")
    h0, c0 = (RNG.normal(size=(3, 8)).astype("float32") for _ in range(2))
    layer = zoo.layers.AttentionLSTM(8, attention_units=5, return_state=True)
    outputs, weights, h, c = (keras.ops.convert_to_numpy(x) for x in layer(inputs, annotations, [h0, c0]))
    assert outputs.shape == (3, 5, 8 + 7) and weights.shape == (3, 5, 6) and h.shape == c.shape == (3, 8)
    expected = reference(layer, inputs, annotations, h0, c0)
    for actual, wanted in zip((outputs, weights, h, c), expected):
        np.testing.assert_allclose(actual, wanted, atol=1e-5)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
    # Decoding calls it on one step at a time, with the state of the step before.
    state = [h0, c0]
    for step in range(5):
        step_outputs, step_weights, *state = layer(inputs[:, step : step + 1], annotations, state)
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(step_outputs)[:, 0], outputs[:, step], atol=1e-6
        )
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(step_weights)[:, 0], weights[:, step], atol=1e-6
        )


def test_attention_lstm_options_and_errors():
    inputs, annotations = np.ones((2, 3, 4), "float32"), RNG.normal(size=(2, 5, 6)).astype("float32")
    outputs, weights = zoo.layers.AttentionLSTM(4, gate=False)(inputs, annotations)  # zero initial state
    assert outputs.shape == (2, 3, 10) and weights.shape == (2, 3, 5)
    layer = zoo.layers.AttentionLSTM(4, gate=False)
    assert layer.gate_layer is None and layer.get_config()["attention_units"] is None
    for kwargs, message in [
        ({"units": 0}, "units >= 1"),
        ({"units": 4, "attention_units": 0}, "attention_units"),
    ]:
        with pytest.raises(ValueError, match=message):
            zoo.layers.AttentionLSTM(**kwargs)
    with pytest.raises(ValueError, match=r"inputs \(batch, T, d\) and annotations \(batch, L, D\)"):
        zoo.layers.AttentionLSTM(4)(inputs, annotations[:, 0])


@pytest.mark.parametrize("backbone", ["ResNet50", "DenseNet121", "MobileNetV2", "EfficientNetB0"])
def test_backbone_preprocessing_is_the_backbones_own(backbone):
    images = RNG.uniform(size=(2, 5, 4, 3)).astype("float32")
    module = zoo.layers.backbone_preprocessing.backbone_module(backbone)
    expected = keras.ops.convert_to_numpy(module.preprocess_input(images * 255.0))
    actual = keras.ops.convert_to_numpy(zoo.layers.BackbonePreprocessing(backbone)(images))
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-4)


def test_backbone_preprocessing_refuses_unknown_names():
    for name in ("ResNet51", "imagenet_utils", "resnet"):
        with pytest.raises(ValueError, match="unknown keras.applications backbone"):
            zoo.layers.BackbonePreprocessing(name)


def test_docstring_examples_run():
    import zoo.layers.attention_lstm
    import zoo.layers.backbone_preprocessing

    globs = {"keras": keras, "np": np, "zoo": zoo}
    for module in (zoo.layers.attention_lstm, zoo.layers.backbone_preprocessing):
        results = doctest.testmod(module, extraglobs=globs, optionflags=doctest.ELLIPSIS)
        assert results.failed == 0 and results.attempted >= 2
