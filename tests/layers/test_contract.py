"""Every layer `zoo.layers` exports passes the shared layer test. A new layer without a case here fails."""

import numpy as np
import pytest

import zoo.layers
from tests.layers.layer_test import run_layer_test

RNG = np.random.default_rng(0)

# name -> (init kwargs, inputs, expected output shape, whether a fit step applies)
CASES = {
    "CharacterEncoder": (
        {"vocabulary_size": 9, "filters": 6},
        RNG.integers(0, 9, (2, 4, 5)),
        (2, 4, 6),
        True,
    ),
    "CRF": ({"num_tags": 6}, RNG.normal(size=(2, 4, 6)).astype("float32"), (2, 4, 6), True),
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


def test_every_exported_layer_has_a_case():
    assert sorted(CASES) == sorted(zoo.layers.__all__)


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_contract(name, tmp_path):
    init_kwargs, inputs, expected_shape, fit_step = CASES[name]
    layer_cls = getattr(zoo.layers, name)
    run_layer_test(layer_cls, init_kwargs, inputs, expected_shape, tmp_path=tmp_path, fit_step=fit_step)
