"""Lemmatisation with simplemma: dictionary-based, offline (its data ships in the wheel), 50+ languages."""

from __future__ import annotations

from collections.abc import Iterable

import simplemma


def lemmatize(tokens: Iterable[str], language: str = "en") -> list[str]:
    """Dictionary forms of `tokens`: "mice" -> "mouse", "was" -> "be", "running" -> "run".

    Unlike a stemmer it returns real words, and it knows irregular forms; unknown words come back
    unchanged. It looks words up one by one, without their part of speech.

    Args:
        tokens: tokens (case is kept for words it does not know).
        language: ISO 639-1 code, e.g. "en", "es".

    Example:

    >>> from zoo.text import lemmatize
    >>> lemmatize(["mice", "were", "running"])
    ['mouse', 'be', 'run']
    """
    return [simplemma.lemmatize(token, lang=language) for token in tokens]
