"""zoo.layers.ctc: ConvSubsampling's shapes, mask and padding invariance; CTCLogits' loss over the padded
length against keras.ops.ctc_loss over each utterance's own length; CTCTranscriber's greedy and beam search
strings against constructed logits and brute-force enumeration of every CTC path."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.layers.layer_test import run_layer_test
from zoo.layers import ConvSubsampling, CTCLogits, CTCTranscriber


def as_numpy(x) -> np.ndarray:
    return keras.ops.convert_to_numpy(x)


def subsampled(length, strides: int, num_layers: int = 2):
    """Frames left after `num_layers` blocks, each keeping ceil(length / strides) of them."""
    for _ in range(num_layers):
        length = -(length // -strides)
    return length


def length_mask(lengths, frames: int) -> np.ndarray:
    return np.arange(frames)[None, :] < np.asarray(lengths)[:, None]


def randomize_weights(layer: keras.layers.Layer, seed: int) -> None:
    """Random kernels, biases and batch-normalisation statistics, so no weight is an identity."""
    rng = np.random.default_rng(seed)
    for weight in layer.weights:
        values = rng.normal(size=weight.shape)
        if "variance" in weight.path:
            values = np.abs(values) + 0.5
        weight.assign(values.astype("float32"))


# ---------------------------------------------------------------------------------------------------------
# ConvSubsampling


def subsampling(seed: int = 0, features: int = 3, **kwargs) -> ConvSubsampling:
    layer = ConvSubsampling(**{"filters": 4, "kernel_size": 5, "strides": 2, "num_layers": 2, **kwargs})
    layer.build((None, None, features))
    randomize_weights(layer, seed)
    return layer


@pytest.mark.parametrize(
    "frames, strides, num_layers", [(1, 2, 2), (8, 2, 2), (9, 2, 2), (13, 2, 3), (10, 3, 2), (28, 3, 3)]
)
def test_subsampling_output_shape(frames, strides, num_layers):
    layer = subsampling(strides=strides, num_layers=num_layers, kernel_size=3)
    expected = int(np.ceil(frames / strides**num_layers))
    output = layer(np.zeros((2, frames, 3), "float32"))
    assert tuple(output.shape) == (2, expected, 4)
    assert layer.compute_output_shape((2, frames, 3)) == (2, expected, 4)
    assert layer.compute_output_shape((None, None, 3)) == (None, None, 4)
    assert tuple(layer(keras.Input((None, 3))).shape) == (None, None, 4)


@pytest.mark.parametrize("strides, num_layers", [(2, 2), (2, 3), (3, 2)])
def test_subsampling_output_mask_equals_mask_of_subsampled_lengths(strides, num_layers):
    lengths = np.array([13, 12, 9, 7, 4, 1, 0])
    frames = lengths.max()
    expected = length_mask(subsampled(lengths, strides, num_layers), subsampled(frames, strides, num_layers))

    layer = subsampling(strides=strides, num_layers=num_layers)
    inputs = np.random.default_rng(1).normal(size=(len(lengths), frames, 3)).astype("float32")
    mask = length_mask(lengths, frames)
    np.testing.assert_array_equal(as_numpy(layer.compute_mask(inputs, mask)), expected)
    # The mask Keras carries from a Masking layer through the subsampling to the next layer.
    masked = keras.layers.Masking()(np.where(mask[..., None], inputs, 0.0))
    output = layer(masked)
    np.testing.assert_array_equal(as_numpy(output._keras_mask), expected)
    assert layer.compute_mask(inputs, None) is None


@pytest.mark.parametrize("training", [False, True])
def test_subsampling_padding_values_do_not_change_valid_frames(training):
    lengths = [16, 11, 6, 3, 1]
    frames = max(lengths)
    rng = np.random.default_rng(2)
    mask = length_mask(lengths, frames)
    zero_padded = np.where(mask[..., None], rng.normal(size=(len(lengths), frames, 3)), 0.0).astype("float32")
    noise = rng.normal(scale=1e3, size=zero_padded.shape).astype("float32")
    noise_padded = np.where(mask[..., None], zero_padded, noise)
    layer = subsampling(seed=3)
    clean = layer(zero_padded, mask=mask, training=training)
    noisy = layer(noise_padded, mask=mask, training=training)
    valid = as_numpy(layer.compute_mask(zero_padded, mask))
    assert valid.sum() == sum(subsampled(n, 2) for n in lengths)
    np.testing.assert_allclose(as_numpy(noisy)[valid], as_numpy(clean)[valid], atol=1e-4)
    # The noise is large enough to show up if it leaked: without the mask the outputs differ.
    unmasked = as_numpy(layer(noise_padded, training=training))
    assert np.abs(unmasked[valid] - as_numpy(clean)[valid]).max() > 1.0


@pytest.mark.parametrize("kernel_size, strides", [(5, 2), (4, 2), (3, 3)])
def test_subsampling_each_utterance_of_a_padded_batch_equals_it_alone(kernel_size, strides):
    # Lengths of both parities at the input of every block: TF's "same" padding puts one more zero on the
    # left when a length is odd, which would make an utterance's features depend on its batch's longest one.
    lengths = [16, 13, 11, 8, 7, 6, 3, 1]
    frames = max(lengths)
    rng = np.random.default_rng(4)
    inputs = rng.normal(size=(len(lengths), frames, 3)).astype("float32")
    mask = length_mask(lengths, frames)
    inputs = np.where(mask[..., None], inputs, rng.normal(scale=1e3, size=inputs.shape)).astype("float32")
    layer = subsampling(seed=5, kernel_size=kernel_size, strides=strides)
    batch = as_numpy(layer(inputs, mask=mask, training=False))
    for row, length in enumerate(lengths):
        alone = as_numpy(layer(inputs[row : row + 1, :length], training=False))
        assert alone.shape[1] == subsampled(length, strides)
        np.testing.assert_allclose(batch[row, : alone.shape[1]], alone[0], atol=1e-4, err_msg=f"row {row}")


def test_subsampling_layer_contract(tmp_path):
    inputs = np.random.default_rng(6).normal(size=(2, 8, 6)).astype("float32")
    run_layer_test(
        ConvSubsampling,
        {"filters": 5, "kernel_size": 3, "strides": 2, "num_layers": 2},
        inputs,
        expected_output_shape=(2, 2, 5),
        mask=length_mask([8, 5], 8),
        tmp_path=tmp_path,
    )


@pytest.mark.parametrize("argument", ["filters", "kernel_size", "strides", "num_layers"])
@pytest.mark.parametrize("value", [0, -1])
def test_subsampling_rejects_bad_arguments(argument, value):
    with pytest.raises(ValueError, match="must all be at least 1"):
        ConvSubsampling(**{"filters": 4, argument: value})


# ---------------------------------------------------------------------------------------------------------
# CTCLogits

NUM_CLASSES = 5  # the blank and 4 labels
FRAME_LENGTHS = [9, 6, 3, 1, 7]
LABELS = [[1, 2, 3, 4], [2, 2, 1], [3], [], [4, 1, 4]]  # [2, 2, ...] needs a blank between: 4 frames


def ctc_batch(seed: int, units: int = 4):
    """Padded inputs (noise in the padding), the mask, and labels padded with 0 as keras.losses.CTC reads."""
    rng = np.random.default_rng(seed)
    frames = max(FRAME_LENGTHS)
    mask = length_mask(FRAME_LENGTHS, frames)
    inputs = rng.normal(size=(len(FRAME_LENGTHS), frames, units))
    inputs = np.where(mask[..., None], inputs, rng.normal(scale=100.0, size=inputs.shape)).astype("float32")
    labels = np.zeros((len(LABELS), max(map(len, LABELS))), "int32")
    for row, label in enumerate(LABELS):
        labels[row, : len(label)] = label
    return inputs, mask, labels


def ctc_logits(seed: int, units: int = 4) -> CTCLogits:
    layer = CTCLogits(NUM_CLASSES)
    layer.build((None, None, units))
    randomize_weights(layer, seed)
    return layer


def reference_losses(dense_logits: np.ndarray) -> np.ndarray:
    """keras.ops.ctc_loss of each utterance alone: its own frames and labels, no padding at all."""
    losses = []
    for row, (frames, label) in enumerate(zip(FRAME_LENGTHS, LABELS)):
        loss = keras.ops.ctc_loss(
            np.array([label or [0]], "int32"),
            dense_logits[row : row + 1, :frames],
            np.array([len(label)], "int32"),
            np.array([frames], "int32"),
        )
        losses.append(float(as_numpy(loss)[0]))
    return np.array(losses)


@pytest.mark.parametrize("seed", [0, 1])
def test_ctc_loss_over_padded_batch_equals_loss_of_each_utterance(seed):
    inputs, mask, labels = ctc_batch(seed)
    layer = ctc_logits(seed + 10)
    expected = reference_losses(as_numpy(layer.dense(inputs)))
    assert np.isfinite(expected).all()
    loss = keras.losses.CTC(reduction=None)
    np.testing.assert_allclose(
        as_numpy(loss(labels, layer(inputs, mask=mask))), expected, rtol=1e-4, atol=1e-4
    )
    # The layer is what makes them equal: on the dense logits the padded rows score the padding too.
    plain = as_numpy(loss(labels, layer.dense(inputs)))
    padded_rows = np.array(FRAME_LENGTHS) < inputs.shape[1]
    assert (np.abs(plain - expected)[padded_rows] > 0.1).all()


def test_ctc_loss_gradient_does_not_reach_padded_frames():
    inputs, mask, labels = ctc_batch(2)
    layer = ctc_logits(12)
    variable = tf.Variable(inputs)
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(keras.losses.CTC(reduction=None)(labels, layer(variable, mask=mask)))
    gradient = tape.gradient(total, variable).numpy()
    assert np.isfinite(gradient).all()
    assert (gradient[~mask] == 0.0).all()
    assert (np.abs(gradient[mask]).sum(axis=-1) > 0).all()


def test_padded_frames_are_certain_blanks_and_decode_as_over_the_true_length():
    inputs, mask, _ = ctc_batch(3)
    layer = ctc_logits(13)
    logits = as_numpy(layer(inputs, mask=mask))
    dense = as_numpy(layer.dense(inputs))
    np.testing.assert_array_equal(logits[mask], dense[mask])
    log_probs = as_numpy(keras.ops.log_softmax(logits, axis=-1))
    assert (log_probs[~mask][:, 0] == 0.0).all()
    assert (log_probs[~mask][:, 1:] < -1e3).all()
    alphabet = list("abcd")
    for decoder in (CTCTranscriber(alphabet), CTCTranscriber(alphabet, beam_width=8)):
        batch = as_numpy(decoder(logits)).tolist()
        alone = [as_numpy(decoder(dense[row : row + 1, :n]))[0] for row, n in enumerate(FRAME_LENGTHS)]
        assert batch == alone
        assert len(set(batch)) > 2  # random logits, different strings


def test_without_mask_it_is_its_dense_layer():
    inputs, mask, _ = ctc_batch(4)
    layer = ctc_logits(14)
    dense = as_numpy(layer.dense(inputs))
    np.testing.assert_array_equal(as_numpy(layer(inputs)), dense)
    np.testing.assert_array_equal(as_numpy(layer(inputs, mask=np.ones_like(mask))), dense)
    assert layer.compute_output_shape((None, None, 4)) == (None, None, NUM_CLASSES)


def test_output_carries_no_mask_so_keras_does_not_reweight_the_loss():
    inputs, mask, labels = ctc_batch(5)
    inputs = np.where(mask[..., None], inputs, 0.0).astype("float32")  # Masking reads zero frames as padding
    layer = ctc_logits(15)
    model_in = keras.Input((None, inputs.shape[-1]))
    model = keras.Model(model_in, layer(keras.layers.Masking()(model_in)))
    model.compile(loss=keras.losses.CTC())
    assert layer.compute_mask(inputs, mask) is None
    assert getattr(layer(keras.layers.Masking()(inputs)), "_keras_mask", None) is None
    expected = reference_losses(as_numpy(layer.dense(inputs))).mean()
    assert model.evaluate(inputs, labels, batch_size=len(inputs), verbose=0) == pytest.approx(
        expected, rel=1e-4
    )


def test_ctc_logits_layer_contract(tmp_path):
    inputs = np.random.default_rng(7).normal(size=(2, 4, 6)).astype("float32")
    run_layer_test(
        CTCLogits,
        {"num_classes": 5},
        inputs,
        expected_output_shape=(2, 4, 5),
        mask=length_mask([4, 2], 4),
        tmp_path=tmp_path,
    )


def test_ctc_logits_rejects_bad_arguments():
    with pytest.raises(ValueError, match="at least one label, got 1"):
        CTCLogits(1)


# ---------------------------------------------------------------------------------------------------------
# CTCTranscriber

ALPHABET = list("aehrt ")


def path_logits(*paths: str, alphabet=ALPHABET, confidence: float = 0.9) -> np.ndarray:
    """Logits of one frame per character of each path ("-" is the blank), `confidence` on that class."""
    classes = ["-", *alphabet]
    rest = (1.0 - confidence) / (len(classes) - 1)
    probs = np.full((len(paths), len(paths[0]), len(classes)), rest)
    for row, path in enumerate(paths):
        for frame, char in enumerate(path):
            probs[row, frame, classes.index(char)] = confidence
    return np.log(probs).astype("float32")


def strings(tensor) -> list[str]:
    return [text.decode("utf-8") for text in as_numpy(tensor).tolist()]


DECODERS = pytest.mark.parametrize("beam_width", [0, 8], ids=["greedy", "beam"])


@DECODERS
@pytest.mark.parametrize(
    "path, expected",
    [
        ("aa-a", "aa"),  # a blank separates a real repeat
        ("aaa", "a"),  # repeated frames merge
        ("--ta--", "ta"),  # leading and trailing blanks
        ("----", ""),
        ("a-a-a", "aaa"),
        ("tthrree-e", "three"),
        ("hh-ee -a-r", "he ar"),
    ],
)
def test_transcriber_on_a_near_certain_path(beam_width, path, expected):
    assert strings(CTCTranscriber(ALPHABET, beam_width=beam_width)(path_logits(path))) == [expected]


@DECODERS
def test_transcriber_batch_of_different_strings(beam_width):
    logits = path_logits("th-ee-", "-a----", "------", "hh-e-r")
    assert strings(CTCTranscriber(ALPHABET, beam_width=beam_width)(logits)) == ["the", "a", "", "her"]


def test_beam_search_finds_the_better_labelling_where_greedy_takes_the_best_path():
    # Two frames of p(blank) = 0.6, p(a) = 0.4: the best path "--" has 0.36, but "a" sums
    # "a-" + "-a" + "aa" = 0.24 + 0.24 + 0.16 = 0.64.
    logits = np.log(np.array([[[0.6, 0.4], [0.6, 0.4]]], "float32"))
    assert strings(CTCTranscriber(["a"])(logits)) == [""]
    assert strings(CTCTranscriber(["a"], beam_width=8)(logits)) == ["a"]


def most_probable_labelling(probs: np.ndarray, alphabet: list[str]) -> str:
    """Sum the probability of every path of the frames by the labelling it collapses to."""
    totals = {}
    for path in itertools.product(range(probs.shape[1]), repeat=probs.shape[0]):
        labelling = tuple(c for t, c in enumerate(path) if c and (t == 0 or path[t - 1] != c))
        totals[labelling] = totals.get(labelling, 0.0) + np.prod(probs[np.arange(len(path)), path])
    return "".join(alphabet[c - 1] for c in max(totals, key=totals.get))


def test_beam_search_equals_brute_force_most_probable_labelling():
    # 5 frames over blank, "a", "b": 31 labellings, so a beam of 32 holds every prefix and is exact.
    rng = np.random.default_rng(8)
    probs = rng.dirichlet(np.full(3, 0.7), size=(12, 5))
    expected = [most_probable_labelling(row, ["a", "b"]) for row in probs]
    logits = np.log(probs).astype("float32")
    assert strings(CTCTranscriber(["a", "b"], beam_width=32)(logits)) == expected
    assert strings(CTCTranscriber(["a", "b"])(logits)) != expected  # greedy is wrong on some of these


def test_beam_search_keeps_double_letters():
    # Regression: merging repeated labels in the beams (TF's merge_repeated=True) turns "three" into "thre".
    logits = path_logits("th-r-e-e", "t-hree-e", "thhreee-", confidence=0.8)
    assert strings(CTCTranscriber(ALPHABET, beam_width=8)(logits)) == ["three", "three", "thre"]


@pytest.mark.parametrize("beam_width", [0, 4])
def test_transcriber_keras_round_trip(tmp_path, beam_width):
    logits_in = keras.Input((None, len(ALPHABET) + 1))
    model = keras.Model(logits_in, CTCTranscriber(ALPHABET, beam_width=beam_width, name="decode")(logits_in))
    model.save(tmp_path / "transcriber.keras")
    restored = keras.saving.load_model(tmp_path / "transcriber.keras")
    layer = restored.get_layer("decode")
    assert (type(layer), layer.alphabet, layer.beam_width) == (CTCTranscriber, ALPHABET, beam_width)
    logits = path_logits("th-ee-", "-a--r-", "tt-r-e")
    assert strings(restored(logits)) == strings(model(logits)) == ["the", "ar", "tre"]


def test_transcriber_in_tf_function_with_unknown_batch_and_time():
    for beam_width in (0, 4):
        decoder = CTCTranscriber(ALPHABET, beam_width=beam_width)
        traced = tf.function(decoder, input_signature=[tf.TensorSpec([None, None, len(ALPHABET) + 1])])
        assert strings(traced(path_logits("th-ee-", "------"))) == ["the", ""]
        assert strings(traced(path_logits("h-e-a-r-t"))) == ["heart"]
    symbolic = decoder(keras.Input((None, len(ALPHABET) + 1)))
    assert (tuple(symbolic.shape), symbolic.dtype) == ((None,), "string")


def test_transcriber_rejects_bad_arguments():
    with pytest.raises(ValueError, match="beam_width must be 0"):
        CTCTranscriber(ALPHABET, beam_width=-1)
