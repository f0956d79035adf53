"""Sentence pairs: the Tatoeba English-Spanish pairs ManyThings.org distributes for Anki (`spa-eng.zip`, the
file the Keras and TensorFlow translation tutorials use), the embedded default the zoo generates itself,
numbers written out in words (`three hundred and twenty-one` -> `trescientos veintiuno`), and a user's own
pairs in any two languages (`PairFile`: a TSV, or a Moses prefix of two aligned files), streamed from disk.

The Tatoeba and embedded readers return `(english, spanish)` pairs, NFC-normalised; which way to translate
is the recipe's choice; a user's pairs are `(source, target)`, as their files give them. The Tatoeba files
have no official split, and many English sentences come with several translations (`Go.` -> `Ve.`,
`Vete.`, `Vaya.`), so `split_pairs` keeps every pair that shares a sentence with another in the same split:
a test sentence is never seen in training, on either side.
"""

from __future__ import annotations

import array
import functools
import hashlib
import importlib.metadata
import itertools
import os
import pathlib
import unicodedata
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np

from zoo.data.common import carve_by_key, check_fractions, decode_utf8
from zoo.data.integrity import check_counts, looks_like_zip, read_zip_member, zip_member_lines
from zoo.data.registry import DATASETS, find_dataset
from zoo.errors import DataFormatError, DatasetNotFoundError

Pair = tuple[str, str]  # (english, spanish) from Tatoeba and the sample; a user's (source, target)


class TranslationPairs(NamedTuple):
    train: list[Pair] | PairStream  # a user's own training file is streamed from disk
    validation: list[Pair]
    test: list[Pair]
    source: str  # where the pairs come from, one line for logs and metrics.json


# ## Reading ManyThings / Tatoeba pair files


def _pair_member(names: list[str], path: pathlib.Path) -> str:
    """The one `*.txt` member of a ManyThings archive that holds the pairs (`spa-eng/spa.txt`), not the
    `_about.txt` notice beside it."""
    members = [
        name
        for name in names
        if name.endswith(".txt")
        and not name.endswith("/")
        and not name.startswith("__MACOSX/")
        and name.rsplit("/", 1)[-1] != "_about.txt"
    ]
    if len(members) != 1:
        found = ", ".join(members) or "none"
        raise DataFormatError(path, None, f"expected one sentence-pair .txt in the archive, found {found}")
    return members[0]


def _parse(text: str, name: str) -> list[Pair]:
    """`English<TAB>Spanish[<TAB>attribution]` lines; `name` is what errors call the file."""
    pairs = []
    # "\n" only: str.splitlines would also split at characters such as U+2028 inside a sentence.
    for number, line in enumerate(text.removeprefix("\ufeff").split("\n"), start=1):
        if not line.strip():
            continue
        fields = line.rstrip("\r").split("\t")
        if not 2 <= len(fields) <= 3:
            problem = f"expected English<TAB>Spanish (and optionally an attribution), got {len(fields)} field"
            raise DataFormatError(name, number, problem + ("" if len(fields) == 1 else "s"))
        english, spanish = (unicodedata.normalize("NFC", field.strip()) for field in fields[:2])
        for side, sentence in (("English", english), ("Spanish", spanish)):
            if not sentence:
                raise DataFormatError(name, number, f"empty {side} sentence")
        pairs.append((english, spanish))
    if not pairs:
        raise DataFormatError(name, None, "empty file" if not text.strip() else "no sentence pairs")
    return pairs


def read_sentence_pairs(path: str | os.PathLike) -> list[Pair]:
    """Read a ManyThings.org / Tatoeba pair file: one pair per line, `English<TAB>Spanish`.

    Files from 2019 on add a third column (`CC-BY 2.0 (France) Attribution: tatoeba.org #...`), which is
    ignored. Both sentences are stripped of surrounding whitespace and NFC-normalised (composed accents),
    so the same sentence is the same string whichever way it was typed; blank lines are skipped.

    Args:
        path: the zip archive as distributed (`spa-eng.zip`, read without extracting: its one `*.txt`
            member other than `_about.txt`), or an extracted pair file (`spa.txt`), UTF-8.

    Returns:
        `(english, spanish)` pairs in file order (ManyThings sorts them from short to long).

    Raises:
        DataFormatError: bytes that are not UTF-8, a line with fewer than 2 or more than 3 tab-separated
            fields, an empty sentence, no pair at all, an archive without exactly one pair file, or an
            archive that is corrupted or truncated (a `.zip` name or signature is read as a zip, its CRC
            checked). The message starts with `path:line:`; inside an archive the path is
            `archive.zip/member.txt`.

    Example:

    >>> from zoo.data import read_sentence_pairs
    >>> pairs = read_sentence_pairs("spa-eng.zip")  # doctest: +SKIP
    >>> pairs[:2]  # doctest: +SKIP
    [('Go.', 'Ve.'), ('Go.', 'Vete.')]
    """
    path = pathlib.Path(path)
    if path.is_dir():
        raise DataFormatError(path, None, "is a folder; expected a pair file (spa.txt) or its zip archive")
    if not looks_like_zip(path):
        return _parse(decode_utf8(path.read_bytes(), str(path)), str(path))
    # A damaged or cut-short zip is still a zip: an error naming it, never its bytes read as text.
    member, data = read_zip_member(path, lambda names: _pair_member(names, path))
    name = f"{path}/{member}"
    return _parse(decode_utf8(data, name), name)


# ## Splitting without shared sentences


def _components(pairs: Sequence[Pair]) -> list[list[int]]:
    """Indices of the pairs linked by a shared English or a shared Spanish sentence (union-find), each
    component in file order, components in the order of their first pair."""
    parent = list(range(len(pairs)))

    def find(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]  # path halving keeps the trees flat
            index = parent[index]
        return index

    for side in (0, 1):
        first: dict[str, int] = {}
        for index, pair in enumerate(pairs):
            root, other = find(index), find(first.setdefault(pair[side], index))
            if root != other:
                parent[root] = other
    components: dict[int, list[int]] = {}
    for index in range(len(pairs)):
        components.setdefault(find(index), []).append(index)
    return list(components.values())


def split_pairs(
    pairs: Sequence[Pair], validation_fraction: float = 0.15, test_fraction: float = 0.15, seed: int = 0
) -> dict[str, list[Pair]]:
    """Train, validation and test pairs in which no sentence, English or Spanish, is in two splits.

    Pairs that share an English sentence or a Spanish sentence are linked, and linked pairs form a
    component (union-find over both sides): `Go. / Ve.`, `Go. / Vete.` and `Go away. / Vete.` go
    together. Components are shuffled with `numpy.random.default_rng(seed)` and dealt out in that order:
    to test until it holds `round(test_fraction * len(pairs))` pairs, then to validation likewise, the rest
    to train. A split overshoots its share by less than one component (spa-eng's largest holds 40 pairs;
    83,551 of its 97,780 components are single pairs). A random split of pairs, as the keras-io and
    TensorFlow tutorials make, leaves 23% of spa-eng's test pairs sharing a sentence with training (18%
    their English one), which flatters a model that memorises.

    On spa-eng (118,964 pairs) with the default fractions and `seed=1337`: train 83,274, validation
    17,845, test 17,845 pairs.

    Args:
        pairs: `(english, spanish)` pairs; identical strings are the same sentence (readers NFC-normalise).
        validation_fraction: share of the pairs held out for validation.
        test_fraction: share of the pairs held out for test.
        seed: the same seed gives the same splits.

    Returns:
        {"train": ..., "validation": ..., "test": ...}; each split lists its components in shuffled
        order, the pairs of a component in input order, so any prefix of a split is a random sample.

    Raises:
        ValueError: a fraction outside [0, 1), or fractions leaving nothing for training.

    Example:

    >>> from zoo.data import split_pairs
    >>> pairs = [("Go.", "Ve."), ("Go.", "Vete."), ("Go away.", "Vete.")]  # one component
    >>> pairs += [("Run!", "¡Corre!"), ("Who?", "¿Quién?"), ("Wow!", "¡Órale!")]
    >>> splits = split_pairs(pairs, 0.2, 0.2, seed=3)
    >>> splits["train"]
    [('Run!', '¡Corre!'), ('Go.', 'Ve.'), ('Go.', 'Vete.'), ('Go away.', 'Vete.')]
    >>> splits["validation"], splits["test"]
    ([('Who?', '¿Quién?')], [('Wow!', '¡Órale!')])
    """
    check_fractions(validation_fraction, test_fraction, "pairs")
    targets = {
        "test": round(test_fraction * len(pairs)),
        "validation": round(validation_fraction * len(pairs)),
    }
    components = _components(pairs)
    splits: dict[str, list[Pair]] = {"train": [], "validation": [], "test": []}
    for component in np.random.default_rng(seed).permutation(len(components)):
        name = next((name for name, target in targets.items() if len(splits[name]) < target), "train")
        splits[name].extend(tuple(pairs[index]) for index in components[component])
    return splits


# ## Embedded default: numbers written out in words

SAMPLE_COUNT = 3000  # generated in under a second; every word of 0-99 and most of 100-999 is in it
SAMPLE_SEED = 0  # the sample is the same in every run; `load_translation(seed=...)` only changes the split


def number_pair(number: int) -> Pair:
    """`number` written out in English and in Spanish by num2words: `321` ->
    `("three hundred and twenty-one", "trescientos veintiuno")`."""
    from num2words import num2words  # imported here: only the embedded sample needs it

    return tuple(unicodedata.normalize("NFC", num2words(number, lang=lang)) for lang in ("en", "es"))


@functools.lru_cache(maxsize=4)
def _sample(count: int, seed: int, max_number: int) -> tuple[Pair, ...]:
    numbers = np.arange(max_number + 1)
    # Each order of magnitude (0-9, 10-99, 100-999, ...) gets the same weight, so the short numbers, whose
    # words ("quince", "veinte") the long ones are made of, are all there and not swamped by 4-digit ones.
    magnitude = np.floor(np.log10(np.maximum(numbers, 1))).astype(int)
    weights = 1 / np.bincount(magnitude)[magnitude]
    drawn = np.random.default_rng(seed).choice(numbers, size=count, replace=False, p=weights / weights.sum())
    return tuple(number_pair(int(number)) for number in drawn)


def sample_pairs(count: int = SAMPLE_COUNT, seed: int = SAMPLE_SEED, max_number: int = 9999) -> list[Pair]:
    """The embedded default: `count` different whole numbers from 0 to `max_number`, each written out in
    English and in Spanish by num2words, such as `("two thousand and twenty-one", "dos mil veintiuno")`.

    Numbers are drawn without replacement, each order of magnitude with the same weight: with the defaults
    all of 0-99, 828 of 100-999 and 2,072 of the 4-digit numbers. The task is a real, small translation
    problem: word order mostly matches but the vocabulary does not align one to one (`twenty-one` ->
    `veintiuno`, `one hundred` -> `cien` but `one hundred and one` -> `ciento uno`, `five hundred` ->
    `quinientos`), and held-out numbers are new combinations of known words.

    Args:
        count: how many pairs, at most `max_number + 1`.
        seed: the same seed gives the same pairs in the same order.
        max_number: the largest number drawn.

    Example:

    >>> from zoo.data import number_pair, sample_pairs
    >>> number_pair(321)
    ('three hundred and twenty-one', 'trescientos veintiuno')
    >>> len(sample_pairs(100, seed=1))
    100
    """
    if not 0 < count <= max_number + 1:
        raise ValueError(f"count must be in 1..{max_number + 1} (max_number + 1), got {count}")
    return list(_sample(count, seed, max_number))


# ## A user's own pairs, streamed from disk

# blake2b digests of source sentences, to keep a sentence's translations in one split without holding
# the sentences: a collision only puts two sentences' pairs into one split together.
_KEY_BYTES = 8


class PairFile:
    """A user's sentence pairs on disk, read anew line by line at each iteration, so a corpus of millions
    of pairs is never held in memory. Either of two layouts, told apart by whether `path` is a file:

    - a TSV file: `source<TAB>target` a line, further columns ignored (a ManyThings.org / Tatoeba pair
      file such as `deu.txt`, with its attribution column), or a zip archive holding one (`deu-eng.zip`);
    - a Moses-style prefix: `path.<source>` and `path.<target>` (`corpus.de`, `corpus.fr`), two plain-text
      files of one sentence a line, line i of one the translation of line i of the other.

    Sentences are stripped and NFC-normalised; blank lines (in a Moses pair, a line blank in both files)
    are skipped.

    Args:
        path: the TSV file or zip archive, or the prefix.
        source: the source language's code: the Moses suffix, and what errors call that side.
        target: the target language's code, likewise.

    Iterating raises `DataFormatError` naming the file and line of bytes that are not UTF-8, a TSV line
    without a tab, an empty source or target sentence, or two Moses files of different lengths (naming
    both); `DatasetNotFoundError` when `path` is neither a file nor a prefix of two.

    Example:

    >>> import pathlib, tempfile
    >>> from zoo.data.translation import PairFile
    >>> prefix = pathlib.Path(tempfile.mkdtemp()) / "corpus"
    >>> _ = prefix.with_suffix(".de").write_text("Guten Morgen.\\nDanke!\\n")
    >>> _ = prefix.with_suffix(".fr").write_text("Bonjour.\\nMerci !\\n")
    >>> list(PairFile(prefix, "de", "fr"))
    [('Guten Morgen.', 'Bonjour.'), ('Danke!', 'Merci !')]
    """

    def __init__(self, path: str | os.PathLike, source: str, target: str):
        self.path, self.source, self.target = pathlib.Path(path), source, target
        self.files = (self.path,)
        if not self.path.is_file():
            self.files = tuple(self.path.with_name(f"{self.path.name}.{code}") for code in (source, target))
            missing = [str(file) for file in self.files if not file.is_file()]
            if missing:
                raise DatasetNotFoundError(
                    f"{self.path}: no such file, nor a Moses prefix ({' and '.join(missing)} missing)"
                )

    def __str__(self) -> str:
        return " and ".join(map(str, self.files))

    def __iter__(self) -> Iterator[Pair]:
        return self._tsv() if len(self.files) == 1 else self._moses()

    def _pair(self, sentences: Sequence[str], where: Sequence[tuple[str, int]]) -> Pair:
        pair = tuple(unicodedata.normalize("NFC", sentence.strip()) for sentence in sentences)
        for code, sentence, (name, number) in zip((self.source, self.target), pair, where):
            if not sentence:
                raise DataFormatError(name, number, f"empty {code} sentence")
        return pair

    def _tsv(self) -> Iterator[Pair]:
        for name, number, line in _lines(self.path):
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) < 2:
                problem = f"expected {self.source}<TAB>{self.target} (further columns ignored), found no tab"
                raise DataFormatError(name, number, problem)
            yield self._pair(fields[:2], [(name, number)] * 2)

    def _moses(self) -> Iterator[Pair]:
        sources, targets = (_lines(file) for file in self.files)
        for source, target in itertools.zip_longest(sources, targets):
            if source is None or target is None:  # one file ended: count the other's lines to the end
                short, long = (0, 1) if source is None else (1, 0)
                number = (source or target)[1]
                lines = {short: number - 1, long: number + sum(1 for _ in (sources, targets)[long])}
                problem = (
                    f"{lines[short]:,} lines, but {self.files[long]} has {lines[long]:,}: the two files of a "
                    "Moses pair hold one sentence a line, line i of one translating line i of the other"
                )
                raise DataFormatError(self.files[short], None, problem)
            if source[2].strip() or target[2].strip():
                yield self._pair((source[2], target[2]), (source[:2], target[:2]))


def _lines(path: pathlib.Path) -> Iterator[tuple[str, int, str]]:
    """`(name, number, text)` of each line of a UTF-8 text file, or of the one pair file of a zip archive
    (named `archive.zip/member.txt`), read one line at a time; "\\n" ends a line (a "\\r" before it is
    dropped), a BOM does not start the first."""
    if looks_like_zip(path):
        lines = (
            (f"{path}/{member}", line)
            for member, line in zip_member_lines(path, lambda names: _pair_member(names, path))
        )
    else:
        lines = ((str(path), line) for line in _binary_lines(path))
    for number, (name, line) in enumerate(lines, start=1):
        text = decode_utf8(line, name, number).removesuffix("\n").removesuffix("\r")
        yield name, number, text.removeprefix("\ufeff") if number == 1 else text


def _binary_lines(path: pathlib.Path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        yield from handle


class PairStream:
    """One split of a `PairFile`, read anew from disk at each iteration: the pairs whose entry in `labels`
    is `label` (every pair without `labels`), at most `limit`. Its length is known without reading, and
    `stream[:n]` is a stream of its first n pairs, so it stands in for a list of pairs wherever they are
    only counted, cut to a prefix and iterated (`zoo.seq2seq.load_translation_data`).
    """

    def __init__(
        self,
        file: PairFile,
        count: int,
        labels: np.ndarray | None = None,
        label: int = 0,
        limit: int | None = None,
    ):
        self.file, self.count, self.labels, self.label = file, count, labels, label
        self.limit = count if limit is None else min(count, limit)

    def __len__(self) -> int:
        return self.limit

    def __getitem__(self, key: slice) -> PairStream:
        if not isinstance(key, slice) or key.start not in (None, 0) or key.step not in (None, 1):
            raise TypeError("a PairStream is cut to a prefix only: stream[:n]")
        if key.stop is not None and key.stop < 0:
            raise TypeError("a PairStream is cut to a prefix of n >= 0 pairs")
        limit = self.limit if key.stop is None else min(self.limit, key.stop)
        return PairStream(self.file, self.count, self.labels, self.label, limit)

    def __iter__(self) -> Iterator[Pair]:
        taken = 0
        for index, pair in enumerate(self.file):
            if taken == self.limit:
                return
            if self.labels is not None:
                if index >= len(self.labels):
                    raise DataFormatError(self.file.files[0], None, "changed while it was read: more pairs")
                if self.labels[index] != self.label:
                    continue
            taken += 1
            yield pair


def _source_key(sentence: str) -> int:
    return int.from_bytes(hashlib.blake2b(sentence.encode(), digest_size=_KEY_BYTES).digest(), "little")


def read_user_pairs(
    train_file: str | os.PathLike,
    validation_file: str | os.PathLike | None = None,
    test_file: str | os.PathLike | None = None,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 0,
    *,
    source: str,
    target: str,
) -> TranslationPairs:
    """A user's own pairs (`--dataset file`), each file a `PairFile` (TSV, zip or Moses prefix), the
    training split streamed from disk (a `PairStream`), validation and test in memory.

    The training file is read line by line, never held whole: once here to check every line and count
    the pairs (before anything is learnt from it), then by each reader of the training split (the
    tokenizer's training, the tokenising pass whose ids the training pipeline caches). A split without a
    file of its own is carved from the training file by `carve` (seeded by `seed`), by distinct source
    sentence: a sentence's several translations stay in one split, so no test source is seen in training.
    The counting pass then also keeps an 8-byte digest of each source sentence, and a second pass
    collects the carved pairs. With both `validation_file` and `test_file` nothing is carved, and the
    fractions are unused.

    Raises:
        DataFormatError: a malformed line (see `PairFile`), naming the file and the line.
        DatasetNotFoundError: a path that is neither a file nor a Moses prefix.
        ValueError: too few distinct source sentences to carve the splits from.
    """
    train = PairFile(train_file, source, target)
    given = {"validation": validation_file, "test": test_file}
    files = {name: PairFile(path, source, target) for name, path in given.items() if path is not None}
    carved = [name for name in given if name not in files]
    labels, splits = None, {}
    # The counting pass: every line is checked before anything is learnt from the file.
    if carved:
        keys = array.array("Q", (_source_key(source_sentence) for source_sentence, _ in train))
        count = len(keys)
    else:
        count = sum(1 for _ in train)
    if count == 0:
        raise DataFormatError(train.files[0], None, "no sentence pairs")
    if carved:
        labels = carve_by_key(
            np.frombuffer(keys, np.uint64),
            validation_fraction if "validation" in carved else 0.0,
            test_fraction if "test" in carved else 0.0,
            seed,
        )
        count = int(np.sum(labels == 0))
        held: dict[int, list[Pair]] = {1: [], 2: []}
        for label, pair in zip(labels, train):
            if label:
                held[int(label)].append(pair)
        splits = {"validation": held[1], "test": held[2]}
    for name, file in files.items():
        splits[name] = list(file)
        if not splits[name]:
            raise DataFormatError(file.files[0], None, "no sentence pairs")
    description = f"{train} ({source}-{target})"
    if carved:
        description += f", {' and '.join(carved)} carved from it by source sentence, seed {seed}"
    return TranslationPairs(
        PairStream(train, count, labels), splits["validation"], splits["test"], description
    )


# ## One entry point for recipes


def _pair_file(path: pathlib.Path) -> pathlib.Path:
    """`path` if it is a file, else the first `spa.txt` under it (an extracted copy wins, so an edited one
    is what is read), else the first `spa-eng.zip`."""
    if path.is_file():
        return path
    for name in ("spa.txt", "spa-eng.zip"):
        found = sorted(path.rglob(name))
        if found:
            return found[0]
    raise DataFormatError(path, None, "no spa.txt or spa-eng.zip under this folder")


def _limit(
    splits: dict[str, list[Pair]], max_pairs: int, fractions: dict[str, float]
) -> dict[str, list[Pair]]:
    """At most `max_pairs` pairs in all, shared as the fractions say; a prefix of each split is a random
    sample of its components, so no sentence comes into two splits."""
    if max_pairs < 1:
        raise ValueError(f"max_pairs must be at least 1, got {max_pairs}")
    kept = {name: round(max_pairs * fraction) for name, fraction in fractions.items()}
    kept["train"] = max_pairs - sum(kept.values())
    return {name: pairs[: kept[name]] for name, pairs in splits.items()}


def load_translation(
    dataset: str | None,
    data_dir: str | os.PathLike | None = None,
    *,
    seed: int = 0,
    max_pairs: int | None = None,
    validation_fraction: float = 0.15,
    test_fraction: float = 0.15,
    skip_checksum: bool = False,
    train_file: str | os.PathLike | None = None,
    validation_file: str | os.PathLike | None = None,
    test_file: str | os.PathLike | None = None,
    source: str = "eng",
    target: str = "spa",
) -> TranslationPairs:
    """Train, validation and test `(english, spanish)` pairs, split by `split_pairs` so that no sentence
    is in two splits; or a user's `(source, target)` pairs (`read_user_pairs`).

    - `None` without `data_dir`: the embedded sample (`sample_pairs()`: 3,000 numbers from 0 to 9,999
      written out in words by num2words, always the same pairs); `seed` changes only the split.
    - "spa-eng" (or `None` with a `data_dir`): the 2018 ManyThings.org file of 118,964 Tatoeba pairs, the
      one the Keras and TensorFlow tutorials download, found by `zoo.data.locate` (`data_dir`,
      `$ZOO_DATA_DIR/spa-eng`, the Keras cache, or a download checked against its SHA-256).
    - "file": `read_user_pairs(train_file, validation_file, test_file, validation_fraction,
      test_fraction, seed, source=source, target=target)`, the training split streamed from disk.

    Args:
        dataset: "spa-eng", "file", or None for the embedded sample.
        data_dir: `spa-eng.zip` or an extracted `spa.txt`, or a folder holding one (or a parent of one),
            instead of `$ZOO_DATA_DIR/spa-eng`, the Keras cache or a download.
        seed: the split.
        max_pairs: keep at most this many pairs in all, shared between the splits as the fractions say
            (a random sample of each split's components), for quick runs.
        validation_fraction: share of the pairs held out for validation.
        test_fraction: share of the pairs held out for test.
        skip_checksum: read the copy without checking its hash (your own edited copy).
        train_file, validation_file, test_file, source, target: "file"'s pairs (see `read_user_pairs`).

    Raises:
        DatasetNotFoundError: no copy on disk and no download possible.
        ChecksumMismatchError: `spa-eng.zip` is not the known file.
        DataFormatError: a malformed pair file (see `read_sentence_pairs`), or a folder without one.
        ValueError: an unknown dataset, bad fractions or `max_pairs` below 1.
    """
    if dataset == "file":  # its fractions count only where a split is carved (`carve` checks them)
        if train_file is None:
            raise ValueError("the translation dataset 'file' needs a train_file")
        files = (train_file, validation_file, test_file)
        return read_user_pairs(*files, validation_fraction, test_fraction, seed, source=source, target=target)
    check_fractions(validation_fraction, test_fraction, "pairs")
    if dataset is None and data_dir is None:
        pairs = sample_pairs()
        version = importlib.metadata.version("num2words")
        origin = f"embedded sample: {len(pairs):,} numbers 0-9,999 in English and Spanish words"
        origin += f" (num2words {version})"
    elif dataset in ("spa-eng", None):
        copy = find_dataset("spa-eng", data_dir, skip_checksum=skip_checksum)
        path = _pair_file(copy.folder)
        pairs = read_sentence_pairs(path)
        check_counts(copy, {"pairs": len(pairs)}, "sentence pairs")
        origin = f"spa-eng: {len(pairs):,} Tatoeba pairs from {path} ({DATASETS['spa-eng'].license})"
    else:
        raise ValueError(f"unknown translation dataset {dataset!r}; choose spa-eng, file or None (embedded)")
    splits = split_pairs(pairs, validation_fraction, test_fraction, seed)
    if max_pairs is not None and max_pairs < len(pairs):
        splits = _limit(splits, max_pairs, {"validation": validation_fraction, "test": test_fraction})
        origin += f", {max_pairs:,} kept"
    return TranslationPairs(
        splits["train"], splits["validation"], splits["test"], origin + f", split seed {seed}"
    )
