import keras
import numpy as np
import pytest

from zoo.layers import HashedNgrams
from zoo.layers.ngrams import _MULTIPLIER


def test_unigrams_pass_through_and_bigrams_are_hashed_by_hand():
    layer = HashedNgrams(vocabulary_size=10, num_buckets=100)
    ids = keras.ops.convert_to_numpy(layer(np.array([[4, 5, 6, 0]])))
    bigram = lambda a, b: 10 + ((a + 2) * _MULTIPLIER + b) % 100  # noqa: E731  seeded with n=2
    assert ids.tolist() == [[4, 5, 6, 0, bigram(4, 5), bigram(5, 6), 0]]  # (6, pad) -> 0


def test_trigrams_differ_from_bigrams_of_the_same_prefix():
    layer = HashedNgrams(vocabulary_size=1000, num_buckets=2**20, max_n=3)
    ids = keras.ops.convert_to_numpy(layer(np.array([[7, 8, 9]])))
    assert ids.shape == (1, 3 + 2 + 1)
    unigrams, bigrams, trigram = ids[0, :3], ids[0, 3:5], ids[0, 5]
    assert unigrams.tolist() == [7, 8, 9]
    assert np.all(bigrams >= 1000) and trigram >= 1000 and trigram not in bigrams


def test_same_ngram_same_id_anywhere_and_padding_masked():
    layer = HashedNgrams(vocabulary_size=50, num_buckets=1000)
    ids = keras.ops.convert_to_numpy(layer(np.array([[3, 4, 3, 4], [0, 0, 3, 4]])))
    assert ids[0, 4] == ids[0, 6] == ids[1, 6]  # "3 4" wherever it occurs
    assert ids[1, 4] == ids[1, 5] == 0  # bigrams touching padding vanish under the mask
    embedded = keras.layers.Embedding(1050, 2, mask_zero=True)
    assert keras.ops.convert_to_numpy(embedded.compute_mask(ids))[1].tolist() == [0, 0, 1, 1, 0, 0, 1]


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="vocabulary_size >= 2"):
        HashedNgrams(vocabulary_size=1)


def test_symbolic_shape_with_unknown_length():
    token_ids = keras.Input((None,), dtype="int32")
    assert HashedNgrams(10)(token_ids).shape == (None, None)
    assert HashedNgrams(10).compute_output_shape((None, 5)) == (None, 9)
