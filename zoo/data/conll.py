"""Named entity data in CoNLL column format: WNUT-17, CoNLL-2003, a user's own files (any columns, any
tag set) and the embedded default the zoo writes itself (`zoo.data.ner_sample`). Every reader returns tags
in BIO (IOB2: `B-person I-person O`), whatever scheme the file was written in.

Three tag schemes are read and written:

- `bio` (IOB2): an entity starts with `B-TYPE`, continues with `I-TYPE`. WNUT-17 and most modern files.
- `iob1`: an entity starts with `I-TYPE`; `B-TYPE` only starts an entity that directly follows another of
  the same type. The original CoNLL-2003 files (`eng.train`, ...).
- `bioes`: `B-` begin, `I-` inside, `E-` end, `S-` single-token entity.

A tag sequence the scheme cannot accept (`I-person` after `O` in BIO) is an error by default: the file is
not what it claims to be. With `repair=True` it is read the way conlleval reads it (that `I-person`
starts an entity), and the number of tags changed is kept in `TaggedSentences.repaired`.
"""

from __future__ import annotations

import collections
import os
import pathlib
import re
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from zoo.data import ner_sample
from zoo.data.common import user_splits
from zoo.data.integrity import check_counts
from zoo.data.registry import find_dataset, locate
from zoo.data.sentiment import decode_utf8
from zoo.errors import DataFormatError, DatasetNotFoundError
from zoo.metrics.entities import extract_entities

# Prefixes each scheme writes; "O" is in every scheme.
SCHEMES: dict[str, tuple[str, ...]] = {"bio": ("B", "I"), "iob1": ("B", "I"), "bioes": ("B", "I", "E", "S")}
# `O`, or a one-letter prefix, a hyphen and a type (which may hold hyphens: `B-creative-work`). Commas
# are refused: they join several labels, as in WNUT-17's raw `emerging.test.conll`.
_TAG = re.compile(r"O|[A-Z]-[^\s,]+")


class TaggedSentences(NamedTuple):
    tokens: list[list[str]]  # one list of tokens per sentence
    tags: list[list[str]]  # BIO (IOB2), one tag per token
    # Tags the file's scheme could not accept, read as conlleval reads them (only with repair=True).
    repaired: int = 0
    # The scheme the file was written in; `tags` are converted to BIO whatever it was.
    source_scheme: str = "bio"


# ## Tag schemes


def _check_scheme(scheme: str) -> None:
    if scheme not in SCHEMES:
        raise ValueError(f"unknown tag scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")


def _write(entities: list[tuple[str, int, int]], length: int, scheme: str) -> list[str]:
    """The one tag sequence of `scheme` that holds exactly these entities."""
    tags = ["O"] * length
    previous_end, previous_type = -1, ""
    for entity_type, start, end in entities:
        if scheme == "bioes" and end - start == 1:
            tags[start] = f"S-{entity_type}"
        else:
            tags[start:end] = [f"I-{entity_type}"] * (end - start)
            if scheme == "bioes":
                tags[start], tags[end - 1] = f"B-{entity_type}", f"E-{entity_type}"
            elif scheme == "bio" or (previous_end == start and previous_type == entity_type):
                tags[start] = f"B-{entity_type}"
        previous_end, previous_type = end, entity_type
    return tags


def _bad_text(tags: Sequence[str], scheme: str) -> int | None:
    """Index of the first tag that is not `O` or a `PREFIX-TYPE` with a prefix of `scheme`."""
    for position, tag in enumerate(tags):
        if not _TAG.fullmatch(tag) or (tag != "O" and tag[0] not in SCHEMES[scheme]):
            return position
    return None


def validate_tags(tags: Sequence[str], scheme: str) -> int | None:
    """Index of the first tag of one sentence that `scheme` cannot accept, or None if all are valid.

    - bio: an `I-X` that does not follow `B-X` or `I-X`.
    - iob1: a `B-X` that does not follow `B-X` or `I-X` (after anything else an entity starts with `I-X`).
    - bioes: an `I-X` or `E-X` that does not follow `B-X` or `I-X`, and a `B-X` or `I-X` that is not
      followed by `I-X` or `E-X` (an entity left open; its index is reported).
    - any scheme: a tag that is not `O` or `PREFIX-TYPE` with one of the scheme's prefixes.

    A valid sequence is the one way its scheme writes its entities, so the check compares the tags with
    that rewriting: the first difference is the first tag the scheme cannot accept.

    Args:
        tags: e.g. `["O", "I-person", "I-person"]`.
        scheme: "bio", "iob1" or "bioes".

    Example:

    >>> from zoo.data import validate_tags
    >>> validate_tags(["O", "I-person", "I-person"], "bio"), validate_tags(["O", "I-person"], "iob1")
    (1, None)
    >>> validate_tags(["B-person", "O"], "bioes")  # not closed: a single token is S-person
    0
    """
    _check_scheme(scheme)
    bad = _bad_text(tags, scheme)
    rewritten = _write(extract_entities(tags[:bad]), len(tags[:bad]), scheme)
    for position, (tag, expected) in enumerate(zip(tags, rewritten)):
        if tag != expected:
            return position
    return bad


def convert_tags(tags: Sequence[str], source: str, target: str) -> list[str]:
    """The tags of one sentence written in scheme `source`, rewritten in scheme `target`.

    Entities are read as conlleval reads them, so a sequence `source` cannot accept is repaired on the way
    (`convert_tags(tags, "bio", "bio")` is the repair); check it first with `validate_tags` to refuse it
    instead. Valid sequences round-trip exactly between any two schemes.

    Args:
        tags: e.g. `["I-ORG", "O", "I-PER", "B-PER"]` (iob1).
        source: the scheme of `tags`: "bio", "iob1" or "bioes".
        target: the scheme to write.

    Raises:
        ValueError: an unknown scheme, or a tag that is not `O` or `PREFIX-TYPE` with a prefix of `source`.

    Example:

    >>> from zoo.data import convert_tags
    >>> convert_tags(["I-ORG", "O", "I-PER", "B-PER"], "iob1", "bio")
    ['B-ORG', 'O', 'B-PER', 'B-PER']
    >>> convert_tags(["B-PER", "I-PER", "O", "B-LOC"], "bio", "bioes")
    ['B-PER', 'E-PER', 'O', 'S-LOC']
    """
    _check_scheme(source)
    _check_scheme(target)
    bad = _bad_text(tags, source)
    if bad is not None:
        raise ValueError(f"tag {tags[bad]!r} at position {bad} is not O or {_prefixes(source)}-TYPE")
    return _write(extract_entities(tags), len(tags), target)


def _prefixes(scheme: str) -> str:
    return "|".join(SCHEMES[scheme])


def _problem(tags: Sequence[str], position: int, scheme: str) -> str:
    """Why `tags[position]` is invalid in `scheme`, and what conlleval reads instead."""
    tag = tags[position]
    previous = repr(tags[position - 1]) if position else "the sentence start"
    following = repr(tags[position + 1]) if position + 1 < len(tags) else "the sentence end"
    repaired = _write(extract_entities(tags), len(tags), scheme)[position]
    entity_type = tag.partition("-")[2]
    continues = position > 0 and tags[position - 1] in (f"B-{entity_type}", f"I-{entity_type}")
    if scheme == "bioes" and (tag[0] == "B" or (tag[0] == "I" and continues)):
        why = f"tag {tag!r} before {following} leaves its entity open in {scheme} (no E- closes it)"
    else:
        why = f"tag {tag!r} cannot follow {previous} in {scheme}"
    return f"{why}; --repair-tags (repair=True) reads it as conlleval does, as {repaired!r}"


# ## Reading CoNLL column files


class _Rows(NamedTuple):
    """A column file as written: tokens, tags in the file's scheme, and the line of each token."""

    tokens: list[list[str]]
    tags: list[list[str]]
    lines: list[list[int]]

    def take(self, indices: Sequence[int]) -> _Rows:
        return _Rows(*([column[i] for i in indices] for column in self))


def _read_rows(path: pathlib.Path, token_column: int = 0, tag_column: int = -1) -> _Rows:
    """Sentences of token lines (token and tag from the columns given, 0-based, negative from the end),
    split at blank lines and at `-DOCSTART-` lines. Checks the columns and the text of each tag, not the
    tag sequence."""
    text = decode_utf8(path.read_bytes(), str(path))
    rows, sentence = _Rows([], [], []), _Rows([], [], [])
    width, width_line = None, None
    # A BOM is not part of the first token; "\n" only, since str.splitlines also splits at characters
    # such as U+2028 that may sit inside a token.
    for number, line in enumerate(text.removeprefix("\ufeff").split("\n"), start=1):
        columns = _columns(line)
        if columns and columns[0] != "-DOCSTART-":
            if width is None:
                if len(columns) < 2:
                    problem = f"expected a token and a tag column, got {len(columns)} column"
                    raise DataFormatError(path, number, problem)
                width, width_line = len(columns), number
                token_index, tag_index = _column_indices(width, token_column, tag_column, path, number)
            if len(columns) != width:
                problem = f"expected {width} columns (as on line {width_line}), got {len(columns)}"
                raise DataFormatError(path, number, problem)
            token, tag = columns[token_index], columns[tag_index]
            if not token:
                raise DataFormatError(path, number, "empty token")
            if not _TAG.fullmatch(tag):
                problem = f"tag must be O or PREFIX-TYPE (such as B-person), got {tag!r}"
                raise DataFormatError(path, number, problem)
            for column, value in zip(sentence, (token, tag, number)):
                column.append(value)
        elif sentence.tokens:  # blank line or -DOCSTART-: several in a row are one boundary
            for column, value in zip(rows, sentence):
                column.append(value)
            sentence = _Rows([], [], [])
    if sentence.tokens:
        for column, value in zip(rows, sentence):
            column.append(value)
    if not rows.tokens:
        raise DataFormatError(path, None, "empty file" if not text.strip() else "no sentences")
    return rows


def _column_indices(
    width: int, token_column: int, tag_column: int, path: pathlib.Path, line: int
) -> tuple[int, int]:
    """The token's and the tag's column in lines of `width` columns (a negative index counts from the
    end, as Python's); an error naming the file's first token line if they are outside or the same."""
    indices = []
    for name, column in (("token", token_column), ("tag", tag_column)):
        if not -width <= column < width:
            problem = f"{width} columns, too few for the {name} in column {column} (--{name}-column)"
            raise DataFormatError(path, line, problem)
        indices.append(column % width)
    if indices[0] == indices[1]:
        problem = (
            f"the token and the tag are both column {indices[0]} of {width} (--token-column, --tag-column)"
        )
        raise DataFormatError(path, line, problem)
    return indices[0], indices[1]


def _columns(line: str) -> list[str]:
    """Tab-separated columns if the line has a tab, else columns separated by runs of spaces; [] for a
    blank line (WNUT-17's training file separates sentences with lines holding a single tab)."""
    if not line.strip():
        return []
    if "\t" in line:
        return [column.strip(" ") for column in line.rstrip("\r\t ").split("\t")]
    return re.split(r" +", line.strip(" \r"))


def _sentence_to_bio(
    sentence: list[str], lines: list[int], path: pathlib.Path, scheme: str, repair: bool
) -> tuple[list[str], int]:
    """One sentence's tags checked (or repaired) in `scheme` and rewritten in BIO, and how many were
    repaired."""
    bad = _bad_text(sentence, scheme)
    if bad is not None:
        problem = f"tag {sentence[bad]!r} is not O or {_prefixes(scheme)}-TYPE, as {scheme} writes tags"
        raise DataFormatError(path, lines[bad], problem)
    entities = extract_entities(sentence)
    invalid, repaired = validate_tags(sentence, scheme), 0
    if invalid is not None:
        if not repair:
            raise DataFormatError(path, lines[invalid], _problem(sentence, invalid, scheme))
        rewritten = _write(entities, len(sentence), scheme)
        repaired = sum(tag != fixed for tag, fixed in zip(sentence, rewritten))
    return _write(entities, len(sentence), "bio"), repaired


def _to_bio(rows: _Rows, path: pathlib.Path, scheme: str, repair: bool) -> TaggedSentences:
    """Check (or repair) every sentence's tags in `scheme` and rewrite them in BIO."""
    converted = [
        _sentence_to_bio(tags, lines, path, scheme, repair) for tags, lines in zip(rows.tags, rows.lines)
    ]
    return TaggedSentences(rows.tokens, [tags for tags, _ in converted], sum(n for _, n in converted), scheme)


def read_conll(
    path: str | os.PathLike,
    *,
    scheme: str | None = "bio",
    repair: bool = False,
    token_column: int = 0,
    tag_column: int = -1,
) -> TaggedSentences:
    """Read a CoNLL-style column file: one token per line, by default the token in the first column and
    its tag in the last (CoNLL-2003: `EU NNP B-NP B-ORG`; WNUT-17: `@paulwalk<TAB>O`).

    Columns are split at tabs if the line has a tab, else at runs of spaces, and every token line must
    have the same number of columns. A line that is blank after `strip()` ends a sentence (several in a
    row are one boundary); `-DOCSTART-` lines are skipped and end a sentence too. Any tag set is read:
    a tag is `O` or `PREFIX-TYPE` with any type.

    Args:
        path: the file, UTF-8.
        scheme: the tag scheme the file is written in: "bio", "iob1" or "bioes"; None: the one under which
            the fewest sentences are invalid (BIO on a tie), kept in `source_scheme`.
        repair: read tags the scheme cannot accept as conlleval reads them (`I-X` after `O` in BIO starts
            an entity, as `B-X`) and count them in `repaired`, instead of failing.
        token_column: the token's column, 0-based; negative counts from the end (-1: the last).
        tag_column: the tag's column, likewise.

    Returns:
        The sentences, with tags in BIO.

    Raises:
        DataFormatError: bytes that are not UTF-8, a line with another number of columns than the first,
            too few columns for `token_column` or `tag_column` (or both naming one column), an empty
            token, a tag that is not `O` or `PREFIX-TYPE` with a prefix of `scheme`, a tag sequence
            `scheme` cannot accept (unless `repair`), or no sentence at all. The message starts with
            `path:line:`.

    Example:

    >>> import pathlib, tempfile
    >>> from zoo.data import read_conll
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "doses.tsv"
    >>> _ = path.write_text("Take\\tVB\\tO\\naspirin\\tNN\\tS-drug\\ndaily\\tRB\\tO\\n")
    >>> sentences = read_conll(path, scheme=None)  # detected: an S- tag is BIOES
    >>> sentences.tags, sentences.source_scheme
    ([['O', 'B-drug', 'O']], 'bioes')
    >>> read_conll(path, tag_column=1).tags  # any column: here part-of-speech tags, not entities
    Traceback (most recent call last):
    ...
    zoo.errors.DataFormatError: .../doses.tsv:1: tag must be O or PREFIX-TYPE (such as B-person), got 'VB'
    """
    if scheme is not None:
        _check_scheme(scheme)
    path = pathlib.Path(path)
    rows = _read_rows(path, token_column, tag_column)
    return _to_bio(rows, path, scheme or _detect_scheme(rows, "bio"), repair)


# ## Datasets

_WNUT17 = {
    "train": "wnut17train.conll",
    "validation": "emerging.dev.conll",
    "test": "emerging.test.annotated",
}
# (file names, the scheme those files are usually written in): the original release, then the common
# re-distribution (the Hugging Face / deepai zip).
_CONLL2003 = (
    ({"train": "eng.train", "validation": "eng.testa", "test": "eng.testb"}, "iob1"),
    ({"train": "train.txt", "validation": "valid.txt", "test": "test.txt"}, "bio"),
)


def _find_folder(path: pathlib.Path, names: dict[str, str]) -> pathlib.Path | None:
    """`path` or the first folder under it holding all the named files."""
    for train in [path / names["train"], *sorted(path.rglob(names["train"]))]:
        if all((train.parent / name).is_file() for name in names.values()):
            return train.parent
    return None


def _detect_scheme(rows: _Rows, usual: str) -> str:
    """The scheme under which the fewest sentences are invalid; `usual` when that is a tie."""
    invalid = {
        scheme: sum(validate_tags(sentence, scheme) is not None for sentence in rows.tags)
        for scheme in (usual, *(scheme for scheme in SCHEMES if scheme != usual))
    }
    return min(invalid, key=invalid.get)


def _split_by_name(rows: _Rows, seed: int, fraction: float = 0.1) -> dict[str, list[int]]:
    """Sentence indices of train/validation/test, about 80/10/10, held out by entity name (as IMDB's
    validation is by movie): names are drawn in an order set by `seed`, and every sentence mentioning a
    drawn name goes to the split being filled, test first, until it holds `fraction` of the sentences.
    A test name then occurs only in test, a validation name never in train, so the held-out splits measure
    how a model tags names it never saw, as WNUT-17's do. Sentences without entities stay in train."""
    mentions = collections.defaultdict(set)
    for index, (tokens, tags) in enumerate(zip(rows.tokens, rows.tags)):
        for entity_type, start, end in extract_entities(tags):
            mentions[entity_type, " ".join(tokens[start:end]).casefold()].add(index)
    names = sorted(mentions)
    order = np.random.default_rng(seed).permutation(len(names))
    target = round(fraction * len(rows.tokens))
    assigned: dict[str, set[int]] = {"test": set(), "validation": set()}
    for split in ("test", "validation"):
        # A name goes whole: all its sentences not yet held out join this split, or none do.
        for i in order:
            free = mentions[names[i]] - assigned["test"] - assigned["validation"]
            if free and len(assigned[split]) + len(free) <= target:
                assigned[split] |= free
    held = assigned["test"] | assigned["validation"]
    train = [index for index in range(len(rows.tokens)) if index not in held]
    return {"train": train, **{split: sorted(assigned[split]) for split in ("validation", "test")}}


def load_ner(
    dataset: str | None,
    data_dir: str | os.PathLike | None = None,
    *,
    scheme: str | None = None,
    repair: bool = False,
    seed: int = 0,
    skip_checksum: bool = False,
    train_file: str | os.PathLike | None = None,
    validation_file: str | os.PathLike | None = None,
    test_file: str | os.PathLike | None = None,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.1,
    token_column: int = 0,
    tag_column: int = -1,
) -> dict[str, TaggedSentences]:
    """Train, validation and test splits of a named entity dataset, tags in BIO.

    - `None`: the embedded sample (`zoo.data.ner_sample`: 300 generated English sentences, types person,
      location, corporation, product), written once to the Keras cache and read back with `read_conll`.
      Split about 80/10/10 by `seed` and by entity name: every held-out sentence mentions a name that
      training never sees, so the held-out splits measure tagging unseen names, as WNUT-17's do.
    - "wnut17": WNUT 2017 emerging and rare entities, `wnut17train.conll`, `emerging.dev.conll` as
      validation and the gold `emerging.test.annotated` as test (BIO, 6 types).
    - "conll2003": the English CoNLL-2003 files from `--data-dir` (no public download), either
      `eng.train`/`eng.testa`/`eng.testb` or `train.txt`/`valid.txt`/`test.txt`. Copies differ in scheme
      (the originals are IOB1, re-distributions often BIO), so unless `scheme` is given each file is
      validated as BIO, IOB1 and BIOES and read in the scheme under which the fewest sentences are
      invalid (IOB1 for `eng.*` and BIO for `*.txt` on a tie); `source_scheme` says which was used.
    - "file": your own CoNLL-style files (`read_conll`, with `token_column` and `tag_column`; any tag
      set): `train_file`, and `validation_file` and `test_file` where given; a split without a file is
      `validation_fraction` (`test_fraction`) of the training file's sentences, drawn by `seed`
      (`zoo.data.user_splits`). Unless `scheme` is given, each file is read in the scheme under which
      the fewest of its sentences are invalid (BIO on a tie).

    Args:
        dataset: "wnut17", "conll2003", "file", or None for the embedded sample.
        data_dir: a folder holding the files (or a parent of one), instead of `$ZOO_DATA_DIR/<dataset>`,
            the Keras cache or a download.
        scheme: the scheme the files are written in; None for the dataset's own (see above).
        repair: read tags the scheme cannot accept as conlleval does, instead of failing.
        seed: the split of the embedded sample, or of a training file a split is carved from.
        skip_checksum: read the files without checking their hashes (your own edited copy).
        train_file, validation_file, test_file, validation_fraction, test_fraction: "file"'s data (see
            above; `zoo.config.FileDataConfig`).
        token_column, tag_column: "file"'s columns, 0-based, negative from the end (see `read_conll`).
    """
    if scheme is not None:
        _check_scheme(scheme)
    if dataset == "file":
        if train_file is None:
            raise ValueError("the NER dataset 'file' needs a train_file")
        for name in (train_file, validation_file, test_file):
            if name is not None and not pathlib.Path(name).is_file():
                raise DatasetNotFoundError(f"{name}: no such file")
        schemes: dict[pathlib.Path, str] = {}

        def read(name: str | os.PathLike) -> list[tuple[list[str], list[str], int]]:
            path = pathlib.Path(name)
            rows = _read_rows(path, token_column, tag_column)
            schemes[path] = found = scheme or _detect_scheme(rows, "bio")
            return [
                (tokens, *_sentence_to_bio(tags, lines, path, found, repair))
                for tokens, tags, lines in zip(*rows)
            ]

        splits = user_splits(
            read, train_file, validation_file, test_file, validation_fraction, test_fraction, seed
        )
        given = {"validation": validation_file, "test": test_file}
        return {
            name: TaggedSentences(
                [tokens for tokens, _, _ in sentences],
                [tags for _, tags, _ in sentences],
                sum(repaired for _, _, repaired in sentences),
                schemes[pathlib.Path(given.get(name) or train_file)],
            )
            for name, sentences in splits.items()
        }
    if dataset is None:
        path = ner_sample.sample_file()
        rows = _read_rows(path)
        return {
            split: _to_bio(rows.take(indices), path, scheme or "bio", repair)
            for split, indices in _split_by_name(rows, seed).items()
        }
    if dataset == "wnut17":
        copy = find_dataset("wnut17", data_dir, skip_checksum=skip_checksum)
        folder = copy.folder
        found = _find_folder(folder, _WNUT17)
        if found is None:
            problem = f"no WNUT-17 files ({', '.join(_WNUT17.values())}) under this folder"
            if any(folder.rglob("emerging.test.conll")):
                problem += "; emerging.test.conll holds raw multi-label annotations, the gold test set is "
                problem += "emerging.test.annotated"
            raise DataFormatError(folder, None, problem)
        splits = {
            split: read_conll(found / name, scheme=scheme or "bio", repair=repair)
            for split, name in _WNUT17.items()
        }
        check_counts(copy, {split: len(data.tokens) for split, data in splits.items()}, "sentences")
        return splits
    if dataset == "conll2003":
        folder = locate("conll2003", data_dir, skip_checksum=skip_checksum)
        for names, usual in _CONLL2003:
            found = _find_folder(folder, names)
            if found is not None:
                splits = {}
                for split, name in names.items():
                    rows = _read_rows(found / name)
                    splits[split] = _to_bio(rows, found / name, scheme or _detect_scheme(rows, usual), repair)
                return splits
        layouts = " or ".join(", ".join(names.values()) for names, _ in _CONLL2003)
        raise DataFormatError(folder, None, f"no CoNLL-2003 files ({layouts}) under this folder")
    raise ValueError(f"unknown NER dataset {dataset!r}; choose wnut17, conll2003, file or None (embedded)")


def ner_summary(splits: dict[str, TaggedSentences]) -> str:
    """One line per split: sentences, tokens, entities of each type, tags repaired and the scheme read
    when it is not BIO."""
    lines = []
    for name, data in splits.items():
        counts = collections.Counter(kind for tags in data.tags for kind, _, _ in extract_entities(tags))
        types = ", ".join(f"{kind} {count:,}" for kind, count in sorted(counts.items()))
        repaired = f"; {data.repaired:,} tags repaired" if data.repaired else ""
        if data.source_scheme != "bio":
            repaired += f"; read as {data.source_scheme}"
        lines.append(
            f"{name:>10}: {len(data.tokens):6,d} sentences, {sum(map(len, data.tokens)):7,d} tokens, "
            f"{sum(counts.values()):6,d} entities ({types}){repaired}"
        )
    return "\n".join(lines)
