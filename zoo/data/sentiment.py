"""Labelled texts: the binary sentiment datasets in their canonical formats (aclImdb (IMDB), GLUE SST-2,
and the embedded default, gensim's Pang & Lee sentences, labels 0 = negative, 1 = positive), and a user's
own files of any number of classes (CSV, TSV, JSON Lines, or a folder of class subfolders:
`read_labelled_texts`, `load_labelled_files`). Every reader returns texts as written (HTML included:
cleaning belongs to the model, so the exported model cleans too). `token_id_batches` turns a split into
length-bucketed batches of token ids for training."""

from __future__ import annotations

import json
import os
import pathlib
import re
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple

import numpy as np
import sklearn.model_selection
import tensorflow as tf

from zoo.data.common import decode_utf8, read_table, user_splits
from zoo.data.integrity import check_counts, tar_members
from zoo.data.registry import find_dataset
from zoo.errors import DataFormatError, DatasetNotFoundError
from zoo.progress import progress


class LabelledTexts(NamedTuple):
    texts: list[str]
    labels: np.ndarray  # int32 class ids: 0 negative / 1 positive, or an index into a list of class names
    # Optional group of each text (IMDB: its movie); held-out splits never share a group with training.
    groups: np.ndarray | None = None


# ## IMDB (aclImdb)

_IMDB_MEMBER = re.compile(r"(?:.*/)?aclImdb/(train|test)/(pos|neg)/(\d+)_(\d+)\.txt")
# Line i of urls_pos.txt is the IMDb page of the movie that review i/ is about.
_IMDB_URLS = re.compile(r"(?:.*/)?aclImdb/(train|test)/urls_(pos|neg)\.txt")


def _imdb_files(path: pathlib.Path) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of every file under `path`: an archive read in one streaming pass to its end (gzip
    CRC checked), or a folder."""
    if path.is_file():
        # Read to the end of the compressed stream, so a damaged or cut-short archive is an error naming
        # it, not the reviews before the damage.
        wanted = lambda name: bool(_IMDB_MEMBER.fullmatch(name) or _IMDB_URLS.fullmatch(name))  # noqa: E731
        for name, data in tar_members(path, wanted):
            yield f"{path}/{name}", data
        return
    archives = sorted(path.glob("*.tar.gz"))
    if archives and not (path / "aclImdb").exists() and path.name != "aclImdb":
        yield from _imdb_files(archives[0])
        return
    for file in sorted(path.rglob("*.txt")):
        if _IMDB_MEMBER.fullmatch(file.as_posix()) or _IMDB_URLS.fullmatch(file.as_posix()):
            yield str(file), file.read_bytes()


def read_imdb(path: str | os.PathLike) -> dict[str, LabelledTexts]:
    """Read the labelled reviews of the Large Movie Review Dataset (Maas et al. 2011).

    Args:
        path: the `.tar.gz` (the official `aclImdb_v1.tar.gz`, whose `train/unsup/` is ignored, or a
            repack), a folder holding one, an extracted `aclImdb/` folder, or its parent.

    Returns:
        {"train": ..., "test": ...}, each sorted by label then review id; `groups` holds each review's
        movie (from `urls_{pos,neg}.txt`) when those files are present, else None.

    Raises:
        DataFormatError: a rating that contradicts its folder (negative is 1-4, positive 7-10),
            bytes that are not UTF-8, an empty review, no review at all, or an archive that is corrupted
            or truncated (its gzip stream is read to the end and its CRC checked).
    """
    path = pathlib.Path(path)
    rows: dict[str, list[tuple[int, int, str]]] = {"train": [], "test": []}
    movies: dict[tuple[str, int], list[str]] = {}
    for name, data in progress(_imdb_files(path), "reading IMDB", unit="file"):
        urls = _IMDB_URLS.fullmatch(name.replace(os.sep, "/"))
        if urls:
            movies[urls[1], int(urls[2] == "pos")] = decode_utf8(data, name).split()
            continue
        split, polarity, review_id, rating = _IMDB_MEMBER.fullmatch(name.replace(os.sep, "/")).groups()
        label, rating = int(polarity == "pos"), int(rating)
        if (label and not 7 <= rating <= 10) or (not label and not 1 <= rating <= 4):
            raise DataFormatError(name, None, f"rating {rating} contradicts the {polarity}/ folder")
        text = decode_utf8(data, name)
        if not text.strip():
            raise DataFormatError(name, 1, "empty review")
        rows[split].append((label, int(review_id), text))
    if not rows["train"] and not rows["test"]:
        raise DataFormatError(path, None, "no aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt reviews")
    splits = {}
    for split, items in rows.items():
        if items:
            items.sort()
            labels = np.array([label for label, _, _ in items], dtype=np.int32)
            groups = None
            if all((split, label) in movies for label in set(labels.tolist())):
                try:
                    groups = np.array([movies[split, label][i] for label, i, _ in items])
                except IndexError:
                    problem = f"{split}/urls_*.txt has fewer lines than reviews"
                    raise DataFormatError(path, None, problem) from None
            splits[split] = LabelledTexts([text for _, _, text in items], labels, groups)
    return splits


# ## SST-2 (GLUE)


def _read_sst2_file(path: pathlib.Path) -> LabelledTexts:
    """`sentence<TAB>label` rows after a header; GLUE's trailing space and CRLF endings are removed."""
    text = decode_utf8(path.read_bytes(), str(path))
    lines = text.splitlines()  # handles the CRLF of test-labeled.tsv
    if not lines:
        raise DataFormatError(path, None, "empty file")
    if lines[0].split("\t") != ["sentence", "label"]:
        raise DataFormatError(path, 1, f"expected header 'sentence<TAB>label', got {lines[0]!r}")
    texts, labels = [], []
    for number, line in enumerate(lines[1:], start=2):
        columns = line.split("\t")
        if len(columns) != 2:
            raise DataFormatError(path, number, f"expected 2 tab-separated columns, got {len(columns)}")
        sentence, label = columns
        if label not in ("0", "1"):
            raise DataFormatError(path, number, f"label must be 0 or 1, got {label!r}")
        if not sentence.strip():
            raise DataFormatError(path, number, "empty sentence")
        texts.append(sentence.strip())
        labels.append(int(label))
    if not texts:
        raise DataFormatError(path, None, "no rows after the header")
    return LabelledTexts(texts, np.asarray(labels, dtype=np.int32))


def read_sst2(path: str | os.PathLike) -> dict[str, LabelledTexts]:
    """Read GLUE SST-2: `train.tsv`, `dev.tsv` (-> "validation") and, when present, `test-labeled.tsv`
    (-> "test"; GLUE's own `test.tsv` has no labels and is not read).

    Args:
        path: a folder holding the files, or any parent of one (such as the extracted GLUE zip).
    """
    path = pathlib.Path(path)
    found = sorted(path.rglob("train.tsv"))
    if not found:
        raise DataFormatError(path, None, "no SST-2 train.tsv found under this folder")
    folder = found[0].parent
    splits = {"train": _read_sst2_file(folder / "train.tsv")}
    if (folder / "dev.tsv").exists():
        splits["validation"] = _read_sst2_file(folder / "dev.tsv")
    if (folder / "test-labeled.tsv").exists():
        splits["test"] = _read_sst2_file(folder / "test-labeled.tsv")
    return splits


# ## Embedded default: Pang & Lee sentences shipped by gensim


def read_pang_lee(path: str | os.PathLike | None = None) -> LabelledTexts:
    """gensim's `pang_lee_polarity.cor`: 200 movie-review sentences, `__label__pos text` per line.

    The file is Windows-1252, not UTF-8 (byte 0x97 is an em dash, 0xe9 "é"), as the original
    rt-polarity data; it is decoded as such.
    """
    if path is None:
        from gensim.test.utils import datapath

        path = datapath("pang_lee_polarity.cor")
    path = pathlib.Path(path)
    texts, labels = [], []
    for number, line in enumerate(path.read_bytes().decode("cp1252").splitlines(), start=1):
        label, _, text = line.partition(" ")
        if label not in ("__label__neg", "__label__pos") or not text.strip():
            raise DataFormatError(path, number, f"expected '__label__pos|neg <text>', got {line[:40]!r}")
        texts.append(text.strip())
        labels.append(int(label == "__label__pos"))
    if not texts:
        raise DataFormatError(path, None, "empty file")
    return LabelledTexts(texts, np.asarray(labels, dtype=np.int32))


# ## Your own files: CSV, TSV, JSON Lines, or a folder of class subfolders

FILE_FORMATS = ("csv", "tsv", "jsonl", "folder")
_EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


class LabelledLine(NamedTuple):
    """One example of a user's file: its text and its label as written, and where it was read."""

    text: str
    label: str
    path: str
    line: int | None  # 1-based line where the example starts; None for a folder's file (the whole file)


def detect_format(path: str | os.PathLike, given: str | None = None) -> str:
    """The format of a user's file: `given` if any, else "folder" for a folder, else by extension
    (.csv, .tsv, .jsonl or .ndjson). Raises `DataFormatError` when neither tells."""
    path = pathlib.Path(path)
    if not path.exists():
        raise DataFormatError(path, None, "no such file or folder")
    if given is not None:
        if given not in FILE_FORMATS:
            raise ValueError(f"file format must be one of {', '.join(FILE_FORMATS)}, got {given!r}")
        if (given == "folder") != path.is_dir():
            kind = "a folder" if path.is_dir() else "a file"
            raise DataFormatError(path, None, f"is {kind}, not what the format {given!r} reads")
        return given
    if path.is_dir():
        return "folder"
    found = _EXTENSIONS.get(path.suffix.lower())
    if found is None:
        problem = "cannot tell the format from the extension: name it .csv, .tsv or .jsonl, or pass "
        raise DataFormatError(path, None, problem + "--file-format csv|tsv|jsonl")
    return found


def _example(path: str, line: int | None, text, label, text_column: str, label_column: str) -> LabelledLine:
    """A checked example: a non-empty text string and a non-empty label (a string, or an integer)."""
    if not isinstance(text, str):
        raise DataFormatError(path, line, f"{text_column!r} must be a string, got {json.dumps(text)[:40]}")
    if isinstance(label, int) and not isinstance(label, bool):
        label = str(label)
    if not isinstance(label, str):
        raise DataFormatError(
            path, line, f"{label_column!r} must be a string or an integer, got {json.dumps(label)[:40]}"
        )
    if not text.strip():
        raise DataFormatError(path, line, f"empty text (column {text_column!r})")
    if not label.strip():
        raise DataFormatError(path, line, f"empty label (column {label_column!r})")
    return LabelledLine(text, label.strip(), path, line)


def _read_delimited(path: pathlib.Path, separator: str, text_column: str, label_column: str) -> list:
    """CSV (RFC 4180 quoting, checked strictly; a quoted text may hold line breaks) or TSV (no quoting)."""
    hint = "; see --text-column and --label-column"
    rows = read_table(path, [text_column, label_column], separator=separator, multiline=True, hint=hint)
    return [_example(str(path), line, text, label, text_column, label_column) for line, (text, label) in rows]


def _read_json_lines(path: str, text: str, text_column: str, label_column: str) -> list:
    """One JSON object a line; blank lines are skipped."""
    rows = []
    for line, content in enumerate(text.split("\n"), start=1):
        if not content.strip():
            continue
        try:
            record = json.loads(content)
        except json.JSONDecodeError as error:
            raise DataFormatError(path, line, f"not JSON: {error.msg} at column {error.colno}") from None
        if not isinstance(record, dict):
            raise DataFormatError(path, line, f"expected a JSON object, got {type(record).__name__}")
        for column in (text_column, label_column):
            if column not in record:
                found = ", ".join(repr(key) for key in record)
                problem = f"no key {column!r} (keys: {found}); see --text-column and --label-column"
                raise DataFormatError(path, line, problem)
        rows.append(
            _example(path, line, record[text_column], record[label_column], text_column, label_column)
        )
    return rows


def _read_class_folders(path: pathlib.Path) -> list:
    """`text_dataset_from_directory`'s layout: `path/<class>/**/*.txt`, one text a file; hidden names
    (starting with ".") are skipped."""
    classes = sorted(
        folder for folder in path.iterdir() if folder.is_dir() and not folder.name.startswith(".")
    )
    if not classes:
        raise DataFormatError(path, None, "no class subfolders (expected <class>/<text>.txt files)")
    rows = []
    for folder in classes:
        files = sorted(file for file in folder.rglob("*.txt") if not file.name.startswith("."))
        if not files:
            raise DataFormatError(folder, None, "a class folder without any .txt file")
        for file in files:
            text = decode_utf8(file.read_bytes(), str(file))
            if not text.strip():
                raise DataFormatError(file, 1, "empty text")
            rows.append(LabelledLine(text, folder.name, str(file), None))
    return rows


def read_labelled_texts(
    path: str | os.PathLike,
    file_format: str | None = None,
    text_column: str = "text",
    label_column: str = "label",
) -> list[LabelledLine]:
    """A user's labelled texts, every one of them, or a `DataFormatError` naming the file and the line.

    Args:
        path: a CSV, TSV or JSON Lines file, or a folder with one subfolder of `.txt` files per class
            (the layout of `keras.utils.text_dataset_from_directory`; the subfolder names the label).
        file_format: "csv", "tsv", "jsonl" or "folder"; None: from the path (`detect_format`).
        text_column: the column (CSV/TSV header) or key (JSON Lines) of the text.
        label_column: the column or key of the label, any string (or a JSON integer, read as its digits).

    Returns:
        The examples in file order, texts as written and labels without surrounding spaces.

    Raises:
        DataFormatError: bytes that are not UTF-8, a missing column, an empty text or label, a row with
            more or fewer fields than the header, a CSV quoting error, a line that is not a JSON object,
            or no example at all.
    """
    path = pathlib.Path(path)
    kind = detect_format(path, file_format)
    if kind == "folder":
        return _read_class_folders(path)
    if kind == "jsonl":
        text = decode_utf8(path.read_bytes(), str(path)).removeprefix("\ufeff")  # a spreadsheet's BOM
        rows = _read_json_lines(str(path), text, text_column, label_column)
    else:
        rows = _read_delimited(path, "," if kind == "csv" else "\t", text_column, label_column)
    if not rows:
        raise DataFormatError(path, None, "no examples")
    return rows


def load_labelled_files(
    train_file: str,
    validation_file: str | None = None,
    test_file: str | None = None,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 0,
    *,
    file_format: str | None = None,
    text_column: str = "text",
    label_column: str = "label",
) -> tuple[dict[str, LabelledTexts], list[str]]:
    """A user's own train, validation and test splits (`--dataset file`) and their class names.

    Each file is read whole by `read_labelled_texts`; a split without a file of its own is carved from the
    training file (`zoo.data.user_splits`). The class names are the sorted distinct labels of the
    training split, and each split's labels become their indices (with two classes, the second name is
    label 1, the "positive" one).

    Returns:
        ({"train": ..., "validation": ..., "test": ...}, class names).

    Raises:
        DataFormatError: as `read_labelled_texts`; a training split of fewer than two labels; or a
            validation or test label the training split does not have, naming its file and line.
    """
    splits = user_splits(
        lambda path: read_labelled_texts(path, file_format, text_column, label_column),
        train_file,
        validation_file,
        test_file,
        validation_fraction,
        test_fraction,
        seed,
    )
    class_names = sorted({example.label for example in splits["train"]})
    if len(class_names) < 2:
        problem = f"the training split holds one label, {class_names[0]!r}: a classifier needs two or more"
        raise DataFormatError(train_file, None, problem)
    index = {name: position for position, name in enumerate(class_names)}
    for name in ("validation", "test"):
        for example in splits[name]:
            if example.label not in index:
                shown = ", ".join(map(repr, class_names[:10])) + (", ..." if len(class_names) > 10 else "")
                problem = f"label {example.label!r} is not among the training split's ({shown})"
                raise DataFormatError(example.path, example.line, problem)
    return {
        name: LabelledTexts(
            [example.text for example in examples],
            np.asarray([index[example.label] for example in examples], dtype=np.int32),
        )
        for name, examples in splits.items()
    }, class_names


# ## One entry point for recipes


def _split(data: LabelledTexts, fraction: float, seed: int) -> tuple[LabelledTexts, LabelledTexts]:
    """Stratified split: the held-out part keeps the class balance of the whole. With `groups`, no group
    is on both sides (scikit-learn's StratifiedGroupKFold, first fold held out)."""
    indices = np.arange(len(data.texts))
    if data.groups is None:
        kept, held = sklearn.model_selection.train_test_split(
            indices, test_size=fraction, random_state=seed, stratify=data.labels
        )
    else:
        folds = sklearn.model_selection.StratifiedGroupKFold(
            round(1 / fraction), shuffle=True, random_state=seed
        )
        kept, held = next(folds.split(indices, data.labels, data.groups))

    def take(chosen: np.ndarray) -> LabelledTexts:
        chosen = np.sort(chosen)
        groups = None if data.groups is None else data.groups[chosen]
        return LabelledTexts([data.texts[i] for i in chosen], data.labels[chosen], groups)

    return take(kept), take(held)


def load_sentiment(
    dataset: str | None,
    data_dir: str | os.PathLike | None = None,
    *,
    validation_fraction: float = 0.1,
    seed: int = 0,
    skip_checksum: bool = False,
) -> dict[str, LabelledTexts]:
    """Train, validation and test splits of a sentiment dataset.

    - `None`: the embedded Pang & Lee sentences, split 80/10/10 (stratified, by `seed`).
    - "imdb": the official train/test; validation is about `validation_fraction` of train, stratified
      and split by movie. The official test movies are disjoint from the train movies; a validation set
      sharing movies with training would run two points above test accuracy (a model learns actors and
      titles) and pick the wrong epoch.
    - "sst2": train, dev as validation, and `test-labeled.tsv` as test. Without it (GLUE's download hides
      test labels), the test split is the dev split, as is usual for SST-2.

    The copy is found and checked by `zoo.data.find_dataset` (its hashes, unless `skip_checksum`), and
    what is read is compared with the identified copy's split sizes (`zoo.data.integrity.check_counts`).
    """
    if dataset is None:
        rest, test = _split(read_pang_lee(), 0.1, seed)
        train, validation = _split(rest, 1 / 9, seed)
        return {"train": train, "validation": validation, "test": test}
    if dataset == "imdb":
        copy = find_dataset("imdb", data_dir, skip_checksum=skip_checksum)
        splits = read_imdb(copy.folder)
        check_counts(copy, {split: len(data.texts) for split, data in splits.items()}, "reviews")
        if "train" not in splits or "test" not in splits:
            raise DataFormatError(copy.folder, None, "needs both train/ and test/ reviews")
        train, validation = _split(splits["train"], validation_fraction, seed)
        return {"train": train, "validation": validation, "test": splits["test"]}
    if dataset == "sst2":
        copy = find_dataset("sst2", data_dir, skip_checksum=skip_checksum)
        splits = read_sst2(copy.folder)
        check_counts(copy, {split: len(data.texts) for split, data in splits.items()}, "sentences")
        if "validation" not in splits:
            raise DatasetNotFoundError("SST-2 needs dev.tsv beside train.tsv")
        splits.setdefault("test", splits["validation"])
        return splits
    raise ValueError(f"unknown sentiment dataset {dataset!r}; choose imdb, sst2 or None (embedded)")


def summary(splits: dict[str, LabelledTexts], class_names: Sequence[str] | None = None) -> str:
    """One line per split: its size and its share of positive examples, or with `class_names` (more than
    two), the share of each class (the first eight)."""
    lines = []
    for name, data in splits.items():
        if class_names is None or len(class_names) <= 2:
            shares = f"{data.labels.mean():.1%} {'positive' if class_names is None else class_names[1]}"
        else:
            counts = np.bincount(data.labels, minlength=len(class_names)) / max(len(data.labels), 1)
            shares = ", ".join(f"{label} {share:.1%}" for label, share in zip(class_names[:8], counts))
            shares += ", ..." if len(class_names) > 8 else ""
        lines.append(f"{name:>10}: {len(data.texts):6d} texts, {shares}")
    return "\n".join(lines)


def token_id_batches(
    split: LabelledTexts,
    vectorizer: Callable[[tf.Tensor], tf.Tensor],
    batch_size: int,
    max_length: int,
    shuffle_seed: int | None = None,
) -> tf.data.Dataset:
    """Labelled texts as `(token ids, label)` batches, texts of similar length batched together.

    The texts are vectorised once (cached), and each batch is padded (id 0) only to its longest text:
    padding a 40-word review to the 400 of its longest batch-mate would spend most of an RNN's time on
    padding.

    Args:
        split: the texts and their labels (read as float32).
        vectorizer: strings -> token ids padded with 0, e.g. a `keras.layers.TextVectorization` with an
            `output_sequence_length` of `max_length`.
        batch_size: texts per batch.
        max_length: the longest token sequence; the length buckets are fractions of it.
        shuffle_seed: shuffle every epoch, reproducibly from this seed; None: keep the order.
    """
    dataset = tf.data.Dataset.from_tensor_slices((split.texts, split.labels.astype("float32")))
    dataset = dataset.batch(256).map(
        lambda texts, labels: (vectorizer(texts), labels), num_parallel_calls=tf.data.AUTOTUNE
    )

    # Drop the vectorizer's padding so buckets can re-pad shorter. A text that standardises to nothing
    # keeps one (masked) padding step, so no batch has zero time steps.
    def strip_padding(ids, label):
        ids = tf.boolean_mask(ids, ids > 0)
        return tf.pad(ids, [[0, 1 - tf.minimum(tf.size(ids), 1)]]), label

    dataset = dataset.unbatch().map(strip_padding).cache()
    if shuffle_seed is not None:
        dataset = dataset.shuffle(len(split.texts), seed=shuffle_seed, reshuffle_each_iteration=True)
    boundaries = sorted({max(2, max_length * k // 16) for k in (1, 2, 4, 8, 12)})
    dataset = dataset.bucket_by_sequence_length(
        lambda ids, label: tf.shape(ids)[0],
        bucket_boundaries=boundaries,
        bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
    )
    return dataset.prefetch(tf.data.AUTOTUNE)
