"""One vector per token from its characters, so words never seen in training still get a representation."""

from __future__ import annotations

from typing import Literal

import keras
from keras import ops

from zoo.layers.pooling import MaskedGlobalMaxPooling1D


@keras.saving.register_keras_serializable(package="zoo")
class CharacterEncoder(keras.layers.Layer):
    """Character ids of each token -> one feature vector per token (a char CNN or a char BiLSTM).

    A word embedding knows only the words of its vocabulary; "Kardashian", "#WorldCup" or "iPhone8" may be
    unknown to it, but their characters (capitals, a hashtag, a digit at the end, a suffix like "-ville")
    say a lot about what they are. This layer reads each token's characters on their own and returns a
    vector per token, to concatenate with the word vector:

    - `kind="cnn"` (Ma and Hovy 2016): character embeddings -> `Conv1D(filters, kernel_size, relu)` ->
      maximum over the token's real characters. Fast, and the usual choice.
    - `kind="lstm"` (Lample et al. 2016): character embeddings -> bidirectional LSTM of `filters // 2`
      units per direction; the last states of both directions are concatenated.

    Tokens and sentences are flattened into one batch of words for the character model and reshaped back,
    which is what `keras.layers.TimeDistributed` does but without its per-step `vectorized_map`, which
    fails on a time axis whose length changes from batch to batch.

    Args:
        vocabulary_size: number of character ids; 0 is padding.
        embedding_dim: size of the character vectors. Default 30.
        filters: size of the output vector per token. Default 50.
        kind: "cnn" or "lstm". Default "cnn".
        kernel_size: width of the CNN's filters in characters. Default 3.
        **kwargs: standard `keras.layers.Layer` arguments.

    Call arguments:
        char_ids: int `(batch, time, characters)`, 0-padded (e.g. from `zoo.layers.TokenFeatures`).

    Output shape: `(batch, time, filters)`; padding tokens (no character) give zeros.

    Example:

    >>> import keras
    >>> import zoo.layers
    >>> encoder = zoo.layers.CharacterEncoder(vocabulary_size=50, filters=8)
    >>> vectors = encoder(keras.ops.convert_to_tensor([[[3, 4, 0], [5, 0, 0], [0, 0, 0]]]))
    >>> tuple(vectors.shape), bool(keras.ops.all(vectors[0, 2] == 0))  # the padding token is zeros
    ((1, 3, 8), True)
    """

    def __init__(
        self,
        vocabulary_size: int,
        embedding_dim: int = 30,
        filters: int = 50,
        kind: Literal["cnn", "lstm"] = "cnn",
        kernel_size: int = 3,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if kind not in ("cnn", "lstm"):
            raise ValueError(f"kind must be 'cnn' or 'lstm', got {kind!r}")
        if min(vocabulary_size, embedding_dim, filters, kernel_size) < 1 or (kind == "lstm" and filters < 2):
            raise ValueError("vocabulary_size, embedding_dim, filters and kernel_size must be positive")
        self.vocabulary_size = vocabulary_size
        self.embedding_dim = embedding_dim
        self.filters = filters
        self.kind = kind
        self.kernel_size = kernel_size
        # No mask_zero: `call` passes the mask itself, and Conv1D would only warn that it drops one.
        self.embedding = keras.layers.Embedding(vocabulary_size, embedding_dim)
        if kind == "cnn":
            self.convolution = keras.layers.Conv1D(filters, kernel_size, padding="same", activation="relu")
            self.pooling = MaskedGlobalMaxPooling1D()
        else:
            self.recurrent = keras.layers.Bidirectional(keras.layers.LSTM(filters // 2))

    def build(self, input_shape):
        words_shape = (None, input_shape[-1])
        self.embedding.build(words_shape)
        chars_shape = (None, input_shape[-1], self.embedding_dim)
        if self.kind == "cnn":
            self.convolution.build(chars_shape)
        else:
            self.recurrent.build(chars_shape)

    def call(self, char_ids):
        shape = ops.shape(char_ids)
        words = ops.reshape(char_ids, (-1, shape[-1]))  # (batch * time, characters)
        mask = words > 0
        chars = self.embedding(words)
        if self.kind == "cnn":
            encoded = self.pooling(self.convolution(chars), mask=mask)
        else:
            encoded = self.recurrent(chars, mask=mask)
        # A token with no character (padding) encodes to zeros whichever kind is used.
        encoded = encoded * ops.cast(ops.any(mask, axis=-1, keepdims=True), encoded.dtype)
        return ops.reshape(encoded, (shape[0], shape[1], self.output_dim))

    @property
    def output_dim(self) -> int:
        return self.filters if self.kind == "cnn" else 2 * (self.filters // 2)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.output_dim)

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary_size": self.vocabulary_size,
            "embedding_dim": self.embedding_dim,
            "filters": self.filters,
            "kind": self.kind,
            "kernel_size": self.kernel_size,
        }
