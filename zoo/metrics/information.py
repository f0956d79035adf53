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
