"""Token strings -> word, casing and character ids in the graph, so a tagger's export takes raw tokens."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import keras
import numpy as np
import tensorflow as tf

# Casing classes (Reimers and Gurevych 2017). The word lookup lowercases, so "Apple" and "apple" share a
# vector; the casing id gives the capital back as a feature of its own.
CASINGS = ("padding", "other", "numeric", "mainly_numeric", "lower", "upper", "title", "has_digit")
_CASE_PATTERNS = (  # first match wins, checked in this order
    ("numeric", r"[0-9]+"),
    ("mainly_numeric", r"[0-9.,:/+-]*[0-9][0-9.,:/+-]*"),
    ("lower", r"\p{Ll}+"),
    ("upper", r"\p{Lu}+"),
    ("title", r"\p{Lu}\p{Ll}+"),
    ("has_digit", r".*[0-9].*"),
)


@keras.saving.register_keras_serializable(package="zoo")
class TokenFeatures(keras.layers.Layer):
    """A batch of token strings -> one int tensor packing each token's word id, casing id and character ids.

    The features of a neural tagger (Lample et al. 2016; Reimers and Gurevych 2017), computed with
    TensorFlow string ops so that a SavedModel built on this layer takes tokens as strings:

    - **word id**: the token normalised for lookup (lowercased, every digit -> `0` so "2017" and "1999"
      share a vector, `@user` mentions -> `xxuser`, URLs -> `xxurl`, hashtags lose their `#` so that
      "#NFL" gets the vector of "nfl", tokens made only of symbols such as emoji -> `xxemoji`), looked up
      in `word_vocabulary`; 0 is padding (the empty string), 1 unknown.
    - **casing id**: one of `TokenFeatures.CASINGS` (numeric, lower, UPPER, Title, has a digit, ...),
      0 for padding.
    - **character ids**: the first `max_word_length` Unicode code points of the raw token (case, digits and
      emoji kept: the characters are where an unseen name like "Kardashian" gets its representation),
      looked up in `char_vocabulary`; 0 is padding, 1 unknown.

    They are packed as `[word_id, casing_id, char_id_1, ..., char_id_L]` along the last axis so the
    model has a single integer input, which also makes the TFLite export a one-input model.

    Args:
        word_vocabulary: normalised words, most frequent first (ids start at 2).
        char_vocabulary: characters (ids start at 2).
        max_word_length: characters kept per token. Default 20.
        **kwargs: standard `keras.layers.Layer` arguments.

    Call arguments:
        tokens: string tensor `(batch, time)`, padded with empty strings.

    Output shape: `(batch, time, 2 + max_word_length)` int32.

    Example:

    >>> import tensorflow as tf
    >>> import zoo.layers
    >>> features = zoo.layers.TokenFeatures(["the", "0000"], list("theTH0129"), max_word_length=4)
    >>> packed = features(tf.constant([["The", "2019", ""]]))
    >>> tuple(packed.shape), packed.dtype.name
    ((1, 3, 6), 'int32')
    >>> packed[0].numpy().tolist()  # [word, casing, 4 characters]: "The" is the, title; "2019" is 0000
    [[2, 6, 5, 3, 4, 0], [3, 2, 9, 7, 8, 10], [0, 0, 0, 0, 0, 0]]
    """

    CASINGS = CASINGS

    def __init__(
        self,
        word_vocabulary: Sequence[str],
        char_vocabulary: Sequence[str],
        max_word_length: int = 20,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if max_word_length < 1:
            raise ValueError(f"max_word_length must be at least 1, got {max_word_length}")
        self.word_vocabulary = list(word_vocabulary)
        self.char_vocabulary = list(char_vocabulary)
        self.max_word_length = max_word_length
        self.word_lookup = keras.layers.StringLookup(
            vocabulary=self.word_vocabulary, mask_token="", output_mode="int", dtype="int64"
        )
        self.char_lookup = keras.layers.StringLookup(
            vocabulary=self.char_vocabulary, mask_token="", output_mode="int", dtype="int64"
        )

    def build(self, input_shape):
        self.word_lookup.build(input_shape)
        self.char_lookup.build(None)

    @staticmethod
    def normalize(tokens: tf.Tensor) -> tf.Tensor:
        """The word-lookup form of tokens (see the class docstring); also used to build the vocabulary."""
        words = tf.strings.lower(tokens, encoding="utf-8")
        words = tf.strings.regex_replace(words, r"[0-9]", "0")
        words = tf.strings.regex_replace(words, r"^@\w+$", "xxuser")
        words = tf.strings.regex_replace(words, r"^(https?://|www\.)\S+$", "xxurl")
        words = tf.strings.regex_replace(words, r"^#(\w+)$", r"\1")
        return tf.strings.regex_replace(words, r"^[\p{So}\p{Sk}\x{200d}\x{fe0f}]+$", "xxemoji")

    @staticmethod
    def casing(tokens: tf.Tensor) -> tf.Tensor:
        ids = tf.where(tokens == "", 0, CASINGS.index("other"))
        for name, pattern in reversed(_CASE_PATTERNS):  # reversed: earlier patterns overwrite later ones
            ids = tf.where(tf.strings.regex_full_match(tokens, pattern), CASINGS.index(name), ids)
        return tf.cast(ids, "int32")

    def call(self, tokens):
        tokens = tf.convert_to_tensor(tokens, dtype=tf.string)
        word_ids = tf.cast(self.word_lookup(self.normalize(tokens)), "int32")
        chars = tf.strings.unicode_split(tokens, "UTF-8", errors="replace")  # ragged (batch, time, chars)
        char_ids = tf.cast(self.char_lookup(chars), "int32")
        # The input's batch and time axes, not the ragged tensor's: a batch of only empty tokens (or of no
        # sentences) has no characters, and to_tensor would give it zero time steps.
        shape = tf.shape(tokens, out_type=tf.int64)
        char_ids = char_ids[:, :, : self.max_word_length].to_tensor(
            0, shape=[shape[0], shape[1], self.max_word_length]
        )
        return tf.concat([word_ids[..., None], self.casing(tokens)[..., None], char_ids], axis=-1)

    def keeping(self, words: Iterable[str]) -> tuple[TokenFeatures, np.ndarray]:
        """A copy that looks up only the vocabulary's words among `words` (lookup forms, see `normalize`),
        in the vocabulary's order, and the rows of a word-embedding table its ids select: `table[rows]`
        is the smaller table, its padding and unknown rows included. Any other word becomes unknown.

        Example:

        >>> import zoo.layers
        >>> features = zoo.layers.TokenFeatures(["the", "cat", "sat"], list("thecas"), max_word_length=3)
        >>> smaller, rows = features.keeping(["sat", "the", "dog"])
        >>> smaller.word_vocabulary, rows.tolist()
        (['the', 'sat'], [0, 1, 2, 4])
        """
        keep = set(words)
        indices = [index for index, word in enumerate(self.word_vocabulary) if word in keep]
        copy = TokenFeatures(
            [self.word_vocabulary[index] for index in indices],
            self.char_vocabulary,
            self.max_word_length,
            name=self.name,
        )
        return copy, np.array([0, 1, *(index + 2 for index in indices)])

    def compute_output_shape(self, input_shape):
        return (*input_shape, 2 + self.max_word_length)

    def compute_output_spec(self, tokens):
        return keras.KerasTensor(self.compute_output_shape(tokens.shape), dtype="int32")

    def get_config(self):
        return {
            **super().get_config(),
            "word_vocabulary": self.word_vocabulary,
            "char_vocabulary": self.char_vocabulary,
            "max_word_length": self.max_word_length,
        }
