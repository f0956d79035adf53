"""TokenFeatures and CharacterEncoder: what a tagger sees of each token, and that padding stays inert."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo.layers
from tests.layers.layer_test import run_layer_test

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


# Hand-made lists: bit 0 city, bit 1 name begin an entry; bit 2 city, bit 3 name continue one.
LISTS = {"city": ["New York", "York", "Rio de Janeiro"], "name": ["Taylor", "Mary Ann"]}


def gazetteer_column(tokens, lists=LISTS):
    layer = zoo.layers.TokenFeatures(["the"], list("the"), max_word_length=4, gazetteers=lists)
    return layer(tf.constant(tokens)).numpy()[..., -1].tolist()


def test_gazetteer_bits_mark_the_first_and_further_tokens_of_each_entry():
    tokens = [
        ["I", "love", "NEW", "york", "and", "Rio", "De", "JANEIRO", ""],
        ["new", "jersey", "#Taylor", "rio", "de", "mary", "ann", "york", ""],
    ]
    city, name, in_city, in_name = 1, 2, 4, 8
    assert gazetteer_column(tokens) == [
        # "York" both continues "New York" and is a city of its own; "Rio de Janeiro" case-insensitively
        [0, 0, city, in_city | city, 0, city, in_city, in_city, 0],
        # "new" without "york" and "rio de" without "janeiro" are no entry; a hashtag loses its "#"
        [0, 0, name, 0, 0, name, in_name, city, 0],
    ]


def test_a_one_token_entry_at_the_sentence_end_and_entries_across_padding():
    # Padding ends a sentence: "New" at the end and "York" after padding make no entry.
    assert gazetteer_column([["taylor", "new", "", "york"]]) == [[2, 0, 0, 1]]
    assert gazetteer_column([["Taylor"]]) == [[2]]


def test_packed_layout_with_and_without_gazetteers():
    tokens = tf.constant([["The", "New", "York", "Times", ""], ["taylor", "", "", "", ""]])
    plain = zoo.layers.TokenFeatures(["the", "new"], list("theNwYrk"), max_word_length=4)
    with_lists = zoo.layers.TokenFeatures(
        ["the", "new"], list("theNwYrk"), max_word_length=4, gazetteers=LISTS
    )
    assert (plain.width, plain.gazetteer_bits, with_lists.width, with_lists.gazetteer_bits) == (6, 0, 7, 4)
    packed, extended = plain(tokens).numpy(), with_lists(tokens).numpy()
    assert packed.shape == (2, 5, 6) and extended.shape == (2, 5, 7)
    np.testing.assert_array_equal(extended[..., :-1], packed)  # word, casing, characters: the same columns
    assert extended[..., -1].tolist() == [[0, 1, 5, 0, 0], [2, 0, 0, 0, 0]]
    for shape in [(0, 3), (2, 0), (0, 0)]:
        assert with_lists(np.zeros(shape, dtype=bytes)).shape == (*shape, 7)


def test_gazetteers_survive_keeping_and_the_layer_contract(tmp_path):
    layer = zoo.layers.TokenFeatures(["the", "york"], list("the"), max_word_length=4, gazetteers=LISTS)
    smaller, _ = layer.keeping(["the"])
    assert smaller.gazetteers == LISTS and smaller.width == layer.width
    tokens = np.array([["New", "York", "Taylor", "x"], ["rio", "de", "janeiro", ""]], dtype=object)
    init_kwargs = {"word_vocabulary": ["the"], "char_vocabulary": list("the"), "max_word_length": 3}
    run_layer_test(
        zoo.layers.TokenFeatures, {**init_kwargs, "gazetteers": LISTS}, tokens, (2, 4, 6), tmp_path=tmp_path,
        fit_step=False,
    )  # fmt: skip
    with pytest.raises(ValueError, match="no list holds an entry"):
        zoo.layers.TokenFeatures(**init_kwargs, gazetteers={"city": [" "]})
