"""The hidden-unit report's mutual-information ranking: equal-frequency bins, the bits of a unit that copies
a feature, and a planted unit that responds to the position in a line non-monotonically, which correlation
ranks low and mutual information ranks first, as the report's table and sentence say."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
from gensim.test.utils import datapath

import zoo.inspection
from zoo.metrics.information import entropy


def test_bins_hold_equal_counts_and_keep_binary_values_apart():
    np.testing.assert_array_equal(np.bincount(zoo.inspection.discretise(np.arange(80.0))), [10] * 8)
    rare = np.zeros(1000)
    rare[[3, 500]] = 1.0
    for binary in (rare, 1.0 - rare, np.arange(1000) % 2):
        labels = zoo.inspection.discretise(binary)
        assert len(np.unique(labels)) == 2 and len(np.unique(labels[binary == 1])) == 1
    assert len(np.unique(zoo.inspection.discretise(np.full(50, 3.0)))) == 1
    columns = zoo.inspection.discretise(np.stack([np.arange(80.0), -np.arange(80.0)], axis=1))
    np.testing.assert_array_equal(columns[:, 1], 7 - columns[:, 0])  # each column cut on its own


def test_a_unit_that_copies_a_binary_feature_shares_its_entropy():
    rng = np.random.default_rng(0)
    feature = (rng.random(500) < 0.2).astype(float)
    activations = np.stack([feature * 3.0 - 1.0, rng.normal(size=500), np.zeros(500)], axis=1)
    information = zoo.inspection.mutual_informations(activations, feature)
    assert information[0] == pytest.approx(entropy(np.bincount(feature.astype(int))), abs=1e-12)
    assert information[1] < 0.02 and information[2] == 0.0


@pytest.fixture
def planted():
    """60 lines of 40 characters of Lee's corpus; ten units: noise, unit 2 a noisy linear function of
    the position in the line, unit 4 `|position - 20|`, high at both ends of the line (positions 0 to
    40, the line break included, equally often: its correlation with the position is 0)."""
    lee = pathlib.Path(datapath("lee_background.cor")).read_text(encoding="utf-8").replace("\n", " ")
    text = "\n".join(lee[start : start + 40] for start in range(0, 2400, 40)) + "\n"
    features = zoo.inspection.character_features(text)
    position = features["position_in_line"]
    rng = np.random.default_rng(0)
    activations = rng.normal(size=(len(text), 10))
    activations[:, 2] = 0.05 * position + rng.normal(size=len(text))
    activations[:, 4] = np.abs(position - 20)
    return activations, features


def test_mutual_information_ranks_first_the_unit_correlation_ranks_low(planted):
    activations, features = planted
    position = features["position_in_line"]
    r = np.abs(zoo.inspection.correlations(activations, position))
    information = zoo.inspection.mutual_informations(activations, position)
    assert np.argmax(r) == 2 and np.argsort(-r).tolist().index(4) >= 5  # correlation: bottom half
    assert np.argmax(information) == 4 and information[4] > 1.5 > 4 * information[2]
    match = {match.feature: match for match in zoo.inspection.best_units(activations, features)}[
        "position_in_line"
    ]
    assert (match.unit, match.mi_unit) == (2, 4)
    assert match.information == pytest.approx(information[2])
    assert match.mi_information == pytest.approx(information[4]) and abs(match.mi_correlation) < 1e-9


def test_the_report_lists_both_units_and_says_where_they_disagree(planted, tmp_path):
    activations, features = planted
    matches = zoo.inspection.best_units(activations, features)
    table = zoo.inspection.markdown_table(matches)
    row = next(line for line in table.splitlines() if line.startswith("| position_in_line |"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[1] == "unit[2]" and cells[4] == "unit[4]" and float(cells[5]) > 1.5
    assert "8 equal-frequency bins" in table
    sentence = zoo.inspection.disagreement(matches)
    assert "position_in_line: unit[4] by mutual information" in sentence and sentence in table
    assert "with a smaller |r| in position_in_line (unit[4]): such a unit responds" in sentence
    assert "non-monotonically" in sentence
    # Another unit of about the same standing: a disagreement, but no sign of a non-monotone unit.
    close = [match._replace(mi_information=match.information * 1.2) for match in matches]
    assert "Nowhere does mutual information's unit hold" in zoo.inspection.disagreement(close)
    same = [match._replace(mi_unit=match.unit) for match in matches]
    assert zoo.inspection.disagreement(same).startswith("Correlation and mutual information pick the same")
