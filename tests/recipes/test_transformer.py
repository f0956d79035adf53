"""The transformer recipe: its causal mask holds with dropout on, it learns, and its export translates."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo.seq2seq
from recipes import transformer


def small_model(dropout: float = 0.3, precision: str = "float32") -> transformer.Transformer:
    config = transformer.Config(
        layers=2,
        embedding_dim=16,
        intermediate_dim=32,
        num_heads=2,
        dropout=dropout,
        max_length=12,
        precision=precision,
    )
    return transformer.build_model(config, source_vocabulary=30, target_vocabulary=25, train_steps=10)


def test_causal_mask_holds_with_dropout_on():
    """Changing a later target token never changes an earlier output, in training mode. Two calls with
    the same random state draw the same dropout masks (`stateless_call`), so any difference at an earlier
    position could only come from attention reaching forward."""
    model = small_model().trainer
    rng = np.random.default_rng(0)
    source = rng.integers(4, 30, size=(3, 7)).astype("int32")
    target = rng.integers(4, 25, size=(3, 9)).astype("int32")
    changed = target.copy()
    changed[:, 5:] = rng.integers(4, 25, size=(3, 4))
    trainable = [v.value for v in model.trainable_variables]
    state = [v.value for v in model.non_trainable_variables]

    def logits(target_ids, state):
        output, _ = model.stateless_call(
            trainable, state, {"source": source, "target_in": target_ids}, training=True
        )
        return keras.ops.convert_to_numpy(output)

    first, second = logits(target, state), logits(changed, state)
    np.testing.assert_allclose(first[:, :5], second[:, :5], atol=1e-5)
    assert np.abs(first[:, 5:] - second[:, 5:]).max() > 1e-3  # later positions do see the change
    # Dropout really is on: another random state gives other outputs at the unchanged positions.
    _, next_state = model.stateless_call(
        trainable, state, {"source": source, "target_in": target}, training=True
    )
    assert np.abs(logits(target, next_state)[:, :5] - first[:, :5]).max() > 1e-4


def test_padding_in_the_source_is_never_read():
    model = small_model(dropout=0.0).trainer
    rng = np.random.default_rng(1)
    source = rng.integers(4, 30, size=(2, 8)).astype("int32")
    source[:, 5:] = 0
    target = rng.integers(4, 25, size=(2, 6)).astype("int32")
    longer = np.concatenate([source, np.zeros((2, 4), "int32")], axis=1)  # more padding, same sentence
    expected = model({"source": source, "target_in": target})
    np.testing.assert_allclose(model({"source": longer, "target_in": target}), expected, atol=1e-5)


@pytest.mark.parametrize("precision, atol", [("float32", 1e-4), ("mixed_bfloat16", 2e-2)])
def test_cached_decoding_steps_give_the_full_decoders_logits(precision, atol):
    """Feeding one piece at a time through the blocks' caches equals re-reading the whole prefix, in
    bfloat16 too (its caches hold bfloat16 keys and values; the logits come out in float32)."""
    model = small_model(dropout=0.0, precision=precision)
    rng = np.random.default_rng(2)
    source = rng.integers(4, 30, size=(2, 7)).astype("int32")
    source[1, 4:] = 0
    target = rng.integers(4, 25, size=(2, 6)).astype("int32")
    source, target = keras.ops.convert_to_tensor(source), keras.ops.convert_to_tensor(target)
    memory, mask = model.encoder(source), source > 0
    assert memory.dtype == ("bfloat16" if precision == "mixed_bfloat16" else "float32")
    assert all(weight.dtype == "float32" for weight in model.trainer.weights)
    full = keras.ops.convert_to_numpy(model.decoder([target, memory, mask]))
    assert full.dtype == "float32"
    caches = model.empty_caches(2)
    # A step gives back caches of the dtype it was given, as the samplers' graph loops require.
    dtypes = [cache.dtype for cache in caches]
    assert dtypes == [memory.dtype] * len(caches)
    for position in range(target.shape[1]):
        logits, caches = model.decode_step(target[:, position : position + 1], position, memory, mask, caches)
        assert logits.dtype == "float32" and [cache.dtype for cache in caches] == dtypes
        np.testing.assert_allclose(keras.ops.convert_to_numpy(logits), full[:, position], atol=atol)


# A run computing in bfloat16 exports what the model in memory translates too (no TFLite file: TFLite's
# built-in kernels take no bfloat16). `--ema` is the runner's, tested with the runner (tests/test_train.py).
@pytest.mark.parametrize("flags", [[], ["--precision", "mixed_bfloat16"]], ids=["last-weights", "bfloat16"])
def test_embedded_default_learns_and_exports(tmp_path, flags):
    learns = not flags  # the variants check what they change in the exports, on a shorter run
    metrics = transformer.main(
        [
            *flags,
            "--epochs",
            "5" if learns else "2",
            "--beam-size",
            "3",
            "--bleu-samples",
            "100",
            "--max-test-samples",
            "150" if learns else "60",
            "--embedding-dim",
            "64",
            "--intermediate-dim",
            "128",
            "--output-dir",
            str(tmp_path),
        ]
    )
    if learns:
        assert metrics["test_greedy_bleu"] > 30  # numbers in words: a model that learnt nothing scores ~0
        assert metrics["test_beam_bleu"] >= metrics["test_greedy_bleu"] - 2
    assert metrics["savedmodel_differing_translations"] == 0
    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics
    for name in ("model.keras", "tokenizer.spm", "saved_model/1/saved_model.pb", "history.csv"):
        assert (tmp_path / name).exists(), name
    manifest = json.loads((tmp_path / "deploy.json").read_text())
    assert set(manifest["exports"]["saved_model"]["signatures"]) == {"serve", "serving_default", "beam"}
    assert manifest["reproduces"]["beam"]["test_bleu"] == metrics["test_bleu"] == metrics["test_beam_bleu"]
    assert manifest["reproduces"]["serve"]["test_greedy_bleu"] == metrics["test_greedy_bleu"]
    if "--precision" in flags:  # TFLite's built-in kernels take no bfloat16: no file, and deploy.json says so
        assert not (tmp_path / "model.tflite").exists() and "tflite_differing_translations" not in metrics
        assert "bfloat16" in manifest["tflite"]["not_exported"]
        return
    assert metrics["tflite_differing_translations"] == 0
    texts = ["two", "", "three thousand and five", " ".join(["nine hundred and ninety-nine"] * 12)]
    model = tf.saved_model.load(str(tmp_path / "saved_model" / "1"))
    served = [text.decode() for text in model.serve(tf.constant(texts)).numpy()]
    assert zoo.seq2seq.translate_with_tflite(tmp_path, texts) == served
    if not flags:  # predict answers with the export: greedy, or the beam search of --beam-size 3
        beamed = [text.decode() for text in model.beam(tf.constant(texts)).numpy()]
        predict = ["predict", "--output-dir", str(tmp_path), *texts]
        assert [answer["translation"] for answer in transformer.main(predict)] == served
        assert [answer["translation"] for answer in transformer.main([*predict, "--beam", "3"])] == beamed


@pytest.mark.parametrize(
    "flags", [["--ema", "1.0"], ["--ema", "-0.5"], ["--embedding-dim", "30"], ["--precision", "float16"]]
)
def test_bad_flags_are_refused(flags):
    with pytest.raises(SystemExit):
        transformer.main(flags)


def test_trains_on_own_tsv_within_max_train_minutes(tmp_path):
    """A ManyThings-style TSV (English<TAB>German<TAB>attribution) as the only file: validation and test are
    carved from it; --max-train-minutes, the runner's, stops the first epoch after its first batch."""
    from num2words import num2words

    lines = [f"{num2words(n)}\t{num2words(n, lang='de')}\tCC-BY 2.0 (France)\n" for n in range(400)]
    (tmp_path / "deu.txt").write_text("".join(lines), encoding="utf-8")
    flags = ["--train-file", str(tmp_path / "deu.txt"), "--source", "en", "--target", "de",
             "--validation-fraction", "0.05", "--test-fraction", "0.05", "--epochs", "3",
             "--max-train-minutes",
             "0.0001", "--layers", "1", "--embedding-dim", "32", "--intermediate-dim", "32",
             "--num-heads", "2", "--vocabulary-size", "300", "--beam-size", "1", "--bleu-samples", "10",
             "--no-export", "--output-dir", str(tmp_path / "run")]  # fmt: skip
    metrics = transformer.main(flags)
    assert metrics["epochs"] == 1  # stopped by --max-train-minutes after the first batch, then validated
    assert (
        metrics["test_pairs"] == 20 and json.loads((tmp_path / "run" / "metrics.json").read_text()) == metrics
    )
