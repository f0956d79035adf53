"""The sentiment recipe on a user's own files: a three-class classifier trained from a CSV and tested on a
JSON Lines file, its scores per class, its exports (a probability per class and the likeliest label's
name) and its answers; a malformed file stops the run before any training."""

from __future__ import annotations

import csv
import json
import random
import re

import numpy as np
import pytest
import tensorflow as tf

from recipes import sentiment
from zoo.errors import DataFormatError

# Each class has its own words; every text also holds a word of another class and common filler words,
# so a model must weigh the evidence rather than look up one word.
WORDS = {
    "sports": "goal match team player score league coach stadium referee season".split(),
    "cooking": "recipe oven flour butter simmer garlic salt bake kitchen sauce".split(),
    "music": "guitar melody chorus album drums concert singer rhythm band song".split(),
}
FILLER = "the a of and to in it was with this that for on very".split()
QUICK = ["--epochs", "4", "--learning-rate", "0.01", "--max-length", "24", "--vocabulary-size", "200",
         "--embedding-dim", "16", "--units", "8", "--ngram-buckets", "4096", "--batch-size", "32",
         "--examples", "2"]  # fmt: skip


def texts(count: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        label = sorted(WORDS)[index % 3]
        other = rng.choice([name for name in WORDS if name != label])
        words = rng.choices(WORDS[label], k=3) + [rng.choice(WORDS[other])] + rng.choices(FILLER, k=4)
        rng.shuffle(words)
        rows.append((" ".join(words), label))
    return rows


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("own_files")
    with open(folder / "train.csv", "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["id", "review", "topic"])
        writer.writerows((index, text, label) for index, (text, label) in enumerate(texts(300, seed=0)))
    (folder / "test.jsonl").write_text(
        "".join(json.dumps({"review": text, "topic": label}) + "\n" for text, label in texts(60, seed=1))
    )
    argv = ["--train-file", str(folder / "train.csv"), "--test-file", str(folder / "test.jsonl"),
            "--text-column", "review", "--label-column", "topic",
            "--output-dir", str(folder / "run"), *QUICK]  # fmt: skip
    return folder / "run", sentiment.main(argv)


def test_three_classes_are_learned_and_scored_per_class(trained):
    output_dir, metrics = trained
    assert metrics["test_macro_f1"] > 0.8  # chance is about 0.33
    assert metrics["test_micro_f1"] == pytest.approx(metrics["test_accuracy"])
    for name in WORDS:
        assert metrics[f"test_class_{name}_support"] == 20
        assert metrics[f"test_class_{name}_f1"] > 0.6
    assert 1.55 < metrics["test_label_entropy_bits"] <= np.log2(3) + 1e-9  # three balanced classes
    assert metrics["test_labels_never_predicted"] == []
    assert {"test_rnn_accuracy", "test_ngrams_accuracy", "best_val_classes_accuracy"} <= set(metrics)
    assert json.loads((output_dir / "metrics.json").read_text()) == metrics
    assert (output_dir / "confusion_matrix.png").read_bytes().startswith(b"\x89PNG")
    for name in ("keras_max_abs_diff", "savedmodel_max_abs_diff", "tflite_max_abs_diff"):
        assert 0.0 <= metrics[name] <= 1e-4, name


def test_saved_model_gives_a_probability_per_class_and_the_likeliest_name(trained):
    output_dir, _ = trained
    manifest = json.loads((output_dir / "deploy.json").read_text())
    assert manifest["labels"] == ["cooking", "music", "sports"]  # the training labels, sorted
    outputs = manifest["exports"]["saved_model"]["signatures"]["serving_default"]["outputs"]
    assert sorted(outputs) == ["label", "probabilities"] and outputs["probabilities"]["shape"] == [-1, 3]
    serve = tf.saved_model.load(str(output_dir / "saved_model" / "1")).signatures["serving_default"]
    reviews = ["the coach and the team scored a goal", "bake the flour and butter", "the band", "", "album"]
    answer = serve(text=tf.constant(reviews))
    probabilities, labels = answer["probabilities"].numpy(), answer["label"].numpy()
    assert probabilities.shape == (5, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert [label.decode() for label in labels] == [manifest["labels"][i] for i in probabilities.argmax(1)]
    assert [label.decode() for label in labels[:3]] == ["sports", "cooking", "music"]
    empty = serve(text=tf.constant([], dtype=tf.string))
    assert empty["probabilities"].shape == (0, 3) and empty["label"].shape == (0,)


def test_predict_answers_with_the_label_and_each_class_probability(trained):
    output_dir, _ = trained
    answers = sentiment.main(["predict", "--output-dir", str(output_dir), "a melody on the guitar", "salt"])
    assert [answer["label"] for answer in answers][:1] == ["music"]
    for answer in answers:
        assert list(answer["probabilities"]) == ["cooking", "music", "sports"]
        assert sum(answer["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)
        assert answer["label"] == max(answer["probabilities"], key=answer["probabilities"].get)


def test_a_malformed_file_stops_the_run_before_training(tmp_path):
    train = tmp_path / "train.csv"
    train.write_text("text,label\n" + "".join(f"{text},{label}\n" for text, label in texts(30, 0)) + '"x,y\n')
    with pytest.raises(
        DataFormatError, match=re.escape(f"{train}:32: a quote opened in this row is never closed")
    ):
        sentiment.main(["--train-file", str(train), "--output-dir", str(tmp_path / "run")])
    validation = tmp_path / "validation.jsonl"
    validation.write_text('{"text": "a goal", "label": "sports"}\n{"text": "a poem", "label": "poetry"}\n')
    train.write_text("text,label\n" + "".join(f"{text},{label}\n" for text, label in texts(30, 0)))
    with pytest.raises(DataFormatError, match=re.escape(f"{validation}:2: label 'poetry' is not among")):
        sentiment.main(["--train-file", str(train), "--validation-file", str(validation),
                        "--output-dir", str(tmp_path / "run2")])  # fmt: skip
    assert not list(tmp_path.glob("run*/history.csv"))  # nothing was trained
