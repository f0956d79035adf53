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
    "LogMelSpectrogram": (
        {"sample_rate": 8000, "num_mel_bins": 8},
        np.random.default_rng(3).uniform(-1, 1, size=(2, 400)).astype("float32"),  # 3 frames of 200 every 80
        (2, 3, 8),
        True,
    ),
    "MaskedGlobalAveragePooling1D": ({}, RNG.normal(size=(2, 4, 6)).astype("float32"), (2, 6), True),
    "MaskedGlobalMaxPooling1D": ({}, RNG.normal(size=(2, 4, 6)).astype("float32"), (2, 6), True),
    "NaiveBayesLinear": ({"num_features": 10}, RNG.integers(0, 10, (2, 4)), (2, 1), True),
    "SpecAugment": (
        {"frequency_masks": 1, "frequency_mask_width": 2, "time_masks": 1, "time_mask_width": 2, "seed": 0},
        np.random.default_rng(4).normal(size=(2, 6, 5)).astype("float32"),
        (2, 6, 5),
        True,
    ),
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


# RNN cells take one step, `cell(x[t], states) -> (output, new_states)`, and keras.layers.RNN runs them over
# a sequence, so they cannot be called on a (batch, T, d) input the way run_layer_test does. Each goes
# through the same contract inside keras.layers.RNN (`wrap`): name -> (init kwargs, inputs, expected output
# shape).
CELL_INPUTS = np.random.default_rng(2).normal(size=(2, 4, 6)).astype("float32")  # its own generator, as above
CELL_CASES = {
    "GRUCell": ({"units": 5, "reset_after": False}, CELL_INPUTS, (2, 4, 5)),
    "LSTMCell": ({"units": 5}, CELL_INPUTS, (2, 4, 5)),
    "SimpleRNNCell": ({"units": 5}, CELL_INPUTS, (2, 4, 5)),
}


# Layers called on a list `[waveforms, lengths]` that return a list of the same tensors.
LIST_CASES = {"WaveformCheck": ({}, [RNG.normal(size=(2, 9)).astype("float32"), np.array([9, 4], "int32")])}


def test_a_list_layer_keeps_its_contract(tmp_path):
    """WaveformCheck takes and returns `[waveforms, lengths]`: the contract, and its inputs pass unchanged."""
    init_kwargs, inputs = LIST_CASES["WaveformCheck"]
    shapes = ((2, 9), (2,))
    run_layer_test(zoo.layers.WaveformCheck, init_kwargs, inputs, shapes, tmp_path=tmp_path, fit_step=False)
    for output, given in zip(zoo.layers.WaveformCheck(**init_kwargs)(inputs), inputs):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(output), given)


def test_every_exported_layer_has_a_case():
    groups = [set(CASES), set(TWO_INPUT_CASES), set(CELL_CASES), set(LIST_CASES)]
    assert sum(map(len, groups)) == len(set().union(*groups))  # no layer in two groups
    assert sorted(set().union(*groups)) == sorted(zoo.layers.__all__)


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_contract(name, tmp_path):
    init_kwargs, inputs, expected_shape, fit_step = CASES[name]
    layer_cls = getattr(zoo.layers, name)
    run_layer_test(layer_cls, init_kwargs, inputs, expected_shape, tmp_path=tmp_path, fit_step=fit_step)


@pytest.mark.parametrize("name", sorted(TWO_INPUT_CASES))
def test_two_input_layer_contract(name, tmp_path):
    init_kwargs, inputs, expected_shapes = TWO_INPUT_CASES[name]
    run_layer_test(getattr(zoo.layers, name), init_kwargs, inputs, expected_shapes, tmp_path=tmp_path)


@pytest.mark.parametrize("name", sorted(CELL_CASES))
def test_cell_contract(name, tmp_path):
    init_kwargs, inputs, expected_shape = CELL_CASES[name]
    run_layer_test(
        getattr(zoo.layers, name),
        init_kwargs,
        inputs,
        expected_shape,
        tmp_path=tmp_path,
        wrap=lambda cell: keras.layers.RNN(cell, return_sequences=True),
    )
