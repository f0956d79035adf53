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


def _three_class_texts(seed=0, count=90, length=7):
    """Like `_toy_texts` with three classes: features 1-3 lean to class 0, 4-6 to 1, 7-9 to 2."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, count)
    ids = np.zeros((count, length), dtype="int64")
    for row, label in enumerate(labels):
        size = rng.integers(1, length + 1)
        leaning = rng.choice(np.arange(1, 4) + 3 * label, size=2)
        ids[row, :size] = np.concatenate([leaning, rng.integers(1, NUM_FEATURES, size)])[:size]
    return ids, labels


def test_more_classes_are_one_vs_rest_naive_bayes():
    ids, labels = _three_class_texts()
    layer = NaiveBayesLinear(NUM_FEATURES, num_classes=3)
    layer.adapt([(ids[:40], labels[:40]), (ids[40:], labels[40:])])
    ratios = keras.ops.convert_to_numpy(layer.ratios)
    assert ratios.shape == (NUM_FEATURES, 3) and not ratios[0].any()
    for label in range(3):  # column c: scikit-learn's binary naive Bayes of class c against the rest
        reference = sklearn.naive_bayes.MultinomialNB(alpha=1.0).fit(_presence(ids), labels == label)
        expected = reference.feature_log_prob_[1] - reference.feature_log_prob_[0]
        np.testing.assert_allclose(ratios[1:, label], expected, rtol=1e-5, atol=1e-6)
        leaning = np.arange(1, 4) + 3 * label
        assert ratios[leaning, label].min() > 0 > np.delete(ratios[1:10, label], leaning - 1).max()
    assert keras.ops.convert_to_numpy(layer(ids[:5])).shape == (5, 3)


def test_more_classes_train_apart_and_survive_a_save(tmp_path):
    ids, labels = _three_class_texts(seed=1, count=600)
    layer = NaiveBayesLinear(NUM_FEATURES, num_classes=3)
    layer.adapt([(ids, labels)])
    inputs = keras.Input((None,), dtype="int64")
    model = keras.Model(inputs, keras.layers.Softmax()(layer(inputs)))
    model.compile(keras.optimizers.Adam(0.1), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(ids, labels, epochs=10, batch_size=32, verbose=0)
    assert model.evaluate(ids, labels, verbose=0)[1] > 0.85  # chance is a third
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(reloaded.predict(ids, verbose=0), model.predict(ids, verbose=0), atol=1e-6)
    with pytest.raises(ValueError, match="0 to 2"):
        layer.adapt([(ids[:2], np.array([0, 3]))])
    with pytest.raises(ValueError, match="num_classes >= 2"):
        NaiveBayesLinear(NUM_FEATURES, num_classes=1)
