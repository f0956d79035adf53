"""Token strings -> word, casing, character and gazetteer ids in the graph, so a tagger's export takes raw
tokens."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

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

    - **gazetteer bits** (only with `gazetteers`): where the sentence holds an entry of a list (one or
      more words, e.g. "new york"), matched on the tokens' gazetteer form (lowercased, a hashtag without
      its `#`); for list i of n, bit i is set on an entry's first token and bit n + i on its further
      tokens, so "New York" in `{"city": ["new york", "york"]}` gives `[1, 3]` (York also begins an
      entry) and "new" alone gives 0. 0 for padding.

    They are packed as `[word_id, casing_id, char_id_1, ..., char_id_L]`, then the gazetteer bits if any,
    along the last axis so the model has a single integer input, which also makes the TFLite export a
    one-input model (`width` is the last axis' size).

    Args:
        word_vocabulary: normalised words, most frequent first (ids start at 2).
        char_vocabulary: characters (ids start at 2).
        max_word_length: characters kept per token. Default 20.
        gazetteers: list name -> entries (words separated by spaces, any case), e.g.
            `zoo.text.gazetteers()`; the lists' order gives their bits. Default None: no gazetteer bits.
        **kwargs: standard `keras.layers.Layer` arguments.

    Call arguments:
        tokens: string tensor `(batch, time)`, padded with empty strings.

    Output shape: `(batch, time, width)` int32: `width` is `2 + max_word_length`, and one more with
    `gazetteers`.

    Example:

    >>> import tensorflow as tf
    >>> import zoo.layers
    >>> features = zoo.layers.TokenFeatures(["the", "0000"], list("theTH0129"), max_word_length=4)
    >>> packed = features(tf.constant([["The", "2019", ""]]))
    >>> tuple(packed.shape), packed.dtype.name
    ((1, 3, 6), 'int32')
    >>> packed[0].numpy().tolist()  # [word, casing, 4 characters]: "The" is the, title; "2019" is 0000
    [[2, 6, 5, 3, 4, 0], [3, 2, 9, 7, 8, 10], [0, 0, 0, 0, 0, 0]]
    >>> lists = {"city": ["New York", "York"], "country": ["Wales"]}
    >>> features = zoo.layers.TokenFeatures(["the"], list("the"), max_word_length=2, gazetteers=lists)
    >>> features(tf.constant([["new", "YORK", "and", "#Wales"]]))[0, :, -1].numpy().tolist()
    [1, 5, 0, 2]
    """

    CASINGS = CASINGS

    def __init__(
        self,
        word_vocabulary: Sequence[str],
        char_vocabulary: Sequence[str],
        max_word_length: int = 20,
        gazetteers: Mapping[str, Sequence[str]] | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if max_word_length < 1:
            raise ValueError(f"max_word_length must be at least 1, got {max_word_length}")
        self.word_vocabulary = list(word_vocabulary)
        self.char_vocabulary = list(char_vocabulary)
        self.max_word_length = max_word_length
        self.gazetteers = {name: list(entries) for name, entries in (gazetteers or {}).items()}
        self.word_lookup = keras.layers.StringLookup(
            vocabulary=self.word_vocabulary, mask_token="", output_mode="int", dtype="int64"
        )
        self.char_lookup = keras.layers.StringLookup(
            vocabulary=self.char_vocabulary, mask_token="", output_mode="int", dtype="int64"
        )
        self.entry_lookup = None
        if self.gazetteers:
            entries = self._entry_lists()
            if not entries:
                raise ValueError("gazetteers: no list holds an entry")
            # An entry's id (2 onwards; 0 the empty string, 1 no entry) -> the bits of the lists holding it.
            self.entry_lookup = keras.layers.StringLookup(
                vocabulary=list(entries), mask_token="", output_mode="int", dtype="int64"
            )
            self.entry_list_bits = np.array([0, 0, *entries.values()], dtype="int32")
            self.max_entry_words = max(entry.count(" ") + 1 for entry in entries)

    @property
    def gazetteer_bits(self) -> int:
        """Bits of the gazetteer id: an entry's first token and its further tokens, per list (0: none)."""
        return 2 * len(self.gazetteers)

    @property
    def width(self) -> int:
        """The packed ids' last axis: word, casing, `max_word_length` characters, the gazetteer bits."""
        return 2 + self.max_word_length + bool(self.gazetteers)

    def _entry_lists(self) -> dict[str, int]:
        """Every entry in its gazetteer form, words joined by one space -> the bits of the lists holding
        it (list i: bit i)."""
        names = list(self.gazetteers)
        lines = [(names.index(name), entry) for name, entries in self.gazetteers.items() for entry in entries]
        with tf.init_scope():  # the graph's own lowercasing, so entries and tokens agree on every letter
            words = [entry.split() for _, entry in lines]
            flat = [word for entry in words for word in entry]
            forms = iter(self.gazetteer_form(tf.constant(flat, tf.string)).numpy().tolist() if flat else [])
        entries: dict[str, int] = {}
        for (index, _), entry in zip(lines, words):
            key = " ".join(next(forms).decode("utf-8") for _ in entry)
            if key:
                entries[key] = entries.get(key, 0) | 1 << index
        return entries

    def build(self, input_shape):
        self.word_lookup.build(input_shape)
        self.char_lookup.build(None)
        if self.entry_lookup is not None:
            self.entry_lookup.build(input_shape)

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
    def gazetteer_form(tokens: tf.Tensor) -> tf.Tensor:
        """The form gazetteer entries are matched in: lowercased, a hashtag without its `#`."""
        return tf.strings.regex_replace(tf.strings.lower(tokens, encoding="utf-8"), r"^#(\w+)$", r"\1")

    def gazetteer_ids(self, tokens: tf.Tensor) -> tf.Tensor:
        """`(batch, time)` int32: each token's gazetteer bits (see the class docstring)."""
        forms = self.gazetteer_form(tokens)
        length = tf.shape(forms)[1]
        list_bits = tf.constant(self.entry_list_bits)
        first = inside = tf.zeros_like(forms, dtype=tf.int32)
        for words in range(1, self.max_entry_words + 1):
            # The n words from each position: padding "" makes a key no entry has (it has no empty word).
            padded = tf.pad(forms, [[0, 0], [0, words - 1]], constant_values="")
            grams = tf.strings.join([padded[:, k : k + length] for k in range(words)], separator=" ")
            found = tf.gather(list_bits, self.entry_lookup(grams))
            first = tf.bitwise.bitwise_or(first, found)
            for k in range(1, words):  # the entry's further tokens, k steps on
                inside = tf.bitwise.bitwise_or(inside, tf.pad(found, [[0, 0], [k, 0]])[:, :length])
        return tf.bitwise.bitwise_or(first, tf.bitwise.left_shift(inside, len(self.gazetteers)))

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
        parts = [word_ids[..., None], self.casing(tokens)[..., None], char_ids]
        if self.gazetteers:
            parts.append(self.gazetteer_ids(tokens)[..., None])
        return tf.concat(parts, axis=-1)

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
            gazetteers=self.gazetteers or None,
            name=self.name,
        )
        return copy, np.array([0, 1, *(index + 2 for index in indices)])

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.width)

    def compute_output_spec(self, tokens):
        return keras.KerasTensor(self.compute_output_shape(tokens.shape), dtype="int32")

    def get_config(self):
        return {
            **super().get_config(),
            "word_vocabulary": self.word_vocabulary,
            "char_vocabulary": self.char_vocabulary,
            "max_word_length": self.max_word_length,
            "gazetteers": self.gazetteers or None,
        }
