"""Progress bars for the long steps that are not `model.fit` (which draws its own): reading a large
dataset, naive-Bayes counts, decoding a test split, training SentencePiece, a benchmark's rows.

The bars are tqdm's, written to stderr, and only on a terminal: when stderr is a file or a pipe (logs, CI,
pytest) they are off, so logs and tests stay clean. `ZOO_PROGRESS=1` forces them on anywhere and
`ZOO_PROGRESS=0` off. A bar appears only once its step has taken half a second, so quick calls stay
silent. `progress` wraps an iterable and yields exactly its items, so no computed number changes.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

ENVIRONMENT_VARIABLE = "ZOO_PROGRESS"
_DELAY_SECONDS = 0.5

Item = TypeVar("Item")


def _disable() -> bool | None:
    """tqdm's `disable`: None lets tqdm turn the bar off when stderr is not a terminal."""
    value = os.environ.get(ENVIRONMENT_VARIABLE, "").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return False
    if value in ("0", "false", "no", "off"):
        return True
    return None


def progress(
    iterable: Iterable[Item], description: str, *, total: int | None = None, unit: str = "it"
) -> Iterator[Item]:
    """`iterable` with a progress bar: `for file in progress(files, "reading IMDB", unit="file"): ...`.

    Args:
        iterable: what the loop walks; its items pass through unchanged.
        description: what the step does, shown before the bar.
        total: the number of items when `len(iterable)` does not tell (a generator); without either
            the bar counts items and their rate.
        unit: what an item is ("file", "batch", "sentence").
    """
    return tqdm(
        iterable,
        desc=description,
        total=total,
        unit=unit,
        file=sys.stderr,
        disable=_disable(),
        delay=_DELAY_SECONDS,
        dynamic_ncols=True,
        mininterval=0.5,
    )


@contextlib.contextmanager
def step(description: str) -> Iterator[None]:
    """A long step with nothing to count (SentencePiece trains in C++ without a callback), shown as its
    description and, when it ends, its elapsed time: `with step("training SentencePiece"): ...`.

    The line is written when the step starts and again when it ends (no ticking clock: output the step
    prints in between stays readable), with the same terminal-only rule as `progress`.
    """
    bar = tqdm(
        total=1,
        desc=description,
        bar_format="{desc} ... {elapsed}",
        file=sys.stderr,
        disable=_disable(),
        dynamic_ncols=True,
    )
    try:
        yield
        bar.update(1)
    finally:
        bar.close()
