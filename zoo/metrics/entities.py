"""Entity-level precision, recall and F1 of BIO/BIOES tagging, as conlleval defines them, and a callback.

Token accuracy flatters a tagger: most tokens are `O`, and an entity half found is worth nothing to a user.
The CoNLL shared tasks therefore score whole entities: a predicted entity counts as correct only when its
type, first token and last token all equal those of a true entity. `conlleval` (the shared tasks' Perl
script) and `seqeval` in its default mode read the chunks of a tag sequence with the same rules, which
`extract_entities` reproduces, so the numbers here equal theirs on any sequence of `O` and
`B-`/`I-`/`E-`/`S-` tags, ill-formed ones included (the tests check this against `seqeval` on edge cases,
random tag sequences and corrupted WNUT-17 dev tags). Bare `B`/`I` tags without a type, which both tools
accept, are refused here as the likely sign of a wrong tag vocabulary. One difference in presentation:
conlleval prints percentages (`FB1: 65.13`); everything here is a fraction in [0, 1] (`0.6513`).

- `extract_entities(tags)`: the `(type, start, end_exclusive)` chunks of one sentence.
- `entity_scores(true_sentences, predicted_sentences)`: micro-averaged and per-type scores as an
  `EntityScores`, which renders a Markdown table (`to_markdown`) and a flat dict for metrics.json (`to_dict`).
- `EntityF1Callback`: a `ScoreCallback` that decodes the validation set at the end of every epoch and puts
  `val_entity_precision`, `val_entity_recall` and `val_entity_f1` into the epoch's `logs`, so history.csv,
  TensorBoard, `ModelCheckpoint` and `EarlyStopping` see them like any compiled metric.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import keras
import numpy as np

from zoo.metrics.score_callback import ScoreCallback

_PREFIXES = ("B", "I", "E", "S")


def _split_tag(tag: str) -> tuple[str, str]:
    """`"B-creative-work"` -> `("B", "creative-work")`; `"O"` -> `("O", "")`. The type is everything after
    the first hyphen, so types may contain hyphens (WNUT-17 has `creative-work`)."""
    if tag == "O":
        return "O", ""
    prefix, hyphen, entity_type = tag.partition("-")
    if prefix not in _PREFIXES or not hyphen or not entity_type:
        raise ValueError(f"tag {tag!r} is neither 'O' nor one of B-TYPE, I-TYPE, E-TYPE, S-TYPE")
    return prefix, entity_type


def _chunk_ends(previous: str, current: str, previous_type: str, current_type: str) -> bool:
    """conlleval's `endOfChunk`: does a chunk end between the previous token and this one?"""
    return (
        previous in ("E", "S")
        or (previous in ("B", "I") and current in ("B", "S", "O"))
        or (previous != "O" and previous_type != current_type)
    )


def _chunk_starts(previous: str, current: str, previous_type: str, current_type: str) -> bool:
    """conlleval's `startOfChunk`: does a chunk start at this token? An `I-` or `E-` after `O`, after the
    end of a chunk or after another type starts one, so an ill-formed prediction still yields entities."""
    return (
        current in ("B", "S")
        or (current in ("I", "E") and previous in ("E", "S", "O"))
        or (current != "O" and previous_type != current_type)
    )


def extract_entities(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """The entities of one tagged sentence, read the way conlleval reads them.

    Every tag is `O` or `PREFIX-TYPE` with PREFIX one of `B` (begin), `I` (inside), and, for BIOES,
    `E` (end) and `S` (single). `B-` and `S-` always start an entity; `I-` or `E-` start one after `O`,
    after `E-`/`S-` or after a tag of another type, so `O I-person I-person` holds one person and
    `B-person I-location` holds two entities. A type change inside a chunk ends it; `O`, `B-` and `S-`
    end any chunk, and every chunk ends after its `E-` or `S-` tag and at the end of the sentence.

    Args:
        tags: the tags of one sentence, e.g. `["B-person", "I-person", "O"]`.

    Returns:
        `(type, start, end)` for each entity in order, with `end` exclusive (`tags[start:end]` are its
        tags; `seqeval.metrics.sequence_labeling.get_entities` reports `end - 1`).

    Raises:
        ValueError: a tag is neither `O` nor `B-`/`I-`/`E-`/`S-` followed by a type.

    Example:

    >>> from zoo.metrics import extract_entities
    >>> extract_entities(["B-person", "I-person", "O", "I-location", "B-location", "I-group"])
    [('person', 0, 2), ('location', 3, 4), ('location', 4, 5), ('group', 5, 6)]
    """
    entities = []
    previous, previous_type, start = "O", "", 0
    # A trailing "O" closes a chunk still open at the end of the sentence.
    for position, tag in enumerate([*tags, "O"]):
        current, current_type = _split_tag(tag)
        if _chunk_ends(previous, current, previous_type, current_type):
            entities.append((previous_type, start, position))
        if _chunk_starts(previous, current, previous_type, current_type):
            start = position
        previous, previous_type = current, current_type
    return entities


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


@dataclasses.dataclass(frozen=True)
class TypeScores:
    """Precision, recall and F1 of one entity type (or of all types, micro-averaged).

    Args:
        correct: predicted entities that equal a true entity (type, start and end).
        predicted: predicted entities (conlleval's "found").
        support: true entities.
    """

    correct: int
    predicted: int
    support: int

    @property
    def precision(self) -> float:
        """`correct / predicted`, 0.0 when nothing was predicted."""
        return _ratio(self.correct, self.predicted)

    @property
    def recall(self) -> float:
        """`correct / support`, 0.0 when there is no true entity."""
        return _ratio(self.correct, self.support)

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall, 0.0 when both are 0."""
        return _f1(self.precision, self.recall)


def _key(entity_type: str) -> str:
    """`"creative-work"` -> `"creative_work"`: a snake_case name for metrics.json and history.csv."""
    return re.sub(r"\W+", "_", entity_type).strip("_").lower()


@dataclasses.dataclass(frozen=True)
class EntityScores:
    """Entity-level scores of a tagged corpus, as returned by `entity_scores`.

    Args:
        overall: counts over all types; its precision, recall and F1 are the micro averages (conlleval's
            "accuracy ... precision ... recall ... FB1" line, without the token accuracy).
        per_type: type name -> counts, for every type that occurs in the true or the predicted tags,
            sorted by name.

    Example:

    >>> from zoo.metrics import entity_scores
    >>> scores = entity_scores([["B-person", "O", "B-location"]], [["B-person", "O", "O"]])
    >>> round(scores.f1, 4), scores.per_type["location"].recall
    (0.6667, 0.0)
    >>> scores.to_dict(prefix="test_")["test_entity_f1_person"]
    1.0
    """

    overall: TypeScores
    per_type: dict[str, TypeScores]

    @property
    def precision(self) -> float:
        """Micro-averaged precision: correct entities / predicted entities."""
        return self.overall.precision

    @property
    def recall(self) -> float:
        """Micro-averaged recall: correct entities / true entities."""
        return self.overall.recall

    @property
    def f1(self) -> float:
        """Micro-averaged F1 (a fraction; conlleval prints it as a percentage, `FB1`)."""
        return self.overall.f1

    def to_dict(self, prefix: str = "") -> dict[str, float]:
        """Flat name -> number, ready for `zoo.train.Run.finish` and metrics.json.

        Args:
            prefix: put before every name, e.g. `"test_"` or `"val_"`.

        Returns:
            `{prefix}entity_precision`, `{prefix}entity_recall`, `{prefix}entity_f1`, then
            `{prefix}entity_f1_{type}` for each type, with the type in snake_case (`creative-work` ->
            `entity_f1_creative_work`).

        Raises:
            ValueError: two type names give the same snake_case name (`PER` and `per`).
        """
        flat = {
            f"{prefix}entity_precision": self.precision,
            f"{prefix}entity_recall": self.recall,
            f"{prefix}entity_f1": self.f1,
        }
        for entity_type, scores in self.per_type.items():
            name = f"{prefix}entity_f1_{_key(entity_type)}"
            if name in flat:
                raise ValueError(f"entity type {entity_type!r} and another type both give the name {name}")
            flat[name] = scores.f1
        return flat

    def to_markdown(self, digits: int = 4) -> str:
        """A Markdown table with one row per type and a last row of micro averages.

        Args:
            digits: decimals shown for precision, recall and F1.

        Returns:
            The table; columns type, precision, recall, f1, support (true entities), predicted, correct.
        """
        header = ("type", "precision", "recall", "f1", "support", "predicted", "correct")
        rows = [
            (
                name,
                f"{scores.precision:.{digits}f}",
                f"{scores.recall:.{digits}f}",
                f"{scores.f1:.{digits}f}",
                str(scores.support),
                str(scores.predicted),
                str(scores.correct),
            )
            for name, scores in [*self.per_type.items(), ("all (micro avg)", self.overall)]
        ]
        widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]

        def line(cells: Sequence[str]) -> str:
            padded = [
                cell.ljust(width) if column == 0 else cell.rjust(width)
                for column, (cell, width) in enumerate(zip(cells, widths))
            ]
            return "| " + " | ".join(padded) + " |"

        # Numbers are right-aligned ("---:") so their decimal points line up when rendered.
        rule = (
            "|"
            + "|".join(
                "-" * (width + 2) if column == 0 else "-" * (width + 1) + ":"
                for column, width in enumerate(widths)
            )
            + "|"
        )
        return "\n".join([line(header), rule, *(line(row) for row in rows)])

    def summary(self) -> str:
        """One line: micro precision, recall, F1 and the counts behind them."""
        return (
            f"entity precision {self.precision:.4f}, recall {self.recall:.4f}, f1 {self.f1:.4f} "
            f"({self.overall.correct} correct of {self.overall.predicted} predicted, "
            f"{self.overall.support} true)"
        )


def entity_scores(
    true_sentences: Sequence[Sequence[str]],
    predicted_sentences: Sequence[Sequence[str]],
) -> EntityScores:
    """Entity-level precision, recall and F1 (micro-averaged and per type) of a tagged corpus.

    Entities are read from each sentence with `extract_entities`, so they never cross a sentence boundary.
    A predicted entity is correct when a true entity in the same sentence has the same type, start and
    end. The results equal `seqeval.metrics` in its default (conlleval-compatible) mode and conlleval's
    (divided by 100); a zero denominator gives 0.0, as seqeval's `zero_division=0` does.

    Args:
        true_sentences: the gold tags, one list of tag strings per sentence.
        predicted_sentences: the predicted tags, same number of sentences and same lengths.

    Returns:
        An `EntityScores` with `.precision`, `.recall`, `.f1`, `.per_type`, `.to_markdown()` and
        `.to_dict(prefix)`.

    Raises:
        ValueError: the sentence counts or the lengths of a sentence differ, or a tag is malformed.

    Example:

    >>> from zoo.metrics import entity_scores
    >>> true = [["B-person", "I-person", "O", "B-location"]]
    >>> predicted = [["B-person", "I-person", "O", "B-group"]]
    >>> scores = entity_scores(true, predicted)
    >>> scores.precision, scores.recall, scores.per_type["location"].support
    (0.5, 0.5, 1)
    """
    if len(true_sentences) != len(predicted_sentences):
        raise ValueError(
            f"{len(true_sentences)} true sentences but {len(predicted_sentences)} predicted sentences"
        )
    true_entities: set[tuple[int, str, int, int]] = set()
    predicted_entities: set[tuple[int, str, int, int]] = set()
    for index, (true_tags, predicted_tags) in enumerate(zip(true_sentences, predicted_sentences)):
        if len(true_tags) != len(predicted_tags):
            raise ValueError(
                f"sentence {index} has {len(true_tags)} true tags but {len(predicted_tags)} predicted tags"
            )
        true_entities.update((index, *entity) for entity in extract_entities(true_tags))
        predicted_entities.update((index, *entity) for entity in extract_entities(predicted_tags))
    correct_entities = true_entities & predicted_entities

    def count_by_type(entities: set[tuple[int, str, int, int]]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _, entity_type, _, _ in entities:
            counts[entity_type] = counts.get(entity_type, 0) + 1
        return counts

    correct, predicted, support = map(count_by_type, (correct_entities, predicted_entities, true_entities))
    per_type = {
        entity_type: TypeScores(
            correct=correct.get(entity_type, 0),
            predicted=predicted.get(entity_type, 0),
            support=support.get(entity_type, 0),
        )
        for entity_type in sorted(predicted.keys() | support.keys())
    }
    overall = TypeScores(len(correct_entities), len(predicted_entities), len(true_entities))
    return EntityScores(overall=overall, per_type=per_type)


class EntityF1Callback(ScoreCallback):
    """Scores whole entities on the validation set after every epoch and adds the scores to the logs.

    A `ScoreCallback` whose score runs `decode` over every batch of `validation_data`, turns true and
    predicted tag ids into tag strings (skipping positions whose true id is -1, e.g. padding or the
    non-first pieces of a split word) and scores them with `entity_scores`: it writes
    `{prefix}entity_precision`, `{prefix}entity_recall` and `{prefix}entity_f1` into the epoch's `logs`,
    where history.csv (`CSVLogger`), TensorBoard, `ModelCheckpoint`, `EarlyStopping` and the `History`
    that `fit` returns read them, exactly like a compiled metric. The last `EntityScores` is kept in
    `self.scores` (per-type table: `callback.scores.to_markdown()`).

    Like every `ScoreCallback` it must come BEFORE the callbacks that read its values (placed after them
    it still computes the scores, but they see the epoch without them); `zoo.train.Run.fit` runs its
    `extra_callbacks` before its own for this reason. Monitor it with `mode="max"`.

    Args:
        validation_data: a `tf.data.Dataset` or any re-iterable (a list, not a one-shot generator) of
            `(inputs, tag_ids)` batches, or `(inputs, tag_ids, sample_weight)` with the weights ignored.
            `tag_ids` is an int `(batch, time)` array padded with -1.
        decode: function mapping a batch of `inputs` to predicted tag ids `(batch, time)`, e.g. the argmax
            of a softmax tagger or a CRF's Viterbi decode. It may return a tensor or a NumPy array.
        tag_names: tag id -> tag string such as `"B-person"` (the tag vocabulary, in id order).
        prefix: put before the names written to the logs. Defaults to `"val_"`.
        verbose: print `EntityScores.summary()` after every epoch. Defaults to False, since the progress
            bar already shows the three values.
        every: score every `every`-th epoch (and the first and last of a `fit`; `ScoreCallback`).
            Defaults to 1.

    Example:

    ```python
    tagger = keras.Sequential([keras.layers.Embedding(vocabulary_size, 64), keras.layers.Dense(len(tags))])
    entity_f1 = zoo.metrics.EntityF1Callback(
        validation,
        decode=lambda inputs: keras.ops.argmax(tagger.predict_on_batch(inputs), axis=-1),
        tag_names=tags,
    )
    tagger.fit(
        train,
        epochs=5,
        callbacks=[  # entity_f1 first: the others read what it writes
            entity_f1,
            keras.callbacks.EarlyStopping(monitor="val_entity_f1", mode="max", patience=2),
            keras.callbacks.CSVLogger("history.csv"),
        ],
    )
    print(entity_f1.scores.to_markdown())
    ```
    """

    def __init__(
        self,
        validation_data: Iterable[Any],
        decode: Callable[[Any], Any],
        tag_names: Sequence[str],
        prefix: str = "val_",
        verbose: bool = False,
        every: int = 1,
    ):
        super().__init__(self._decode_and_score, prefix=prefix, every=every, examples=0)
        for name in tag_names:
            _split_tag(name)  # a bad tag vocabulary fails here, not after the first epoch
        self.validation_data = validation_data
        self.decode = decode
        self.tag_names = list(tag_names)
        self.verbose = verbose
        self.scores: EntityScores | None = None

    def evaluate(self) -> EntityScores:
        """Decode and score the whole validation set once (what every epoch end does).

        Returns:
            The `EntityScores` of the validation set.

        Raises:
            ValueError: `validation_data` yielded nothing, or `decode` returned ids of the wrong shape or
                outside the tag vocabulary at a position that is not padding.
        """
        names = np.asarray(self.tag_names, dtype=object)
        true_sentences: list[list[str]] = []
        predicted_sentences: list[list[str]] = []
        for batch in self.validation_data:
            inputs, tag_ids = batch[0], np.asarray(batch[1]).astype(np.int64)
            predicted_ids = np.asarray(keras.ops.convert_to_numpy(self.decode(inputs)))
            if predicted_ids.shape != tag_ids.shape:
                raise ValueError(
                    f"decode returned tag ids of shape {predicted_ids.shape} for a batch whose true tag "
                    f"ids have shape {tag_ids.shape}"
                )
            scored = predicted_ids[tag_ids != -1]
            if scored.size and (scored.min() < 0 or scored.max() >= len(names)):
                # Checked because NumPy would read a negative id as a tag counted from the end.
                raise ValueError(
                    f"decode returned tag id {scored.min() if scored.min() < 0 else scored.max()} "
                    f"outside [0, {len(names)}) at a position that is not padding"
                )
            for true_row, predicted_row in zip(tag_ids, predicted_ids):
                kept = true_row != -1
                true_sentences.append(names[true_row[kept]].tolist())
                predicted_sentences.append(names[predicted_row[kept]].tolist())
        if not true_sentences:
            raise ValueError(
                "validation_data yielded no batches; pass a tf.data.Dataset or a list, not a generator "
                "that is used up after the first epoch"
            )
        return entity_scores(true_sentences, predicted_sentences)

    def _decode_and_score(self) -> tuple[dict[str, float], list[str]]:
        self.scores = self.evaluate()
        names = ("entity_precision", "entity_recall", "entity_f1")
        return dict(zip(names, (self.scores.precision, self.scores.recall, self.scores.f1))), []

    def report(self, epoch: int) -> list[str]:
        """With `verbose`, the line printed after each epoch: its `EntityScores.summary()`."""
        return [f"epoch {epoch + 1}: {self.prefix}{self.scores.summary()}"] if self.verbose else []
