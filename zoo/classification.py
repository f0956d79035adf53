"""The library half of `recipes.sentiment`: what turns a text model into a classifier of two classes or
of any number of them, from its output head to its answers.

- Model: `head` (two classes: one logit, a sigmoid and binary cross-entropy, as for sentiment; three or
  more: a logit per class, a softmax and sparse categorical cross-entropy).
- Evaluation: `predict_classes` (every output's probabilities on a labelled dataset), `predicted` (class
  ids from probabilities) and `evaluate_classifier` (`zoo.metrics.classification_scores`, each branch's
  accuracy, the confusion matrix picture).
- Export and answers: `end_to_end_classifier` (raw strings -> probabilities and, for three classes or
  more, the likeliest class's name), `class_probabilities` (one probability per class whatever the
  head) and `answer` (`predict`: the label and every class's probability).
"""

from __future__ import annotations

import pathlib
from collections.abc import Sequence
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

import zoo.metrics
import zoo.plots


class Head(NamedTuple):
    """A classifier's output head for its number of classes: the output's name, logits per example, the
    activation, the loss and the accuracy metric (classes that Keras makes, with their `name`)."""

    name: str
    units: int
    activation: str
    loss: type[keras.losses.Loss]
    accuracy: type[keras.metrics.Metric]


def head(class_names: Sequence[str]) -> Head:
    """Two classes: the output "positive", P(class 1) from one logit by a sigmoid. Three or more: the
    output "classes", P(each class) from a logit per class by a softmax.

    >>> from zoo.classification import head
    >>> head(["negative", "positive"]).activation, head(["ham", "eggs", "spam"])[:3]
    ('sigmoid', ('classes', 3, 'softmax'))
    """
    if len(class_names) < 2:
        raise ValueError(f"a classifier needs two classes or more, got {list(class_names)}")
    if len(class_names) == 2:
        return Head("positive", 1, "sigmoid", keras.losses.BinaryCrossentropy, keras.metrics.BinaryAccuracy)
    return Head(
        "classes",
        len(class_names),
        "softmax",
        keras.losses.SparseCategoricalCrossentropy,
        keras.metrics.SparseCategoricalAccuracy,
    )


def predicted(probabilities: np.ndarray) -> np.ndarray:
    """Class ids from a head's probabilities: P(class 1) `(n, 1)` at least 0.5, or the likeliest class of
    `(n, classes)`."""
    probabilities = np.asarray(probabilities)
    if probabilities.shape[1] == 1:
        return (probabilities[:, 0] >= 0.5).astype(int)
    return probabilities.argmax(axis=1)


def predict_classes(model: keras.Model, dataset: tf.data.Dataset) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The true class ids of a dataset of (token ids, class id) batches and, beside them, each output of
    `model` (a dict of probabilities) on its token ids, in the same order.

    Labels are read beside each batch's predictions because a dataset bucketed by length reorders
    examples. The model runs compiled (an eager RNN steps through time op by op) and outside any replica
    split: under MirroredStrategy, `predict` does not keep the order of a bucketed dataset.
    """
    predict = tf.function(
        lambda token_ids: model(token_ids, training=False),
        input_signature=[tf.TensorSpec([None, None], tf.int64)],
    )
    outputs, labels = {}, []
    for token_ids, batch_labels in dataset:
        for name, probability in predict(token_ids).items():
            outputs.setdefault(name, []).append(probability.numpy())
        labels.append(batch_labels.numpy())
    probabilities = {name: np.concatenate(batches) for name, batches in outputs.items()}
    return np.concatenate(labels).astype(int), probabilities


def evaluate_classifier(
    model: keras.Model,
    dataset: tf.data.Dataset,
    class_names: Sequence[str],
    output_dir: str | pathlib.Path | None = None,
    prefix: str = "test_",
) -> dict[str, float | list | None]:
    """A classifier's scores on a labelled dataset: `zoo.metrics.classification_scores` of its head (the
    output `head(class_names).name`), each other output's accuracy (`<prefix><output>_accuracy`, e.g.
    one branch of two), and with `output_dir` the head's confusion matrix in `confusion_matrix.png`."""
    labels, probabilities = predict_classes(model, dataset)
    main = probabilities.pop(head(class_names).name)
    scores = zoo.metrics.classification_scores(labels, main, class_names, prefix=prefix)
    if output_dir is not None:
        path = pathlib.Path(output_dir) / "confusion_matrix.png"
        title = f"{model.name}: {prefix.rstrip('_') or 'evaluation'} split, {len(labels):,} examples"
        zoo.plots.plot_confusion_matrix(labels, predicted(main), class_names, path, title=title)
    return scores | {
        f"{prefix}{name}_accuracy": float(np.mean(predicted(probability) == labels))
        for name, probability in probabilities.items()
    }


def end_to_end_classifier(
    model: keras.Model, vectorizer: keras.layers.Layer, class_names: Sequence[str], name: str = "classifier"
) -> keras.Model:
    """The deployable model: a batch of raw strings -> `model(vectorizer(texts))`, P(class 1) `(n, 1)` for
    two classes; for three or more, `{"probabilities": (n, classes), "label": (n,) the likeliest class's
    name}`, so a server answers with names and needs no list of classes."""
    texts = keras.Input(shape=(), dtype="string", name="texts")
    probabilities = model(vectorizer(texts))
    if len(class_names) == 2:
        return keras.Model(texts, probabilities, name=name)
    # Class id -> name; every id has a name, so no out-of-vocabulary entry is needed.
    names = keras.layers.StringLookup(
        vocabulary=list(class_names), invert=True, num_oov_indices=0, oov_token="", name="label"
    )
    label = names(keras.ops.argmax(probabilities, axis=-1))
    return keras.Model(texts, {"probabilities": probabilities, "label": label}, name=name)


def class_probabilities(outputs) -> np.ndarray:
    """An end-to-end classifier's outputs (a tensor or array of P(class 1), or the dict of three classes
    or more) as one probability per class, `(n, classes)`: P(class 1) = p is `[1 - p, p]`."""
    probabilities = outputs["probabilities"] if isinstance(outputs, dict) else outputs
    probabilities = np.asarray(keras.ops.convert_to_numpy(probabilities))
    if probabilities.shape[1] == 1:
        return np.concatenate([1 - probabilities, probabilities], axis=1)
    return probabilities


def answer(export, texts: list[str], options=None) -> list[dict]:
    """`predict` for a text classifier's export (`zoo.predict.Export`, whose deploy.json "labels" are the
    class names): each text's likeliest label and every class's probability; with two classes also
    `probability`, that of the second label, which is the label when it is at least 0.5."""
    names = export.manifest["labels"]
    outputs = export.call("serve", texts)
    probabilities = class_probabilities(outputs)
    if len(names) == 2:
        labels = [names[int(row[1] >= 0.5)] for row in probabilities]
    else:  # the SavedModel's own answer, as a server gives it
        labels = [label.decode("utf-8") for label in outputs["label"]]
    answers = []
    for text, label, row in zip(texts, labels, probabilities):
        found = {"text": text, "probability": round(float(row[1]), 4)} if len(names) == 2 else {"text": text}
        rounded = {name: round(float(probability), 4) for name, probability in zip(names, row)}
        answers.append(found | {"label": label, "probabilities": rounded})
    return answers
