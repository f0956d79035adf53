"""Regex tokenisation, the Python twin of the in-graph `zoo.text.standardize` + whitespace split."""

from __future__ import annotations

import re

from zoo.text.cleaning import clean
from zoo.text.normalization import normalize

# Every character that is not a letter, digit, whitespace or apostrophe is a token of its own; Python's
# \w also matches "_", which RE2's \pL\pN (used in the graph) does not, so "_" is split off explicitly.
_SEPARATE = re.compile(r"([^\w\s']|_)")


def tokenize(text: str) -> list[str]:
    """Split text into words and single punctuation marks; apostrophes stay inside words.

    Example:

    >>> from zoo.text import tokenize
    >>> tokenize("it's great!! 7/10")
    ["it's", 'great', '!', '!', '7', '/', '10']
    """
    return _SEPARATE.sub(r" \1 ", text).split()


# Social-media text as WNUT-17 and CoNLL files are tokenised: a URL, an @handle, a #hashtag or a word
# with inner apostrophes, hyphens or periods ("McDonald's", "e-mail", "U.S.") is one token, and every
# other mark is a token of its own.
_SOCIAL = re.compile(
    r"https?://\S+|www\.\S+|[@#]\w+|\w+(?:['\u2019\-.&]\w+)*\.?(?<=\.\w\.)|\w+(?:['\u2019\-&]\w+)*|\S"
)


def token_spans(text: str) -> list[tuple[str, int, int]]:
    """Split raw text into the tokens a tagger reads, each with its character offsets (end exclusive).

    Example:

    >>> from zoo.text import token_spans
    >>> [token for token, _, _ in token_spans("@ana loves McDonald's in the U.S.! #NYC")]
    ['@ana', 'loves', "McDonald's", 'in', 'the', 'U.S.', '!', '#NYC']
    >>> token_spans("New York!")
    [('New', 0, 3), ('York', 4, 8), ('!', 8, 9)]
    """
    return [(match.group(), match.start(), match.end()) for match in _SOCIAL.finditer(text)]


def preprocess(text: str) -> list[str]:
    """`clean` -> `normalize` -> `tokenize` with their defaults: the tokens a recipe's model sees.

    `zoo.text.standardize` (in the graph) followed by a whitespace split gives the same tokens for every
    text that is already in NFKC form; the tests check it on IMDB and SST-2.

    Example:

    >>> from zoo.text import preprocess
    >>> preprocess("A <b>GREAT</b> film, see www.imdb.com!")
    ['a', 'great', 'film', ',', 'see', 'xxurl', '!']
    """
    return tokenize(normalize(clean(text)))
