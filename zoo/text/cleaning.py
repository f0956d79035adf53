"""Cleaning raw text: HTML, Unicode forms, invisible characters, whitespace."""

from __future__ import annotations

import html
import re
import unicodedata

_TAG = re.compile(r"</?[A-Za-z][^<>]{0,200}>")  # bounded so a stray "<" cannot swallow a whole review
_SPACE = re.compile(r"\s+")


def clean(
    text: str,
    *,
    strip_html: bool = True,
    unicode_form: str | None = "NFKC",
    drop_control: bool = True,
) -> str:
    """Make raw text safe to tokenise.

    Args:
        text: raw text, e.g. an IMDB review with `<br /><br />` line breaks.
        strip_html: replace tags by a space and unescape entities (`&amp;` -> `&`).
        unicode_form: `unicodedata` normal form; NFKC folds compatibility characters (ligature "ﬁ" ->
            "fi", fullwidth "Ａ" -> "A", no-break space -> space) so one word has one spelling.
            `None` keeps the text's own form.
        drop_control: remove control characters (tab, newline and carriage return become spaces) and
            invisible format characters (zero-width space and joiner, byte-order mark, soft hyphen).

    Returns:
        The text with whitespace runs collapsed to one space and no leading or trailing space.

    Example:

    >>> from zoo.text import clean
    >>> clean("Great<br /><br />ﬁlm &amp; cast\\u200b!")
    'Great film & cast!'
    """
    if strip_html:
        text = html.unescape(_TAG.sub(" ", text))
    if unicode_form:
        text = unicodedata.normalize(unicode_form, text)
    if drop_control:
        text = "".join(
            " " if char in "\t\n\r" else char
            for char in text
            if unicodedata.category(char) not in ("Cc", "Cf") or char in "\t\n\r"
        )
    return _SPACE.sub(" ", text).strip()
