"""Files that are either whole or absent: a kill at any moment never leaves a half-written artifact under
its final name.

Everything a run writes for a user to load (exports, vocabularies, metrics.json) goes through here: it is
written under a temporary sibling name in the same folder, then renamed over the final name with
`os.replace`, which is atomic on one file system. A folder (a SavedModel) is renamed the same way; the old
folder is moved aside first and removed after, so the final name holds either the old or the new one.

Example:

```python
with zoo.io.replacing(output_dir / "saved_model") as staging:
    tf.saved_model.save(module, str(staging))       # written under a temporary name
# now output_dir / "saved_model" is the new folder
zoo.io.write_text(output_dir / "vocabulary.txt", "a\nb\n")
```

`computed_once(path, compute)` builds on it to resume work done piece by piece: each piece's result is
kept in its own JSON file as it finishes, so a killed run started again computes only what is missing.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import shutil
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

_PARTIAL = ".partial-"


def _sibling(path: pathlib.Path) -> pathlib.Path:
    """A temporary name beside `path` that keeps its suffix (Keras and HDF5 writers check it)."""
    return path.with_name(f"{_PARTIAL}{uuid.uuid4().hex[:8]}-{path.name}")


@contextlib.contextmanager
def replacing(path: str | os.PathLike) -> Iterator[pathlib.Path]:
    """Yield a temporary path beside `path`; when the block ends without an error, the temporary file or
    folder replaces `path`. On an error the temporary path is removed and `path` is left as it was."""
    path = pathlib.Path(path)
    staging = _sibling(path)
    try:
        yield staging
        if not staging.exists():
            raise FileNotFoundError(f"{staging}: nothing was written for {path}")
        if staging.is_dir() and path.exists():
            aside = _sibling(path)
            os.replace(path, aside)
            os.replace(staging, path)
            _remove(aside)
        else:
            os.replace(staging, path)
    finally:
        _remove(staging)


def write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> pathlib.Path:
    """`path.write_text(text)`, whole or not at all; the data reaches the disk before the rename."""
    path = pathlib.Path(path)
    with replacing(path) as staging:
        with open(staging, "w", encoding=encoding) as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    return path


def computed_once(path: str | os.PathLike, compute: Callable[[], Any]) -> Any:
    """`compute()`'s result, kept in the JSON file `path` (its folder made if needed): read back when the
    file exists, otherwise computed and written whole (`write_text`), so a kill never leaves half a result.

    Returns the value as computed the first time and as JSON reads it back after: lists where it had
    tuples or numpy arrays, Python numbers where it had numpy numbers.
    """
    path = pathlib.Path(path)
    if path.exists():
        return json.loads(path.read_text())
    result = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, json.dumps(result, default=_json_number_or_list))
    return result


def _json_number_or_list(value: Any) -> Any:
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable: {value!r}")


def remove_partials(folder: str | os.PathLike) -> list[pathlib.Path]:
    """Delete what a killed writer left under a temporary name in `folder` (not recursive); returns it."""
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        return []
    leftovers = sorted(folder.glob(f"{_PARTIAL}*"))
    for leftover in leftovers:
        _remove(leftover)
    return leftovers


def _remove(path: pathlib.Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
