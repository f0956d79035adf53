"""Token strings -> lexicon features (how common the word is, which name lists hold it), in the graph."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="zoo")
class LexiconFeatures(keras.layers.Layer):
    """A batch of token strings -> per-token frequency class and gazetteer matches, packed as ints.

    Two features that a tagger of noisy text cannot learn from a few thousand sentences, looked up in
    lists that describe the language at large (the "lexical features" of the strongest WNUT-17 systems,
    Aguilar et al. 2017):

    - **frequency class**: the token's rank in `frequency_words` (a list of words, most frequent first, such
      as `wordfreq.top_n_list`), as `2 + floor(log2(rank))`; 1 for a word not in the list, 0 for padding.
      New names are rare words; "the" and "apple" are not.
    - **gazetteer matches**: for each named list (e.g. "location": city and country names), 1 if the token is
      inside a run of consecutive tokens that spells an entry of the list ("New York" marks both tokens),
      else 0. Entries may span up to `max_entry_tokens` tokens.

    Both lookups are case-insensitive and ignore a leading `#`, so "#London" and "london" match "London".

    Args:
        frequency_words: words, most frequent first.
        gazetteers: list name -> entries (strings; multi-word entries are split at spaces).
        max_entry_tokens: longest entry matched, in tokens; longer entries are dropped. Default 3.
        **kwargs: standard `keras.layers.Layer` arguments.

    Call arguments:
        tokens: string tensor `(batch, time)`, padded with empty strings.

    Output shape: `(batch, time, 1 + len(gazetteers))` int32: the frequency class, then one 0/1 column per
    gazetteer in the order of `gazetteer_names`. `num_frequency_classes` is the frequency column's range.

    Example:

    >>> lexicon = zoo.layers.LexiconFeatures(["the", "in", "york"], {"location": ["New York", "Paris"]})
    >>> lexicon(tf.constant([["In", "new", "york", "zzz", ""]]))[0].numpy().tolist()
    [[3, 0], [1, 1], [3, 1], [1, 0], [0, 0]]
    """

    def __init__(
        self,
        frequency_words: Sequence[str],
        gazetteers: Mapping[str, Sequence[str]],
        max_entry_tokens: int = 3,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if max_entry_tokens < 1:
            raise ValueError(f"max_entry_tokens must be at least 1, got {max_entry_tokens}")
        self.frequency_words = list(frequency_words)
        self.gazetteers = {name: list(entries) for name, entries in gazetteers.items()}
        self.max_entry_tokens = max_entry_tokens
        self.gazetteer_names = list(self.gazetteers)
        self.num_frequency_classes = 3 + int(math.log2(max(len(self.frequency_words), 1)))
        frequency_vocabulary = _unique(word.lower() for word in self.frequency_words)
        self.frequency_lookup = (  # StringLookup refuses an empty vocabulary
            keras.layers.StringLookup(vocabulary=frequency_vocabulary, dtype="int64")
            if frequency_vocabulary
            else None
        )
        # One lookup per (gazetteer, entry length): an n-token window is joined with spaces and looked up.
        self.entry_lookups, self.entry_keys = [], []  # entry_keys[i] = (gazetteer index, entry length)
        for g, (name, entries) in enumerate(self.gazetteers.items()):
            by_length: dict[int, list[str]] = {}
            for entry in entries:
                words = entry.lower().split()
                if 0 < len(words) <= max_entry_tokens:
                    by_length.setdefault(len(words), []).append(" ".join(words))
            for length, keys in sorted(by_length.items()):
                self.entry_keys.append((g, length))
                self.entry_lookups.append(
                    keras.layers.StringLookup(
                        vocabulary=_unique(keys), dtype="int64", name=f"{name}_{length}"
                    )
                )

    def build(self, input_shape):
        if self.frequency_lookup is not None:
            self.frequency_lookup.build(input_shape)
        for lookup in self.entry_lookups:
            lookup.build(input_shape)

    @staticmethod
    def normalize(tokens: tf.Tensor) -> tf.Tensor:
        return tf.strings.regex_replace(tf.strings.lower(tokens, encoding="utf-8"), r"^#(\w)", r"\1")

    def call(self, tokens):
        tokens = tf.convert_to_tensor(tokens, dtype=tf.string)
        words = self.normalize(tokens)
        present = tokens != ""
        # 0 = not in the list, else rank + 1
        rank = (
            self.frequency_lookup(words)
            if self.frequency_lookup is not None
            else tf.zeros_like(words, "int64")
        )
        frequency = 2 + tf.cast(tf.math.floor(tf.math.log(tf.cast(rank, "float32")) / math.log(2.0)), "int64")
        frequency = tf.where(rank > 0, tf.minimum(frequency, self.num_frequency_classes - 1), 1)
        columns = [tf.where(present, frequency, 0)]
        time = tf.shape(words)[1]
        for g in range(len(self.gazetteer_names)):
            inside = tf.zeros_like(present)
            for (index, length), lookup in zip(self.entry_keys, self.entry_lookups):
                if index != g:
                    continue
                # window[t] joins tokens t .. t+length-1; a window running past the end never matches.
                padded = tf.pad(words, [[0, 0], [0, length - 1]])
                window = tf.strings.reduce_join(
                    tf.stack([padded[:, k : k + time] for k in range(length)], axis=-1),
                    axis=-1,
                    separator=" ",
                )
                starts = lookup(window) > 0
                # Token t is inside a match that started at t - k, for some k < length.
                starts = tf.pad(starts, [[0, 0], [length - 1, 0]])
                for k in range(length):
                    inside = inside | starts[:, length - 1 - k : length - 1 - k + time]
            columns.append(tf.cast(inside & present, "int64"))
        return tf.cast(tf.stack(columns, axis=-1), "int32")

    def compute_output_shape(self, input_shape):
        return (*input_shape, 1 + len(self.gazetteers))

    def compute_output_spec(self, tokens):
        return keras.KerasTensor(self.compute_output_shape(tokens.shape), dtype="int32")

    def get_config(self):
        return {
            **super().get_config(),
            "frequency_words": self.frequency_words,
            "gazetteers": self.gazetteers,
            "max_entry_tokens": self.max_entry_tokens,
        }


def _unique(words) -> list[str]:
    """Words in first-seen order without repeats or empty strings (StringLookup refuses both)."""
    return [word for word in dict.fromkeys(words) if word]
