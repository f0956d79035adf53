"""A token <-> id map with padding and unknown-word ids, interchangeable with Keras's lookup layers."""

from __future__ import annotations

import collections
import os
import pathlib
from collections.abc import Iterable, Sequence

from zoo.errors import DataFormatError


class Vocabulary:
    """An immutable vocabulary: id 0 is padding, id 1 the unknown word, then the regular tokens.

    The special tokens default to Keras's own (`""` and `"[UNK]"`), so a vocabulary file written by
    `keras.layers.TextVectorization.get_vocabulary()` loads here, and
    `keras.layers.StringLookup(vocabulary=vocab.tokens[2:])` maps tokens to the same ids as `encode`.

    Args:
        tokens: the regular tokens, most useful first; no duplicates, no special tokens, no newlines.
        pad_token: token of id 0.
        unk_token: token of id 1, returned for anything not in the vocabulary.

    Example:

    >>> from zoo.text import Vocabulary
    >>> vocab = Vocabulary.build([["a", "good", "film"], ["a", "bad", "film"]], max_size=4)
    >>> vocab.tokens
    ['', '[UNK]', 'a', 'film']
    >>> vocab.encode(["a", "great", "film"])
    [2, 1, 3]
    """

    def __init__(self, tokens: Sequence[str], *, pad_token: str = "", unk_token: str = "[UNK]"):
        if pad_token == unk_token:
            raise ValueError("pad_token and unk_token must differ")
        self.pad_token, self.unk_token = pad_token, unk_token
        self.tokens: list[str] = [pad_token, unk_token, *tokens]
        self._ids = {token: index for index, token in enumerate(self.tokens)}
        if len(self._ids) != len(self.tokens):
            duplicates = [t for t, n in collections.Counter(self.tokens).items() if n > 1]
            raise ValueError(f"duplicate or special tokens among the tokens: {duplicates[:5]}")
        bad = [token for token in self.tokens if "\n" in token or "\r" in token]
        if bad:
            raise ValueError(f"tokens cannot contain line breaks (one token per line): {bad[:5]!r}")

    pad_id = 0
    unk_id = 1

    @classmethod
    def build(
        cls,
        token_lists: Iterable[Iterable[str]],
        *,
        max_size: int | None = None,
        min_count: int = 1,
        pad_token: str = "",
        unk_token: str = "[UNK]",
    ) -> Vocabulary:
        """Count tokens and keep the most frequent (ties broken alphabetically, so builds repeat).

        Args:
            token_lists: tokenised texts.
            max_size: cap on the total size, the two special tokens included.
            min_count: drop tokens seen fewer times.
        """
        if max_size is not None and max_size < 2:
            raise ValueError("max_size must leave room for the two special tokens (>= 2)")
        counts = collections.Counter(token for tokens in token_lists for token in tokens)
        counts.pop(pad_token, None)
        counts.pop(unk_token, None)
        ranked = sorted(
            (token for token, count in counts.items() if count >= min_count),
            key=lambda token: (-counts[token], token),
        )
        if max_size is not None:
            ranked = ranked[: max_size - 2]
        return cls(ranked, pad_token=pad_token, unk_token=unk_token)

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self._ids

    def __getitem__(self, token: str) -> int:
        return self._ids.get(token, self.unk_id)

    def encode(self, tokens: Iterable[str]) -> list[int]:
        return [self._ids.get(token, self.unk_id) for token in tokens]

    def decode(self, ids: Iterable[int], *, skip_special: bool = True) -> list[str]:
        return [self.tokens[i] for i in ids if not (skip_special and i in (self.pad_id, self.unk_id))]

    def save(self, path: str | os.PathLike) -> pathlib.Path:
        """One token per line, UTF-8, in id order (line 1 is the padding token, empty by default)."""
        path = pathlib.Path(path)
        path.write_text("\n".join(self.tokens) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, *, pad_token: str = "", unk_token: str = "[UNK]") -> Vocabulary:
        """Read a file written by `save` or by `TextVectorization.get_vocabulary()`."""
        try:
            lines = pathlib.Path(path).read_text(encoding="utf-8").split("\n")
        except UnicodeDecodeError as error:
            line = pathlib.Path(path).read_bytes()[: error.start].count(b"\n") + 1
            raise DataFormatError(path, line, f"not UTF-8 ({error.reason})") from None
        if lines and lines[-1] == "":
            lines.pop()
        for line, expected in ((1, pad_token), (2, unk_token)):
            if len(lines) < line or lines[line - 1] != expected:
                found = lines[line - 1] if len(lines) >= line else "end of file"
                raise DataFormatError(path, line, f"expected special token {expected!r}, got {found!r}")
        try:
            return cls(lines[2:], pad_token=pad_token, unk_token=unk_token)
        except ValueError as error:
            raise DataFormatError(path, None, str(error)) from None
