"""Text preprocessing: cleaning, normalisation, stop words, stemming, lemmatisation, tokenisation,
vocabulary, pretrained word vectors, gazetteers (lists of places), and `standardize`, the
same preprocessing inside the TensorFlow graph."""

from zoo.text.cleaning import clean
from zoo.text.gazetteers import GAZETTEER_SOURCES, gazetteers
from zoo.text.graph import standardize
from zoo.text.lemmatization import lemmatize
from zoo.text.normalization import normalize
from zoo.text.stemming import stem
from zoo.text.stop_words import ENGLISH_STOP_WORDS, NEGATIONS, remove_stop_words
from zoo.text.tokenization import preprocess, token_spans, tokenize
from zoo.text.vectors import embedding_matrix, load_word_vectors
from zoo.text.vocabulary import Vocabulary

__all__ = [
    "ENGLISH_STOP_WORDS",
    "GAZETTEER_SOURCES",
    "NEGATIONS",
    "Vocabulary",
    "clean",
    "embedding_matrix",
    "gazetteers",
    "lemmatize",
    "load_word_vectors",
    "normalize",
    "preprocess",
    "remove_stop_words",
    "standardize",
    "stem",
    "token_spans",
    "tokenize",
]
