"""NaiveBayesLinear: its ratios and its naive-Bayes logits equal scikit-learn's MultinomialNB."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import sklearn.naive_bayes

from zoo.layers import NaiveBayesLinear
from zoo.layers.naive_bayes import unique_ids

NUM_FEATURES = 12


def _toy_texts(seed=0, count=60, length=7):
    """Feature ids 0-padded at the end; features 1-3 lean positive, 4-6 negative, repeats allowed."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, count)
    ids = np.zeros((count, length), dtype="int64")
    for row, label in enumerate(labels):
        size = rng.integers(1, length + 1)
        leaning = rng.choice([1, 2, 3] if label else [4, 5, 6], size=2)
        ids[row, :size] = np.concatenate([leaning, rng.integers(1, NUM_FEATURES, size)])[:size]
    return ids, labels


def _presence(ids):
    """Binary bag of features 1..NUM_FEATURES-1, as scikit-learn sees it."""
    matrix = np.zeros((len(ids), NUM_FEATURES), dtype="float64")
    for row, row_ids in enumerate(ids):
        matrix[row, row_ids] = 1.0
    return matrix[:, 1:]


def test_ratios_equal_multinomial_naive_bayes_on_binary_features():
    ids, labels = _toy_texts()
    layer = NaiveBayesLinear(NUM_FEATURES)
    layer.adapt([(ids[:25], labels[:25]), (ids[25:], labels[25:])])  # batches add up
    reference = sklearn.naive_bayes.MultinomialNB(alpha=1.0).fit(_presence(ids), labels)
    expected = reference.feature_log_prob_[1] - reference.feature_log_prob_[0]
    ratios = keras.ops.convert_to_numpy(layer.ratios)
    assert ratios[0] == 0.0  # padding has no opinion
    np.testing.assert_allclose(ratios[1:], expected, rtol=1e-5, atol=1e-6)
    assert ratios[1:4].min() > 0 > ratios[4:7].max()


def test_with_unit_weights_the_logit_is_naive_bayes():
    ids, labels = _toy_texts(seed=1)
    layer = NaiveBayesLinear(NUM_FEATURES)
    layer.adapt([(ids, labels)])
    reference = sklearn.naive_bayes.MultinomialNB(alpha=1.0).fit(_presence(ids), labels)
    prior = reference.class_log_prior_[1] - reference.class_log_prior_[0]
    layer.kernel.assign(np.ones(NUM_FEATURES, dtype="float32"))
    layer.bias.assign(prior)
    joint = reference.predict_joint_log_proba(_presence(ids))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer(ids))[:, 0], joint[:, 1] - joint[:, 0], rtol=1e-4, atol=1e-4
    )


def test_repeats_and_padding_count_once_or_not_at_all():
    ids, labels = _toy_texts(seed=2)
    layer = NaiveBayesLinear(NUM_FEATURES)
    layer.adapt([(ids, labels)])
    layer.kernel.assign(np.random.default_rng(0).normal(size=NUM_FEATURES).astype("float32"))
    once, repeated = np.array([[3, 5, 0, 0, 0]]), np.array([[5, 3, 3, 5, 3]])
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer(once)), keras.ops.convert_to_numpy(layer(repeated)), atol=1e-6
    )
    assert keras.ops.convert_to_numpy(unique_ids(np.array([[4, 2, 4, 0]]))).tolist() == [
        [0, 2, 4, 0]
    ]  # sorted, the repeat zeroed


def test_training_the_weights_separates_the_classes():
    ids, labels = _toy_texts(seed=3, count=400)
    layer = NaiveBayesLinear(NUM_FEATURES)
    layer.adapt([(ids, labels)])
    inputs = keras.Input((None,), dtype="int64")
    model = keras.Model(inputs, keras.layers.Activation("sigmoid")(layer(inputs)))
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss="binary_crossentropy", metrics=["accuracy"])
    before = model.evaluate(ids, labels, verbose=0)[1]
    model.fit(ids, labels, epochs=10, batch_size=32, verbose=0)
    assert before < 0.6  # zero weights: chance
    assert model.evaluate(ids, labels, verbose=0)[1] > 0.9


def test_rejects_bad_arguments_and_labels():
    with pytest.raises(ValueError, match="num_features >= 2"):
        NaiveBayesLinear(1)
    layer = NaiveBayesLinear(NUM_FEATURES)
    with pytest.raises(ValueError, match="0 or 1"):
        layer.adapt([(np.array([[1, 2]]), np.array([2]))])
    with pytest.raises(ValueError, match="outside"):
        layer.adapt([(np.array([[1, NUM_FEATURES]]), np.array([1]))])
