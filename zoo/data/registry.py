"""Where each dataset lives: on disk (`--data-dir`, `$ZOO_DATA_DIR/<name>`), in the Keras cache, or at its
public URL, downloaded once with a checksum."""

from __future__ import annotations

import dataclasses
import os
import pathlib

import keras

from zoo.errors import DatasetNotFoundError


@dataclasses.dataclass(frozen=True)
class RemoteFile:
    url: str
    file_hash: str  # MD5 or SHA-256 hex digest, as `keras.utils.get_file` accepts
    filename: str
    extract: bool = False


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    name: str
    files: tuple[RemoteFile, ...]
    homepage: str
    license: str


DATASETS: dict[str, DatasetInfo] = {
    "imdb": DatasetInfo(
        "imdb",
        # MD5 as published with torchtext's and PaddleNLP's IMDB loaders. Our readers take the archive
        # as it is (no extraction): 84 MB, read in one streaming pass.
        (
            RemoteFile(
                "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
                "7c2ac02c03563afcf9b574c7e56c153a",
                "aclImdb_v1.tar.gz",
            ),
        ),
        homepage="https://ai.stanford.edu/~amaas/data/sentiment/",
        license="research use; cite Maas et al. (2011)",
    ),
    "sst2": DatasetInfo(
        "sst2",
        # GLUE's SST-2 release (MD5 as in torchtext's SST2 loader); its test split has no labels.
        (
            RemoteFile(
                "https://dl.fbaipublicfiles.com/glue/data/SST-2.zip",
                "9f81648d4199384278b86e315dac217c",
                "SST-2.zip",
                extract=True,
            ),
        ),
        homepage="https://nlp.stanford.edu/sentiment/",
        license="research use; cite Socher et al. (2013) and GLUE",
    ),
}


def keras_cache_dir(name: str) -> pathlib.Path:
    """`<KERAS_HOME or ~/.keras>/datasets/zoo/<name>`, where downloads are kept."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return pathlib.Path(home) / "datasets" / "zoo" / name


def locate(name: str, data_dir: str | os.PathLike | None = None) -> pathlib.Path:
    """The folder holding dataset `name`: `data_dir` if given, else `$ZOO_DATA_DIR/<name>`, else the
    Keras cache, else a fresh download from the public URL (checked against its hash).

    Raises:
        DatasetNotFoundError: unknown name, missing `data_dir`, or nothing on disk and no network.
    """
    if data_dir is not None:
        path = pathlib.Path(data_dir)
        if not path.exists():
            raise DatasetNotFoundError(f"--data-dir {path} does not exist")
        return path
    if name not in DATASETS:
        raise DatasetNotFoundError(
            f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))} (or pass --data-dir)"
        )
    shared = os.environ.get("ZOO_DATA_DIR")
    if shared and (pathlib.Path(shared) / name).exists():
        return pathlib.Path(shared) / name
    cache = keras_cache_dir(name)
    if cache.exists() and any(cache.iterdir()):
        return cache
    info = DATASETS[name]
    for remote in info.files:
        try:
            keras.utils.get_file(
                fname=remote.filename,
                origin=remote.url,
                file_hash=remote.file_hash or None,
                cache_dir=str(cache.parents[2]),
                cache_subdir=str(cache.relative_to(cache.parents[2])),
                extract=remote.extract,
            )
        except (Exception, KeyboardInterrupt) as error:
            reason = " ".join(str(error).split()) or type(error).__name__
            raise DatasetNotFoundError(
                f"dataset {name!r} is not on disk and could not be downloaded from {remote.url} "
                f"({reason}). Pass --data-dir PATH to a copy on disk, or set ZOO_DATA_DIR to a folder "
                f"containing {name}/ (license: {info.license}; see {info.homepage})."
            ) from None
    return cache
