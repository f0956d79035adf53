"""Plain text as one stream of characters, for character-level language models: tinyshakespeare, any UTF-8
file, and the embedded default, gensim's Lee news corpus.

A corpus is read whole and split by position, not by line: the first 90% of its characters train, the last
10% validate. That is nanoGPT's and Karpathy's convention for tinyshakespeare, which has no official split
(its last 10% are a few scenes no training character comes from).

The vocabulary is the sorted set of the training split's characters. Id 0 is padding, id 1 an unknown
character (one seen only in validation, or in a user's text at serving time), then the characters in
code-point order. `character_lookup` is the same map as a `keras.layers.TextVectorization` splitting on
characters, so a model that takes strings computes the very ids the training pipeline computed.

The training stream is laid out for truncated backpropagation through time (`bptt_batches`), or cut into
windows for a transformer (`random_windows`, `contiguous_windows`).
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Sequence
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from zoo.data.integrity import check_counts
from zoo.data.registry import find_dataset
from zoo.data.sentiment import decode_utf8
from zoo.errors import DataFormatError

PAD_ID, UNK_ID = 0, 1
VALIDATION_FRACTION = 0.1  # the last 10% of characters, as nanoGPT's prepare.py for shakespeare_char

# gensim/test/test_data: lee_background.cor is 300 Australian news stories (360k characters of ordinary
# English: capitals, punctuation, digits, one story per line). head500.noblanks.cor is the first 500
# Wikipedia articles of text8's source, *stemmed* and lowercased without punctuation ("encompass theori
# attitud reject"): a character model trained on it writes stems, so it is offered but not the default.
EMBEDDED = {"lee": "lee_background.cor", "head500": "head500.noblanks.cor"}


class CharacterCorpus(NamedTuple):
    train: str
    validation: str
    source: str  # where the text comes from, one line for logs


def read_text(path: str | os.PathLike) -> str:
    """The whole of a UTF-8 text file as one string (line breaks kept, a leading BOM dropped).

    Raises:
        DataFormatError: the file is missing, unreadable, empty, or not UTF-8 (the line of the first bad
            byte is named).
    """
    path = pathlib.Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DataFormatError(path, None, f"cannot read the file ({error.strerror or error})") from None
    text = decode_utf8(data, str(path)).removeprefix("\ufeff")
    if not text.strip():
        raise DataFormatError(path, None, "no text: the file is empty or blank")
    return text


def split_text(text: str, validation_fraction: float = VALIDATION_FRACTION) -> tuple[str, str]:
    """(first 1 - fraction, last fraction) of the characters: `text[:int(n * 0.9)], text[int(n * 0.9):]`."""
    if not 0.0 < validation_fraction < 1.0:
        raise ValueError(f"validation_fraction must be in (0, 1), got {validation_fraction}")
    cut = int(len(text) * (1.0 - validation_fraction))
    return text[:cut], text[cut:]


def _text_file(path: pathlib.Path, default_name: str) -> pathlib.Path:
    """`path` itself if it is a file, else `path/default_name`."""
    if path.is_dir():
        path = path / default_name
        if not path.exists():
            raise DataFormatError(path, None, "no such file; pass --data-dir FILE or a folder holding it")
    return path


def load_characters(
    name: str | None = None,
    data_dir: str | os.PathLike | None = None,
    max_train_characters: int | None = None,
    validation_fraction: float = VALIDATION_FRACTION,
    skip_checksum: bool = False,
) -> CharacterCorpus:
    """Train and validation text of a corpus by name.

    Args:
        name: None or "lee" (the embedded default, gensim's `lee_background.cor`), "head500" (gensim's
            stemmed Wikipedia sample), "tinyshakespeare" (`input.txt` in `data_dir`,
            `$ZOO_DATA_DIR/tinyshakespeare` or downloaded), or "text" (the UTF-8 file `data_dir`, or
            `input.txt` in that folder).
        data_dir: a folder or file; with it and no name, plain text is read from it.
        max_train_characters: keep only the first N training characters (quick runs); validation is
            untouched, so its loss stays comparable.
        validation_fraction: the share of characters at the end that validates.
        skip_checksum: read "tinyshakespeare" without checking its hash (your own edited copy).
    """
    if name in EMBEDDED or (name is None and data_dir is None):
        from gensim.test.utils import datapath

        path = pathlib.Path(datapath(EMBEDDED[name or "lee"]))
    elif name == "tinyshakespeare":
        copy = find_dataset("tinyshakespeare", data_dir, skip_checksum=skip_checksum)
        path = _text_file(copy.folder, "input.txt")
        check_counts(copy, {"characters": len(read_text(path))}, "")
    elif name in (None, "text"):
        if data_dir is None:
            raise DataFormatError("--data-dir", None, "--dataset text needs --data-dir FILE (UTF-8 text)")
        path = _text_file(pathlib.Path(data_dir), "input.txt")
    else:
        raise ValueError(f"unknown corpus {name!r}; expected lee, head500, tinyshakespeare or text")
    train, validation = split_text(read_text(path), validation_fraction)
    if max_train_characters is not None:
        train = train[:max_train_characters]
    return CharacterCorpus(train, validation, str(path))


# ## Characters <-> ids


def character_vocabulary(text: str) -> list[str]:
    """The distinct characters of `text` in code-point order: id `i + 2` is `vocabulary[i]`."""
    return sorted(set(text))


def encode(text: str, characters: Sequence[str]) -> np.ndarray:
    """`text` -> int32 ids (characters not in the vocabulary -> `UNK_ID`), in NumPy, for whole corpora."""
    ids = {character: index + 2 for index, character in enumerate(characters)}
    return np.fromiter((ids.get(character, UNK_ID) for character in text), dtype=np.int32, count=len(text))


def decode(ids: Sequence[int] | np.ndarray, characters: Sequence[str]) -> str:
    """Ids -> text; padding is dropped and an unknown id becomes U+FFFD (the replacement character)."""
    table = ["", "\ufffd", *characters]
    return "".join(table[int(index)] for index in ids)


def character_lookup(characters: Sequence[str], name: str = "characters") -> keras.layers.TextVectorization:
    """Strings -> padded id matrices in the TensorFlow graph, the same ids as `encode` (TF-only).

    A `TextVectorization` with `split="character"` and no standardisation: its vocabulary is stored in its
    config (line breaks and spaces are characters like any other), and its ids are Keras's own, 0 for
    padding and 1 for unknown, ours.

    Example:

    >>> import tensorflow as tf
    >>> from zoo.data import character_lookup
    >>> lookup = character_lookup(list("\\n abc"))
    >>> lookup(tf.constant(["cab\\n", "z"])).numpy().tolist()  # "z" is unknown (1), then padding
    [[6, 4, 5, 2], [1, 0, 0, 0]]
    """
    return keras.layers.TextVectorization(
        standardize=None,
        split="character",
        vocabulary=list(characters),
        output_mode="int",
        name=name,
    )


# ## The training stream


def bptt_arrays(ids: np.ndarray, batch_size: int, bptt: int) -> tuple[np.ndarray, np.ndarray]:
    """The stream cut into `batch_size` parallel contiguous streams, then into chunks of `bptt` steps.

    Row i of chunk k+1 continues row i of chunk k, so a stateful RNN that carries its state from one batch
    to the next reads each of its `batch_size` streams from start to end (truncated backpropagation
    through time: gradients stop at chunk boundaries, the state does not). The tail that does not fill a
    whole chunk is dropped, fewer than `batch_size * (bptt + 1)` characters, so every batch weighs the
    same in the epoch's mean loss.

    Returns:
        inputs, targets: int32 `(chunks, batch_size, bptt)`; `targets` is `inputs` one character later.
    """
    length = (len(ids) - 1) // batch_size  # each stream needs one more character for its last target
    chunks = length // bptt
    if chunks < 1:
        raise ValueError(
            f"{len(ids):,} characters cannot fill one batch of {batch_size} streams x {bptt} steps; "
            "use a smaller --batch-size or --bptt"
        )
    streams = ids[: batch_size * length + 1]
    inputs = streams[:-1].reshape(batch_size, length)[:, : chunks * bptt]
    targets = streams[1:].reshape(batch_size, length)[:, : chunks * bptt]

    def to_chunks(array):
        return array.reshape(batch_size, chunks, bptt).transpose(1, 0, 2)

    return to_chunks(inputs), to_chunks(targets)


def bptt_batches(ids: np.ndarray, batch_size: int, bptt: int) -> tf.data.Dataset:
    """`bptt_arrays` as a tf.data pipeline of (inputs, targets) batches, in order (never shuffled)."""
    inputs, targets = bptt_arrays(ids, batch_size, bptt)
    return tf.data.Dataset.from_tensor_slices((inputs, targets)).prefetch(tf.data.AUTOTUNE)


def random_windows(ids: np.ndarray, context: int, batch_size: int, steps: int, seed: int) -> tf.data.Dataset:
    """`steps` batches of `batch_size` windows of `context` characters starting anywhere (nanoGPT's
    `get_batch`), with targets one character later; other windows at every epoch, the same for a seed."""
    if len(ids) <= context + 1:
        raise ValueError(f"{len(ids):,} characters cannot fill a --context of {context}")
    stream = tf.constant(ids, tf.int32)
    starts = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).map(
        lambda value: tf.math.floormod(value, len(ids) - context)
    )

    def window(start):
        chunk = stream[start : start + context + 1]
        return chunk[:-1], chunk[1:]

    return starts.map(window).batch(batch_size).take(steps).prefetch(tf.data.AUTOTUNE)


def contiguous_windows(ids: np.ndarray, context: int, batch_size: int) -> tf.data.Dataset:
    """The stream as consecutive non-overlapping windows of `context` characters (the last partial one
    dropped): every character of a validation split is predicted once, from the characters before it in
    its window. The mean over all positions is what nanoGPT's `estimate_loss` samples."""
    windows = (len(ids) - 1) // context
    if windows < 1:
        raise ValueError(f"{len(ids):,} characters cannot fill a --context of {context}")
    inputs = ids[: windows * context].reshape(windows, context)
    targets = ids[1 : windows * context + 1].reshape(windows, context)
    return tf.data.Dataset.from_tensor_slices((inputs, targets)).batch(batch_size).prefetch(tf.data.AUTOTUNE)
