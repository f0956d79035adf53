"""The test scores of a text classifier, binary or of any number of classes, by scikit-learn's definitions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import sklearn.metrics

from zoo.metrics.information import prediction_information


def classification_scores(
    labels: Sequence[int] | np.ndarray,
    probabilities: np.ndarray,
    class_names: Sequence[str],
    prefix: str = "test_",
) -> dict[str, float | list | None]:
    """Accuracy, precision, recall, F1, ROC-AUC and the information view of the errors
    (`prediction_information`) of a classifier's predicted probabilities against the true class ids.

    With two classes the prediction is class 1 when its probability is at least 0.5, and precision,
    recall and F1 are class 1's (scikit-learn's `average="binary"`). With more, the prediction is the most
    probable class; precision, recall and F1 are given for each class (`class_<name>_...`, with its
    `support`, the number of its true examples), and averaged two ways: `macro_...`, the unweighted mean
    over classes (a rare class counts as much as a common one), and `micro_...`, pooled over examples
    (for one label per example all three equal the accuracy). `auc` is then the macro average of each
    class's ROC-AUC against the rest, None when a class has no test example.

    Args:
        labels: the true class ids, `(n,)`, 0 to `len(class_names) - 1`.
        probabilities: with two classes, `(n,)` or `(n, 1)`, P(class 1); with more, `(n, classes)`.
        class_names: the classes in id order; they name the per-class keys and the labels of
            `prediction_information` with more than two classes.
        prefix: put before every key.

    Returns:
        A flat dict of figures for metrics.json (null for an undefined one, a list for a set of labels).

    Example:

    >>> import numpy as np
    >>> from zoo.metrics import classification_scores
    >>> probabilities = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.6, 0.3], [0.2, 0.2, 0.6]])
    >>> scores = classification_scores([0, 1, 2, 2], probabilities, ["ham", "eggs", "spam"])
    >>> scores["test_accuracy"], round(scores["test_macro_f1"], 4), scores["test_class_spam_recall"]
    (0.75, 0.7778, 0.5)
    """
    labels = np.asarray(labels).astype(int).ravel()
    probabilities = np.asarray(probabilities)
    if len(class_names) == 2:
        probability = probabilities.reshape(len(labels), -1)[:, -1]
        predicted = (probability >= 0.5).astype(int)
        precision, recall, f1, _ = sklearn.metrics.precision_recall_fscore_support(
            labels, predicted, average="binary", zero_division=0
        )
        return {
            f"{prefix}accuracy": sklearn.metrics.accuracy_score(labels, predicted),
            f"{prefix}precision": precision,
            f"{prefix}recall": recall,
            f"{prefix}f1": f1,
            f"{prefix}auc": sklearn.metrics.roc_auc_score(labels, probability),
            **prediction_information(labels, predicted, labels=[0, 1], prefix=prefix),
        }
    ids = np.arange(len(class_names))
    predicted = probabilities.argmax(axis=1)
    scores: dict[str, float | list | None] = {
        f"{prefix}accuracy": float(sklearn.metrics.accuracy_score(labels, predicted))
    }
    for average in ("macro", "micro"):
        precision, recall, f1, _ = sklearn.metrics.precision_recall_fscore_support(
            labels, predicted, labels=ids, average=average, zero_division=0
        )
        scores |= {
            f"{prefix}{average}_precision": float(precision),
            f"{prefix}{average}_recall": float(recall),
            f"{prefix}{average}_f1": float(f1),
        }
    if np.all(np.isin(ids, labels)):
        # Renormalised in float64: scikit-learn checks that each row sums to 1, which float32 may miss.
        normalised = probabilities / probabilities.sum(axis=1, keepdims=True, dtype="float64")
        scores[f"{prefix}auc"] = float(
            sklearn.metrics.roc_auc_score(labels, normalised, multi_class="ovr", average="macro", labels=ids)
        )
    else:
        scores[f"{prefix}auc"] = None
    names = np.asarray(class_names, dtype=str)
    scores |= prediction_information(names[labels], names[predicted], labels=names, prefix=prefix)
    per_class = sklearn.metrics.precision_recall_fscore_support(
        labels, predicted, labels=ids, average=None, zero_division=0
    )
    for name, precision, recall, f1, support in zip(class_names, *per_class):
        scores |= {
            f"{prefix}class_{name}_precision": float(precision),
            f"{prefix}class_{name}_recall": float(recall),
            f"{prefix}class_{name}_f1": float(f1),
            f"{prefix}class_{name}_support": int(support),
        }
    return scores
