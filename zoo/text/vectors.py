"""Pretrained word vectors (word2vec text format) -> the initial weights of a Keras `Embedding`."""

from __future__ import annotations

import os

import numpy as np

from zoo.errors import DataFormatError


def load_word_vectors(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Word vectors in word2vec text format: a `count dim` header, then `word v1 ... vdim` per line, as
    written by gensim's `KeyedVectors.save_word2vec_format` and by `recipes.word2vec`.

    Raises:
        DataFormatError: the file is missing, not UTF-8, or not in that format (gensim's reason quoted).
    """
    from gensim.models import KeyedVectors

    try:
        vectors = KeyedVectors.load_word2vec_format(os.fspath(path), binary=False)
    except FileNotFoundError:
        raise DataFormatError(path, None, "no such file") from None
    except (ValueError, UnicodeDecodeError, EOFError, IndexError) as error:
        raise DataFormatError(path, None, f"not a word2vec text file ({error})") from None
    return {word: vectors[word] for word in vectors.index_to_key}


def embedding_matrix(
    tokens_by_id: list[str], vectors: dict[str, np.ndarray], seed: int = 0, scale: float | None = None
) -> tuple[np.ndarray, int]:
    """Rows for an `Embedding` whose id i stands for `tokens_by_id[i]` (id 0, padding, stays zero).

    A token with a vector gets it; the others get normal noise with the vectors' own standard deviation
    (or `scale`), so they start on the same footing and are learned in training.

    Returns:
        `(matrix, found)`: float32 `(len(tokens_by_id), dim)` and how many tokens had a vector.
    """
    dim = len(next(iter(vectors.values())))
    if scale is None:
        scale = float(np.std(np.stack(list(vectors.values())[:10_000])))
    matrix = np.random.default_rng(seed).normal(0.0, scale, (len(tokens_by_id), dim)).astype("float32")
    matrix[0] = 0.0
    found = [i for i, token in enumerate(tokens_by_id) if i > 0 and token in vectors]
    if found:
        matrix[found] = np.stack([vectors[tokens_by_id[i]] for i in found])
    return matrix, len(found)
