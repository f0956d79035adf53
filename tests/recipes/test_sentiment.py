"""The sentiment recipe end to end on real data: it learns, exports faithfully, resumes after a kill."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo.export
import zoo.text
import zoo.train
from recipes import sentiment
from zoo.errors import ZooError

# A quick, real run: 6,000 SST-2 training phrases, dev accuracy as validation, labelled test file as test.
QUICK = ["--dataset", "sst2", "--max-train-samples", "6000", "--epochs", "2", "--max-length", "48",
         "--vocabulary-size", "8000", "--embedding-dim", "32", "--units", "16", "--batch-size", "64",
         "--examples", "3"]  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    if not os.environ.get("ZOO_DATA_DIR"):
        pytest.skip("ZOO_DATA_DIR is not set; the recipe test trains on SST-2")
    output_dir = tmp_path_factory.mktemp("sentiment")
    metrics = sentiment.main([*QUICK, "--output-dir", str(output_dir)])
    return output_dir, metrics


def test_short_run_on_sst2_learns(trained):
    output_dir, metrics = trained
    assert metrics["test_accuracy"] > 0.68  # chance is 0.50
    assert metrics["test_auc"] > 0.75
    for name in ("test_precision", "test_recall", "test_f1", "train_seconds", "epochs"):
        assert name in metrics
    # The information view of the test errors, as metrics.json holds it.
    written = json.loads((output_dir / "metrics.json").read_text())
    label_bits, information = written["test_label_entropy_bits"], written["test_mutual_information_bits"]
    assert 0.9 < label_bits <= 1.0  # two classes, near balanced
    assert 0.0 < information <= min(label_bits, written["test_prediction_entropy_bits"])
    assert written["test_uncertainty_coefficient"] == pytest.approx(information / label_bits)
    assert 0.0 < written["test_uncertainty_coefficient"] <= 1.0
    assert 0.0 <= written["test_jensen_shannon_bits"] <= 1.0
    # Both classes are predicted by a model this accurate: the KL divergence is a number.
    assert written["test_labels_never_predicted"] == [] and written["test_kl_true_to_predicted_bits"] >= 0.0


def test_every_artifact_is_written(trained):
    output_dir, metrics = trained
    for name in ("model.keras", "model.tflite", "vocabulary.txt", "metrics.json", "history.csv",
                 "training_curves.png", "saved_model/1/saved_model.pb"):  # fmt: skip
        assert (output_dir / name).exists(), name
    assert json.loads((output_dir / "metrics.json").read_text()) == metrics


def test_exports_match_keras_within_tolerance(trained):
    _, metrics = trained
    for name in ("keras_max_abs_diff", "savedmodel_max_abs_diff", "tflite_max_abs_diff"):
        assert 0.0 <= metrics[name] <= 1e-4, name


def test_tflite_uses_builtin_ops_only(trained):
    output_dir, _ = trained
    ops = zoo.export.tflite_ops(output_dir / "model.tflite")
    assert "WHILE" in ops or "UNIDIRECTIONAL_SEQUENCE_LSTM" in ops or "GATHER" in ops, ops
    assert not [op for op in ops if op.startswith("Flex") or op == "CUSTOM"], ops
    zoo.export.tflite_interpreter(output_dir / "model.tflite")  # the stock interpreter accepts it


def test_saved_model_takes_raw_strings_in_a_fresh_process(trained):
    output_dir, _ = trained
    texts = [
        "a gorgeous , witty , seductive movie .",
        "the worst film of the year , dull and lifeless .",
        "",
    ]
    script = textwrap.dedent(
        f"""
        import json, tensorflow as tf
        serve = tf.saved_model.load({str(output_dir / "saved_model" / "1")!r}).signatures["serving_default"]
        (out,) = serve(text=tf.constant({texts!r})).values()
        print(json.dumps(out.numpy()[:, 0].tolist()))
        import zoo  # all a user needs before loading a model.keras (it names zoo>standardize, zoo layers)
        keras_model = zoo.load_model({str(output_dir)!r})
        print(json.dumps(keras_model(tf.constant({texts!r})).numpy()[:, 0].tolist()))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    fresh, reloaded = (np.array(json.loads(line)) for line in result.stdout.strip().splitlines()[-2:])
    in_memory = keras.saving.load_model(output_dir / "model.keras")(tf.constant(texts))
    np.testing.assert_allclose(fresh, keras.ops.convert_to_numpy(in_memory)[:, 0], atol=1e-5)
    np.testing.assert_allclose(reloaded, fresh, atol=1e-5)
    assert fresh[0] > fresh[1]  # the model learned which review is the positive one
    assert np.isfinite(fresh[2])  # an empty review is a prediction, not NaN


def test_tflite_with_python_preprocessing_matches_the_saved_model(trained):
    # A device user: zoo.text.preprocess + vocabulary.txt -> ids -> model.tflite, no TensorFlow text ops.
    output_dir, _ = trained
    vocabulary = zoo.text.Vocabulary.load(output_dir / "vocabulary.txt")
    texts = [
        "an utterly charming and hilarious film .",
        "a mess of a movie ; boring and far too long .",
    ]
    max_length = 48
    ids = np.zeros((len(texts), max_length), dtype="int32")
    for row, text in enumerate(texts):
        encoded = vocabulary.encode(zoo.text.preprocess(text))[:max_length]
        ids[row, : len(encoded)] = encoded
    device = zoo.export.run_tflite(output_dir / "model.tflite", ids)[:, 0]
    server = keras.saving.load_model(output_dir / "model.keras")(tf.constant(texts))
    np.testing.assert_allclose(device, keras.ops.convert_to_numpy(server)[:, 0], atol=1e-4)


def test_predict_answers_from_any_folder_with_the_models_probabilities(trained, tmp_path):
    output_dir, _ = trained
    texts = ["a gorgeous , witty , seductive movie .", "the worst film of the year , dull and lifeless ."]
    command = [sys.executable, "-m", "recipes.sentiment", "predict", "--output-dir", str(output_dir), *texts]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    expected = keras.saving.load_model(output_dir / "model.keras")(tf.constant(texts))
    assert [answer["text"] for answer in answers] == texts
    assert [answer["label"] for answer in answers] == ["positive", "negative"]
    for answer in answers:  # every class's probability, as a model of more classes answers too
        probabilities = answer["probabilities"]
        assert (
            list(probabilities) == ["negative", "positive"]
            and probabilities["positive"] == answer["probability"]
        )
        assert probabilities["negative"] == pytest.approx(1 - answer["probability"], abs=2e-4)
    np.testing.assert_allclose(
        [answer["probability"] for answer in answers], keras.ops.convert_to_numpy(expected)[:, 0], atol=1e-4
    )
    manifest = json.loads((output_dir / "deploy.json").read_text())
    assert manifest["labels"] == ["negative", "positive"]
    assert manifest["reproduces"]["test_accuracy"] == trained[1]["test_accuracy"]
    assert list(manifest["exports"]["saved_model"]["signatures"]["serving_default"]["outputs"]) == [
        "probability"
    ]


def test_predict_reads_one_input_a_line_and_refuses_a_folder_without_a_run(trained, tmp_path, monkeypatch):
    output_dir, _ = trained
    monkeypatch.setattr(sys, "stdin", io.StringIO("a fine film .\n\n  \nawful .\n"))
    answers = sentiment.main(["predict", "--output-dir", str(output_dir)])
    assert [answer["text"] for answer in answers] == ["a fine film .", "awful ."]
    with pytest.raises(ZooError, match="no finished run of recipes.sentiment"):
        sentiment.main(["predict", "--output-dir", str(tmp_path), "a text"])


def test_missing_dataset_fails_with_a_message_naming_data_dir(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "recipes.sentiment",
            "--dataset",
            "imdb",
            "--data-dir",
            str(tmp_path / "nowhere"),
            "--output-dir",
            str(tmp_path / "out"),
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "--data-dir" in result.stderr and "Traceback" not in result.stderr
