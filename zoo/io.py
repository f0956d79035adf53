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
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import uuid
from collections.abc import Iterator

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
