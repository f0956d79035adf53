"""ScoreCallback: its scores reach the epoch's logs before the runner's callbacks read them, it scores the
epochs `every` names, and it prints a headline and the first examples."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo.train
from zoo.metrics import ScoreCallback


def tiny_model():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(inputs))
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy")
    return model


def tiny_data(seed=0):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(32, 4)).astype("float32")
    labels = (features[:, 0] > 0).astype("float32")
    return tf.data.Dataset.from_tensor_slices((features, labels)).batch(8)


class Scorer:
    """A score function giving `values` in turn and keeping the model's weights at each call."""

    def __init__(self, model, values):
        self.model, self.values, self.weights = model, list(values), []

    def __call__(self):
        self.weights.append(self.model.get_weights())
        value = self.values[len(self.weights) - 1]
        return {"score": value, "half": value / 2}, [f"example {i}" for i in range(4)]


def test_scores_reach_the_runners_checkpoint_history_and_metrics(tmp_path):
    config = zoo.train.RunConfig(epochs=3, patience=5, output_dir=str(tmp_path))
    run = zoo.train.Run(config, recipe="tiny")
    model = tiny_model()
    scorer = Scorer(model, [0.2, 0.7, 0.5])
    callback = ScoreCallback(scorer, prefix="dev_", examples=0)
    model = run.fit(
        model, tiny_data(), tiny_data(1), monitor="dev_score", mode="max", extra_callbacks=[callback]
    )
    # The runner's BestWeights read epoch 2's score (index 1) and saved the weights it was computed on.
    assert json.loads((tmp_path / "best.json").read_text()) == {"epoch": 1, "dev_score": 0.7}
    for got, want in zip(model.get_weights(), scorer.weights[1]):
        np.testing.assert_array_equal(got, want)
    history = zoo.train.read_history(tmp_path / "history.csv")
    assert [row["dev_score"] for row in history] == [0.2, 0.7, 0.5]
    assert [row["dev_half"] for row in history] == [0.1, 0.35, 0.25]
    assert callback.logged == {"dev_score": 0.5, "dev_half": 0.25}
    assert run.finish({})["best_dev_score"] == 0.7


class LoggedKeys(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.scored = []

    def on_epoch_end(self, epoch, logs=None):
        if "val_score" in logs:
            self.scored.append(epoch)


@pytest.mark.parametrize(
    "epochs, every, scored", [(5, 1, [0, 1, 2, 3, 4]), (5, 2, [0, 2, 4]), (4, 2, [0, 2, 3]), (4, 5, [0, 3])]
)
def test_every_scores_the_first_every_nth_and_last_epoch(epochs, every, scored):
    model = tiny_model()
    scorer = Scorer(model, range(epochs))
    recorder = LoggedKeys()
    callback = ScoreCallback(scorer, every=every, examples=0)
    history = model.fit(tiny_data(), epochs=epochs, verbose=0, callbacks=[callback, recorder])
    assert recorder.scored == scored and len(scorer.weights) == len(scored)
    assert history.history["val_score"] == [float(index) for index in range(len(scored))]


def test_a_resumed_fit_scores_its_first_epoch():
    # history.csv, appended to on resume, takes its columns from the first epoch this fit logs.
    model = tiny_model()
    scorer = Scorer(model, range(3))
    recorder = LoggedKeys()
    callback = ScoreCallback(scorer, every=2, examples=0)
    model.fit(tiny_data(), initial_epoch=3, epochs=6, verbose=0, callbacks=[callback, recorder])
    assert recorder.scored == [3, 4, 5]


def test_unscored_epochs_are_na_in_history_csv_and_skipped_by_the_checkpoint(tmp_path):
    config = zoo.train.RunConfig(epochs=3, patience=5, output_dir=str(tmp_path))
    run = zoo.train.Run(config, recipe="tiny")
    model = tiny_model()
    callback = ScoreCallback(Scorer(model, [0.2, 0.9]), every=2, examples=0)
    with pytest.warns(UserWarning, match="'val_score' is not in the logs"):
        run.fit(model, tiny_data(), tiny_data(1), monitor="val_score", mode="max", extra_callbacks=[callback])
    history = zoo.train.read_history(tmp_path / "history.csv")
    assert [row["val_score"] for row in history][::2] == [0.2, 0.9] and np.isnan(history[1]["val_score"])
    assert json.loads((tmp_path / "best.json").read_text()) == {"epoch": 2, "val_score": 0.9}
    assert run.finish({})["best_val_score"] == 0.9  # the first epoch is scored, so NA never leads


def test_prints_the_headline_and_the_first_examples(capsys):
    def score():
        return {"bleu": 12.345, "chrf": 40.0}, ["first\n  on two lines", "second", "third"]

    ScoreCallback(score, examples=2).on_epoch_end(4, {})
    printed = capsys.readouterr().out
    assert printed == "epoch 5: val_bleu 12.35, val_chrf 40.00\nfirst\n  on two lines\nsecond\n"
    ScoreCallback(score, prefix="dev_", examples=5, headline=False).on_epoch_end(0, {})
    assert capsys.readouterr().out == "first\n  on two lines\nsecond\nthird\n"
    logs = {"loss": 1.0}
    ScoreCallback(score, examples=0).on_epoch_end(0, logs)
    assert capsys.readouterr().out == ""  # nothing printed, but the logs have the scores
    assert logs == {"loss": 1.0, "val_bleu": 12.345, "val_chrf": 40.0}


@pytest.mark.parametrize("arguments", [{"every": 0}, {"examples": -1}])
def test_refuses_nonsense(arguments):
    with pytest.raises(ValueError, match="every must be >= 1 and examples >= 0"):
        ScoreCallback(lambda: ({}, []), **arguments)
