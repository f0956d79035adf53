import doctest

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
import zoo.export
import zoo.layers
from tests.layers.layer_test import run_layer_test
from zoo.layers.audio import LogMelSpectrogram, SpecAugment

# (sample rate, mel bins): FSDD's 8 kHz and LJ Speech's 22.05 kHz.
RATES = [(8000, 40), (22050, 80)]


def speech_like(samples: int, sample_rate: int, seed: int) -> np.ndarray:
    """Three tones that glide in frequency and loudness, over noise at -30 dBFS. The noise keeps every
    mel bin within ~50 dB of its frame's loudest: float32 FFT round-off is relative to the loudest bin,
    so a bin 70 dB down (the quietest filters of a 22.05 kHz frame over -40 dBFS noise) is off by ~1e-4
    in the log, which says nothing about the layer."""
    rng = np.random.default_rng(seed)
    time = np.arange(samples) / sample_rate
    wave = 0.03 * rng.normal(size=samples)
    for frequency, amplitude in zip(rng.uniform(150, 0.4 * sample_rate, 3), [0.3, 0.2, 0.1]):
        envelope = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(1, 4) * time)
        wave += amplitude * envelope * np.sin(2 * np.pi * frequency * time * (1 + 0.2 * time))
    return wave.astype("float32")


# ---------------------------------------------------------------------------------------------------
# Numbers against NumPy
# ---------------------------------------------------------------------------------------------------


def numpy_mel_matrix(num_mel_bins, fft_length, sample_rate, lower_hertz, upper_hertz) -> np.ndarray:
    """HTK-mel triangles of height 1 over the rfft bins, written from the formula (not from tf.signal)."""

    def hertz_to_mel(hertz):
        return 1127.0 * np.log1p(np.asarray(hertz, dtype=np.float64) / 700.0)

    bin_mels = hertz_to_mel(np.linspace(0, sample_rate / 2, fft_length // 2 + 1))[:, None]
    edges = np.linspace(hertz_to_mel(lower_hertz), hertz_to_mel(upper_hertz), num_mel_bins + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bin_mels - lower) / (center - lower)
    falling = (upper - bin_mels) / (upper - center)
    return np.maximum(0.0, np.minimum(rising, falling))


def numpy_log_mel(wave: np.ndarray, layer: LogMelSpectrogram, normalize: bool) -> np.ndarray:
    """Framing, periodic Hann window, rfft, power, mel, log(max(x, floor)), per-bin standardisation,
    in float64."""
    length, step = layer.frame_length, layer.frame_step
    frames = max(0, 1 + (len(wave) - length) // step)
    index = np.arange(length)[None, :] + step * np.arange(frames)[:, None]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(length) / length)
    power = np.abs(np.fft.rfft(wave.astype(np.float64)[index] * window, n=layer.fft_size)) ** 2
    mel_matrix = numpy_mel_matrix(
        layer.num_mel_bins, layer.fft_size, layer.sample_rate, layer.lower_edge_hertz, layer.sample_rate / 2
    )
    features = np.log(np.maximum(power @ mel_matrix, layer.log_floor))
    if normalize:
        features = (features - features.mean(axis=0)) / np.sqrt(features.var(axis=0) + 1e-6)
    return features


@pytest.mark.parametrize("sample_rate, num_mel_bins", RATES)
def test_mel_matrix_equals_the_htk_formula(sample_rate, num_mel_bins):
    layer = LogMelSpectrogram(sample_rate, num_mel_bins=num_mel_bins)
    expected = numpy_mel_matrix(num_mel_bins, layer.fft_size, sample_rate, 20.0, sample_rate / 2)
    assert layer.mel_matrix.shape == (layer.fft_size // 2 + 1, num_mel_bins)
    # TensorFlow builds the matrix in float32: mel values near 3000 carry about 2e-4 of round-off.
    np.testing.assert_allclose(layer.mel_matrix, expected, atol=5e-5)


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("sample_rate, num_mel_bins", RATES)
def test_log_mel_equals_numpy_reference(sample_rate, num_mel_bins, normalize):
    layer = LogMelSpectrogram(sample_rate, num_mel_bins=num_mel_bins, normalize=normalize)
    assert (layer.frame_length, layer.frame_step, layer.fft_size) == {
        8000: (200, 80, 256),
        22050: (551, 221, 1024),
    }[sample_rate]
    waves = np.stack([speech_like(sample_rate, sample_rate, seed) for seed in (0, 1)])
    features = keras.ops.convert_to_numpy(layer(waves))
    assert features.shape == (2, layer.num_frames(sample_rate), num_mel_bins)
    for row, wave in enumerate(waves):
        np.testing.assert_allclose(features[row], numpy_log_mel(wave, layer, normalize), atol=1e-4, rtol=0)


# ---------------------------------------------------------------------------------------------------
# Padding, lengths and frame counts
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("padding", ["zeros", "noise"])
def test_padding_changes_neither_the_valid_frames_nor_the_normalisation(padding):
    layer = LogMelSpectrogram(8000, num_mel_bins=40)
    lengths = np.array([5000, 8000, 4321, 150, 0])  # 150 < one frame: no valid frame
    rng = np.random.default_rng(5)
    batch = rng.normal(size=(len(lengths), 8000)).astype("float32") if padding == "noise" else None
    batch = np.zeros((len(lengths), 8000), "float32") if batch is None else batch
    utterances = [speech_like(int(n), 8000, seed) for seed, n in enumerate(lengths)]
    for row, utterance in enumerate(utterances):
        batch[row, : len(utterance)] = utterance

    features = layer([batch, lengths])
    mask = keras.ops.convert_to_numpy(features._keras_mask)
    features = keras.ops.convert_to_numpy(features)
    assert features.shape == (5, 98, 40) and np.isfinite(features).all()
    np.testing.assert_array_equal(mask.sum(axis=1), layer.num_frames(lengths))
    for row, utterance in enumerate(utterances):
        frames = layer.num_frames(len(utterance))
        assert mask[row, :frames].all() and not mask[row, frames:].any()
        alone = keras.ops.convert_to_numpy(layer(utterance[None]))[0]
        assert alone.shape == (frames, 40)
        np.testing.assert_allclose(features[row, :frames], alone, atol=1e-5, err_msg=f"row {row}")
        assert (features[row, frames:] == 0).all()
        if frames:  # normalised over the valid frames only
            np.testing.assert_allclose(features[row, :frames].mean(axis=0), 0, atol=1e-4)
            np.testing.assert_allclose(features[row, :frames].std(axis=0), 1, atol=1e-3)


def test_frame_count_helper_matches_the_layer():
    layer = LogMelSpectrogram(8000)  # 200-sample frames every 80 samples
    counts = {0: 0, 1: 0, 199: 0, 200: 1, 279: 1, 280: 2, 7959: 97, 7960: 98, 8000: 98}
    for samples, expected in counts.items():
        assert layer.num_frames(samples) == expected
        assert LogMelSpectrogram.frame_count(samples, 200, 80) == expected
        assert layer(np.zeros((1, samples), "float32")).shape == (1, expected, 80)
        assert layer.compute_output_shape((None, samples)) == (None, expected, 80)
    lengths = np.array(list(counts))
    np.testing.assert_array_equal(layer.num_frames(lengths), list(counts.values()))
    # In a tf.data map (tensors) and on symbolic inputs.
    dataset = tf.data.Dataset.from_tensor_slices(lengths).map(layer.num_frames)
    assert [int(x) for x in dataset] == list(counts.values())
    assert layer.compute_output_shape([(None, None), (None,)]) == (None, None, 80)


def test_symbolic_call_propagates_the_frame_mask_to_masked_layers():
    waveforms, lengths = keras.Input((None,)), keras.Input((), dtype="int32")
    features = LogMelSpectrogram(8000, num_mel_bins=16)([waveforms, lengths])
    augmented = SpecAugment(frequency_mask_width=2, time_mask_width=3, seed=0)(features)
    assert augmented.shape == (None, None, 16) and augmented._keras_mask.shape == (None, None)
    pooled = zoo.layers.MaskedGlobalAveragePooling1D()(augmented)
    model = keras.Model([waveforms, lengths], pooled)
    batch = np.stack([speech_like(4000, 8000, 0), speech_like(4000, 8000, 1)])
    batch[1, 2000:] = 0
    alone = model([batch[1:, :2000], np.array([2000])])
    padded = model([batch, np.array([4000, 2000])])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(padded)[1:], alone, atol=1e-5)
    # No lengths: every frame is real and no mask is attached.
    assert LogMelSpectrogram(8000).compute_mask(waveforms) is None


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="sample_rate must be positive"):
        LogMelSpectrogram(0)
    with pytest.raises(ValueError, match="shorter than a frame"):
        LogMelSpectrogram(8000, fft_length=128)
    with pytest.raises(ValueError, match="upper_edge_hertz <= sample_rate / 2"):
        LogMelSpectrogram(8000, upper_edge_hertz=5000)
    with pytest.raises(ValueError, match="mel filters fall between two FFT bins"):
        LogMelSpectrogram(8000, num_mel_bins=128)
    with pytest.raises(ValueError, match="log_floor must be positive"):
        LogMelSpectrogram(8000, log_floor=0)
    with pytest.raises(ValueError, match=r"waveforms or \[waveforms, lengths\]"):
        LogMelSpectrogram(8000)([np.zeros((1, 400), "float32")] * 3)
    with pytest.raises(ValueError, match="time_mask_fraction"):
        SpecAugment(time_mask_fraction=0)
    with pytest.raises(ValueError, match="time_masks must be >= 0"):
        SpecAugment(time_masks=-1)


# ---------------------------------------------------------------------------------------------------
# SpecAugment
# ---------------------------------------------------------------------------------------------------


def runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, width) of each run of True."""
    edges = np.diff(np.concatenate([[0], flags.astype(int), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return list(zip(starts.tolist(), (ends - starts).tolist()))


def test_spec_augment_masks_stay_within_their_bounds():
    frames, bins, batch = 60, 20, 64
    lengths = np.random.default_rng(6).integers(0, frames + 1, batch)
    lengths[:2] = [frames, 0]
    mask = np.arange(frames)[None, :] < lengths[:, None]
    features = np.repeat(mask[..., None], bins, axis=2).astype("float32")
    augment = SpecAugment(
        frequency_masks=2,
        frequency_mask_width=4,
        time_masks=3,
        time_mask_width=8,
        time_mask_fraction=0.2,
        seed=7,
    )
    out = keras.ops.convert_to_numpy(augment(features, mask=mask, training=True))
    assert (out[~mask] == 0).all(), "padded frames are left alone"
    for row, length in enumerate(lengths):
        dropped = out[row, :length] == 0  # (length, bins)
        if not length:
            continue
        bands, moments = dropped.all(axis=0), dropped.all(axis=1)
        # Every masked cell is in a masked band or a masked moment: masks are whole rows and columns.
        assert (dropped == (bands[None, :] | moments[:, None])).all(), f"row {row}"
        band_runs, moment_runs = runs(bands), runs(moments)
        if moments.all():  # a time mask covering the utterance also "covers" every band
            continue
        assert len(band_runs) <= 2 and bands.sum() <= 2 * 4, (row, band_runs)
        cap = min(8, int(0.2 * length))
        assert len(moment_runs) <= 3 and moments.sum() <= 3 * cap, (row, length, moment_runs)
    assert (out != features).any()
    assert 0 < (out[mask] == 0).mean() < 0.5


def test_spec_augment_is_the_identity_at_inference_and_follows_its_seed():
    features = np.random.default_rng(8).normal(size=(4, 50, 12)).astype("float32")
    augment = SpecAugment(frequency_mask_width=3, time_mask_width=6, seed=3)
    for output in (augment(features), augment(features, training=False)):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(output), features)

    first = keras.ops.convert_to_numpy(augment(features, training=True))
    second = keras.ops.convert_to_numpy(augment(features, training=True))
    assert (first != features).any() and (first != second).any(), "new masks on every call"
    again = SpecAugment(frequency_mask_width=3, time_mask_width=6, seed=3)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(again(features, training=True)), first)
    clone = SpecAugment.from_config(augment.get_config())
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(clone(features, training=True)), first)
    other = SpecAugment(frequency_mask_width=3, time_mask_width=6, seed=4)
    assert (keras.ops.convert_to_numpy(other(features, training=True)) != first).any()
    # Traced with the batch and the number of frames unknown, as inside `fit` on padded batches.
    traced = tf.function(
        lambda x: augment(x, training=True), input_signature=[tf.TensorSpec([None, None, 12], tf.float32)]
    )
    assert traced(features[:2, :17]).shape == (2, 17, 12)


# ---------------------------------------------------------------------------------------------------
# Saving and export
# ---------------------------------------------------------------------------------------------------


def test_layer_contract(tmp_path):
    inputs = np.random.default_rng(9).normal(scale=0.1, size=(2, 400)).astype("float32")
    run_layer_test(
        LogMelSpectrogram, {"sample_rate": 8000, "num_mel_bins": 8}, inputs, (2, 3, 8), tmp_path=tmp_path
    )
    features = np.random.default_rng(10).normal(size=(2, 4, 6)).astype("float32")
    init = {"frequency_mask_width": 2, "time_mask_width": 2, "seed": 0}
    run_layer_test(SpecAugment, init, features, (2, 4, 6), tmp_path=tmp_path)


def speech_model(sample_rate: int = 8000, batch_size: int | None = None, samples: int | None = None):
    keras.utils.set_random_seed(11)
    waveforms = keras.Input((samples,), batch_size=batch_size, name="waveforms")
    lengths = keras.Input((), batch_size=batch_size, dtype="int32", name="lengths")
    features = LogMelSpectrogram(sample_rate, num_mel_bins=24)([waveforms, lengths])
    features = SpecAugment(frequency_mask_width=3, time_mask_width=5, seed=1)(features)
    hidden = keras.layers.GRU(8, return_sequences=True)(features)
    return keras.Model([waveforms, lengths], keras.layers.Dense(5)(hidden))


def padded_batch(lengths, samples: int, sample_rate: int = 8000) -> np.ndarray:
    batch = np.zeros((len(lengths), samples), "float32")
    for row, length in enumerate(lengths):
        batch[row, :length] = speech_like(length, sample_rate, seed=20 + row)
    return batch


def test_keras_round_trip_of_a_model_with_both_layers(tmp_path):
    model = speech_model()
    lengths = np.array([6000, 3000, 4500])
    batch = padded_batch(lengths, 6000)
    model.compile(optimizer="adam", loss="mse")
    assert np.isfinite(model.train_on_batch([batch, lengths], np.zeros((3, 73, 5), "float32")))
    model.save(tmp_path / "speech.keras")
    restored = keras.saving.load_model(tmp_path / "speech.keras")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(restored([batch, lengths])),
        keras.ops.convert_to_numpy(model([batch, lengths])),
        atol=1e-6,
    )


def test_saved_model_takes_waveforms_of_any_batch_and_length(tmp_path):
    model = speech_model()
    signature = [tf.TensorSpec([None, None], tf.float32), tf.TensorSpec([None], tf.int32)]
    path = zoo.export.export_saved_model(
        lambda waveforms, lengths: model([waveforms, lengths]), tmp_path / "saved_model", signature, [model]
    )
    loaded = tf.saved_model.load(str(path))
    for lengths, samples in [([4000, 2500], 4000), ([1000, 800, 300], 1200), ([7000], 7000)]:
        batch, lengths = padded_batch(lengths, samples), np.array(lengths, "int32")
        expected = keras.ops.convert_to_numpy(model([batch, lengths]))
        np.testing.assert_allclose(loaded.serve(batch, lengths).numpy(), expected, atol=1e-5)


def assert_builtin_ops_only(path) -> set[str]:
    from tensorflow.lite.tools import flatbuffer_utils

    custom_codes = [code.customCode for code in flatbuffer_utils.read_model(str(path)).operatorCodes]
    assert not any(custom_codes), custom_codes
    ops = zoo.export.tflite_ops(path)
    assert not [op for op in ops if op.startswith("Flex") or op == "CUSTOM"], ops
    assert "RFFT2D" in ops, ops
    return ops


@pytest.mark.parametrize("sample_rate, num_mel_bins", RATES)
def test_tflite_with_builtin_ops_only_matches_keras(sample_rate, num_mel_bins, tmp_path):
    samples = sample_rate  # one second, fixed
    waveforms = keras.Input((samples,), batch_size=1)
    model = keras.Model(waveforms, LogMelSpectrogram(sample_rate, num_mel_bins=num_mel_bins)(waveforms))
    path = zoo.export.export_tflite(
        model, tmp_path / "log_mel.tflite", [tf.TensorSpec([1, samples], tf.float32)]
    )
    assert_builtin_ops_only(path)
    batch = np.stack([speech_like(samples, sample_rate, seed) for seed in (30, 31)])
    expected = keras.ops.convert_to_numpy(model(batch))
    assert zoo.export.max_abs_diff(expected, zoo.export.run_tflite(path, batch), str(path), 1e-4) < 1e-4


def test_tflite_with_lengths_matches_keras(tmp_path):
    samples = 8000
    waveforms = keras.Input((samples,), batch_size=1)
    lengths = keras.Input((), batch_size=1, dtype="int32")
    model = keras.Model([waveforms, lengths], LogMelSpectrogram(8000, num_mel_bins=40)([waveforms, lengths]))
    # zoo.export.export_tflite's static-shape check takes a flat signature; a two-input model needs the
    # nested one (one list argument), so this calls the same Keras export with the same op set.
    signature = [[tf.TensorSpec([1, samples], tf.float32), tf.TensorSpec([1], tf.int32)]]
    target_spec = {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS]}
    path = tmp_path / "log_mel.tflite"
    model.export(
        str(path), format="litert", input_signature=signature, target_spec=target_spec, verbose=False
    )
    assert_builtin_ops_only(path)

    interpreter = zoo.export.tflite_interpreter(path)
    waveform_input, length_input = sorted(interpreter.get_input_details(), key=lambda d: d["index"])
    assert tuple(waveform_input["shape"]) == (1, samples) and length_input["dtype"] == np.int32
    lengths = np.array([8000, 5000, 150], "int32")
    batch = padded_batch(lengths, samples)
    expected = keras.ops.convert_to_numpy(model([batch, lengths]))
    outputs = []
    for row in range(len(lengths)):
        interpreter.set_tensor(waveform_input["index"], batch[row : row + 1])
        interpreter.set_tensor(length_input["index"], lengths[row : row + 1])
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]).copy())
    assert zoo.export.max_abs_diff(expected, np.concatenate(outputs), str(path), 1e-4) < 1e-4


@pytest.mark.parametrize("layer_cls", [LogMelSpectrogram, SpecAugment])
def test_docstring_example_runs(layer_cls):
    globs = {"keras": keras, "zoo": zoo}
    name = layer_cls.__name__
    (test,) = [t for t in doctest.DocTestFinder().find(layer_cls, name, globs=globs) if t.name == name]
    result = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS).run(test)
    assert result.failed == 0
