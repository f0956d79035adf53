"""The RNN translation recipe: it learns English -> Spanish on real Tatoeba pairs, beam search is scored
beside greedy, heatmaps are drawn and the SavedModel translates strings in a fresh process."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo.export
import zoo.seq2seq
from recipes import translation
from zoo.data.translation import load_translation
from zoo.errors import ZooError

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


def test_deploy_json_names_each_endpoints_decoder_and_the_scores_it_reproduces(trained):
    output_dir, metrics = trained
    manifest = json.loads((output_dir / "deploy.json").read_text())
    assert manifest["decoders"] == {
        "serve": "greedy",
        "beam": "beam search, 3 beams, length penalty 0.6 (GNMT: the log-probability divided by "
        "((5 + length) / 6) ** 0.6)",
    }
    assert manifest["reproduces"]["serve"]["test_greedy_bleu"] == metrics["test_greedy_bleu"]
    assert manifest["reproduces"]["beam"]["test_bleu"] == metrics["test_bleu"] == metrics["test_beam_bleu"]
    signatures = manifest["exports"]["saved_model"]["signatures"]
    assert set(signatures) == {"serve", "serving_default", "beam"}
    assert all(list(signature["outputs"]) == ["translation"] for signature in signatures.values())
    assert manifest["tokenizer"] == {
        "kind": "SentencePiece",
        "source": "tokenizer.spm",
        "target": "tokenizer.spm",
    }
    assert (manifest["source_language"], manifest["target_language"]) == ("eng", "spa")
    assert manifest["special_ids"] == {"padding": 0, "unknown": 1, "start": 2, "end": 3}
    tflite = manifest["exports"]["tflite"]["model.tflite"]
    assert tflite["inputs"] == [{"name": "source_ids", "dtype": "int32", "shape": [1, 40]}]
    assert tflite["outputs"] == [{"name": "target_ids", "dtype": "int32", "shape": [1, 40]}]
    assert (
        manifest["verified"]["tflite_differing_translations"] == metrics["tflite_differing_translations"] == 0
    )
    # Built-in ops only: LiteRT refuses a Flex op when it allocates, and the loop is TFLite's WHILE.
    assert "WHILE" in zoo.export.tflite_ops(output_dir / "model.tflite")


def test_each_endpoint_reproduces_its_test_score(trained):
    """The SavedModel's `serve` gives test_greedy_bleu and its `beam` gives test_bleu, the beam search's."""
    output_dir, metrics = trained
    model = tf.saved_model.load(str(output_dir / "saved_model" / "1"))
    pairs = load_translation(None, seed=0).test[:150]

    class Served:  # what `translation_scores` calls, in the recipe's batches of 128
        def __init__(self, endpoint):
            self.endpoint = endpoint

        def translate_all(self, texts):
            batches = [
                self.endpoint(tf.constant(texts[i : i + 128])).numpy() for i in range(0, len(texts), 128)
            ]
            return [text.decode() for batch in batches for text in batch]

    for endpoint, key in ((model.serve, "test_greedy_bleu"), (model.beam, "test_bleu")):
        scores, _ = zoo.seq2seq.translation_scores(Served(endpoint), pairs, "")
        assert scores["bleu"] == pytest.approx(metrics[key], abs=1e-9), key


def test_the_tflite_file_translates_as_the_greedy_endpoint(trained):
    """Ids in, ids out (the SentencePiece model beside it tokenises): the same translations as `serve`."""
    output_dir, _ = trained
    texts = [source for source, _ in load_translation(None, seed=0).test[:6]]
    texts += ["two", "", " ".join(["three hundred and twenty one"] * 20)]  # one word, nothing, overlong
    model = tf.saved_model.load(str(output_dir / "saved_model" / "1"))
    served = [text.decode() for text in model.serve(tf.constant(texts)).numpy()]
    assert zoo.seq2seq.translate_with_tflite(output_dir, texts) == served


def test_predict_translates_greedily_or_with_the_exported_beam_and_refuses_another_size(trained):
    output_dir, _ = trained
    texts = ["two", "three thousand and five", "nine hundred and ninety-nine"]
    model = tf.saved_model.load(str(output_dir / "saved_model" / "1"))
    predict = ["predict", "--output-dir", str(output_dir)]
    for beam, endpoint in (("1", model.serve), ("3", model.beam)):
        served = [text.decode() for text in endpoint(tf.constant(texts)).numpy()]
        answers = translation.main([*predict, "--beam", beam, *texts])
        assert answers == [{"text": text, "translation": t} for text, t in zip(texts, served)]
    sizes = r"exports --beam 1 \(greedy\) or --beam 3 \(beam search\)"
    with pytest.raises(ZooError, match=f"--beam 2: .* {sizes}"):
        translation.main([*predict, "--beam", "2", "two"])
    with pytest.raises(SystemExit):
        translation.main([*predict, "--beam", "0", "two"])


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


def test_trains_on_own_moses_pair_in_any_two_languages(tmp_path):
    """German numbers into French ones (num2words), as a Moses pair `numbers.de`/`numbers.fr` for training
    (validation carved from it) and a TSV with an attribution column for test."""
    from num2words import num2words

    numbers = np.random.default_rng(0).permutation(1000)
    sides = {language: [num2words(int(n), lang=language) for n in numbers[:600]] for language in ("de", "fr")}
    for language, sentences in sides.items():
        (tmp_path / f"numbers.{language}").write_text("\n".join(sentences[:540]) + "\n", encoding="utf-8")
    test = "".join(f"{de}\t{fr}\tCC-BY\n" for de, fr in zip(sides["de"][540:], sides["fr"][540:]))
    (tmp_path / "test.tsv").write_text(test, encoding="utf-8")
    flags = ["--train-file", str(tmp_path / "numbers"), "--test-file", str(tmp_path / "test.tsv"),
             "--source", "de", "--target", "fr", "--epochs", "1", "--units", "32", "--embedding-dim", "32",
             "--vocabulary-size", "300", "--beam-size", "1", "--bleu-samples", "20", "--heatmaps", "1",
             "--no-export", "--output-dir", str(tmp_path / "run")]  # fmt: skip
    metrics = translation.main(flags)
    assert json.loads((tmp_path / "run" / "metrics.json").read_text()) == metrics
    assert metrics["test_pairs"] == 60 and 0.0 <= metrics["test_bleu"] <= 100.0
    assert (tmp_path / "run" / "attention_0.png").exists()
    assert json.loads((tmp_path / "run" / "config.json").read_text())["source"] == "de"
    with pytest.raises(SystemExit):  # Tatoeba's languages only, without --dataset file
        translation.main(["--source", "de", "--target", "fr"])
