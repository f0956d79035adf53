"""The RNN translation recipe: it learns English -> Spanish on real Tatoeba pairs, beam search is scored
beside greedy, heatmaps are drawn and the SavedModel translates strings in a fresh process."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from recipes import translation

# The embedded default (numbers in words): learnable in seconds, so the whole pipeline is exercised.
# Real spa-eng runs take half an hour (benchmarks.translation); the reader and split are tested on it.
QUICK = ["--epochs", "4", "--beam-size", "3", "--bleu-samples", "100", "--max-test-samples", "150"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("translation")
    return output_dir, translation.main([*QUICK, "--output-dir", str(output_dir)])


def test_short_run_learns(trained):
    output_dir, metrics = trained
    assert metrics["test_greedy_bleu"] > 30  # numbers in words: a model that learnt nothing scores ~0
    assert metrics["test_greedy_chrf"] > 50
    assert metrics["test_bleu"] == metrics["test_beam_bleu"]
    history = (output_dir / "history.csv").read_text().splitlines()
    assert "val_bleu" in history[0] and "val_chrf" in history[0]


def test_every_artifact_is_written_and_the_export_matches(trained):
    output_dir, metrics = trained
    for name in ("model.keras", "tokenizer.spm", "saved_model/1/saved_model.pb", "metrics.json",
                 "history.csv", "attention_0.png", "attention_3.png"):  # fmt: skip
        assert (output_dir / name).exists(), name
    assert metrics["savedmodel_differing_translations"] == 0  # compared in a fresh process
    assert json.loads((output_dir / "metrics.json").read_text()) == metrics


def test_the_saved_model_answers_empty_texts_empty_batches_and_overlong_texts(trained):
    output_dir, _ = trained
    model = tf.saved_model.load(str(output_dir / "saved_model" / "1"))
    empty = model.serve(tf.zeros([0], tf.string))
    assert empty.shape == (0,) and empty.dtype == tf.string
    overlong = " ".join(["three hundred and twenty one"] * 20)  # far beyond --max-length pieces: cut
    assert model.serve(tf.constant(["", "five", overlong])).shape == (3,)


def test_embedded_default_runs_with_luong_attention_and_lstm(tmp_path):
    flags = ["--attention", "luong", "--cell", "lstm", "--epochs", "1", "--beam-size", "1",
             "--no-export", "--heatmaps", "0", "--output-dir", str(tmp_path)]  # fmt: skip
    metrics = translation.main(flags)
    assert 0.0 <= metrics["test_bleu"] <= 100.0 and "test_beam_bleu" not in metrics


def test_attention_model_rows_sum_to_one_over_the_source():
    config = translation.Config(units=8, embedding_dim=8)
    model = translation.build_model(config, source_vocabulary=20, target_vocabulary=15)
    source = np.array([[5, 6, 7, 0, 0], [4, 4, 0, 0, 0]], "int32")
    target = np.array([[2, 5, 6], [2, 7, 0]], "int32")
    weights = np.asarray(model.attention({"source": source, "target_in": target}))
    assert weights.shape == (2, 3, 5)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
    assert (weights[0, :, 3:] == 0).all() and (weights[1, :, 2:] == 0).all()


def test_same_languages_are_refused():
    with pytest.raises(SystemExit):
        translation.main(["--source", "spa", "--target", "spa"])


def test_label_smoothing_and_cosine_decay_reach_the_optimiser_and_loss():
    config = translation.Config(units=8, embedding_dim=8, label_smoothing=0.1, cosine_decay=True)
    model = translation.build_model(config, source_vocabulary=20, target_vocabulary=15, train_steps=100)
    assert model.trainer.loss.label_smoothing == 0.1
    schedule = keras.optimizers.schedules.deserialize(model.trainer.optimizer.get_config()["learning_rate"])
    assert float(schedule(0)) == pytest.approx(config.learning_rate)
    assert float(schedule(100)) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(SystemExit):
        translation.main(["--label-smoothing", "1.0"])
