"""Word n-grams from token ids, hashed into a fixed number of buckets (fastText's bag of n-grams)."""

from __future__ import annotations

import keras
from keras import ops

_MULTIPLIER = 1_000_003  # a large prime, as in Python 2's string hash


@keras.saving.register_keras_serializable(package="zoo")
class HashedNgrams(keras.layers.Layer):
    """Token ids -> the ids of the tokens and of their n-grams, n-grams hashed into `num_buckets`.

    A recurrent layer reads order but forgets; a bag of n-grams remembers every phrase ("not good",
    "waste of") but ignores order. Feeding the output of this layer to
    `keras.layers.Embedding(vocabulary_size + num_buckets, dim, mask_zero=True)` and averaging
    (`keras.layers.GlobalAveragePooling1D`) gives fastText's n-gram text representation (Joulin et al.
    2017), computed in the graph from the same token ids the RNN reads, so a model using it still exports
    to TFLite with built-in ops and one int input.

    Unigram ids pass through unchanged. The n-gram of length k starting at step t gets the id
    `vocabulary_size + (polynomial hash of k and its k ids) mod num_buckets`; n-grams that touch
    padding (id 0) get id 0, so the embedding's mask hides them.

    Args:
        vocabulary_size: number of token ids (ids are in `[0, vocabulary_size)`, 0 is padding).
        num_buckets: number of hash buckets shared by all n-grams. Default 2**21.
        max_n: longest n-gram; 2 gives unigrams and bigrams. Default 2.
        **kwargs: standard `keras.layers.Layer` arguments.

    Call arguments:
        token_ids: int tensor `(batch, time)`, 0-padded.

    Output shape: `(batch, time * max_n - max_n * (max_n - 1) / 2)` int ids: the `time` unigrams, then
    the `time - 1` bigrams, and so on.

    Example:

    >>> import keras
    >>> import zoo.layers
    >>> layer = zoo.layers.HashedNgrams(vocabulary_size=10, num_buckets=100)
    >>> ids = layer(keras.ops.convert_to_tensor([[4, 5, 0]]))
    >>> keras.ops.convert_to_numpy(ids).tolist()  # 4, 5, padding, then "4 5" at 10 + 23, "5 <pad>" 0
    [[4, 5, 0, 33, 0]]

    References:
        Joulin, Grave, Bojanowski, Mikolov. Bag of Tricks for Efficient Text Classification. EACL 2017.
    """

    def __init__(self, vocabulary_size: int, num_buckets: int = 2**21, max_n: int = 2, **kwargs):
        super().__init__(**kwargs)
        if vocabulary_size < 2 or num_buckets < 1 or max_n < 1:
            raise ValueError(
                "HashedNgrams needs vocabulary_size >= 2, num_buckets >= 1 and max_n >= 1, got "
                f"{vocabulary_size}, {num_buckets}, {max_n}"
            )
        self.vocabulary_size = vocabulary_size
        self.num_buckets = num_buckets
        self.max_n = max_n

    def call(self, token_ids):
        token_ids = ops.cast(token_ids, "int64")
        pieces = [token_ids]
        length = ops.shape(token_ids)[1]
        for n in range(2, self.max_n + 1):
            windows = [token_ids[:, k : length - n + 1 + k] for k in range(n)]
            code = windows[0] + n  # seeding with n keeps "a b" and "a b c" apart
            valid = windows[0] > 0
            for window in windows[1:]:
                # Polynomial hash; mod num_buckets at each step keeps every value far below 2**63.
                code = ops.mod(code * _MULTIPLIER + window, self.num_buckets)
                valid = ops.logical_and(valid, window > 0)
            pieces.append(ops.where(valid, code + self.vocabulary_size, ops.zeros_like(code)))
        return ops.concatenate(pieces, axis=1)

    def compute_output_shape(self, input_shape):
        batch, time = input_shape
        if time is None:
            return (batch, None)
        return (batch, sum(max(time - n + 1, 0) for n in range(1, self.max_n + 1)))

    def compute_output_spec(self, token_ids):
        return keras.KerasTensor(self.compute_output_shape(token_ids.shape), dtype="int64")

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary_size": self.vocabulary_size,
            "num_buckets": self.num_buckets,
            "max_n": self.max_n,
        }
