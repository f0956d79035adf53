"""A linear classifier over a bag of features, scaled by naive-Bayes log-count ratios (NBSVM)."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from zoo.progress import progress


def unique_ids(feature_ids):
    """Each row's ids with repeats replaced by 0 (padding): a bag of counts becomes a set of presences.

    Sorting puts equal ids side by side; every id equal to its left neighbour is a repeat. Built from
    sort, compare and select only, so it exports to TFLite with built-in ops.
    """
    ordered = ops.sort(feature_ids, axis=-1)
    first = ops.concatenate(
        [ops.ones_like(ordered[:, :1], dtype="bool"), ops.not_equal(ordered[:, 1:], ordered[:, :-1])],
        axis=1,
    )
    return ops.where(first, ordered, ops.zeros_like(ordered))


@keras.saving.register_keras_serializable(package="zoo")
class NaiveBayesLinear(keras.layers.Layer):
    """Feature ids -> logits: logistic regression on naive-Bayes-scaled binary features (NBSVM).

    Wang and Manning (2012) found that a linear model over word n-gram *presence* does much better on
    sentiment when each feature is first multiplied by its log-count ratio,
    `r_f = log((p_f + alpha) / |p + alpha|_1) - log((q_f + alpha) / |q + alpha|_1)`, where `p_f` and
    `q_f` count the positive and negative training texts that contain feature `f`. The ratio is what
    naive Bayes alone would weigh the feature by; the learned weight `w_f` then corrects it where the
    independence assumption is wrong. The logit is `b + sum over distinct f in the text of w_f * r_f`.

    `adapt` computes `r` from labelled training batches (a non-trainable weight, saved with the model);
    `w` starts at zero, so training starts from "no opinion" with every feature's scale already right
    and rare features (small `|r_f|`) learning slowly: a built-in prior against overfitting them. Id 0
    is padding and never counts. Pair it with `zoo.layers.HashedNgrams` for a bag of word n-grams that
    stays inside the graph.

    With more than two classes the paper's binary model is extended one-vs-rest: class `c` has its own
    ratios (`p` counts the texts of class `c`, `q` those of every other class), weights and bias, and its
    own logit; a softmax over the logits gives the class probabilities.

    Args:
        num_features: number of feature ids; ids are in `[0, num_features)`, 0 is padding.
        alpha: add-alpha smoothing of the counts. Default 1.0 (Laplace), as in the paper.
        num_classes: 2 (the default): one logit, class 1 against class 0; 3 or more: one logit per
            class, one-vs-rest.
        **kwargs: standard `keras.layers.Layer` arguments.

    Call arguments:
        feature_ids: int tensor `(batch, length)`, 0-padded; repeats count once.

    Output shape: `(batch, 1)` float logits with two classes (apply a sigmoid for P(class 1)), else
    `(batch, num_classes)` (apply a softmax).

    Example:

    >>> import keras
    >>> import numpy as np
    >>> import zoo.layers
    >>> ngrams = zoo.layers.HashedNgrams(vocabulary_size=10, num_buckets=100, max_n=2)
    >>> token_ids = np.array([[2, 3, 0], [4, 3, 3]])  # "good film", "bad film film"
    >>> labels = np.array([1, 0])
    >>> layer = zoo.layers.NaiveBayesLinear(10 + 100)
    >>> layer.adapt([(ngrams(token_ids), labels)])  # or a tf.data.Dataset of (ids, label) batches
    >>> ratios = keras.ops.convert_to_numpy(layer.ratios).astype("float64")
    >>> ratios[[2, 3, 4]].round(3).tolist()  # "good" for, "film" neither way, "bad" against
    [0.702, 0.009, -0.684]
    >>> keras.ops.convert_to_numpy(layer(ngrams(token_ids))).tolist()  # w = 0 before training
    [[0.0], [0.0]]

    References:
        Wang and Manning. Baselines and Bigrams: Simple, Good Sentiment and Topic Classification. ACL 2012.
    """

    def __init__(self, num_features: int, alpha: float = 1.0, num_classes: int = 2, **kwargs):
        super().__init__(**kwargs)
        if num_features < 2 or alpha <= 0 or num_classes < 2:
            raise ValueError(
                "NaiveBayesLinear needs num_features >= 2, alpha > 0 and num_classes >= 2, got "
                f"{num_features}, {alpha} and {num_classes}"
            )
        self.num_features = num_features
        self.alpha = alpha
        self.num_classes = num_classes

    def build(self, input_shape):
        # Two classes keep one vector of each (one logit); more have a column per class.
        shape = (self.num_features,) if self.num_classes == 2 else (self.num_features, self.num_classes)
        self.ratios = self.add_weight(
            shape=shape, initializer="zeros", trainable=False, name="log_count_ratios"
        )
        self.kernel = self.add_weight(shape=shape, initializer="zeros", name="kernel")
        self.bias = self.add_weight(shape=shape[1:], initializer="zeros", name="bias")

    def adapt(self, batches) -> None:
        """Count, in (feature ids, label) batches, the texts of each class containing each feature and
        set the log-count ratios. Labels are class ids, 0 to `num_classes - 1`; anything iterable of pairs
        works (a `tf.data.Dataset`, a list of numpy arrays)."""
        if not self.built:
            self.build(None)
        counts = np.zeros((self.num_classes, self.num_features))
        for feature_ids, labels in progress(batches, "naive-Bayes counts", unit="batch"):
            feature_ids = keras.ops.convert_to_numpy(unique_ids(ops.convert_to_tensor(feature_ids)))
            labels = np.asarray(keras.ops.convert_to_numpy(labels)).reshape(-1)
            if not np.all(np.isin(labels, np.arange(self.num_classes))):
                ids = "0 or 1" if self.num_classes == 2 else f"0 to {self.num_classes - 1}"
                raise ValueError(f"NaiveBayesLinear.adapt needs labels that are {ids} (class ids)")
            if feature_ids.size and (feature_ids.min() < 0 or feature_ids.max() >= self.num_features):
                raise ValueError(f"NaiveBayesLinear.adapt got feature ids outside [0, {self.num_features})")
            for label in range(self.num_classes):
                counts[label] += np.bincount(
                    feature_ids[labels == label].ravel(), minlength=self.num_features
                )
        if self.num_classes == 2:
            ratios = self._log_count_ratios(counts[1], counts[0])
        else:  # one-vs-rest: each class against the texts of all the others
            rest = counts.sum(axis=0) - counts
            ratios = np.stack(
                [self._log_count_ratios(counts[c], rest[c]) for c in range(self.num_classes)], 1
            )
        self.ratios.assign(ratios.astype(self.ratios.dtype))

    def _log_count_ratios(self, positive: np.ndarray, negative: np.ndarray) -> np.ndarray:
        # Feature 0 is padding: it is neither counted nor part of the distribution over features, so the
        # ratios equal scikit-learn's MultinomialNB on the binary features 1..num_features - 1.
        smoothed = np.stack([negative[1:], positive[1:]]) + self.alpha
        log_probabilities = np.log(smoothed) - np.log(smoothed.sum(axis=1, keepdims=True))
        return np.concatenate([[0.0], log_probabilities[1] - log_probabilities[0]])

    def call(self, feature_ids):
        feature_ids = unique_ids(ops.cast(feature_ids, "int32"))
        # ratios[0] is 0, so padding and repeats add nothing whatever kernel[0] learns.
        if self.num_classes == 2:
            weights = ops.take(self.kernel, feature_ids) * ops.take(self.ratios, feature_ids)
            return ops.sum(weights, axis=1, keepdims=True) + self.bias
        # (batch, length, classes): each feature's row of per-class weights and ratios.
        weights = ops.take(self.kernel, feature_ids, axis=0) * ops.take(self.ratios, feature_ids, axis=0)
        return ops.sum(weights, axis=1) + self.bias

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1 if self.num_classes == 2 else self.num_classes)

    def get_config(self):
        return {
            **super().get_config(),
            "num_features": self.num_features,
            "alpha": self.alpha,
            "num_classes": self.num_classes,
        }
