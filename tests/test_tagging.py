"""zoo.tagging, the library half of the NER recipe: vocabularies, pretrained vectors, tag ids, batches.

The towers, the ensemble's decoding and the exports are exercised through the recipe in
tests/recipes/test_ner.py."""

from __future__ import annotations

import numpy as np
import pytest

import zoo.data
import zoo.errors
import zoo.layers
import zoo.tagging


def sentences(prefix: str, count: int) -> zoo.data.TaggedSentences:
    return zoo.data.TaggedSentences([[f"{prefix}{i}"] for i in range(count)], [["O"]] * count)


def test_file_vectors_are_keyed_by_the_word_lookups_form():
    # GloVe has "London" nowhere (it is lowercased) but "1984" and "1985", which our lookup reads as one
    # word "0000": the more frequent (earlier) vector keeps it.
    rows = np.eye(5, dtype="float32")
    keyed = zoo.tagging.lookup_form(dict(zip(["London", "1984", "london", "1985", "#paris"], rows)))
    assert list(keyed) == ["london", "0000", "paris"]
    np.testing.assert_array_equal(np.stack(list(keyed.values())), rows[[0, 1, 4]])


def test_pretrained_vectors_join_the_vocabulary_and_fill_their_rows():
    rows = np.arange(1.0, 10.0, dtype="float32").reshape(3, 3)
    words, table, found = zoo.tagging.with_pretrained_vectors(
        ["the", "cat"], dict(zip(["The", "dog", "1984"], rows)), seed=0
    )
    assert words == ["the", "cat", "dog", "0000"] and found == 3
    assert table.shape == (6, 3) and not table[0].any()  # row 0 padding, row 1 unknown, then the words
    np.testing.assert_array_equal(table[[2, 4, 5]], rows)


def test_vocabularies_count_normalised_words_and_every_character():
    train = zoo.data.TaggedSentences([["The", "cat", "2019"], ["the", "1984", "Dog"]], [["O"] * 3] * 2)
    words, chars = zoo.tagging.vocabularies(train, min_word_count=2)
    assert words == ["the", "0000"]  # "cat" and "dog" are seen once
    assert chars[:5] == ["h", "e", "t", "1", "9"] and set(chars) == set("Thecat2019the1984Dog")  # seen twice


def test_move_to_training_moves_a_seeded_share_of_validation():
    train, validation = zoo.tagging.move_to_training(sentences("t", 5), sentences("v", 11), 0.5, seed=3)
    moved = [tokens[0] for tokens in train.tokens[5:]]
    kept = [tokens[0] for tokens in validation.tokens]
    assert len(moved) == 6 and len(kept) == 5 and len(train.tags) == 11
    assert sorted(moved + kept) == sorted(f"v{i}" for i in range(11))  # each once, in one split
    assert kept == sorted(kept, key=lambda word: int(word[1:]))  # validation keeps its order
    again, _ = zoo.tagging.move_to_training(sentences("t", 5), sentences("v", 11), 0.5, seed=3)
    other, _ = zoo.tagging.move_to_training(sentences("t", 5), sentences("v", 11), 0.5, seed=4)
    assert again.tokens == train.tokens and other.tokens != train.tokens


def test_tag_vocabulary_puts_o_first_and_refuses_tags_training_lacks():
    train = zoo.data.TaggedSentences([["a", "b", "c"], ["d"]], [["B-person", "I-person", "O"], ["B-loc"]])
    splits = {"train": train, "test": train}
    assert zoo.tagging.tag_vocabulary(splits) == ["O", "B-loc", "I-loc", "B-person", "I-person"]
    bioes = zoo.tagging.tag_vocabulary(splits, "bioes")
    assert bioes[:5] == ["O", "B-loc", "I-loc", "E-loc", "S-loc"] and len(bioes) == 9
    splits["test"] = zoo.data.TaggedSentences([["x"]], [["B-org"]])
    with pytest.raises(zoo.errors.DataFormatError, match="B-org"):
        zoo.tagging.tag_vocabulary(splits)


def test_tagged_dataset_pads_tags_with_minus_one():
    split = zoo.data.TaggedSentences([["The", "cat"], ["Dogs"]], [["O", "B-animal"], ["B-animal"]])
    features = zoo.layers.TokenFeatures(["the", "cat"], list("thecaDogs"), max_word_length=3)
    packed, tags = next(iter(zoo.tagging.tagged_dataset(split, features, ["O", "B-animal"], batch_size=2)))
    assert tuple(packed.shape) == (2, 2, 5)
    np.testing.assert_array_equal(packed[..., 0], [[2, 3], [1, 0]])  # "dogs" unknown, then padding
    np.testing.assert_array_equal(tags, [[0, 1], [1, -1]])
