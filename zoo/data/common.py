"""What several readers share: strict UTF-8 decoding that names the file and line of a bad byte, the check
of split fractions, a user's own train/validation/test files with the missing splits carved from the
training file (`user_splits`; `carve_by_key` for a corpus too large for a Python object per example), the
columns of a user's CSV or TSV file (`read_table`), and the words of the digit tasks (spoken digits, digit
strips)."""

from __future__ import annotations

import csv
import io
import os
import pathlib
from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

import numpy as np

from zoo.errors import DataFormatError

T = TypeVar("T")
SPLITS = ("train", "validation", "test")  # carve_by_key labels them 0, 1, 2

# Word i is digit i: FSDD's transcripts and the digit strips' captions.
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def decode_utf8(data: bytes, path: str, first_line: int = 1) -> str:
    """Strict UTF-8 decoding whose error names the file and the line of the first bad byte; `first_line`
    is the line `data` starts on (a file read line by line decodes each line alone).

    >>> from zoo.data.common import decode_utf8
    >>> decode_utf8("héllo".encode(), "notes.txt")
    'héllo'
    >>> decode_utf8(b"one\\ntw\\xff", "notes.txt")
    Traceback (most recent call last):
    ...
    zoo.errors.DataFormatError: notes.txt:2: not UTF-8: byte 0xff (invalid start byte)
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + first_line
        problem = f"not UTF-8: byte {data[error.start]:#04x} ({error.reason})"
        raise DataFormatError(path, line, problem) from None


def read_table(
    path: str | os.PathLike,
    columns: Sequence[str],
    optional: Sequence[str] = (),
    *,
    separator: str | None = None,
    multiline: bool = False,
    hint: str = "",
) -> list[tuple[int, list[str]]]:
    """The `columns` of a CSV or TSV file with a header row: `(line, values)` per row, each value stripped,
    then the values of the `optional` columns ("" where the header lacks one). `separator` ("," or "\t")
    overrides the choice below; `multiline` lets a quoted CSV value hold line breaks (a review's
    paragraphs); `hint` ends the message of a missing column (e.g. the flags that name the columns).

    The file is UTF-8 (a leading BOM dropped). It is tab-separated when the name ends in `.tsv` or `.tab`,
    or when the header holds a tab and the name does not end in `.csv`: then nothing is quoted (a `"` is
    part of the text, as in Common Voice's TSV files). Otherwise it is CSV, read strictly by the `csv`
    module: a value holding a comma is in double quotes, a quote inside it doubled. Header names are
    matched without regard to case or surrounding spaces; other columns are ignored; blank lines are
    skipped. `line` is the line a row starts on.

    Raises:
        DataFormatError: bytes that are not UTF-8, a header without one of `columns` (the header's names
            are listed), a row with another number of fields than the header, broken quoting, a value
            spanning lines (a quote left open), or no row. The message starts with `path:line:`.

    Example:

    >>> import pathlib, tempfile
    >>> from zoo.data.common import read_table
    >>> table = pathlib.Path(tempfile.mkdtemp()) / "clips.tsv"
    >>> _ = table.write_text("speaker\\tpath\\ttranscript\\nann\\ta.wav\\t  hello there\\n")
    >>> read_table(table, ["path", "transcript"])
    [(2, ['a.wav', 'hello there'])]
    """
    path = pathlib.Path(path)
    text = decode_utf8(path.read_bytes(), str(path)).removeprefix("\ufeff")
    header_line = text.split("\n", 1)[0]
    suffix = path.suffix.lower()
    tabs = suffix in (".tsv", ".tab") or (suffix != ".csv" and "\t" in header_line)
    if separator is not None:
        tabs = separator == "\t"
    delimiter = "\t" if tabs else ","
    quoting = csv.QUOTE_NONE if tabs else csv.QUOTE_MINIMAL
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting, strict=True)
    rows: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    start = 1  # the line the next row starts on; csv counts the lines a quoted value spans
    try:
        for row in reader:
            line, start = start, reader.line_num + 1
            if not any(field.strip() for field in row):
                continue
            if header is None:
                header = [field.strip().lower() for field in row]
                missing = [name for name in columns if name.lower() not in header]
                if missing:
                    kind = "tab" if tabs else "comma"
                    problem = f"the header ({kind}-separated) has no {' or '.join(map(repr, missing))} column"
                    raise DataFormatError(path, line, problem + f"; its columns: {', '.join(header)}{hint}")
                names = [name.lower() for name in [*columns, *optional]]
                indices = [header.index(name) if name in header else None for name in names]
                continue
            if not multiline and any("\n" in field or "\r" in field for field in row):
                problem = f"a value spans lines {line}-{reader.line_num}: a double quote left open?"
                raise DataFormatError(path, line, problem)
            if len(row) != len(header):
                problem = f"{len(row)} fields where the header has {len(header)}; "
                problem += (
                    "a value cannot hold a tab" if tabs else "a value holding a comma must be in quotes"
                )
                raise DataFormatError(path, line, problem)
            values = ["" if index is None else row[index].strip() for index in indices]
            rows.append((line, values))
    except csv.Error as error:
        if "end of data" in str(error):  # a quote left open runs to the end: its row is the one to look at
            raise DataFormatError(path, start, "a quote opened in this row is never closed") from None
        problem = f'malformed {"TSV" if tabs else "CSV"} ({error}); quote a value as "..." and double the '
        raise DataFormatError(path, start, problem + "quotes inside it") from None
    if not rows:
        raise DataFormatError(path, None, "no rows" if header else "empty: no header and no rows")
    return rows


def check_fractions(validation_fraction: float, test_fraction: float, items: str = "examples") -> None:
    """Raise ValueError unless both fractions are in [0, 1) and leave some `items` for training."""
    if (
        not (0 <= validation_fraction < 1 and 0 <= test_fraction < 1)
        or validation_fraction + test_fraction >= 1
    ):
        raise ValueError(
            f"validation_fraction ({validation_fraction}) and test_fraction ({test_fraction}) must be in "
            f"[0, 1) and leave some {items} for training"
        )


def carve(
    count: int,
    validation_fraction: float,
    test_fraction: float,
    seed: int,
    groups: Sequence[Hashable] | None = None,
) -> dict[str, np.ndarray]:
    """Indices of `count` examples for "train", "validation" and "test", each in the examples' order.

    The examples (or, with `groups`, the distinct groups, in order of first appearance: e.g. an image's
    several captions, which must not straddle two splits) are shuffled by `numpy.random.default_rng(seed)`;
    the first `round(test_fraction * n)` go to test, the next `round(validation_fraction * n)` to
    validation, the rest to train. A fraction above 0 takes at least one example (or group), and train keeps
    at least one.

    >>> from zoo.data.common import carve
    >>> {name: indices.tolist() for name, indices in carve(10, 0.2, 0.1, seed=0).items()}
    {'train': [0, 1, 3, 5, 7, 8, 9], 'validation': [2, 6], 'test': [4]}
    """
    check_fractions(validation_fraction, test_fraction)
    if groups is not None:  # the distinct groups carved, each example labelled as its group
        labels = carve_by_key(np.asarray(groups), validation_fraction, test_fraction, seed)
        return {name: np.flatnonzero(labels == code) for code, name in enumerate(SPLITS)}
    if count < 1 + (validation_fraction > 0) + (test_fraction > 0):
        raise ValueError(f"{count} examples cannot be split into train, validation and test")
    order = np.random.default_rng(seed).permutation(count)

    def size(fraction: float) -> int:
        return 0 if fraction == 0 else max(1, round(fraction * count))

    tests = min(size(test_fraction), count - 1 - (validation_fraction > 0))
    validations = min(size(validation_fraction), count - 1 - tests)
    chosen = {"test": order[:tests], "validation": order[tests : tests + validations]}
    chosen["train"] = order[tests + validations :]
    return {name: np.sort(chosen[name]) for name in SPLITS}


def user_splits(
    read: Callable[[str], Sequence[T]],
    train_file: str,
    validation_file: str | None = None,
    test_file: str | None = None,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 0,
    groups: Callable[[Sequence[T]], Sequence[Hashable]] | None = None,
) -> dict[str, list[T]]:
    """A user's own data (`--dataset file`, `zoo.config.FileDataConfig`): `read(path)` of the training file
    and of the validation and test files where given; a split without a file is carved from the training
    examples (`carve`, seeded by `seed`; `groups(examples)` keeps a group's examples in one split).
    `read` raises `DataFormatError` naming the file and line of anything malformed; nothing is skipped.
    """
    train = list(read(train_file))
    missing = {"validation": validation_file is None, "test": test_file is None}
    indices = carve(
        len(train),
        validation_fraction if missing["validation"] else 0.0,
        test_fraction if missing["test"] else 0.0,
        seed,
        groups(train) if groups is not None else None,
    )
    splits = {name: [train[i] for i in indices[name]] for name in ("train", "validation", "test")}
    for name, path in (("validation", validation_file), ("test", test_file)):
        if path is not None:
            splits[name] = list(read(path))
    return splits


def carve_by_key(keys: np.ndarray, validation_fraction: float, test_fraction: float, seed: int) -> np.ndarray:
    """`zoo.data.carve` of `len(keys)` examples grouped by their key, as uint8 labels: 0 train, 1
    validation, 2 test. The same split as `carve(len(keys), ..., groups=keys)`, computed in NumPy: a
    corpus of millions of pairs needs no Python object per pair.

    >>> import numpy as np
    >>> from zoo.data.common import carve_by_key
    >>> carve_by_key(np.array([7, 7, 3, 9, 3, 5, 1, 8, 2, 4], np.uint64), 0.2, 0.2, seed=0).tolist()
    [0, 0, 0, 2, 0, 1, 2, 0, 1, 0]
    """
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(first)  # the distinct keys in order of first appearance, as `carve` takes groups
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    indices = carve(len(order), validation_fraction, test_fraction, seed)
    group_labels = np.zeros(len(order), np.uint8)
    for code, name in enumerate(SPLITS):
        group_labels[indices[name]] = code
    return group_labels[rank[inverse.reshape(-1)]]
