"""The character language model: its stateful BPTT carries and resets state, stepping one character at a time
gives the whole-sequence logits, sampling repeats by seed, a short training prefers a sentence to its
shuffled characters and is measured against n-gram count models on the characters its loss covers, the
export scores strings, the cell report finds the unit that tracks a feature, and a streamed run trains as
the in-memory one does."""

from __future__ import annotations

import json
import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf
from gensim.test.utils import datapath

import zoo.decoding
import zoo.inspection
import zoo.language_model as lm
from recipes import char_lm
from zoo.data import characters

# ## Stateful BPTT


def small_rnn(cell: str, stateful: bool = True) -> keras.Model:
    config = char_lm.Config(cell=cell, layers=2, units=8, embedding_dim=4, batch_size=2)
    return char_lm.build_rnn(config, vocabulary_size=12, stateful=stateful)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_state_carries_across_chunks_and_resets_to_zero(cell):
    """Two consecutive chunks with the state carried give the outputs of the whole text at once; after a
    reset the next chunk starts from zeros again."""
    model = small_rnn(cell)
    text = np.random.default_rng(0).integers(2, 12, size=(2, 20)).astype("int32")
    whole = keras.ops.convert_to_numpy(model(text))
    lm.reset_states(model)
    first = keras.ops.convert_to_numpy(model(text[:, :10]))
    states = [keras.ops.convert_to_numpy(v) for layer in lm.stateful_layers(model) for v in layer.states]
    assert all(np.abs(state).max() > 0 for state in states)
    second = keras.ops.convert_to_numpy(model(text[:, 10:]))
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, atol=1e-5)

    callback = lm.ResetStates()
    callback.set_model(model)
    callback.on_test_begin()  # validation starts from a blank state...
    for layer in lm.stateful_layers(model):
        assert all(not np.any(keras.ops.convert_to_numpy(v)) for v in layer.states)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(text[:, :10])), first, atol=1e-5)
    callback.on_epoch_begin(1)  # ...and so does every epoch
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(text[:, :10])), first, atol=1e-5)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_stepping_one_character_gives_the_stateless_models_logits(cell):
    model = small_rnn(cell, stateful=False)
    text = np.random.default_rng(1).integers(2, 12, size=(3, 9)).astype("int32")
    whole = keras.ops.convert_to_numpy(model(text))
    step, initial_states = lm.recurrent_step(model)
    states = initial_states(3)
    for position in range(9):
        logits, states = step(text[:, position], states)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(logits), whole[:, position], atol=1e-5)


def test_stateless_copy_has_the_trained_weights():
    config = char_lm.Config(layers=2, units=8, embedding_dim=4, batch_size=2)
    trained = char_lm.build_rnn(config, 12, stateful=True)
    text = np.random.default_rng(2).integers(2, 12, size=(2, 7)).astype("int32")
    expected = keras.ops.convert_to_numpy(trained(text))
    copy = char_lm.stateless_copy(trained, config, 12)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(copy(text)), expected, atol=1e-5)


# ## Sampling


def tiny_transformer() -> keras.Model:
    config = char_lm.Config(model="transformer", layers=1, embedding_dim=8, num_heads=2, context=8)
    return char_lm.build_transformer(config, vocabulary_size=12)


@pytest.mark.parametrize("build", [lambda: small_rnn("lstm", stateful=False), tiny_transformer])
def test_sampling_repeats_by_seed(build):
    keras.utils.set_random_seed(0)
    model = build()
    characters = list("\n abcdefghi")[:10]

    def sample(seed, **settings):
        sampler = zoo.decoding.make_sampler(seed=seed, vocabulary_size=12, **settings)
        return lm.generate(model, characters, "ab", 24, sampler)  # longer than the transformer's context

    first = sample(3, temperature=1.5, top_k=8, top_p=0.95)
    assert len(first) == 24 and "\ufffd" not in first  # never padding or "unknown"
    assert sample(3, temperature=1.5, top_k=8, top_p=0.95) == first
    assert sample(4, temperature=1.5) != first
    assert sample(1, temperature=0.0) == sample(2, temperature=0.0)  # greedy ignores the seed


# ## The cell report


def test_feature_extraction_on_a_constructed_text():
    text = 'ROMEO:\nSay "hi" (now).\n'
    features = zoo.inspection.character_features(text)
    np.testing.assert_array_equal(features["position_in_line"][:9], [0, 1, 2, 3, 4, 5, 6, 0, 1])
    assert features["speaker_line"][:7].tolist() == [1, 1, 1, 1, 1, 1, 0]
    assert features["speaker_line"][7:].sum() == 0
    inside = [character for character, on in zip(text, features["inside_quotes"]) if on]
    assert "".join(inside) == "hi"
    bracketed = [character for character, on in zip(text, features["inside_brackets"]) if on]
    assert "".join(bracketed) == "(now"
    assert features["start_of_line"].nonzero()[0].tolist() == [0, 7]
    assert features["position_in_word"][7:11].tolist() == [1, 2, 3, 0]  # S a y, then the space
    assert features["is_vowel"][text.index("a")] == 1 and features["is_vowel"][text.index("y")] == 0


def test_unit_search_finds_the_unit_that_tracks_a_feature():
    text = "ROMEO:\nBut, soft! what light through yonder window breaks?\n" * 6
    features = zoo.inspection.character_features(text)
    rng = np.random.default_rng(0)
    activations = rng.normal(size=(len(text), 10))
    activations[:, 3] = features["position_in_line"] * 0.01 - 0.2  # any scale and offset
    activations[:, 7] = -features["is_space"]  # negative correlation counts
    activations[:, 5] = 1.0  # a dead unit must not break the search
    matches = {match.feature: match for match in zoo.inspection.best_units(activations, features)}
    assert matches["position_in_line"].unit == 3
    assert matches["position_in_line"].correlation == pytest.approx(1.0)
    assert matches["is_space"].unit == 7 and matches["is_space"].correlation == pytest.approx(-1.0)
    assert matches["inside_quotes"].unit == -1  # no quotes in this text: nothing to track
    assert "| position_in_line | unit[3] | +1.000 |" in zoo.inspection.markdown_table(list(matches.values()))


# ## A short training run, end to end


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("char_lm")
    flags = ["--epochs", "1", "--max-train-samples", "150000", "--bptt", "50", "--inspect-characters", "600"]
    return output_dir, char_lm.main([*flags, "--output-dir", str(output_dir)])


def test_main_writes_metrics_and_artifacts(trained):
    output_dir, metrics = trained
    written = json.loads((output_dir / "metrics.json").read_text())
    assert written == metrics
    for key in ("val_loss", "val_bits_per_char", "val_perplexity", "train_seconds"):
        assert np.isfinite(metrics[key]), key
    assert metrics["val_bits_per_char"] == pytest.approx(metrics["val_loss"] / np.log(2))
    assert metrics["val_perplexity"] == pytest.approx(np.exp(metrics["val_loss"]))
    assert metrics["val_loss"] < 2.8  # a unigram model of English makes about 3.0 nats/char
    assert metrics["keras_max_abs_diff"] <= 1e-4 and metrics["savedmodel_max_abs_diff"] <= 1e-4
    assert metrics["tflite_max_abs_diff"] <= 1e-4
    for name in ("model.keras", "vocabulary.json", "saved_model/1/saved_model.pb", "history.csv"):
        assert (output_dir / name).exists(), name
    assert "<span" in (output_dir / "cells.html").read_text()
    cells = (output_dir / "cells.md").read_text()
    assert "| position_in_line | lstm_0/" in cells and "best unit by MI" in cells
    assert "8 equal-frequency bins" in cells and "Correlation and mutual information pick" in cells


def test_main_measures_the_model_against_ngrams_on_the_characters_val_loss_covers(trained):
    """metrics.json holds the bits of unigram, bigram and trigram count models of the training text on
    the validation characters the model's loss covers (the 32 rows of the BPTT layout, each from a blank
    history), and the model's saving over each (this short run beats the unigram model only)."""
    _, metrics = trained
    model_bits = metrics["val_bits_per_char"]
    names = ["unigram", "bigram", "trigram"]
    bits = [metrics[f"val_{name}_bits_per_char"] for name in names]
    assert 4.7 > bits[0] > bits[1] > bits[2] and np.all(np.isfinite(bits))
    assert bits[0] > model_bits
    for name, value in zip(names, bits):
        assert metrics[f"val_bits_saved_over_{name}"] == pytest.approx(value - model_bits, abs=1e-12)
    corpus = characters.load_characters(max_train_characters=150_000)
    vocabulary = characters.character_vocabulary(corpus.train)
    validation = characters.encode(corpus.validation, vocabulary)
    spans = characters.bptt_spans(len(validation), batch_size=32, bptt=50)
    expected = lm.ngram_bits(characters.encode(corpus.train, vocabulary), validation, spans=spans)
    assert bits == pytest.approx([expected[1], expected[2], expected[3]], rel=1e-12)
    assert bits[2] != pytest.approx(lm.ngram_bits(corpus.train, corpus.validation)[3], rel=1e-6)


def test_short_training_prefers_a_sentence_to_its_shuffled_characters(trained):
    output_dir, _ = trained
    scores = char_lm.main(["score", "--output-dir", str(output_dir), "--text", char_lm.SENTENCE])
    assert scores["text"]["characters"] == scores["scrambled"]["characters"] == len(char_lm.SENTENCE)
    assert scores["text"]["bits_per_character"] < scores["scrambled"]["bits_per_character"] - 0.3
    # The SavedModel takes the strings and gives each character's log-probability: its row sums are
    # the scores.
    loaded = tf.saved_model.load(str(output_dir / "saved_model" / "1"))
    rows = loaded.serve(tf.constant([char_lm.SENTENCE, "ab"])).numpy()
    assert rows.shape == (2, len(char_lm.SENTENCE))
    assert rows[0].sum() == pytest.approx(scores["text"]["log_probability_nats"], rel=1e-4)
    assert np.all(rows[1, 2:] == 0)  # padding


def test_the_tflite_next_character_model_writes_what_greedy_generation_writes(trained):
    """ids (1, --bptt) -> the next character's log-probabilities, built-in ops only; the sampling loop
    outside it (`generate_with_tflite`) writes the text `generate` writes, within the window."""
    output_dir, metrics = trained
    manifest = json.loads((output_dir / "deploy.json").read_text())
    tensors = manifest["exports"]["tflite"]["model.tflite"]
    assert tensors["inputs"] == [{"name": "ids", "dtype": "int32", "shape": [1, 50]}]
    assert tensors["outputs"][0]["name"] == "log_probabilities"
    assert "generation" in manifest["tflite"] and manifest["verified"] == {
        key: metrics[key] for key in ("keras_max_abs_diff", "savedmodel_max_abs_diff", "tflite_max_abs_diff")
    }
    assert manifest["special_ids"] == {"padding": 0, "unknown": 1, "first_character": 2}
    model, characters = lm.load_scorer(output_dir)
    greedy = lm.generate(model, characters, "The ", 30, zoo.decoding.make_sampler())
    assert lm.generate_with_tflite(output_dir, "The ", 30) == greedy


def test_saved_model_scores_empty_texts_and_empty_batches(trained):
    output_dir, _ = trained
    loaded = tf.saved_model.load(str(output_dir / "saved_model" / "1"))
    assert loaded.serve(tf.constant([], tf.string)).numpy().shape == (0, 0)
    assert loaded.serve(tf.constant([""])).numpy().shape == (1, 0)
    rows = loaded.serve(tf.constant(["", "a"])).numpy()
    assert rows.shape == (2, 1) and rows[0, 0] == 0 and rows[1, 0] < 0


def test_generate_subcommand_repeats_by_seed(trained):
    output_dir, _ = trained
    flags = ["generate", "--output-dir", str(output_dir), "--prompt", "The ", "--length", "40"]
    flags += ["--temperature", "0.8", "--top-k", "20", "--top-p", "0.9"]
    first = char_lm.main([*flags, "--seed", "3"])["text"]
    assert len(first) == 40
    assert char_lm.main([*flags, "--seed", "3"])["text"] == first
    assert char_lm.main([*flags, "--seed", "4"])["text"] != first


def test_transformer_trains_within_its_time_budget(tmp_path):
    flags = ["--model", "transformer", "--layers", "1", "--embedding-dim", "32", "--context", "32"]
    flags += [
        "--epochs",
        "3",
        "--steps-per-epoch",
        "5",
        "--max-train-minutes",
        "0.0001",
        "--max-train-samples",
    ]
    flags += ["20000", "--no-xla", "--no-export"]  # XLA would spend 15 s compiling for 5 steps
    metrics = char_lm.main([*flags, "--output-dir", str(tmp_path)])
    assert metrics["epochs"] == 1  # stopped by --max-train-minutes after the first batch, then validated
    assert np.isfinite(metrics["val_loss"]) and not (tmp_path / "cells.html").exists()


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory) -> pathlib.Path:
    """24,000 characters of Lee's corpus as `whole.txt` and as `parts/a.txt`, `parts/b.txt`."""
    folder = tmp_path_factory.mktemp("small_corpus")
    text = pathlib.Path(datapath("lee_background.cor")).read_text(encoding="utf-8")[:24_000]
    (folder / "whole.txt").write_text(text, encoding="utf-8")
    (folder / "parts").mkdir()
    (folder / "parts" / "a.txt").write_text(text[:15_000], encoding="utf-8")
    (folder / "parts" / "b.txt").write_text(text[15_000:], encoding="utf-8")
    return folder


def test_streamed_rnn_run_trains_as_the_in_memory_run(small_corpus, tmp_path):
    flags = ["--epochs", "1", "--bptt", "20", "--batch-size", "8", "--units", "16", "--no-export"]
    flags += ["--inspect-characters", "300"]
    parts, whole = str(small_corpus / "parts"), str(small_corpus / "whole.txt")
    streamed = char_lm.main([*flags, "--stream", "--data-dir", parts, "--output-dir", str(tmp_path / "s")])
    flags += ["--dataset", "text", "--data-dir", whole]
    in_memory = char_lm.main([*flags, "--output-dir", str(tmp_path)])
    assert streamed["train_characters"] == in_memory["train_characters"] == 21_600
    assert streamed["val_loss"] == pytest.approx(in_memory["val_loss"], abs=1e-6)
    assert streamed["sentence_bits_per_char"] == pytest.approx(in_memory["sentence_bits_per_char"], abs=1e-5)
    assert (tmp_path / "s" / "cells.md").read_text() == (tmp_path / "cells.md").read_text()
    for key in ("val_unigram_bits_per_char", "val_trigram_bits_per_char", "val_bits_saved_over_bigram"):
        assert streamed[key] == pytest.approx(in_memory[key], abs=1e-6), key


def test_streamed_transformer_run(small_corpus, tmp_path):
    flags = ["--model", "transformer", "--layers", "1", "--embedding-dim", "32", "--context", "32"]
    flags += ["--epochs", "1", "--steps-per-epoch", "5", "--shuffle-windows", "500"]
    pattern = str(small_corpus / "parts" / "*.txt")
    flags += ["--stream", "--data-dir", pattern, "--no-xla", "--no-export"]
    metrics = char_lm.main([*flags, "--output-dir", str(tmp_path)])
    assert metrics["train_characters"] == 21_600 and np.isfinite(metrics["val_loss"])


def test_trains_on_your_own_text_files_given_by_a_glob(small_corpus, tmp_path):
    """`--train-file GLOB` is the streamed reader: the run `--stream --data-dir GLOB` makes, its last 10%
    validating; with `--validation-file`, every training character trains and that file validates."""
    flags = ["--epochs", "1", "--bptt", "20", "--batch-size", "8", "--units", "16", "--no-export"]
    flags += ["--inspect-characters", "0"]
    pattern = str(small_corpus / "parts" / "*.txt")
    own = char_lm.main([*flags, "--train-file", pattern, "--output-dir", str(tmp_path / "own")])
    streamed = char_lm.main([*flags, "--stream", "--data-dir", pattern, "--output-dir", str(tmp_path / "s")])
    assert own["train_characters"] == streamed["train_characters"] == 21_600
    assert own["val_loss"] == pytest.approx(streamed["val_loss"], abs=1e-6)
    assert json.loads((tmp_path / "own" / "metrics.json").read_text())["val_loss"] == own["val_loss"]
    held = tmp_path / "held.txt"
    held.write_text(pathlib.Path(datapath("lee_background.cor")).read_text()[30_000:33_000])
    flags += ["--train-file", pattern, "--validation-file", str(held)]
    validated = char_lm.main([*flags, "--output-dir", str(tmp_path / "validated")])
    assert validated["train_characters"] == 24_000 and np.isfinite(validated["val_loss"])
    assert validated["val_loss"] != pytest.approx(own["val_loss"], abs=1e-3)  # other validation text


@pytest.mark.parametrize(
    "flags, problem",
    [
        (
            ["--train-file", "a.txt", "--test-file", "b.txt"],
            "--test-file: the char LM is scored on validation",
        ),
        (["--train-file", "a.txt", "--test-fraction", "0.2"], "--test-fraction: the char LM is scored on"),
        (["--train-file", "a.txt", "--validation-fraction", "0"], "needs a --validation-file or a"),
        (["--train-file", "a.txt", "--max-train-samples", "10"], "no --max-train-samples"),
        (["--stream"], "give --data-dir"),
        (["--stream", "--dataset", "lee", "--data-dir", "."], "no --dataset but text"),
        (["--stream", "--data-dir", ".", "--max-train-samples", "1000"], "no --max-train-samples"),
        (["--stream", "--data-dir", ".", "--shuffle-windows", "0"], "--shuffle-windows must be"),
    ],
)
def test_stream_refuses_what_it_cannot_do(flags, problem, capsys):
    with pytest.raises(SystemExit):
        char_lm.main(flags)
    assert problem in capsys.readouterr().err


def test_bad_flags_are_refused():
    with pytest.raises(SystemExit):
        char_lm.main(["--model", "transformer", "--embedding-dim", "30", "--num-heads", "4"])
    with pytest.raises(SystemExit):
        char_lm.main(["--strategy", "mirrored"])  # a stateful RNN's streams live on one device
    with pytest.raises(SystemExit):
        char_lm.main(["generate", "--epochs", "3"])  # generate has its own flags
    with pytest.raises(SystemExit):
        char_lm.main(["generate", "--top-p", "0"])
