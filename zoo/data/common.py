"""What several readers share: strict UTF-8 decoding that names the file and line of a bad byte, the check
of split fractions, and the words of the digit tasks (spoken digits, digit strips)."""

from __future__ import annotations

from zoo.errors import DataFormatError

# Word i is digit i: FSDD's transcripts and the digit strips' captions.
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def decode_utf8(data: bytes, path: str) -> str:
    """Strict UTF-8 decoding whose error names the file and the line of the first bad byte.

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
        line = data[: error.start].count(b"\n") + 1
        problem = f"not UTF-8: byte {data[error.start]:#04x} ({error.reason})"
        raise DataFormatError(path, line, problem) from None


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
