"""LexiconFeatures: frequency classes and gazetteer matches over token windows, padding inert."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

import zoo.layers

WORDS = [f"w{i}" for i in range(1, 101)]  # w1 is the most frequent word, w100 the least


def lexicon(**gazetteers):
    return zoo.layers.LexiconFeatures(WORDS, gazetteers or {"location": ["New York City", "York", "Rio"]})


def test_frequency_class_is_the_log2_rank():
    layer = lexicon()
    tokens = [["w1", "W2", "w3", "w4", "w64", "w100", "unseen", ""]]
    classes = layer(tf.constant(tokens)).numpy()[0, :, 0].tolist()
    assert classes == [2 + int(math.log2(rank)) for rank in (1, 2, 3, 4, 64, 100)] + [1, 0]
    assert layer.num_frequency_classes > max(classes)


def test_multi_word_entries_mark_every_token_of_the_match():
    tokens = [
        ["in", "new", "york", "city", "not", "new", "jersey", "york"],
        ["#Rio", "new", "york", "", "", "", "", ""],
    ]
    matches = lexicon()(tf.constant(tokens)).numpy()[..., 1]
    assert matches[0].tolist() == [0, 1, 1, 1, 0, 0, 0, 1]  # "new york" alone is not an entry; "york" is
    assert matches[1].tolist() == [1, 0, 1, 0, 0, 0, 0, 0]  # a match never runs into the padding


def test_gazetteer_columns_follow_their_names():
    layer = lexicon(first_name=["Ann"], last_name=["Smith", "Ann"])
    assert layer.gazetteer_names == ["first_name", "last_name"]
    packed = layer(tf.constant([["ann", "smith", "x"]])).numpy()[0]
    np.testing.assert_array_equal(packed[:, 1:], [[1, 1], [0, 1], [0, 0]])


def test_entries_longer_than_the_limit_are_ignored():
    layer = zoo.layers.LexiconFeatures([], {"location": ["a b c d"]}, max_entry_tokens=3)
    assert layer(tf.constant([["a", "b", "c", "d"]])).numpy()[0, :, 1].tolist() == [0, 0, 0, 0]
    with pytest.raises(ValueError, match="max_entry_tokens"):
        zoo.layers.LexiconFeatures([], {}, max_entry_tokens=0)


def test_english_lexicons_are_cached(tmp_path, monkeypatch):
    import zoo.text.lexicons as lexicons

    built = lexicons.Lexicons(["the", "of"], {"location": ["Paris"], "first_name": ["Ann"], "last_name": []})
    calls = []
    monkeypatch.setattr(lexicons, "_build", lambda *args: calls.append(args) or built)
    assert lexicons.english_lexicons(2, 1, folder=tmp_path) == built
    assert lexicons.english_lexicons(2, 1, folder=tmp_path) == built
    assert calls == [(2, 1)]
