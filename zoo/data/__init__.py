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

__all__ = [
    "DATASETS",
    "DatasetInfo",
    "LabelledTexts",
    "RemoteFile",
    "TaggedSentences",
    "convert_tags",
    "keras_cache_dir",
    "load_ner",
    "load_sentiment",
    "locate",
    "ner_summary",
    "read_conll",
    "read_imdb",
    "read_pang_lee",
    "read_sst2",
    "summary",
    "validate_tags",
]
