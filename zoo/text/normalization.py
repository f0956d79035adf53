"""Normalisation: case, URLs and numbers, so that surface variants share one token."""

from __future__ import annotations

import re

# A URL ends before trailing punctuation: "see www.imdb.com!" keeps its "!".
URL_PATTERN = r"(?:https?://|www\.)[^\s<>\"]*[^\s<>\".,;:!?)\]'}]"
NUMBER_PATTERN = r"\d+(?:[.,]\d+)*"
_URL = re.compile(URL_PATTERN, re.IGNORECASE)
_NUMBER = re.compile(NUMBER_PATTERN)


def normalize(
    text: str, *, lowercase: bool = True, urls: str | None = "xxurl", numbers: str | None = None
) -> str:
    """Lowercase and replace URLs (and optionally numbers) by placeholder tokens.

    Placeholders are letters only (fastai's `xxurl`, `xxnum`) so that splitting on punctuation never
    breaks them apart.

    Args:
        text: cleaned text (see `zoo.text.clean`).
        lowercase: apply `str.lower()`.
        urls: token replacing each `http(s)://...` or `www....` URL; `None` keeps URLs.
        numbers: token replacing each number such as `1,000` or `3.5`; `None` (the default) keeps them,
            because in reviews "7/10" carries the verdict.

    Example:

    >>> from zoo.text import normalize
    >>> normalize("See https://imdb.com: 10/10", numbers="xxnum")  # the URL ends before the ":"
    'see xxurl : xxnum/xxnum'
    """
    if urls is not None:
        text = _URL.sub(f" {urls} ", text)
    if numbers is not None:
        text = _NUMBER.sub(numbers, text)
    if lowercase:
        text = text.lower()
    return " ".join(text.split())
