"""Stop words: scikit-learn's English list, with negations kept by default."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS as _SKLEARN_STOP_WORDS

ENGLISH_STOP_WORDS: frozenset[str] = frozenset(_SKLEARN_STOP_WORDS)

# Words that flip the polarity of what follows; after `zoo.text.tokenize`, "don't" stays one token.
NEGATIONS: frozenset[str] = frozenset(
    "not no nor never none nothing neither nobody nowhere cannot without "
    "don't doesn't didn't isn't aren't wasn't weren't won't wouldn't can't couldn't shouldn't "
    "haven't hasn't hadn't mustn't needn't ain't".split()
)


def remove_stop_words(
    tokens: Iterable[str], stop_words: Collection[str] | None = None, *, keep_negations: bool = True
) -> list[str]:
    """Drop stop words from a token list.

    Args:
        tokens: lowercase tokens.
        stop_words: the words to drop; default `ENGLISH_STOP_WORDS` (scikit-learn's 318 words).
        keep_negations: keep `NEGATIONS` even if listed. scikit-learn's list contains "not", "no",
            "never" and "nothing": removing them turns "not good" into "good", the opposite sentiment.

    Example:

    >>> from zoo.text import remove_stop_words
    >>> remove_stop_words(["this", "is", "not", "a", "good", "film"])
    ['not', 'good', 'film']
    """
    stop_words = ENGLISH_STOP_WORDS if stop_words is None else stop_words
    return [token for token in tokens if token not in stop_words or (keep_negations and token in NEGATIONS)]
