"""Readers of the canonical dataset formats, the embedded samples, and where each dataset is found."""

from zoo.data.conll import (
    TaggedSentences,
    convert_tags,
    load_ner,
    ner_summary,
    read_conll,
    validate_tags,
)
from zoo.data.registry import DATASETS, DatasetInfo, RemoteFile, keras_cache_dir, locate
from zoo.data.sentiment import (
    LabelledTexts,
    load_sentiment,
    read_imdb,
    read_pang_lee,
    read_sst2,
    summary,
)
from zoo.data.translation import (
    TranslationPairs,
    load_translation,
    number_pair,
    read_sentence_pairs,
    sample_pairs,
    split_pairs,
)

__all__ = [
    "DATASETS",
    "DatasetInfo",
    "LabelledTexts",
    "RemoteFile",
    "TaggedSentences",
    "TranslationPairs",
    "convert_tags",
    "keras_cache_dir",
    "load_ner",
    "load_sentiment",
    "load_translation",
    "locate",
    "ner_summary",
    "number_pair",
    "read_conll",
    "read_imdb",
    "read_pang_lee",
    "read_sentence_pairs",
    "read_sst2",
    "sample_pairs",
    "split_pairs",
    "summary",
    "validate_tags",
]
