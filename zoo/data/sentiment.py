"""Binary sentiment datasets in their canonical formats: aclImdb (IMDB), GLUE SST-2, and the embedded
default, gensim's Pang & Lee sentences. Every reader returns texts as written (HTML included: cleaning
belongs to the model, so the exported model cleans too) and labels 0 = negative, 1 = positive.
`token_id_batches` turns a split into length-bucketed batches of token ids for training."""

from __future__ import annotations

import os
import pathlib
import re
from collections.abc import Callable, Iterator
from typing import NamedTuple

import numpy as np
import sklearn.model_selection
import tensorflow as tf

from zoo.data.common import decode_utf8
from zoo.data.integrity import check_counts, tar_members
from zoo.data.registry import find_dataset
from zoo.errors import DataFormatError, DatasetNotFoundError
from zoo.progress import progress


class LabelledTexts(NamedTuple):
    texts: list[str]
    labels: np.ndarray  # int32, 0 negative / 1 positive
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


def summary(splits: dict[str, LabelledTexts]) -> str:
    """One line per split: size and share of positive examples."""
    return "\n".join(
        f"{name:>10}: {len(data.texts):6d} texts, {data.labels.mean():.1%} positive"
        for name, data in splits.items()
    )


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
