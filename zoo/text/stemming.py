"""Stemming with the Snowball algorithms (snowballstemmer; it uses PyStemmer's C code if installed)."""

from __future__ import annotations

import functools
from collections.abc import Iterable

import snowballstemmer


@functools.cache
def _stemmer(language: str):
    return snowballstemmer.stemmer(language)


def stem(tokens: Iterable[str], language: str = "english") -> list[str]:
    """Snowball stems of `tokens`: "running" -> "run", "generously" -> "generous".

    Args:
        tokens: lowercase tokens.
        language: a Snowball language, e.g. "english", "spanish" (`snowballstemmer.algorithms()`).

    Example:

    >>> from zoo.text import stem
    >>> stem(["running", "cats"])
    ['run', 'cat']
    """
    return _stemmer(language).stemWords(list(tokens))
