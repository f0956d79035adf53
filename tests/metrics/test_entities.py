"""zoo.metrics.entities: chunk reading, parity with seqeval (conlleval mode) on edge cases, random tags and
corrupted WNUT-17 dev tags, the report formats, and the callback's values in fit's logs and history.csv."""

import csv

import keras
import numpy as np
import pytest
import tensorflow as tf
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from seqeval.metrics.sequence_labeling import get_entities

from zoo.metrics import EntityF1Callback, entity_scores, extract_entities

AVERAGES = {"micro avg", "macro avg", "weighted avg"}


def assert_matches_seqeval(true_sentences, predicted_sentences):
    """Micro and per-type scores equal seqeval's default (conlleval-compatible) mode."""
    true_sentences = [list(tags) for tags in true_sentences]
    predicted_sentences = [list(tags) for tags in predicted_sentences]
    scores = entity_scores(true_sentences, predicted_sentences)
    options = {"zero_division": 0}
    assert scores.precision == pytest.approx(precision_score(true_sentences, predicted_sentences, **options))
    assert scores.recall == pytest.approx(recall_score(true_sentences, predicted_sentences, **options))
    assert scores.f1 == pytest.approx(f1_score(true_sentences, predicted_sentences, **options))
    report = classification_report(true_sentences, predicted_sentences, output_dict=True, **options)
    assert set(scores.per_type) == set(report) - AVERAGES
    for entity_type, expected in report.items():
        if entity_type in AVERAGES:
            continue
        got = scores.per_type[entity_type]
        assert (got.precision, got.recall, got.f1) == pytest.approx(
            (expected["precision"], expected["recall"], expected["f1-score"])
        ), entity_type
        assert got.support == expected["support"], entity_type
    return scores


# ---------------------------------------------------------------------------------------------------------
# Reading chunks


@pytest.mark.parametrize(
    "tags, entities",
    [
        (["O", "I-PER", "I-PER", "O"], [("PER", 1, 3)]),  # I- after O starts an entity
        (["B-PER", "B-PER", "I-PER"], [("PER", 0, 1), ("PER", 1, 3)]),  # adjacent, same type
        (["O", "B-LOC", "I-LOC"], [("LOC", 1, 3)]),  # open at the end of the sentence
        (["B-PER", "I-LOC", "I-PER"], [("PER", 0, 1), ("LOC", 1, 2), ("PER", 2, 3)]),  # type changes
        (["I-PER", "B-LOC"], [("PER", 0, 1), ("LOC", 1, 2)]),
        (["O", "O"], []),
        ([], []),
        (["B-creative-work", "I-creative-work"], [("creative-work", 0, 2)]),  # hyphen inside the type
        # BIOES: S- is one token; E- closes; I- or E- after E- starts a new entity.
        (
            ["S-PER", "B-LOC", "E-LOC", "E-LOC", "I-LOC", "O", "E-PER", "S-PER"],
            [("PER", 0, 1), ("LOC", 1, 3), ("LOC", 3, 4), ("LOC", 4, 5), ("PER", 6, 7), ("PER", 7, 8)],
        ),
    ],
)
def test_extract_entities(tags, entities):
    assert extract_entities(tags) == entities
    # seqeval reports the same chunks with an inclusive end.
    assert [(kind, start, end + 1) for kind, start, end in get_entities(list(tags))] == entities


@pytest.mark.parametrize("tag", ["PER", "X-PER", "B-", "B_PER", "o", "", "BI-PER"])
def test_malformed_tags_are_refused(tag):
    with pytest.raises(ValueError, match="neither 'O' nor"):
        extract_entities(["O", tag])


def test_sentences_must_align():
    with pytest.raises(ValueError, match="1 true sentences but 2 predicted"):
        entity_scores([["O"]], [["O"], ["O"]])
    with pytest.raises(ValueError, match="sentence 1 has 2 true tags but 1 predicted"):
        entity_scores([["O"], ["O", "O"]], [["O"], ["O"]])


# ---------------------------------------------------------------------------------------------------------
# Parity with seqeval


EDGE_CASES = {
    "i_after_o_matches_b": ([["O", "B-PER", "I-PER", "O"]], [["O", "I-PER", "I-PER", "O"]]),
    "adjacent_same_type": ([["B-PER", "B-PER", "I-PER", "O"]], [["B-PER", "I-PER", "I-PER", "O"]]),
    "entity_at_sentence_end": ([["O", "B-LOC"], ["B-LOC", "I-LOC"]], [["O", "B-LOC"], ["B-LOC", "O"]]),
    # An entity open at the end of one sentence does not continue into the next.
    "no_entity_across_sentences": ([["O", "B-LOC"], ["I-LOC", "O"]], [["O", "B-LOC"], ["I-LOC", "O"]]),
    "type_change_inside_chunk": ([["B-PER", "I-PER", "I-PER", "O"]], [["B-PER", "I-LOC", "I-PER", "O"]]),
    "empty_predictions": ([["B-PER", "O"], ["O", "B-LOC"]], [["O", "O"], ["O", "O"]]),
    "only_spurious_predictions": ([["O", "O", "O"]], [["I-PER", "O", "B-LOC"]]),
    "boundary_shifts": ([["B-ORG", "I-ORG", "O", "O"]], [["O", "B-ORG", "I-ORG", "O"]]),
    "hyphenated_types": (
        [["B-creative-work", "I-creative-work", "O", "B-person"]],
        [["B-creative-work", "I-creative-work", "B-person", "I-person"]],
    ),
    "bioes": (
        [["S-PER", "B-LOC", "E-LOC", "O", "B-ORG", "I-ORG", "E-ORG"]],
        [["S-PER", "B-LOC", "I-LOC", "E-LOC", "B-ORG", "E-ORG", "E-ORG"]],
    ),
}


@pytest.mark.parametrize("true, predicted", EDGE_CASES.values(), ids=EDGE_CASES.keys())
def test_edge_cases_match_seqeval(true, predicted):
    assert_matches_seqeval(true, predicted)


def test_hand_computed_scores():
    # True: PER(0,2) LOC(3,4). Predicted: PER(0,2), ORG(3,4), LOC(5,6): 1 correct, 3 found, 2 true.
    scores = entity_scores(
        [["B-PER", "I-PER", "O", "B-LOC", "O", "O"]],
        [["B-PER", "I-PER", "O", "B-ORG", "O", "I-LOC"]],
    )
    assert (scores.precision, scores.recall, scores.f1) == pytest.approx((1 / 3, 1 / 2, 0.4))
    assert {name: (s.correct, s.predicted, s.support) for name, s in scores.per_type.items()} == {
        "LOC": (0, 1, 1),
        "ORG": (0, 1, 0),
        "PER": (1, 1, 1),
    }


def test_zero_division_gives_zero():
    nothing = entity_scores([["O", "O"]], [["O", "O"]])
    assert (nothing.precision, nothing.recall, nothing.f1, nothing.per_type) == (0.0, 0.0, 0.0, {})
    missed = entity_scores([["B-PER"]], [["O"]])
    assert (missed.precision, missed.per_type["PER"].precision, missed.per_type["PER"].f1) == (0.0, 0.0, 0.0)


def test_random_tag_sequences_match_seqeval():
    # Mostly ill-formed sequences, BIO and BIOES mixed: every transition conlleval has a rule for.
    rng = np.random.default_rng(0)
    tags = ["O", "O", "O"] + [f"{prefix}-{kind}" for prefix in "BIES" for kind in ("PER", "LOC", "x-y")]

    def sentences():
        return [list(rng.choice(tags, size=rng.integers(1, 12))) for _ in range(300)]

    true = sentences()
    predicted = [
        [tag if rng.random() < 0.7 else str(rng.choice(tags)) for tag in sentence] for sentence in true
    ]
    scores = assert_matches_seqeval(true, predicted)
    assert 0.2 < scores.f1 < 0.9


def read_conll(path):
    """Tag column of a token<TAB>tag file, one list per sentence (blank lines separate sentences)."""
    sentences, current = [], []
    for line in path.read_text(encoding="utf-8").split("\n"):
        if line.strip():
            current.append(line.rsplit("\t", 1)[1])
        elif current:
            sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    return sentences


def corrupt(sentence, rng, types):
    """A plausible tagger's mistakes on one sentence of gold BIO tags."""
    tags = list(sentence)
    for start, tag in enumerate(sentence):
        if not tag.startswith("B-"):
            continue
        kind = tag[2:]
        end = start + 1
        while end < len(sentence) and sentence[end] == f"I-{kind}":
            end += 1
        other = str(rng.choice([t for t in types if t != kind]))
        roll = rng.random()
        if roll < 0.15:  # missed
            tags[start:end] = ["O"] * (end - start)
        elif roll < 0.25:  # wrong type
            tags[start:end] = [f"B-{other}"] + [f"I-{other}"] * (end - start - 1)
        elif roll < 0.32 and end < len(tags) and tags[end] == "O":  # one token too long
            tags[end] = f"I-{kind}"
        elif roll < 0.37 and start > 0 and tags[start - 1] == "O":  # starts one token early
            tags[start - 1], tags[start] = f"B-{kind}", f"I-{kind}"
        elif roll < 0.42 and end - start > 1:  # one token too short
            tags[end - 1] = "O"
        elif roll < 0.47 and end - start > 1:  # the type changes inside the chunk
            tags[end - 1] = f"I-{other}"
        elif roll < 0.55:  # B- written as I- (still the same entity for conlleval after O)
            tags[start] = f"I-{kind}"
    for position, tag in enumerate(tags):
        if tag == "O" and rng.random() < 0.02:  # spurious I- tags
            tags[position] = f"I-{rng.choice(types)}"
    return tags


def test_corrupted_wnut17_dev_matches_seqeval(shared_data):
    true = read_conll(shared_data("wnut17") / "emerging.dev.conll")
    assert (len(true), sum(map(len, true))) == (1009, 15733)  # the counts in SOURCE.md
    types = sorted({tag[2:] for sentence in true for tag in sentence if tag != "O"})
    assert len(types) == 6
    rng = np.random.default_rng(0)
    predicted = [corrupt(sentence, rng, types) for sentence in true]
    scores = assert_matches_seqeval(true, predicted)
    assert 0.4 < scores.precision < 0.85 and 0.4 < scores.recall < 0.85
    assert all(0.0 < type_scores.f1 < 1.0 for type_scores in scores.per_type.values())
    assert scores.overall.support == 836  # the B- tags of the dev file (no I- follows an O)


# ---------------------------------------------------------------------------------------------------------
# Reports


def test_to_dict_and_to_markdown():
    scores = entity_scores(
        [["B-person", "O", "B-creative-work", "I-creative-work"]],
        [["B-person", "O", "B-creative-work", "O"]],
    )
    assert scores.to_dict(prefix="test_") == {
        "test_entity_precision": 0.5,
        "test_entity_recall": 0.5,
        "test_entity_f1": 0.5,
        "test_entity_f1_creative_work": 0.0,
        "test_entity_f1_person": 1.0,
    }
    lines = scores.to_markdown().splitlines()
    assert lines[0].split("|")[1:-1] == [
        " type            ",
        " precision ",
        " recall ",
        "     f1 ",
        " support ",
        " predicted ",
        " correct ",
    ]
    assert lines[1].startswith("|-----------------|----------:|")
    assert lines[2].split() == "| creative-work | 0.0000 | 0.0000 | 0.0000 | 1 | 1 | 0 |".split()
    assert lines[-1].split() == "| all (micro avg) | 0.5000 | 0.5000 | 0.5000 | 2 | 2 | 1 |".split()
    assert len({len(line) for line in lines}) == 1  # aligned columns
    assert "1 correct of 2 predicted, 2 true" in scores.summary()


def test_to_dict_refuses_colliding_names():
    with pytest.raises(ValueError, match="entity_f1_per"):
        entity_scores([["B-PER", "B-per"]], [["O", "O"]]).to_dict()


# ---------------------------------------------------------------------------------------------------------
# The callback

TAG_NAMES = ["O", "B-person", "I-person", "B-location", "I-location"]


def test_callback_skips_padding_and_writes_the_logs():
    # -1 at the end (padding) and in the middle (a word's second piece): both are left out.
    tag_ids = np.array([[1, 2, -1, 2, 0, -1], [0, 3, 4, 0, -1, -1]])
    predicted_ids = np.array([[1, 2, 3, 0, 0, 3], [0, 3, 0, 3, 1, 1]])
    callback = EntityF1Callback(
        [(np.zeros((2, 6)), tag_ids)], decode=lambda inputs: predicted_ids, tag_names=TAG_NAMES, prefix="dev_"
    )
    logs = {"loss": 1.0}
    callback.on_epoch_end(0, logs)
    expected = entity_scores(
        [["B-person", "I-person", "I-person", "O"], ["O", "B-location", "I-location", "O"]],
        [["B-person", "I-person", "O", "O"], ["O", "B-location", "O", "B-location"]],
    )
    assert callback.scores == expected
    assert logs == {
        "loss": 1.0,
        "dev_entity_precision": expected.precision,
        "dev_entity_recall": expected.recall,
        "dev_entity_f1": expected.f1,
    }
    assert (expected.overall.correct, expected.overall.predicted, expected.overall.support) == (0, 3, 2)


def test_callback_refuses_bad_inputs():
    with pytest.raises(ValueError, match="'PER' is neither"):
        EntityF1Callback([], decode=lambda inputs: inputs, tag_names=["O", "PER"])
    with pytest.raises(ValueError, match="yielded no batches"):
        EntityF1Callback(iter([]), decode=lambda inputs: inputs, tag_names=TAG_NAMES).evaluate()
    with pytest.raises(ValueError, match=r"shape \(1, 2\)"):
        EntityF1Callback(
            [(np.zeros((1, 3)), np.zeros((1, 3), "int32"))],
            decode=lambda inputs: np.zeros((1, 2), "int32"),
            tag_names=TAG_NAMES,
        ).evaluate()
    with pytest.raises(ValueError, match=r"tag id -1 outside \[0, 5\)"):
        EntityF1Callback(
            [(np.zeros((1, 3)), np.array([[0, 1, -1]]))],
            decode=lambda inputs: np.array([[0, -1, -1]]),  # -1 where padding is fine, not elsewhere
            tag_names=TAG_NAMES,
        ).evaluate()


def tagging_data(seed, count=96, vocabulary_size=30, max_length=9):
    """Token id -> tag with 30% label noise, so one epoch learns most but not all of it; 0 pads the tokens
    and -1 the tags."""
    rng = np.random.default_rng(seed)
    tag_of_token = np.random.default_rng(99).integers(0, len(TAG_NAMES), size=vocabulary_size)
    tag_of_token[1:10] = 0  # most tokens are O, as in real text
    lengths = rng.integers(2, max_length + 1, size=count)
    tokens = np.zeros((count, max_length), "int32")
    tags = np.full((count, max_length), -1, "int32")
    for row, length in enumerate(lengths):
        tokens[row, :length] = rng.integers(1, vocabulary_size, size=length)
        noisy = rng.random(length) < 0.3
        tags[row, :length] = np.where(
            noisy, rng.integers(0, len(TAG_NAMES), size=length), tag_of_token[tokens[row, :length]]
        )
    return tokens, tags, lengths


def test_callback_values_reach_history_csv_and_checkpoint(tmp_path):
    keras.utils.set_random_seed(0)
    train_tokens, train_tags, _ = tagging_data(seed=0)
    validation_tokens, validation_tags, validation_lengths = tagging_data(seed=1)
    model = keras.Sequential([keras.layers.Embedding(30, 16), keras.layers.Dense(len(TAG_NAMES))])
    model.compile(
        optimizer=keras.optimizers.Adam(0.05),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1),
    )
    validation = tf.data.Dataset.from_tensor_slices((validation_tokens, validation_tags)).batch(32)
    callback = EntityF1Callback(
        validation,
        decode=lambda inputs: keras.ops.argmax(model.predict_on_batch(inputs), axis=-1),
        tag_names=TAG_NAMES,
    )
    best_path = tmp_path / "best.weights.h5"
    history = model.fit(
        train_tokens,
        train_tags,
        batch_size=16,
        epochs=1,
        verbose=0,
        callbacks=[
            callback,  # first: the callbacks after it read what it writes
            keras.callbacks.ModelCheckpoint(
                str(best_path),
                monitor="val_entity_f1",
                mode="max",
                save_best_only=True,
                save_weights_only=True,
            ),
            keras.callbacks.CSVLogger(str(tmp_path / "history.csv")),
        ],
    )

    # Scores computed here, independently, from the trained model's predictions cut to the true lengths.
    predicted_ids = np.argmax(model.predict(validation_tokens, verbose=0), axis=-1)
    true = [[TAG_NAMES[i] for i in row[:n]] for row, n in zip(validation_tags, validation_lengths)]
    predicted = [[TAG_NAMES[i] for i in row[:n]] for row, n in zip(predicted_ids, validation_lengths)]
    expected = entity_scores(true, predicted)
    assert 0.1 < expected.f1 < 0.95  # a tagger that is partly right, so the comparison means something
    assert expected.f1 == pytest.approx(f1_score(true, predicted))

    with (tmp_path / "history.csv").open(newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    for name in ("precision", "recall", "f1"):
        value = getattr(expected, name)
        assert history.history[f"val_entity_{name}"] == [pytest.approx(value)]
        assert float(row[f"val_entity_{name}"]) == pytest.approx(value)
    assert best_path.exists()  # ModelCheckpoint found val_entity_f1 in the logs
