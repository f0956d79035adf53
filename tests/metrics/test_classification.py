"""A classifier's test scores: the binary figures as scikit-learn gives them, and for more classes the
per-class, macro and micro figures of scikit-learn's classification report."""

import json

import numpy as np
import pytest
import sklearn.metrics

from zoo.metrics import classification_scores, prediction_information

RNG = np.random.default_rng(0)


def test_two_classes_are_scored_on_the_second_class_at_one_half():
    labels = RNG.integers(0, 2, 200)
    probability = np.clip(labels * 0.3 + RNG.uniform(0, 0.7, 200), 0, 1)
    predicted = (probability >= 0.5).astype(int)
    scores = classification_scores(labels, probability[:, None], ["negative", "positive"])
    assert list(scores)[:5] == ["test_accuracy", "test_precision", "test_recall", "test_f1", "test_auc"]
    assert scores["test_accuracy"] == sklearn.metrics.accuracy_score(labels, predicted)
    assert scores["test_precision"] == sklearn.metrics.precision_score(labels, predicted)
    assert scores["test_recall"] == sklearn.metrics.recall_score(labels, predicted)
    assert scores["test_f1"] == sklearn.metrics.f1_score(labels, predicted)
    assert scores["test_auc"] == sklearn.metrics.roc_auc_score(labels, probability)
    assert scores["test_labels_never_predicted"] == []
    assert (
        classification_scores(labels, probability, ["no", "yes"], prefix="val_")["val_f1"]
        == scores["test_f1"]
    )


def test_more_classes_match_the_classification_report():
    names = ["ham", "eggs", "spam", "toast"]
    labels = RNG.integers(0, 4, 300)
    logits = RNG.normal(size=(300, 4)) + 1.5 * np.eye(4)[labels]
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    predicted = probabilities.argmax(axis=1)
    scores = classification_scores(labels, probabilities.astype("float32"), names)
    report = sklearn.metrics.classification_report(labels, predicted, output_dict=True, zero_division=0)
    assert scores["test_accuracy"] == pytest.approx(report["accuracy"])
    for key in ("precision", "recall", "f1"):
        assert scores[f"test_macro_{key}"] == pytest.approx(
            report["macro avg"][key.replace("f1", "f1-score")]
        )
        assert scores[f"test_micro_{key}"] == pytest.approx(report["accuracy"])  # one label per example
        for index, name in enumerate(names):
            assert scores[f"test_class_{name}_{key}"] == pytest.approx(
                report[str(index)][key.replace("f1", "f1-score")]
            )
    assert [scores[f"test_class_{name}_support"] for name in names] == np.bincount(labels).tolist()
    assert scores["test_auc"] == pytest.approx(
        sklearn.metrics.roc_auc_score(labels, probabilities, multi_class="ovr")
    )
    names_array = np.array(names)
    information = prediction_information(
        names_array[labels], names_array[predicted], labels=names, prefix="test_"
    )
    assert {key: scores[key] for key in information} == information
    json.dumps(scores, allow_nan=False)  # metrics.json takes every value as it is


def test_a_class_without_test_examples_has_no_auc_and_scores_zero():
    probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.6, 0.3, 0.1]])
    scores = classification_scores([0, 1, 1], probabilities, ["a", "b", "c"])
    assert scores["test_auc"] is None  # class "c" is never true: its ROC-AUC is undefined
    assert scores["test_class_c_support"] == 0 and scores["test_class_c_f1"] == 0.0
    assert scores["test_class_b_recall"] == 0.5 and scores["test_macro_recall"] == pytest.approx(0.5)
