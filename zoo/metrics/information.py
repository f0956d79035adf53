"""Information measures: entropy, cross-entropy, KL divergence, Jensen-Shannon, mutual information, PMI.

Cross-entropy H(p, q) is the average number of bits needed to code outcomes drawn from p with a code
built for q; the entropy H(p) = H(p, p) is the least of them; the KL divergence KL(p, q) = H(p, q) - H(p)
is the bits wasted by coding with q; mutual information I(X; Y) = KL(p(x, y), p(x) p(y)) is how much
knowing Y reduces the uncertainty about X, and pointwise mutual information is its term for one pair.

Every function takes counts or probabilities (a distribution is normalised along `axis`, as
`scipy.stats.entropy` does), works in bits (`base=2`, the default) or nats (`base=math.e`), and follows
the conventions of information theory: `0 log 0 = 0`, and a q with zero probability where p has mass
gives an infinite cross-entropy and KL divergence (that outcome cannot be coded with q). Negative or
non-finite inputs are refused.

For a classifier's or a tagger's errors, `prediction_information` (and `tag_information`, per token) puts
paired true and predicted labels through these measures: how much the predictions tell about the labels,
and how far the predicted label frequencies are from the true ones.

For streams of model predictions, `BitsPerToken` is a Keras metric that accumulates the cross-entropy of
integer labels under predicted logits (padding masked) over a whole evaluation: keras-hub's `Perplexity`
(`2 ** bits`) in bits.
"""

from __future__ import annotations

import math

import keras
import keras_hub
import numpy as np
from scipy import sparse

__all__ = [
    "BitsPerToken",
    "cross_entropy",
    "entropy",
    "jensen_shannon",
    "kl_divergence",
    "mutual_information",
    "pointwise_mutual_information",
    "prediction_information",
    "tag_information",
]


def _distribution(values, axis: int = -1) -> np.ndarray:
    """`values` as float64 probabilities along `axis` (counts are normalised)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        raise ValueError("an empty distribution")
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError("probabilities and counts must be finite and >= 0")
    total = values.sum(axis=axis, keepdims=True)
    if np.any(total <= 0):
        raise ValueError("a distribution sums to 0: it has no mass to normalise")
    return values / total


def _xlogy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """`x * log(y)`, 0 where `x` is 0 (whatever `y`), -inf where `x > 0` and `y` is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > 0, x * np.log(np.where(x > 0, y, 1.0)), 0.0)


def entropy(p, base: float = 2.0, axis: int = -1) -> np.ndarray | float:
    """H(p) = -sum p log p, of a distribution (or counts) along `axis`."""
    p = _distribution(p, axis)
    return _scalar(-_xlogy(p, p).sum(axis=axis) / math.log(base))


def cross_entropy(p, q, base: float = 2.0, axis: int = -1) -> np.ndarray | float:
    """H(p, q) = -sum p log q: bits per outcome of p coded for q (infinite where q is 0 but p is not)."""
    p, q = _distribution(p, axis), _distribution(q, axis)
    return _scalar(-_xlogy(p, q).sum(axis=axis) / math.log(base))


def kl_divergence(p, q, base: float = 2.0, axis: int = -1) -> np.ndarray | float:
    """KL(p, q) = sum p log(p / q) = H(p, q) - H(p) >= 0, infinite where q is 0 but p is not."""
    p, q = _distribution(p, axis), _distribution(q, axis)
    return _scalar((_xlogy(p, p) - _xlogy(p, q)).sum(axis=axis) / math.log(base))


def jensen_shannon(p, q, base: float = 2.0, axis: int = -1) -> np.ndarray | float:
    """The Jensen-Shannon divergence, (KL(p, m) + KL(q, m)) / 2 with m = (p + q) / 2: symmetric, finite,
    at most 1 bit. (`scipy.spatial.distance.jensenshannon` returns its square root, a distance.)"""
    p, q = _distribution(p, axis), _distribution(q, axis)
    m = (p + q) / 2
    return _scalar((kl_divergence(p, m, base, axis) + kl_divergence(q, m, base, axis)) / 2)


def _joint(joint=None, x=None, y=None) -> np.ndarray:
    if (joint is None) == (x is None or y is None):
        raise ValueError("give a joint count table, or paired samples x and y (not both)")
    if joint is not None:
        joint = joint.toarray() if sparse.issparse(joint) else np.asarray(joint)
        if joint.ndim != 2:
            raise ValueError(f"a joint table has two axes, got shape {joint.shape}")
        return _distribution(joint.ravel()).reshape(joint.shape)
    x, y = np.asarray(x).ravel(), np.asarray(y).ravel()
    if len(x) != len(y) or not len(x):
        raise ValueError(f"x and y must be paired samples of one non-zero length, got {len(x)} and {len(y)}")
    _, x_ids = np.unique(x, return_inverse=True)
    _, y_ids = np.unique(y, return_inverse=True)
    counts = np.zeros((x_ids.max() + 1, y_ids.max() + 1))
    np.add.at(counts, (x_ids, y_ids), 1)
    return counts / len(x)


def mutual_information(joint=None, *, x=None, y=None, base: float = 2.0) -> float:
    """I(X; Y) = KL(p(x, y), p(x) p(y)), from a joint table of counts or probabilities (rows x, columns y)
    or from paired samples `x`, `y` (any hashable labels; `sklearn.metrics.mutual_info_score` in nats)."""
    p = _joint(joint, x, y)
    independent = p.sum(axis=1, keepdims=True) * p.sum(axis=0, keepdims=True)
    return float((_xlogy(p, p) - _xlogy(p, independent)).sum() / math.log(base))


def pointwise_mutual_information(
    joint, base: float = 2.0, positive: bool = False, alpha: float = 1.0
) -> np.ndarray | sparse.csr_matrix:
    """PMI(x, y) = log p(x, y) / (p(x) p(y)) of every cell of a joint count table (rows x, columns y).

    Args:
        joint: counts, a dense array or a `scipy.sparse` matrix (a word-context table).
        positive: PPMI, `max(PMI, 0)`; a sparse table then stays sparse (its zero cells have PMI -inf,
            clipped to 0). Without it, cells never seen are -inf, and a sparse table is refused.
        alpha: context-distribution smoothing: p(y) from counts ** alpha (0.75 in Levy, Goldberg and
            Dagan 2015, which lifts the PMI of rare contexts less).
    """
    if alpha <= 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    if sparse.issparse(joint):
        if not positive:
            raise ValueError("the PMI of a sparse table is -inf in its empty cells: pass positive=True")
        table = sparse.coo_matrix(joint, dtype=np.float64)
        if table.nnz and (not np.all(np.isfinite(table.data)) or table.data.min() < 0):
            raise ValueError("counts must be finite and >= 0")
        total = table.sum()
        if total <= 0:
            raise ValueError("the table has no counts")
        rows = np.asarray(table.sum(axis=1)).ravel() / total
        columns = np.asarray(table.sum(axis=0)).ravel() ** alpha
        columns /= columns.sum()
        keep = table.data > 0
        row, column, count = table.row[keep], table.col[keep], table.data[keep]
        pmi = np.log(count / total / (rows[row] * columns[column])) / math.log(base)
        kept = pmi > 0
        return sparse.csr_matrix((pmi[kept], (row[kept], column[kept])), shape=table.shape)
    p = _joint(joint)
    rows = p.sum(axis=1, keepdims=True)
    columns = p.sum(axis=0, keepdims=True) ** alpha
    columns = columns / columns.sum()
    with np.errstate(divide="ignore"):
        pmi = np.log(p / (rows * columns)) / math.log(base)
    pmi = np.where(np.isnan(pmi), -np.inf, pmi)  # a row or column never seen
    return np.maximum(pmi, 0.0) if positive else pmi


# ## What predictions tell about labels

_UNITS = {2.0: "bits", math.e: "nats", 10.0: "hartleys"}


def prediction_information(
    true, predicted, labels=None, base: float = 2.0, prefix: str = ""
) -> dict[str, float | list | None]:
    """The information view of a classifier's errors, from paired true and predicted labels.

    Accuracy counts the errors; these figures say what kind they are. The mutual information between
    the true and the predicted label is how much a prediction tells about the label, and the uncertainty
    coefficient (Theil's U) is its fraction of all there is to know: 1 when the predictions give the labels
    away (they may still be wrong in a consistent way, such as two names swapped), 0 when they are
    independent of them (a constant prediction). The divergences compare the two label frequencies alone:
    a classifier that predicts one class too often is far from the true frequencies whatever its accuracy.

    Args:
        true: the true labels, class ids or strings, any shape (flattened).
        predicted: the predicted labels, paired with `true` (same length after flattening).
        labels: the label set, or None for the labels that occur in `true` or `predicted`. Labels in it
            that never occur change no figure; a label not in it is refused. Its order is the order of
            `labels_never_predicted`.
        base: of the logarithm: 2 (bits, the default), `math.e` (nats) or 10 (hartleys); the unit names
            the keys.
        prefix: put before every key, e.g. `"test_"`, as `EntityScores.to_dict` does.

    Returns:
        A dict that `json.dumps(..., allow_nan=False)` writes as standard JSON (shown in bits, with an
        empty prefix):
        - `label_entropy_bits`: H(true), the uncertainty about a label before any prediction.
        - `prediction_entropy_bits`: H(predicted).
        - `mutual_information_bits`: I(true; predicted), from the joint count table; between 0 and the
          smaller entropy (rounding errors past those bounds are clipped).
        - `uncertainty_coefficient`: I(true; predicted) / H(true), in [0, 1]; None when H(true) is 0 (a
          single true label leaves no uncertainty to remove).
        - `kl_true_to_predicted_bits`: KL(p_true || p_predicted) of the two label frequencies; None when it
          is infinite, that is when a true label is never predicted.
        - `jensen_shannon_bits`: the Jensen-Shannon divergence of the same two frequencies: symmetric,
          always finite, at most 1 bit.
        - `labels_never_predicted`: the true labels that are never predicted (as Python ints, floats or
          strings), the reason for a None KL divergence; empty when every true label is predicted.

    Raises:
        ValueError: the sequences are empty or of different lengths, one holds strings and the other
            numbers, `labels` repeats a label or lacks one that occurs, or `base` has no unit name.

    Example:

    >>> from zoo.metrics import prediction_information
    >>> scores = prediction_information([0, 0, 1, 1], [0, 0, 0, 1])
    >>> round(scores["uncertainty_coefficient"], 4), scores["labels_never_predicted"]
    (0.3113, [])
    >>> prediction_information(["a", "b"], ["a", "a"])["labels_never_predicted"]
    ['b']
    """
    units = next((name for value, name in _UNITS.items() if math.isclose(base, value)), None)
    if units is None:
        raise ValueError(f"base must be 2, math.e or 10 (bits, nats, hartleys), got {base}")
    true, predicted = np.asarray(true).ravel(), np.asarray(predicted).ravel()
    if len(true) != len(predicted) or not len(true):
        raise ValueError(
            f"true and predicted must be paired labels of one non-zero length, got {len(true)} and "
            f"{len(predicted)}"
        )
    if (true.dtype.kind in "US") != (predicted.dtype.kind in "US"):
        raise ValueError(f"true and predicted hold labels of two kinds: {true.dtype} and {predicted.dtype}")
    names = np.unique(np.concatenate([true, predicted])) if labels is None else np.asarray(labels).ravel()
    if len(np.unique(names)) != len(names):
        raise ValueError(f"labels repeats a label: {names.tolist()}")
    order = np.argsort(names, kind="stable")

    def ids(values: np.ndarray) -> np.ndarray:
        found = order[np.minimum(np.searchsorted(names, values, sorter=order), len(names) - 1)]
        unknown = names[found] != values
        if np.any(unknown):
            raise ValueError(f"label {values[unknown][0].item()!r} is not in labels {names.tolist()}")
        return found

    size = len(names)
    counts = np.bincount(ids(true) * size + ids(predicted), minlength=size * size).reshape(size, size)
    true_counts, predicted_counts = counts.sum(axis=1), counts.sum(axis=0)
    label_entropy = entropy(true_counts, base) + 0.0  # + 0.0: no -0.0 for a constant
    prediction_entropy = entropy(predicted_counts, base) + 0.0
    information = min(max(mutual_information(counts, base=base), 0.0), label_entropy, prediction_entropy)
    never = (true_counts > 0) & (predicted_counts == 0)
    return {
        f"{prefix}label_entropy_{units}": label_entropy,
        f"{prefix}prediction_entropy_{units}": prediction_entropy,
        f"{prefix}mutual_information_{units}": information,
        f"{prefix}uncertainty_coefficient": information / label_entropy if label_entropy > 0 else None,
        f"{prefix}kl_true_to_predicted_{units}": (
            None if np.any(never) else kl_divergence(true_counts, predicted_counts, base)
        ),
        f"{prefix}jensen_shannon_{units}": jensen_shannon(true_counts, predicted_counts, base),
        f"{prefix}labels_never_predicted": names[never].tolist(),
    }


def tag_information(
    true: list[list[str]], predicted: list[list[str]], labels=None, base: float = 2.0, prefix: str = ""
) -> dict[str, float | list | None]:
    """`prediction_information` of a tagger, per token: every token of every sentence is one pair.

    Args:
        true: the true tags, one list per sentence (`zoo.tagging.predict_tags` returns `(true, predicted)`
            in this form).
        predicted: the predicted tags, the same number per sentence.
        labels, base, prefix: as for `prediction_information`.

    Returns:
        `prediction_information`'s keys, over tokens: the labels are tags, and `O` counts as one like any
        other, so on text where most tokens are outside any entity it weighs in most.

    Raises:
        ValueError: the sentence counts differ, a sentence's tag counts differ, or there are no tokens.

    Example:

    >>> from zoo.metrics import tag_information
    >>> scores = tag_information([["B-PER", "O"], ["O"]], [["B-PER", "O"], ["O"]])
    >>> scores["uncertainty_coefficient"]
    1.0
    """
    if len(true) != len(predicted):
        raise ValueError(f"true has {len(true)} sentences and predicted {len(predicted)}")
    for index, (gold, guess) in enumerate(zip(true, predicted)):
        if len(gold) != len(guess):
            raise ValueError(f"sentence {index} has {len(gold)} true tags and {len(guess)} predicted")
    flat_true = [tag for sentence in true for tag in sentence]
    flat_predicted = [tag for sentence in predicted for tag in sentence]
    return prediction_information(flat_true, flat_predicted, labels=labels, base=base, prefix=prefix)


def _scalar(value: np.ndarray) -> np.ndarray | float:
    return float(value) if np.ndim(value) == 0 else value


# ## Streaming forms, as Keras metrics


@keras.saving.register_keras_serializable(package="zoo")
class BitsPerToken(keras_hub.metrics.Perplexity):
    """The cross-entropy of integer labels under predicted logits (or probabilities), in bits per token,
    over all the tokens of all the batches seen: `log2` of keras-hub's `Perplexity`, which it extends
    (same arguments: `from_logits`, `mask_token_id` for padding that counts for nothing).

    Example:

    >>> import numpy as np
    >>> from zoo.metrics import BitsPerToken
    >>> metric = BitsPerToken(from_logits=True)
    >>> metric.update_state(np.array([[0, 1]]), np.zeros((1, 2, 4)))  # uniform over 4: 2 bits each
    >>> round(float(metric.result()), 6)
    2.0
    """

    def __init__(
        self, from_logits: bool = False, mask_token_id: int | None = None, name="bits_per_token", **kwargs
    ):
        super().__init__(from_logits=from_logits, mask_token_id=mask_token_id, name=name, **kwargs)

    def result(self):
        tokens = keras.ops.convert_to_tensor(self._number_of_samples)
        nats = keras.ops.divide_no_nan(self._aggregate_crossentropy, tokens)
        return nats / math.log(2.0)
