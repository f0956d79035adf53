"""zoo.speech: a CTC speech model's TFLite graph gives, padded, the frames and transcripts of each clip
alone; its input is never cut; greedy decoding in NumPy is the graph's."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo.export
import zoo.layers
import zoo.speech
from zoo.errors import ExportMismatchError

ALPHABET = ["a", "b", "c"]
MAX_SAMPLES = 1600  # 0.2 s at 8 kHz


def tiny_ctc_model(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    waveforms = keras.Input((None,), name="waveforms")
    lengths = keras.Input((), dtype="int32", name="lengths")
    x = zoo.layers.LogMelSpectrogram(8000, num_mel_bins=8, name="log_mel")([waveforms, lengths])
    x = zoo.layers.ConvSubsampling(4, kernel_size=3)(x)
    x = keras.layers.Bidirectional(keras.layers.GRU(4, return_sequences=True))(x)
    return keras.Model([waveforms, lengths], zoo.layers.CTCLogits(len(ALPHABET) + 1)(x))


def clips(count: int = 6) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    lengths = [MAX_SAMPLES, 1, 0, 199, 200, *rng.integers(201, MAX_SAMPLES, count).tolist()]
    return {f"clip {n}": rng.uniform(-0.5, 0.5, n).astype("float32") for n in lengths}


def test_greedy_decoding_in_numpy_is_the_graphs():
    rng = np.random.default_rng(1)
    # Few classes and frames drawn from a small pool: repeats, blanks between repeats, all-blank rows.
    logits = rng.normal(size=(32, 12, len(ALPHABET) + 1)).astype("float32")
    logits[::4, :, 0] += 10
    expected = zoo.layers.CTCTranscriber(ALPHABET)(logits).numpy()
    assert [zoo.speech.greedy_decode(row, ALPHABET) for row in logits] == [text.decode() for text in expected]
    assert zoo.speech.greedy_decode(np.zeros((0, 4)), ALPHABET) == ""


def test_tflite_input_pads_a_clip_and_refuses_one_too_long():
    inputs = zoo.speech.tflite_input(np.ones(3), 5)
    np.testing.assert_array_equal(inputs["waveform"], [[1, 1, 1, 0, 0]])
    assert inputs["length"].tolist() == [3] and inputs["length"].dtype == np.int32
    assert zoo.speech.tflite_input(np.ones(5), 5)["length"].tolist() == [5]
    with pytest.raises(ValueError, match="a clip of 1,601 samples is longer than the 1,600 samples"):
        zoo.speech.tflite_batch([np.ones(3), np.ones(1601)], 1600)


def test_output_frames_counts_the_frames_of_each_clip_alone():
    model = tiny_ctc_model()
    for length in (200, 279, 280, 360, 1000, 1001):
        alone = model([np.zeros((1, length), "float32"), np.array([length])])
        assert zoo.speech.output_frames(model, length) == alone.shape[1], length
    np.testing.assert_array_equal(
        zoo.speech.output_frames(model, np.array([0, 199, 200, 1600])), [0, 0, 1, 5]
    )


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("speech_export")
    model = tiny_ctc_model()
    transcribe = zoo.speech.transcriber(model, ALPHABET)
    zoo.export.export_saved_model(
        lambda waveforms, lengths: transcribe([waveforms, lengths]),
        folder / "saved_model",
        [tf.TensorSpec([None, None], tf.float32), tf.TensorSpec([None], tf.int32)],
        track=[transcribe],
    )
    signature = [
        tf.TensorSpec([1, MAX_SAMPLES], tf.float32, name="waveform"),
        tf.TensorSpec([1], tf.int32, name="length"),
    ]
    zoo.export.export_tflite(zoo.speech.device_model(model, MAX_SAMPLES), folder / "model.tflite", signature)
    return folder, model


def test_the_tflite_model_gives_each_clip_its_frames_alone_and_the_saved_models_transcript(exported):
    folder, model = exported
    ops = zoo.export.tflite_ops(folder / "model.tflite")
    assert not any("Flex" in op or "CUSTOM" in op for op in ops), ops
    figures = zoo.speech.verify_tflite(
        folder / "model.tflite", folder / "saved_model", model, clips(), ALPHABET
    )
    assert figures["tflite_clips_checked"] == 11 and figures["tflite_clips_max_abs_diff"] <= 1e-4


def test_a_tflite_model_that_differs_from_the_keras_model_is_named_by_clip(exported):
    folder, _ = exported
    other = tiny_ctc_model(seed=1)  # other weights: other log-probabilities
    with pytest.raises(ExportMismatchError, match=r"model.tflite \(clip clip 1600, 1,600 samples\)"):
        zoo.speech.verify_tflite(folder / "model.tflite", folder / "saved_model", other, clips(), ALPHABET)
