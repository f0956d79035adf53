"""Information measures against SciPy and scikit-learn, on random and edge cases."""

import doctest
import json
import math

import keras
import keras_hub
import numpy as np
import pytest
import scipy.spatial.distance
import scipy.stats
import sklearn.metrics
from scipy import sparse

from zoo.metrics import (
    BitsPerToken,
    cross_entropy,
    entropy,
    jensen_shannon,
    kl_divergence,
    mutual_information,
    pointwise_mutual_information,
    prediction_information,
    tag_information,
)

RNG = np.random.default_rng(0)
PAIRS = [(RNG.dirichlet(np.ones(n)), RNG.dirichlet(np.ones(n))) for n in (2, 5, 40)]


@pytest.mark.parametrize("p, q", PAIRS)
@pytest.mark.parametrize("base", [2.0, math.e, 10.0])
def test_entropy_and_kl_match_scipy(p, q, base):
    assert entropy(p, base) == pytest.approx(scipy.stats.entropy(p, base=base), rel=1e-12)
    assert kl_divergence(p, q, base) == pytest.approx(scipy.stats.entropy(p, q, base=base), rel=1e-12)
    # Counts are normalised, as SciPy does.
    assert entropy(p * 17, base) == pytest.approx(entropy(p, base), rel=1e-12)


@pytest.mark.parametrize("p, q", PAIRS)
def test_kl_is_cross_entropy_minus_entropy(p, q):
    assert kl_divergence(p, q) == pytest.approx(cross_entropy(p, q) - entropy(p), abs=1e-12)
    assert cross_entropy(p, p) == pytest.approx(entropy(p), abs=1e-12)
    assert kl_divergence(p, q) > 0 and kl_divergence(p, p) == pytest.approx(0.0, abs=1e-12)


def test_zeros_in_p_count_for_nothing_and_q_zeros_under_p_mass_are_infinite():
    p, q = np.array([0.5, 0.5, 0.0]), np.array([0.25, 0.25, 0.5])
    assert entropy(p) == pytest.approx(1.0)
    assert kl_divergence(p, q) == pytest.approx(scipy.stats.entropy(p, q, base=2)) == pytest.approx(1.0)
    assert math.isinf(kl_divergence(q, p)) and math.isinf(scipy.stats.entropy(q, p))
    assert math.isinf(cross_entropy(q, p))
    assert entropy([1.0, 0.0]) == 0.0


def test_along_an_axis_each_row_is_a_distribution():
    p = RNG.dirichlet(np.ones(6), size=4)
    q = RNG.dirichlet(np.ones(6), size=4)
    np.testing.assert_allclose(kl_divergence(p, q), scipy.stats.entropy(p, q, base=2, axis=-1), rtol=1e-12)
    np.testing.assert_allclose(entropy(p.T, axis=0), scipy.stats.entropy(p.T, base=2, axis=0), rtol=1e-12)


@pytest.mark.parametrize("p, q", PAIRS)
def test_jensen_shannon_is_the_square_of_scipys_distance(p, q):
    assert math.sqrt(jensen_shannon(p, q)) == pytest.approx(
        scipy.spatial.distance.jensenshannon(p, q, base=2), rel=1e-9
    )
    assert jensen_shannon([1, 0], [0, 1]) == pytest.approx(1.0)  # disjoint: one bit, not infinity


@pytest.mark.parametrize("bad", [[], [0.0, 0.0], [0.5, -0.1, 0.6], [np.nan, 1.0], [np.inf, 1.0]], ids=str)
def test_no_distribution_is_refused(bad):
    with pytest.raises(ValueError):
        entropy(bad)


@pytest.mark.parametrize("classes", [(2, 2), (3, 5), (10, 4)])
def test_mutual_information_matches_sklearn(classes):
    x = RNG.integers(0, classes[0], 500)
    y = (x + RNG.integers(0, classes[1], 500)) % classes[1]  # dependent on x
    expected = sklearn.metrics.mutual_info_score(x, y)  # nats
    assert mutual_information(x=x, y=y, base=math.e) == pytest.approx(expected, rel=1e-9)
    table = sklearn.metrics.cluster.contingency_matrix(x, y)
    assert mutual_information(table, base=math.e) == pytest.approx(expected, rel=1e-9)
    # I(X; Y) = KL(p(x, y), p(x) p(y)), and it is symmetric.
    joint = table / table.sum()
    independent = np.outer(joint.sum(1), joint.sum(0))
    assert mutual_information(table) == pytest.approx(kl_divergence(joint.ravel(), independent.ravel()))
    assert mutual_information(x=y, y=x) == pytest.approx(mutual_information(x=x, y=y))


def test_mutual_information_edge_cases():
    assert mutual_information(x=["a", "b", "a", "b"], y=[1, 2, 1, 2]) == pytest.approx(1.0)  # one bit
    assert mutual_information(x=[0, 0, 0], y=[1, 2, 3]) == 0.0  # a constant tells nothing
    assert mutual_information(np.outer([1, 3], [2, 5, 1])) == pytest.approx(0.0, abs=1e-12)  # independent
    with pytest.raises(ValueError, match="paired"):
        mutual_information(x=[1, 2], y=[1])
    with pytest.raises(ValueError, match="not both"):
        mutual_information(np.ones((2, 2)), x=[1], y=[1])


def test_pmi_of_each_cell_and_its_positive_sparse_form():
    counts = np.array([[10, 0, 2], [1, 5, 0], [3, 3, 6]], dtype=float)
    p = counts / counts.sum()
    with np.errstate(divide="ignore"):
        expected = np.log2(p / np.outer(p.sum(1), p.sum(0)))
    np.testing.assert_allclose(pointwise_mutual_information(counts), expected)
    # The expectation of PMI under p(x, y) is the mutual information.
    seen = counts > 0
    assert np.sum(p[seen] * expected[seen]) == pytest.approx(mutual_information(counts))
    dense = pointwise_mutual_information(counts, positive=True, alpha=0.75)
    smoothed = counts.sum(0) ** 0.75 / np.sum(counts.sum(0) ** 0.75)
    with np.errstate(divide="ignore"):
        manual = np.maximum(np.log2(p / np.outer(p.sum(1), smoothed)), 0)
    np.testing.assert_allclose(dense, manual)
    sparse_ppmi = pointwise_mutual_information(sparse.csr_matrix(counts), positive=True, alpha=0.75)
    assert sparse.issparse(sparse_ppmi)
    np.testing.assert_allclose(sparse_ppmi.toarray(), manual)
    with pytest.raises(ValueError, match="positive=True"):
        pointwise_mutual_information(sparse.csr_matrix(counts))


def test_bits_per_token_is_log2_of_keras_hub_perplexity_over_all_tokens():
    labels = RNG.integers(1, 7, (3, 5))
    labels[0, 3:] = 0  # padding
    logits = RNG.normal(size=(3, 5, 7)).astype("float32")
    bits = BitsPerToken(from_logits=True, mask_token_id=0)
    perplexity = keras_hub.metrics.Perplexity(from_logits=True, mask_token_id=0)
    for rows in (slice(0, 1), slice(1, 3)):  # two batches of unequal token counts
        bits.update_state(labels[rows], logits[rows])
        perplexity.update_state(labels[rows], logits[rows])
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    picked = np.take_along_axis(log_probs, labels[..., None], -1)[..., 0]
    expected = -picked[labels != 0].mean() / math.log(2)
    assert float(bits.result()) == pytest.approx(expected, rel=1e-5)
    assert 2 ** float(bits.result()) == pytest.approx(float(perplexity.result()), rel=1e-5)
    restored = BitsPerToken.from_config(bits.get_config())
    assert (restored.name, restored.mask_token_id) == ("bits_per_token", 0)
    bits.reset_state()
    assert float(bits.result()) == 0.0 and keras.ops.convert_to_numpy(bits._number_of_samples) == 0


@pytest.mark.parametrize("classes", [2, 3, 7])
def test_prediction_information_matches_sklearn_and_scipy(classes):
    true = RNG.integers(0, classes, 400)
    noise = RNG.integers(0, classes, 400)
    predicted = np.where(RNG.random(400) < 0.6, true, noise)  # right 60% of the time, else random
    scores = prediction_information(true, predicted)
    nats = sklearn.metrics.mutual_info_score(true, predicted)
    assert scores["mutual_information_bits"] == pytest.approx(nats / math.log(2), rel=1e-9)
    true_counts, predicted_counts = (
        np.bincount(true, minlength=classes),
        np.bincount(predicted, minlength=classes),
    )
    assert scores["label_entropy_bits"] == pytest.approx(scipy.stats.entropy(true_counts, base=2), rel=1e-12)
    assert scores["prediction_entropy_bits"] == pytest.approx(scipy.stats.entropy(predicted_counts, base=2))
    assert scores["uncertainty_coefficient"] == pytest.approx(
        nats / scipy.stats.entropy(true_counts), rel=1e-9
    )
    assert scores["kl_true_to_predicted_bits"] == pytest.approx(
        scipy.stats.entropy(true_counts, predicted_counts, base=2), rel=1e-9
    )
    assert scores["kl_true_to_predicted_bits"] > 0  # the two frequencies differ, if only a little
    assert math.sqrt(scores["jensen_shannon_bits"]) == pytest.approx(
        scipy.spatial.distance.jensenshannon(true_counts, predicted_counts, base=2), rel=1e-9
    )
    assert scores["labels_never_predicted"] == []
    # Nats name their keys; strings are labels as good as ids.
    in_nats = prediction_information(true.astype(str), predicted.astype(str), base=math.e, prefix="test_")
    assert in_nats["test_mutual_information_nats"] == pytest.approx(nats, rel=1e-9)


def test_perfect_predictions_remove_all_uncertainty_and_constant_ones_none():
    true = ["pos", "neg", "neg", "pos", "neg", "neutral"]
    perfect = prediction_information(true, true)
    assert (
        perfect["mutual_information_bits"]
        == perfect["label_entropy_bits"]
        == pytest.approx(scipy.stats.entropy([2, 3, 1], base=2))
    )
    assert perfect["uncertainty_coefficient"] == 1.0
    assert perfect["kl_true_to_predicted_bits"] == 0.0 and perfect["jensen_shannon_bits"] == 0.0
    # Consistently swapped names tell as much as the right ones: U is not accuracy.
    swapped = prediction_information(true, [{"pos": "neg", "neg": "pos"}.get(t, t) for t in true])
    assert swapped["uncertainty_coefficient"] == pytest.approx(1.0)
    constant = prediction_information(true, ["neg"] * len(true))
    assert constant["mutual_information_bits"] == 0.0 and constant["uncertainty_coefficient"] == 0.0
    assert constant["prediction_entropy_bits"] == 0.0
    # A single true label leaves nothing to remove: the coefficient is undefined, not 0 or 1.
    assert prediction_information([1, 1, 1], [1, 0, 1])["uncertainty_coefficient"] is None


def test_a_true_label_never_predicted_gives_no_kl_but_names_the_label_and_dumps_as_standard_json():
    true = np.array([0, 0, 1, 1, 2, 2])
    predicted = np.array([0, 0, 1, 1, 1, 1])  # 2 is never predicted
    scores = prediction_information(true, predicted, labels=[0, 1, 2, 3], prefix="test_")
    assert math.isinf(scipy.stats.entropy([2, 2, 2], [2, 4, 0]))
    assert scores["test_kl_true_to_predicted_bits"] is None
    assert scores["test_labels_never_predicted"] == [2]  # 3 is never true either: it costs nothing
    assert math.isfinite(scores["test_jensen_shannon_bits"]) and scores["test_jensen_shannon_bits"] > 0
    written = json.loads(json.dumps(scores, allow_nan=False))  # Python ints, no NaN or Infinity
    assert written == scores and written["test_kl_true_to_predicted_bits"] is None
    assert all(name.startswith("test_") for name in scores)
    # A predicted label the truth never has makes the KL finite: it is the other direction that is not.
    assert prediction_information(predicted, true)["kl_true_to_predicted_bits"] == pytest.approx(
        scipy.stats.entropy([2, 4, 0], [2, 2, 2], base=2)
    )


def test_prediction_information_refuses_what_it_cannot_pair():
    with pytest.raises(ValueError, match="paired"):
        prediction_information([0, 1], [0])
    with pytest.raises(ValueError, match="paired"):
        prediction_information([], [])
    with pytest.raises(ValueError, match="not in labels"):
        prediction_information([0, 1], [0, 2], labels=[0, 1])
    with pytest.raises(ValueError, match="repeats"):
        prediction_information([0, 1], [0, 1], labels=[0, 1, 1])
    with pytest.raises(ValueError, match="two kinds"):
        prediction_information([0, 1], ["0", "1"])
    with pytest.raises(ValueError, match="base"):
        prediction_information([0, 1], [0, 1], base=3)


def test_tag_information_counts_every_token_of_every_sentence():
    true = [["B-PER", "I-PER", "O"], ["O", "B-LOC"], ["O"]]
    predicted = [["B-PER", "O", "O"], ["O", "B-PER"], ["O"]]
    scores = tag_information(true, predicted, prefix="test_")
    flat_true = ["B-PER", "I-PER", "O", "O", "B-LOC", "O"]
    flat_predicted = ["B-PER", "O", "O", "O", "B-PER", "O"]
    assert scores == prediction_information(flat_true, flat_predicted, prefix="test_")
    # Over 6 tokens: true O 3, B-PER 1, I-PER 1, B-LOC 1; predicted O 4, B-PER 2.
    assert scores["test_label_entropy_bits"] == pytest.approx(scipy.stats.entropy([3, 1, 1, 1], base=2))
    assert scores["test_prediction_entropy_bits"] == pytest.approx(scipy.stats.entropy([4, 2], base=2))
    expected = sklearn.metrics.mutual_info_score(flat_true, flat_predicted) / math.log(2)
    assert scores["test_mutual_information_bits"] == pytest.approx(expected)
    assert scores["test_labels_never_predicted"] == ["B-LOC", "I-PER"]
    assert scores["test_kl_true_to_predicted_bits"] is None
    with pytest.raises(ValueError, match="sentence 1"):
        tag_information(true, [["B-PER", "O", "O"], ["O"], ["O"]])
    with pytest.raises(ValueError, match="sentences"):
        tag_information(true, predicted[:2])


@pytest.mark.parametrize("function", [prediction_information, tag_information], ids=lambda f: f.__name__)
def test_docstring_examples_run(function):
    (example,) = doctest.DocTestFinder().find(function, function.__name__, globs={})
    assert doctest.DocTestRunner().run(example).failed == 0
