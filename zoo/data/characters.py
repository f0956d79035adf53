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
windows for a transformer (`random_windows`, `contiguous_windows`); `bptt_spans` and `window_spans` say
which stretch of the text each row or window reads, so the characters a validation loss covers are known.

Corpora larger than memory are streamed: `scan_characters` reads plain-text files once (counting the
characters, finding the split and keeping a sparse index of byte offsets), and its two `CharacterStream`s
go wherever an array of ids goes; the same three functions then read the files again at every epoch
through tf.data, a block at a time, and give the batches the arrays give. Given validation files of its
own, a streamed corpus trains on every character of its training files.
"""

from __future__ import annotations

import array
import dataclasses
import os
import pathlib
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from zoo.data.corpora import text_files
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
    cut = _first_validation_character(len(text), validation_fraction)
    return text[:cut], text[cut:]


def _first_validation_character(length: int, validation_fraction: float) -> int:
    if not 0.0 < validation_fraction < 1.0:
        raise ValueError(f"validation_fraction must be in (0, 1), got {validation_fraction}")
    return int(length * (1.0 - validation_fraction))


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


# ## Streaming plain text larger than memory

BLOCK_BYTES = 1 << 20  # the counting pass reads 1 MiB at a time and keeps one index entry per block
READ_BYTES = 1 << 16  # each reader of an epoch holds one 64 KiB block (a stateful RNN has a reader per row)


_LEADS = ((2, 0b110), (3, 0b1110), (4, 0b11110))  # (bytes of a character, the high bits of its first)


def _whole_characters(data: bytes) -> int:
    """The length of the longest prefix of `data` that does not end inside a UTF-8 character."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 != 0x80:  # not a continuation byte: a character starts here
            needed = next((size for size, lead in _LEADS if byte >> (7 - size) == lead), 1)
            return len(data) - back if needed > back else len(data)
    return len(data)  # not UTF-8 at all: the decoder names the byte


def _read_blocks(
    files: Sequence[pathlib.Path], file_index: int, offset: int, block_bytes: int
) -> Iterator[tuple[int, int, str]]:
    """`(file index, byte offset, text)` of the files from `files[file_index]` at byte `offset` to the end
    of the last file, about `block_bytes` at a time, each text cut at a character's end. A file's leading
    BOM is dropped (the offset is then that of the character after it), as `read_text` drops it.

    Raises:
        DataFormatError: bytes that are not UTF-8, named by file and line (by byte offset when the
            reading began inside the file, where line numbers are unknown).
    """
    for index in range(file_index, len(files)):
        path = files[index]
        lines = 0 if offset == 0 else None  # newlines before `position`
        with open(path, "rb") as handle:
            handle.seek(offset)
            position, carry = offset, b""
            while True:
                data = handle.read(block_bytes)
                chunk = carry + data
                end = _whole_characters(chunk) if data else len(chunk)
                try:
                    text = chunk[:end].decode("utf-8")
                except UnicodeDecodeError as error:
                    problem = f"not UTF-8: byte {chunk[error.start]:#04x} ({error.reason})"
                    if lines is None:
                        problem += f" at byte {position + error.start}"
                    line = None if lines is None else lines + chunk[: error.start].count(b"\n") + 1
                    raise DataFormatError(path, line, problem) from None
                start = position
                if position == 0 and text.startswith("\ufeff"):
                    text, start = text[1:], 3
                if text:
                    yield index, start, text
                if not data:
                    break
                if lines is not None:
                    lines += chunk[:end].count(b"\n")
                position, carry = position + end, chunk[end:]
        offset = 0


def _id_table(characters: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(code points in ascending order, the id of each): `_encode_block`'s lookup table."""
    codes = np.array([ord(character) for character in characters], dtype=np.uint32)
    order = np.argsort(codes, kind="stable")
    return codes[order], (order + 2).astype(np.int32)


def _encode_block(text: str, table: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """`encode`, vectorised with NumPy (a binary search per character instead of a Python loop)."""
    codes, ids = table
    values = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
    if not len(codes):
        return np.full(len(values), UNK_ID, np.int32)
    where = np.minimum(np.searchsorted(codes, values), len(codes) - 1)
    return np.where(codes[where] == values, ids[where], UNK_ID).astype(np.int32)


@dataclasses.dataclass(frozen=True, eq=False)
class CharacterStream:
    """Characters `start` to `stop` of plain-text files joined end to end (each file's leading BOM
    dropped), left on disk and read again whenever a dataset made from it is iterated: a split of
    `scan_characters`. `bptt_batches`, `random_windows` and `contiguous_windows` take it wherever they
    take an array of ids, and give what they give for `encode(text[start:stop], characters)`.

    Args:
        files: the text files, in reading order.
        characters: the vocabulary its ids come from (id `i + 2` is `characters[i]`).
        checkpoints: int64 `(blocks, 3)`: the first character, file index and byte offset of every block
            the counting pass read, so a reader can start anywhere after reading at most one block.
        start, stop: the characters of the corpus this split holds.
    """

    files: tuple[pathlib.Path, ...]
    characters: tuple[str, ...]
    checkpoints: np.ndarray = dataclasses.field(repr=False)
    start: int
    stop: int

    def __len__(self) -> int:
        return self.stop - self.start

    def locate(self, position: int) -> tuple[int, int]:
        """(file index, byte offset) of character `position` of the split (0 is its first)."""
        position += self.start
        row = int(np.searchsorted(self.checkpoints[:, 0], position, side="right")) - 1
        first, file_index, offset = (int(value) for value in self.checkpoints[row])
        for index, start, text in _read_blocks(self.files, file_index, offset, BLOCK_BYTES):
            if position - first < len(text):
                return index, start + len(text[: position - first].encode("utf-8"))
            first += len(text)
        raise DataFormatError(self.files[-1], None, "fewer characters than when it was counted")

    def ids(self, count: int = 1 << 20) -> Iterator[np.ndarray]:
        """The split's ids in order, `count` at a time (the last array shorter)."""
        reader = _Reader(self, 0, self.locate(0), READ_BYTES)
        for done in range(0, len(self), count):
            yield reader.read(min(count, len(self) - done))

    def text(self, count: int) -> str:
        """The split's first `count` characters (all of them if fewer)."""
        count = min(count, len(self))
        pieces, have = [], 0
        for _, _, text in _read_blocks(self.files, *self.locate(0), READ_BYTES):
            if have >= count:
                break
            pieces.append(text[: count - have])
            have += len(pieces[-1])
        return "".join(pieces)


class StreamedCorpus(NamedTuple):
    train: CharacterStream  # the first 90% of the characters (all of them, given validation files)
    validation: CharacterStream  # the last 10% (cut where `split_text` cuts), or the validation files
    characters: list[str]  # the training split's vocabulary, as `character_vocabulary(train text)`
    unknown: int  # validation characters outside that vocabulary (id `UNK_ID`)
    source: str  # where the text comes from, one line for logs


def scan_characters(
    path: str | os.PathLike,
    validation_fraction: float = VALIDATION_FRACTION,
    block_bytes: int = BLOCK_BYTES,
    validation_path: str | os.PathLike | None = None,
) -> StreamedCorpus:
    """One pass over plain UTF-8 text too large for memory: the vocabulary of the training split, the
    number of characters, where validation starts, and an index of byte offsets; only those are held.

    Args:
        path: a file, a folder (its `*.txt`, `*.tokens`, `*.cor`, `*.text` files in name order) or a glob
            pattern (`zoo.data.corpora.text_files`); the files are read as one text, joined as they are.
        validation_fraction: the share of characters at the end that validates (`split_text`'s cut);
            unused with `validation_path`.
        block_bytes: bytes read at a time; the index holds one entry per block.
        validation_path: files (as `path` names them) that validate, read in a pass of their own; then
            every character of `path` trains.

    Raises:
        DataFormatError: no such file; a file that is empty or blank, or not UTF-8 (file and line named).
    """
    if block_bytes < 4:
        raise ValueError(f"block_bytes must be at least 4 (one character), got {block_bytes}")
    files = tuple(text_files(path))
    length, counts, first, index = _count_characters(files, block_bytes)
    cut = length if validation_path is not None else _first_validation_character(length, validation_fraction)
    characters = [chr(code) for code in sorted(code for code, position in first.items() if position < cut)]
    unknown = sum(counts[code] for code, position in first.items() if position >= cut)
    source = str(files[0]) if len(files) == 1 else f"{path} ({len(files)} files)"
    validation = CharacterStream(files, tuple(characters), index, cut, length)
    if validation_path is not None:
        held = tuple(text_files(validation_path))
        held_length, held_counts, _, held_index = _count_characters(held, block_bytes)
        validation = CharacterStream(held, tuple(characters), held_index, 0, held_length)
        unknown = sum(count for code, count in held_counts.items() if code not in first)
        source += f", validated on {held[0] if len(held) == 1 else f'{validation_path} ({len(held)} files)'}"
    return StreamedCorpus(
        train=CharacterStream(files, tuple(characters), index, 0, cut),
        validation=validation,
        characters=characters,
        unknown=unknown,
        source=source,
    )


def _count_characters(
    files: Sequence[pathlib.Path], block_bytes: int
) -> tuple[int, dict[int, int], dict[int, int], np.ndarray]:
    """The counting pass over `files`: how many characters they hold, each code point's occurrences and
    first position, and the `CharacterStream.checkpoints` index."""
    counts: dict[int, int] = {}  # code point -> occurrences
    first: dict[int, int] = {}  # code point -> position of its first occurrence
    checkpoints, length, shown = array.array("q"), 0, set()  # 8 bytes a number, 24 per MiB of text
    for index, offset, text in _read_blocks(files, 0, 0, block_bytes):
        checkpoints.extend((length, index, offset))
        codes = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
        number = np.bincount(codes)
        values = np.flatnonzero(number)
        for value, count in zip(values.tolist(), number[values].tolist()):
            counts[value] = counts.get(value, 0) + count
        if len(first) < len(counts):  # a character never seen before: find where (sorting only here)
            unique, where = np.unique(codes, return_index=True)
            for value, position in zip(unique.tolist(), where.tolist()):
                first.setdefault(value, length + position)
        if index not in shown and text.strip():
            shown.add(index)
        length += len(text)
    for index, file in enumerate(files):
        if index not in shown:
            raise DataFormatError(file, None, "no text: the file is empty or blank")
    return length, counts, first, np.frombuffer(checkpoints, dtype=np.int64).reshape(-1, 3)


class _Reader:
    """The ids of a `CharacterStream` from a character on, `count` at a time, one block in memory."""

    def __init__(self, stream: CharacterStream, position: int, location: tuple[int, int], block_bytes: int):
        self._blocks = _read_blocks(stream.files, *location, block_bytes)
        self._table = _id_table(stream.characters)
        self._left = len(stream) - position  # characters of the split still to come
        self._file = stream.files[-1]
        self._buffer, self._next = np.empty(0, np.int32), 0

    def read(self, count: int) -> np.ndarray:
        if self._next + count > len(self._buffer):
            pieces, have = [self._buffer[self._next :]], len(self._buffer) - self._next
            while have < count:
                _, _, text = next(self._blocks, (None, None, ""))
                if not text or not self._left:
                    raise DataFormatError(self._file, None, "fewer characters than when it was counted")
                text = text[: self._left]
                self._left -= len(text)
                pieces.append(_encode_block(text, self._table))
                have += len(text)
            self._buffer, self._next = np.concatenate(pieces), 0
        self._next += count
        return self._buffer[self._next - count : self._next]


def _stream_bptt_batches(stream: CharacterStream, batch_size: int, bptt: int) -> tf.data.Dataset:
    """`bptt_batches` of a stream: one reader per row, each from the row's first character on."""
    length = (len(stream) - 1) // batch_size
    chunks = _bptt_chunks(len(stream), batch_size, bptt)
    locations = [stream.locate(row * length) for row in range(batch_size)]  # found once, not every epoch

    def batches() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        readers = [
            _Reader(stream, row * length, location, READ_BYTES) for row, location in enumerate(locations)
        ]
        previous = np.stack([reader.read(1) for reader in readers])  # each row's first input
        for _ in range(chunks):
            window = np.concatenate([previous, np.stack([reader.read(bptt) for reader in readers])], axis=1)
            previous = window[:, -1:]
            yield window[:, :-1], window[:, 1:]

    spec = tf.TensorSpec((batch_size, bptt), tf.int32)
    dataset = tf.data.Dataset.from_generator(batches, output_signature=(spec, spec))
    return dataset.apply(tf.data.experimental.assert_cardinality(chunks)).prefetch(tf.data.AUTOTUNE)


def _windows(reader: _Reader, count: int, context: int, group: int) -> Iterator[np.ndarray]:
    """`count` consecutive windows of `context + 1` characters, each starting on the last character of
    the window before (as `contiguous_windows` lays them out), at most `group` to an array."""
    previous = reader.read(1)
    for done in range(0, count, group):
        size = min(group, count - done)
        ids = np.concatenate([previous, reader.read(size * context)])
        previous = ids[-1:]
        yield np.lib.stride_tricks.sliding_window_view(ids, context + 1)[::context].copy()


def _stream_random_windows(
    stream: CharacterStream, context: int, batch_size: int, steps: int, seed: int, shuffle_buffer: int
) -> tf.data.Dataset:
    """`random_windows` of a stream: every pass over the split starts at a random character and reads the
    windows on from there to the end, then those before it from the start, so each pass sees every
    window of its phase once; a shuffle buffer of `shuffle_buffer` windows mixes them."""
    characters = len(stream)

    def windows(value: np.int64) -> Iterator[np.ndarray]:
        generator = np.random.default_rng(int(value) % 2**63)
        while True:
            begin = int(generator.integers(characters - context))
            for first, last in ((begin, characters), (begin % context, begin + 1)):
                count = (last - first - 1) // context  # windows that end by `last`
                if count > 0:
                    reader = _Reader(stream, first, stream.locate(first), READ_BYTES)
                    yield from _windows(reader, count, context, group=256)

    spec = tf.TensorSpec((None, context + 1), tf.int32)
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
    passes = seeds.flat_map(
        lambda value: tf.data.Dataset.from_generator(windows, args=(value,), output_signature=spec)
    )
    batches = (
        passes.unbatch()
        .shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size, drop_remainder=True)
        .take(steps)
        .map(lambda window: (window[:, :-1], window[:, 1:]))
    )
    return batches.apply(tf.data.experimental.assert_cardinality(steps)).prefetch(tf.data.AUTOTUNE)


def _stream_contiguous_windows(stream: CharacterStream, context: int, batch_size: int) -> tf.data.Dataset:
    windows = (len(stream) - 1) // context

    def batches() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        reader = _Reader(stream, 0, stream.locate(0), READ_BYTES)
        for group in _windows(reader, windows, context, group=batch_size):
            yield group[:, :-1], group[:, 1:]

    spec = tf.TensorSpec((None, context), tf.int32)
    dataset = tf.data.Dataset.from_generator(batches, output_signature=(spec, spec))
    cardinality = tf.data.experimental.assert_cardinality(-(-windows // batch_size))
    return dataset.apply(cardinality).prefetch(tf.data.AUTOTUNE)


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
    chunks = _bptt_chunks(len(ids), batch_size, bptt)
    streams = ids[: batch_size * length + 1]
    inputs = streams[:-1].reshape(batch_size, length)[:, : chunks * bptt]
    targets = streams[1:].reshape(batch_size, length)[:, : chunks * bptt]

    def to_chunks(array):
        return array.reshape(batch_size, chunks, bptt).transpose(1, 0, 2)

    return to_chunks(inputs), to_chunks(targets)


def _bptt_chunks(characters: int, batch_size: int, bptt: int) -> int:
    chunks = (characters - 1) // batch_size // bptt
    if chunks < 1:
        raise ValueError(
            f"{characters:,} characters cannot fill one batch of {batch_size} streams x {bptt} steps; "
            "use a smaller --batch-size or --bptt"
        )
    return chunks


def bptt_spans(characters: int, batch_size: int, bptt: int) -> list[tuple[int, int]]:
    """The stretch of a stream of `characters` that each row of `bptt_arrays` reads, `(start, stop)`: the
    row's first character is only an input, every later one up to `stop - 1` is a target, and the row's
    state starts blank at `start`. The characters outside them (the tail) are never targets."""
    length = (characters - 1) // batch_size
    chunks = _bptt_chunks(characters, batch_size, bptt)
    return [(row * length, row * length + chunks * bptt + 1) for row in range(batch_size)]


def bptt_batches(ids: np.ndarray | CharacterStream, batch_size: int, bptt: int) -> tf.data.Dataset:
    """`bptt_arrays` as a tf.data pipeline of (inputs, targets) batches, in order (never shuffled).

    From a `CharacterStream`, the same batches read from disk at every epoch: each of the `batch_size`
    rows has its own reader, which starts at the row's first character (found once, in the counting
    pass's index) and holds one block of the file."""
    if isinstance(ids, CharacterStream):
        return _stream_bptt_batches(ids, batch_size, bptt)
    inputs, targets = bptt_arrays(ids, batch_size, bptt)
    return tf.data.Dataset.from_tensor_slices((inputs, targets)).prefetch(tf.data.AUTOTUNE)


def random_windows(
    ids: np.ndarray | CharacterStream,
    context: int,
    batch_size: int,
    steps: int,
    seed: int,
    shuffle_buffer: int = 10_000,
) -> tf.data.Dataset:
    """`steps` batches of `batch_size` windows of `context` characters starting anywhere (nanoGPT's
    `get_batch`), with targets one character later; other windows at every epoch, the same for a seed.

    A `CharacterStream` cannot be read at random places cheaply: its windows come in reading order from
    a random start (a new one at every pass over the split), `context` characters apart, and a shuffle
    buffer of `shuffle_buffer` windows mixes them (the larger, the nearer to uniform draws)."""
    if len(ids) <= context + 1:
        raise ValueError(f"{len(ids):,} characters cannot fill a --context of {context}")
    if isinstance(ids, CharacterStream):
        return _stream_random_windows(ids, context, batch_size, steps, seed, shuffle_buffer)
    stream = tf.constant(ids, tf.int32)
    starts = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).map(
        lambda value: tf.math.floormod(value, len(ids) - context)
    )

    def window(start):
        chunk = stream[start : start + context + 1]
        return chunk[:-1], chunk[1:]

    return starts.map(window).batch(batch_size).take(steps).prefetch(tf.data.AUTOTUNE)


def window_spans(characters: int, context: int) -> list[tuple[int, int]]:
    """The stretch each window of `contiguous_windows` reads, `(start, stop)` as `bptt_spans` gives them:
    `context` inputs from `start`, the targets one later (each window shares its first character with
    the last target of the one before)."""
    windows = (characters - 1) // context
    return [(window * context, (window + 1) * context + 1) for window in range(windows)]


def contiguous_windows(ids: np.ndarray | CharacterStream, context: int, batch_size: int) -> tf.data.Dataset:
    """The stream as consecutive non-overlapping windows of `context` characters (the last partial one
    dropped): every character of a validation split is predicted once, from the characters before it in
    its window. The mean over all positions is what nanoGPT's `estimate_loss` samples. A
    `CharacterStream` gives the same batches, read from disk at every pass."""
    windows = (len(ids) - 1) // context
    if windows < 1:
        raise ValueError(f"{len(ids):,} characters cannot fill a --context of {context}")
    if isinstance(ids, CharacterStream):
        return _stream_contiguous_windows(ids, context, batch_size)
    inputs = ids[: windows * context].reshape(windows, context)
    targets = ids[1 : windows * context + 1].reshape(windows, context)
    return tf.data.Dataset.from_tensor_slices((inputs, targets)).batch(batch_size).prefetch(tf.data.AUTOTUNE)
