"""TokenFeatures and CharacterEncoder: what a tagger sees of each token, and that padding stays inert."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

import zoo.layers

CASING = {name: i for i, name in enumerate(zoo.layers.TokenFeatures.CASINGS)}


def features(tokens, words=("the", "0000", "xxuser", "xxurl", "xxemoji", "apple"), chars="theTHApl0129"):
    layer = zoo.layers.TokenFeatures(list(words), list(chars), max_word_length=4)
    return layer(tf.constant(tokens)).numpy()


def test_words_are_normalised_before_lookup():
    packed = features([["The", "2019", "@bob", "http://t.co/x", "😀😀", "APPLE", "#Apple", "#", "Zebra"]])
    # ids: 0 padding, 1 unknown, then the vocabulary from 2
    assert packed[0, :, 0].tolist() == [2, 3, 4, 5, 6, 7, 7, 1, 1]


def test_casing_classes():
    tokens = [["the", "THE", "The", "2019", "3.5", "iPhone8", "iPhone", ""]]
    expected = ["lower", "upper", "title", "numeric", "mainly_numeric", "has_digit", "other", "padding"]
    assert features(tokens)[0, :, 1].tolist() == [CASING[name] for name in expected]


def test_characters_keep_case_and_are_truncated():
    packed = features([["The", "Apple", ""]])
    chars = "theTHApl0129"
    assert packed[0, 0, 2:].tolist() == [chars.index("T") + 2, chars.index("h") + 2, chars.index("e") + 2, 0]
    assert packed[0, 1, 2:].tolist() == [chars.index(c) + 2 for c in "Appl"]  # max_word_length 4
    assert packed[0, 2].tolist() == [0] * 6  # padding token: all zeros


def test_a_batch_of_padding_keeps_its_time_axis():
    assert features([["", ""]]).shape == (1, 2, 6)


def test_empty_batches_keep_their_shape():
    for shape in [(0, 3), (2, 0), (0, 0)]:
        assert features(np.zeros(shape, dtype=object).astype(bytes)).shape == (*shape, 6)


def test_character_encoder_gives_zeros_for_padding_tokens_and_ignores_char_padding():
    for kind in ("cnn", "lstm"):
        encoder = zoo.layers.CharacterEncoder(vocabulary_size=20, filters=8, kind=kind)
        ids = np.array([[[3, 4, 5, 0, 0], [0, 0, 0, 0, 0]]])
        out = keras.ops.convert_to_numpy(encoder(ids))
        assert out.shape == (1, 2, 8)
        np.testing.assert_array_equal(out[0, 1], 0.0)
        # the same word with more character padding encodes the same
        longer = np.concatenate([ids, np.zeros((1, 2, 3), int)], axis=-1)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(encoder(longer)), out, atol=1e-6)
