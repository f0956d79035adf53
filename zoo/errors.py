"""Errors a user can act on. The CLI prints them as one clear line and exits non-zero, no traceback."""

from __future__ import annotations

import os


class ZooError(Exception):
    """Base class for errors caused by input or environment, not by a bug in the zoo."""


class DataFormatError(ZooError, ValueError):
    """A data file is malformed. The message starts with `path:line:` like a compiler error.

    Args:
        path: the file that is malformed.
        line: 1-based line number, or `None` when the problem is the file as a whole.
        problem: what is wrong and, when it helps, what was expected.
    """

    def __init__(self, path: str | os.PathLike, line: int | None, problem: str):
        self.path = os.fspath(path)
        self.line = line
        self.problem = problem
        where = self.path if line is None else f"{self.path}:{line}"
        super().__init__(f"{where}: {problem}")


class DatasetNotFoundError(ZooError):
    """A dataset is neither on disk nor downloadable; the message says how to provide it."""


class TrainingDivergedError(ZooError):
    """The loss became NaN or infinite; training stopped and the last good checkpoint is kept."""


class ExportMismatchError(ZooError):
    """A reloaded export gives different outputs from the Keras model it came from."""


class ClusterError(ZooError):
    """`--strategy multi-worker` cannot start or go on: TF_CONFIG missing or malformed, or a worker of
    the cluster was lost (the message says how to resume)."""


class OutputDirError(ZooError):
    """The output folder cannot take this run: not writable, full, in use by another run, or holding an
    interrupted run made with other flags. The message says what to do."""


class RunFinished(Exception):
    """The output folder already holds a finished run (its metrics.json). Not an error: the command's
    result exists. `--overwrite` trains afresh.

    Args:
        output_dir: the folder.
        metrics: what its metrics.json holds.
    """

    def __init__(self, output_dir: os.PathLike, metrics: dict):
        self.output_dir = os.fspath(output_dir)
        self.metrics = metrics
        super().__init__(
            f"{self.output_dir} holds a finished run (metrics.json); nothing to do. Pass --overwrite to "
            "train again there, or another --output-dir"
        )


class ChecksumMismatchError(ZooError):
    """A dataset file's hash matches none the registry pins for it: damaged, cut short, or another file.

    Args:
        path: the file (or folder, for a tree hash) that was checked.
        expected: each accepted hex digest -> the known copy it identifies.
        actual: the file's SHA-256 (the tree hash for a folder).
        dataset: the dataset's registry name.
        download: the file is a fresh download, which was not kept.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        expected: dict[str, str],
        actual: str,
        dataset: str = "",
        download: bool = False,
    ):
        self.path = os.fspath(path)
        self.expected = dict(expected)
        self.actual = actual
        known = " or ".join(f"{digest} ({description})" for digest, description in self.expected.items())
        what = f"{dataset} file" if dataset else "file"
        message = (
            f"{self.path}: the {what}'s hash does not match the registry's: expected {known}, "
            f"got SHA-256 {actual}. "
        )
        if download:
            message += "The download was not kept; run again to download it afresh."
        else:
            message += (
                "The file is damaged, cut short or not the known one. If it is in the Keras cache, delete "
                "it and run again to download it afresh; to read your own edited copy as it is, pass "
                "--skip-checksum."
            )
        super().__init__(message)
