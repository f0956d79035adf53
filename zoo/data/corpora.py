"""Unlabelled text for word vectors: plain-text files (one sentence or document per line), WikiText, the IMDB
reviews, and the embedded default, two corpora gensim ships for its own tests.

Every reader returns texts as written; `words` turns a text into the tokens word2vec learns from, the
same for every model that is compared on them.
"""

from __future__ import annotations

import glob
import os
import pathlib
from collections.abc import Iterable, Iterator

import zoo.text
from zoo.data.common import decode_utf8
from zoo.data.integrity import check_counts
from zoo.data.registry import find_dataset
from zoo.data.sentiment import read_imdb
from zoo.errors import DataFormatError

# Files a folder given as --data-dir is read from (in name order); anything else is ignored.
TEXT_SUFFIXES = (".txt", ".tokens", ".cor", ".text")

# gensim/test/test_data: Lee's news background corpus (300 documents, 60k words) and the first 500
# Wikipedia articles of text8's source, stemmed, one per line (331k words).
EMBEDDED = ("lee_background.cor", "head500.noblanks.cor")


def words(text: str) -> list[str]:
    """The tokens word2vec learns from: `zoo.text.preprocess` (HTML and Unicode cleaned, lowercased, URLs
    as xxurl, punctuation split off), keeping only tokens with a letter or digit.

    Example:

    >>> from zoo.data.corpora import words
    >>> words("A <b>GREAT</b> film, 10/10!")
    ['a', 'great', 'film', '10', '10']
    """
    return [token for token in zoo.text.preprocess(text) if any(char.isalnum() for char in token)]


def read_lines(path: str | os.PathLike) -> list[str]:
    """The non-blank lines of a UTF-8 text file, or of every `*.txt`, `*.tokens`, `*.cor`, `*.text` file
    under a folder (in name order). Each line is one sentence or document: windows never cross lines.

    Raises:
        DataFormatError: a file that is not UTF-8 (file and line named), or no text at all.
    """
    path = pathlib.Path(path)
    if path.is_dir():
        files = sorted(file for file in path.rglob("*") if file.is_file() and file.suffix in TEXT_SUFFIXES)
    elif path.exists():
        files = [path]
    else:
        raise DataFormatError(path, None, "no such file or folder")
    lines = []
    for file in files:
        lines += [line for line in decode_utf8(file.read_bytes(), str(file)).splitlines() if line.strip()]
    if not lines:
        raise DataFormatError(path, None, f"no text (looked for files ending in {', '.join(TEXT_SUFFIXES)})")
    return lines


def text_files(path: str | os.PathLike) -> list[pathlib.Path]:
    """The files a plain-text corpus is made of: the file `path`, every `*.txt`, `*.tokens`, `*.cor`,
    `*.text` file under the folder `path` (in name order), or the files the glob pattern `path` matches
    (in name order, whatever their suffix), e.g. `shards/part-*.txt`.

    Raises:
        DataFormatError: nothing there.
    """
    path = pathlib.Path(path)
    if path.is_dir():
        files = sorted(file for file in path.rglob("*") if file.is_file() and file.suffix in TEXT_SUFFIXES)
    elif path.is_file():
        files = [path]
    else:
        files = sorted(pathlib.Path(name) for name in glob.glob(str(path)) if os.path.isfile(name))
        if not files:
            raise DataFormatError(path, None, "no such file or folder, and no file matches it as a pattern")
    if not files:
        raise DataFormatError(
            path, None, f"no text files (looked for names ending in {', '.join(TEXT_SUFFIXES)})"
        )
    return files


def iterate_lines(files: Iterable[str | os.PathLike]) -> Iterator[str]:
    """The non-blank lines of `files`, one at a time, never a whole file in memory: the lines
    `tf.data.TextLineDataset` reads (split at "\n", a trailing "\r" dropped), strictly UTF-8.

    Raises:
        DataFormatError: a line that is not UTF-8, named by its file and line number.
    """
    for file in files:
        with open(file, "rb") as handle:
            for number, raw in enumerate(handle, 1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as error:
                    problem = f"not UTF-8: byte {raw[error.start]:#04x} ({error.reason})"
                    raise DataFormatError(file, number, problem) from None
                line = line.removesuffix("\n").removesuffix("\r")
                if line.strip():
                    yield line


def read_wikitext(path: str | os.PathLike, split: str = "train") -> list[str]:
    """The paragraphs of WikiText (`wiki.<split>.tokens` in `path` or below it), section titles
    (` = Title = `) left out. The text is already tokenised; rare words are `<unk>`."""
    path = pathlib.Path(path)
    files = [path] if path.is_file() else sorted(path.rglob(f"wiki.{split}.tokens"))
    if not files:
        raise DataFormatError(path, None, f"no wiki.{split}.tokens (WikiText-2 or -103) here")
    text = decode_utf8(files[0].read_bytes(), str(files[0]))
    return [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("= ")]


def load_text_corpus(
    name: str | None = None, data_dir: str | os.PathLike | None = None, *, skip_checksum: bool = False
) -> list[str]:
    """The texts of a corpus by name: None (the embedded default: gensim's `lee_background.cor` and
    `head500.noblanks.cor`), "lee", "head500", "imdb" (the 50,000 labelled reviews, train and test),
    "wikitext2" (its training split), or "text" (the plain-text files at `data_dir`). With `data_dir` and
    no name, plain text is read from `data_dir`. The named datasets are checked against their hashes
    unless `skip_checksum` (`zoo.data.find_dataset`)."""
    if name in (None, "lee", "head500") and data_dir is None:
        from gensim.test.utils import datapath

        files = {"lee": EMBEDDED[:1], "head500": EMBEDDED[1:], None: EMBEDDED}[name]
        return [line for file in files for line in read_lines(datapath(file))]
    if name == "imdb":
        copy = find_dataset("imdb", data_dir, skip_checksum=skip_checksum)
        splits = read_imdb(copy.folder)
        check_counts(copy, {split: len(data.texts) for split, data in splits.items()}, "reviews")
        return [text for split in splits.values() for text in split.texts]
    if name == "wikitext2":
        copy = find_dataset("wikitext2", data_dir, skip_checksum=skip_checksum)
        paragraphs = read_wikitext(copy.folder)
        check_counts(copy, {"train": len(paragraphs)}, "paragraphs")
        return paragraphs
    if name in (None, "text", "lee", "head500"):
        if data_dir is None:
            raise DataFormatError(
                "--data-dir", None, "the text corpus needs --data-dir PATH (a file or folder)"
            )
        return read_lines(data_dir)
    raise ValueError(f"unknown corpus {name!r}; expected lee, head500, imdb, wikitext2 or text")
