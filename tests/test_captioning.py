"""`zoo.captioning.Captioner` with constructed models: one member captions as its decoder says, an ensemble
follows the mean of its members' log-probabilities (greedy and beam search alike)."""

from __future__ import annotations

import keras
import keras_hub
import numpy as np
import pytest
import tensorflow as tf

import zoo.decoding
import zoo.export
from zoo.captioning import Captioner, export_captioner, export_captioner_tflite

WORDS = ["", "[UNK]", "<s>", "</s>", "a", "b", "c"]


def member(first_word_probabilities: dict[str, float]):
    """A constructed captioner: its first word has the given probabilities, then it writes `</s>`."""
    images = keras.Input((4, 4, 3))
    # A convolution and batch normalisation, as real encoders have, though the captions do not use them.
    features = keras.layers.BatchNormalization()(keras.layers.Conv2D(2, 3, padding="same")(images))
    memory = keras.layers.Reshape((1, 1))(keras.layers.GlobalAveragePooling2D()(features)[:, :1])
    encoder = keras.Model(images, [memory, keras.ops.zeros_like(memory[:, 0])])
    first = np.full(len(WORDS), 1e-6, "float32")
    for word, probability in first_word_probabilities.items():
        first[WORDS.index(word)] = probability
    end = np.full(len(WORDS), 1e-6, "float32")
    end[WORDS.index("</s>")] = 1.0
    token, memory_in, steps = keras.Input((1,), dtype="int32"), keras.Input((1, 1)), keras.Input((1,))
    logits = keras.ops.where(steps >= 1, np.log(end), np.log(first))
    decoder = keras.Model([token, memory_in, steps], [logits, steps + 1.0])
    return encoder, decoder


def caption(members, sampler) -> str:
    encoders, decoders = zip(*members)
    captioner = Captioner(list(encoders), list(decoders), WORDS, (4, 4), 4, sampler)
    return captioner.caption_images(tf.zeros((2, 4, 4, 3))).numpy()[0].decode()


SAMPLERS = ("greedy", "beam")


def sampler_of(name):
    return keras_hub.samplers.GreedySampler() if name == "greedy" else zoo.decoding.BeamSearch(3, 0.6)


@pytest.mark.parametrize("name", SAMPLERS)
def test_one_member_writes_its_best_word(name):
    assert caption([member({"a": 0.6, "b": 0.4})], sampler_of(name)) == "a"
    assert caption([member({"a": 0.3, "b": 0.7})], sampler_of(name)) == "b"


@pytest.mark.parametrize("name", SAMPLERS)
def test_an_ensemble_takes_the_mean_of_log_probabilities(name):
    first = member({"a": 0.7, "b": 0.2, "c": 0.1})
    second = member({"a": 0.05, "b": 0.4, "c": 0.55})
    assert caption([first], sampler_of(name)) == "a" and caption([second], sampler_of(name)) == "c"
    # Products (means of logs): a 0.035, b 0.08, c 0.055, so b, neither member's favourite; the mean of
    # the probabilities would pick a (0.375 against 0.3 and 0.325).
    assert caption([first, second], sampler_of(name)) == "b"
    assert caption([second, first], sampler_of(name)) == "b"  # the order of members does not matter
    assert caption([first, first], sampler_of(name)) == "a"  # two copies of a member caption as it does


def test_each_encoder_needs_its_decoder():
    encoder, decoder = member({"a": 1.0})
    with pytest.raises(ValueError, match="one decoder per encoder"):
        Captioner([encoder, encoder], [decoder], WORDS, (4, 4), 4, zoo.decoding.BeamSearch(2, 0.6))


def png(pixels: np.ndarray) -> bytes:
    return tf.io.encode_png(np.round(pixels * 255).astype(np.uint8)).numpy()


def test_an_empty_string_gets_an_empty_caption_and_an_empty_batch_none():
    encoder, decoder = member({"a": 0.6, "b": 0.4})
    captioner = Captioner([encoder], [decoder], WORDS, (4, 4), 4, keras_hub.samplers.GreedySampler())
    captions = captioner.caption_bytes([png(np.zeros((4, 4, 3))), b""])
    assert captions.numpy().tolist() == [b"a", b""]
    for empty in (
        captioner.caption_bytes(tf.zeros([0], tf.string)),
        captioner.caption_images(tf.zeros((0, 4, 4, 3))),
    ):
        assert empty.shape == (0,) and empty.dtype == tf.string


def test_the_export_is_verified_in_a_fresh_process_on_every_edge_case(tmp_path, monkeypatch):
    run_cases = zoo.export.run_saved_model_in_subprocess
    seen = {}

    def spy(path, cases, endpoints=None):
        seen.update(endpoints=dict(endpoints or {}), cases=dict(cases))
        return run_cases(path, cases, endpoints)

    monkeypatch.setattr(zoo.export, "run_saved_model_in_subprocess", spy)
    encoders, decoders = zip(member({"a": 0.6, "b": 0.4}), member({"a": 0.3, "c": 0.7}))
    greedy = Captioner(list(encoders), list(decoders), WORDS, (4, 4), 4, keras_hub.samplers.GreedySampler())
    beam = Captioner(list(encoders), list(decoders), WORDS, (4, 4), 4, zoo.decoding.BeamSearch(2, 0.6))
    images = np.random.default_rng(0).uniform(size=(3, 4, 4, 3)).astype("float32")
    files = [png(image) for image in images]
    metrics = export_captioner(greedy, tmp_path / "saved_model", images, files, beam=beam)
    assert metrics == {"savedmodel_differing_captions": 0}
    edges = {"files_batch_of_one", "one_pixel", "large_image", "empty_file", "files_empty_batch",
             "images_batch_of_one", "images_empty_batch"}  # fmt: skip
    assert set(seen["cases"]) >= edges | {f"beam: {name}" for name in edges}
    assert (
        seen["endpoints"]["images_empty_batch"] == "serve_images"
        and seen["endpoints"]["empty_file"] == "serve"
    )
    assert seen["endpoints"]["beam: images_empty_batch"] == "beam_images"
    assert seen["endpoints"]["beam: empty_file"] == "beam"
    model = tf.saved_model.load(str(tmp_path / "saved_model" / "1"))
    assert model.serve(tf.constant([b""])).numpy().tolist() == [b""]
    assert model.serve_images(tf.zeros((0, 4, 4, 3))).shape == (0,)
    assert model.beam(tf.constant(files)).numpy().tolist() == beam.caption_bytes(files).numpy().tolist()
    assert (
        model.beam_images(images).numpy().tolist()
        == [b"a"] * 3
        == beam.caption_images(images).numpy().tolist()
    )


def test_the_tflite_file_writes_the_greedy_ids_of_one_image(tmp_path):
    encoders, decoders = zip(member({"a": 0.6, "b": 0.4}), member({"a": 0.3, "c": 0.7}))
    greedy = Captioner(list(encoders), list(decoders), WORDS, (4, 4), 4, keras_hub.samplers.GreedySampler())
    images = np.random.default_rng(0).uniform(size=(3, 4, 4, 3)).astype("float32")
    checked = export_captioner_tflite(greedy, tmp_path / "model.tflite", images)
    assert checked == {"test images": 3, "black": 1, "white": 1}
    tensors = zoo.export.tflite_tensors(tmp_path / "model.tflite")
    assert [(t["name"], t["shape"]) for t in tensors["inputs"]] == [("image", [1, 4, 4, 3])]
    assert [(t["name"], t["shape"]) for t in tensors["outputs"]] == [("word_ids", [1, 4])]
    ids = zoo.export.run_tflite(tmp_path / "model.tflite", images)  # the ensemble's "a", then </s>
    np.testing.assert_array_equal(ids, [[WORDS.index("a"), WORDS.index("</s>"), 0, 0]] * 3)
