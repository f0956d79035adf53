import keras
import numpy as np
import tensorflow as tf

from zoo.layers import MaskedGlobalMaxPooling1D


def test_masked_steps_never_win_the_maximum():
    inputs = np.array([[[1.0, -2.0], [-3.0, -1.0], [0.0, 0.0]]], dtype="float32")
    mask = np.array([[True, True, False]])
    pooled = MaskedGlobalMaxPooling1D()(inputs, mask=mask)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(pooled), [[1.0, -1.0]])


def test_without_mask_equals_keras_global_max_pooling():
    inputs = np.random.default_rng(1).normal(size=(3, 5, 4)).astype("float32")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(MaskedGlobalMaxPooling1D()(inputs)),
        keras.ops.convert_to_numpy(keras.layers.GlobalMaxPooling1D()(inputs)),
    )


def test_padding_does_not_change_the_result():
    # The same sequence padded to different lengths pools identically once masked.
    rng = np.random.default_rng(2)
    sequence = rng.normal(size=(1, 3, 4)).astype("float32") - 5.0  # all negative: zeros would win
    padded = np.concatenate([sequence, np.zeros((1, 4, 4), "float32")], axis=1)
    mask = np.array([[True] * 3 + [False] * 4])
    layer = MaskedGlobalMaxPooling1D()
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer(padded, mask=mask)),
        keras.ops.convert_to_numpy(layer(sequence)),
        rtol=1e-6,
    )


def test_fully_masked_row_gives_zeros_and_finite_gradients():
    inputs = np.ones((2, 3, 2), dtype="float32")
    mask = np.array([[True, False, False], [False, False, False]])
    variable = tf.Variable(inputs)
    with tf.GradientTape() as tape:
        pooled = MaskedGlobalMaxPooling1D()(variable, mask=mask)
        total = tf.reduce_sum(pooled)
    np.testing.assert_allclose(pooled.numpy(), [[1.0, 1.0], [0.0, 0.0]])
    gradient = tape.gradient(total, variable).numpy()
    assert np.all(np.isfinite(gradient))
    np.testing.assert_allclose(gradient[0, 0], [1.0, 1.0])  # only the kept step gets gradient
    np.testing.assert_allclose(gradient[0, 1:], 0.0)
    np.testing.assert_allclose(gradient[1], 0.0)


def test_mask_flows_from_embedding_through_rnn():
    token_ids = keras.Input((None,), dtype="int32")
    hidden = keras.layers.Embedding(10, 4, mask_zero=True)(token_ids)
    hidden = keras.layers.GRU(3, return_sequences=True)(hidden)
    model = keras.Model(token_ids, MaskedGlobalMaxPooling1D()(hidden))
    short = np.array([[3, 4]])
    long = np.array([[3, 4, 0, 0, 0]])
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model(short)), keras.ops.convert_to_numpy(model(long)), atol=1e-6
    )


def test_average_equals_keras_and_is_zero_not_nan_for_empty_rows():
    from zoo.layers import MaskedGlobalAveragePooling1D

    inputs = np.random.default_rng(3).normal(size=(2, 4, 3)).astype("float32")
    mask = np.array([[True, True, False, True], [True, False, False, False]])
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(MaskedGlobalAveragePooling1D()(inputs, mask=mask)),
        keras.ops.convert_to_numpy(keras.layers.GlobalAveragePooling1D()(inputs, mask=mask)),
        rtol=1e-6,
    )
    empty = np.zeros((1, 4), dtype=bool)
    assert np.isnan(
        keras.ops.convert_to_numpy(keras.layers.GlobalAveragePooling1D()(inputs[:1], mask=empty))
    ).all()
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(MaskedGlobalAveragePooling1D()(inputs[:1], mask=empty)), 0.0
    )


def test_max_pooling_an_empty_batch_gives_an_empty_batch():
    inputs = np.zeros((0, 4, 6), "float32")
    pooling = MaskedGlobalMaxPooling1D()
    assert keras.ops.convert_to_numpy(pooling(inputs)).shape == (0, 6)
    assert keras.ops.convert_to_numpy(pooling(inputs, mask=np.zeros((0, 4), bool))).shape == (0, 6)
