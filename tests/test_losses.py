"""zoo.losses.SparseCategoricalCrossentropy against Keras's own losses: its one-hot sibling for the label
smoothing, its sparse namesake for the ignored class."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from zoo.losses import SparseCategoricalCrossentropy

RNG = np.random.default_rng(0)
LOGITS = RNG.normal(size=(3, 5, 7)).astype("float32")
TARGETS = RNG.integers(1, 7, size=(3, 5))
TARGETS[0, 3:] = 0  # padding at the ends of two rows
TARGETS[2, 1:] = 0


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.4])
@pytest.mark.parametrize("from_logits", [True, False])
def test_matches_keras_categorical_crossentropy_with_label_smoothing(smoothing, from_logits):
    predictions = LOGITS if from_logits else keras.ops.convert_to_numpy(keras.ops.softmax(LOGITS))
    expected = keras.losses.CategoricalCrossentropy(from_logits=from_logits, label_smoothing=smoothing)(
        np.eye(7)[TARGETS], predictions
    )
    ours = SparseCategoricalCrossentropy(from_logits=from_logits, label_smoothing=smoothing)
    np.testing.assert_allclose(float(ours(TARGETS, predictions)), float(expected), rtol=1e-5)


def test_ignored_class_matches_keras_sparse_loss_and_averages_over_the_rest():
    expected = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)(TARGETS, LOGITS)
    ours = SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)
    np.testing.assert_allclose(float(ours(TARGETS, LOGITS)), float(expected), rtol=1e-5)
    # With smoothing: the plain mean of the per-position one-hot losses over the valid positions.
    per_position = keras.losses.CategoricalCrossentropy(
        from_logits=True, label_smoothing=0.2, reduction=None
    )(np.eye(7)[TARGETS], LOGITS)
    valid = TARGETS != 0
    smoothed = SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.2, ignore_class=0)
    np.testing.assert_allclose(
        float(smoothed(TARGETS, LOGITS)), np.asarray(per_position)[valid].mean(), rtol=1e-5
    )
    unreduced = SparseCategoricalCrossentropy(
        from_logits=True, label_smoothing=0.2, ignore_class=0, reduction="none"
    )(TARGETS, LOGITS)
    np.testing.assert_allclose(np.asarray(unreduced), np.where(valid, per_position, 0.0), rtol=1e-5)


def test_rejects_bad_smoothing_and_survives_a_model_save(tmp_path):
    with pytest.raises(ValueError, match="label_smoothing"):
        SparseCategoricalCrossentropy(label_smoothing=1.0)
    inputs = keras.Input((5,), dtype="int32")
    model = keras.Model(inputs, keras.layers.Dense(7)(keras.layers.Embedding(7, 4)(inputs)))
    model.compile("sgd", loss=SparseCategoricalCrossentropy(True, 0.1, ignore_class=0))
    before = model.evaluate(TARGETS, TARGETS, verbose=0)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert loaded.loss.get_config() == model.loss.get_config()
    np.testing.assert_allclose(loaded.evaluate(TARGETS, TARGETS, verbose=0), before, rtol=1e-6)
