"""Readers of the canonical dataset formats, the embedded samples, and where each dataset is found."""

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
    "keras_cache_dir",
    "load_sentiment",
    "locate",
    "read_imdb",
    "read_pang_lee",
    "read_sst2",
    "summary",
]
