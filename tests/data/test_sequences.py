"""zoo.data.sequences: the adding problem's markers, targets and baseline, and the digits as sequences."""

import numpy as np
import pytest

from zoo.data import adding_problem, digit_sequences


def test_adding_problem_marks_one_value_in_each_half_and_sums_them():
    sequences, targets = adding_problem(500, 10, seed=[0, 10, 0])
    assert sequences.shape == (500, 10, 2) and targets.shape == (500, 1)
    values, markers = sequences[..., 0], sequences[..., 1]
    assert set(np.unique(markers)) == {0.0, 1.0}
    assert (markers[:, :5].sum(axis=1) == 1).all() and (markers[:, 5:].sum(axis=1) == 1).all()
    np.testing.assert_allclose(targets[:, 0], (values * markers).sum(axis=1), rtol=1e-6)
    assert 0.0 <= values.min() and values.max() < 1.0
    # Deterministic by seed, and different for another seed.
    np.testing.assert_array_equal(adding_problem(500, 10, seed=[0, 10, 0])[0], sequences)
    assert not np.array_equal(adding_problem(500, 10, seed=[0, 10, 1])[0], sequences)


def test_always_answering_one_scores_the_documented_baseline():
    # The sum of two U[0, 1] values has mean 1 and variance 2/12: the baseline MSE is 1/6.
    _, targets = adding_problem(40_000, 50, seed=3)
    assert np.mean((targets - 1.0) ** 2) == pytest.approx(1 / 6, abs=0.004)


def test_digit_sequences_split_60_15_25_stratified():
    splits = digit_sequences("pixels", seed=0)
    sizes = {name: len(labels) for name, (_, labels) in splits.items()}
    assert sizes == {"train": 1077, "validation": 270, "test": 450}  # 60/15/25 of 1,797
    for _, labels in splits.values():  # stratified: every class in every split, in about equal shares
        assert np.bincount(labels, minlength=10).min() >= 0.8 * len(labels) / 10
    assert splits["train"][0].dtype == np.float32 and splits["train"][0].shape[1:] == (64, 1)
