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
    """Feature ids -> one logit: logistic regression on naive-Bayes-scaled binary features (NBSVM).

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

    Args:
        num_features: number of feature ids; ids are in `[0, num_features)`, 0 is padding.
        alpha: add-alpha smoothing of the counts. Default 1.0 (Laplace), as in the paper.
        **kwargs: standard `keras.layers.Layer` arguments.

    Call arguments:
        feature_ids: int tensor `(batch, length)`, 0-padded; repeats count once.

    Output shape: `(batch, 1)` float logits (apply a sigmoid for P(positive)).

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

    def __init__(self, num_features: int, alpha: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        if num_features < 2 or alpha <= 0:
            raise ValueError(
                f"NaiveBayesLinear needs num_features >= 2 and alpha > 0, got {num_features} and {alpha}"
            )
        self.num_features = num_features
        self.alpha = alpha

    def build(self, input_shape):
        self.ratios = self.add_weight(
            shape=(self.num_features,), initializer="zeros", trainable=False, name="log_count_ratios"
        )
        self.kernel = self.add_weight(shape=(self.num_features,), initializer="zeros", name="kernel")
        self.bias = self.add_weight(shape=(), initializer="zeros", name="bias")

    def adapt(self, batches) -> None:
        """Count, in (feature ids, binary label) batches, the texts of each class containing each feature
        and set the log-count ratios. Labels are 0/1 numbers; anything iterable of pairs works (a
        `tf.data.Dataset`, a list of numpy arrays)."""
        if not self.built:
            self.build(None)
        counts = np.zeros((2, self.num_features))
        for feature_ids, labels in progress(batches, "naive-Bayes counts", unit="batch"):
            feature_ids = keras.ops.convert_to_numpy(unique_ids(ops.convert_to_tensor(feature_ids)))
            labels = np.asarray(keras.ops.convert_to_numpy(labels)).reshape(-1)
            if not np.all((labels == 0) | (labels == 1)):
                raise ValueError("NaiveBayesLinear.adapt needs labels that are 0 or 1")
            if feature_ids.size and (feature_ids.min() < 0 or feature_ids.max() >= self.num_features):
                raise ValueError(f"NaiveBayesLinear.adapt got feature ids outside [0, {self.num_features})")
            for label in (0, 1):
                counts[label] += np.bincount(
                    feature_ids[labels == label].ravel(), minlength=self.num_features
                )
        # Feature 0 is padding: it is neither counted nor part of the distribution over features, so the
        # ratios equal scikit-learn's MultinomialNB on the binary features 1..num_features - 1.
        smoothed = counts[:, 1:] + self.alpha
        log_probabilities = np.log(smoothed) - np.log(smoothed.sum(axis=1, keepdims=True))
        ratios = np.concatenate([[0.0], log_probabilities[1] - log_probabilities[0]])
        self.ratios.assign(ratios.astype(self.ratios.dtype))

    def call(self, feature_ids):
        feature_ids = unique_ids(ops.cast(feature_ids, "int32"))
        weights = ops.take(self.kernel, feature_ids) * ops.take(self.ratios, feature_ids)
        # ratios[0] is 0, so padding and repeats add nothing whatever kernel[0] learns.
        return ops.sum(weights, axis=1, keepdims=True) + self.bias

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)

    def get_config(self):
        return {**super().get_config(), "num_features": self.num_features, "alpha": self.alpha}
