"""Single-feature PR-AUC: average precision with NaN ranked lowest, both directions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from surveillance.features.separation import (
    average_precision,
    separation,
    separation_by_typology,
)

NAN = float("nan")


def test_perfect_ranking_scores_one() -> None:
    """GIVEN positives with the highest scores
    WHEN average precision is computed
    THEN it is 1."""
    assert average_precision([0.9, 0.8, 0.1, 0.2], [1, 1, 0, 0]) == pytest.approx(1.0)


def test_hand_computed_value_with_ties() -> None:
    """GIVEN scores [1, 1, 0, 0] and labels [1, 0, 1, 0] (ties across labels)
    WHEN average precision is computed
    THEN a tie is one threshold: precision 0.5 at recall 0.5 and at 1, so AP = 0.5."""
    assert average_precision([1, 1, 0, 0], [1, 0, 1, 0]) == pytest.approx(0.5)


def test_hand_computed_value_without_ties() -> None:
    """GIVEN scores 4 > 3 > 2 > 1 with labels 1, 0, 1, 0
    WHEN average precision is computed
    THEN AP = 0.5 * 1 + 0.5 * 2/3."""
    assert average_precision([4, 3, 2, 1], [1, 0, 1, 0]) == pytest.approx(0.5 + 1 / 3)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_agrees_with_sklearn_on_finite_scores(seed: int) -> None:
    """GIVEN random finite scores with many ties and random labels
    WHEN both are computed
    THEN ours equals sklearn's average_precision_score."""
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 20, 500).astype(float)
    labels = rng.random(500) < 0.1
    assert average_precision(scores, labels) == pytest.approx(
        average_precision_score(labels, scores)
    )


def test_nan_ranks_lowest_in_both_directions() -> None:
    """GIVEN positives that all have a value and negatives that are all NaN
    WHEN the feature and its negation are scored
    THEN both reach 1 (NaN is below every value either way), and the natural
    direction is kept on the tie."""
    scores = [5.0, -3.0, NAN, NAN, NAN]
    labels = [1, 1, 0, 0, 0]
    assert average_precision(scores, labels) == pytest.approx(1.0)
    assert average_precision([-s for s in scores], labels) == pytest.approx(1.0)
    sep = separation(scores, labels)
    assert sep.pr_auc == pytest.approx(1.0) and sep.direction == 1


def test_positives_that_are_nan_score_the_base_rate() -> None:
    """GIVEN positives that are all NaN among scored negatives
    WHEN average precision is computed
    THEN the positives come last, tied together with the other NaNs: AP is the share
    of positives among everything (recall reached only at the last threshold)."""
    scores = [3.0, 2.0, 1.0, NAN, NAN]
    labels = [0, 0, 0, 1, 1]
    assert average_precision(scores, labels) == pytest.approx(2 / 5)
    assert average_precision([-s for s in scores], labels) == pytest.approx(2 / 5)


def test_negated_direction_is_reported_when_better() -> None:
    """GIVEN a feature whose low values mark the positives
    WHEN separation picks the better direction
    THEN it reports the negated one (direction -1, marker '(neg)') with PR-AUC 1, and
    keeps the worse direction's value for reference."""
    scores = np.array([0.1, 0.2, 5.0, 6.0, 7.0, 8.0])
    labels = np.array([1, 1, 0, 0, 0, 0], dtype=bool)

    sep = separation(scores, labels)

    assert sep.direction == -1
    assert sep.marker == " (neg)"
    assert sep.pr_auc == pytest.approx(1.0)
    assert sep.pr_auc_other < 0.5
    assert sep.base_rate == pytest.approx(2 / 6)
    assert (sep.n_pos, sep.n_neg) == (2, 4)


def test_constant_feature_scores_the_base_rate() -> None:
    """GIVEN a constant feature
    WHEN it is scored
    THEN both directions give the base rate and the natural direction is kept."""
    sep = separation(np.zeros(10), np.arange(10) < 3)
    assert sep.pr_auc == pytest.approx(0.3) and sep.direction == 1


def test_no_positive_gives_nan_and_bad_shapes_raise() -> None:
    """GIVEN no positive label, or scores and labels of different lengths
    WHEN average precision is asked for
    THEN it is NaN, or a ValueError."""
    assert math.isnan(average_precision([1.0, 2.0], [0, 0]))
    with pytest.raises(ValueError, match="shape"):
        average_precision([1.0, 2.0], [1])


def test_per_typology_leaves_other_typologies_out() -> None:
    """GIVEN events of typologies a and b and normal events (None)
    WHEN one feature is scored per typology
    THEN each typology is ranked against normal events only (the other typology's
    events, even with high scores, are left out), with its own base rate and its
    availability among its events."""
    values = np.array([9.0, 8.0, 7.0, NAN, 1.0, 2.0, 3.0, 0.5])
    typology = np.array(["b", "b", "a", "a", None, None, None, None], dtype=object)

    out = separation_by_typology(values, typology, ["a", "b"])

    a, b = out["a"], out["b"]
    assert (a.n_pos, a.n_neg) == (2, 4)
    assert a.base_rate == pytest.approx(2 / 6)
    # a: 7.0 first (precision 1 at recall 0.5), the NaN one last (2/6 at recall 1)
    assert a.pr_auc == pytest.approx(0.5 * 1 + 0.5 * 2 / 6)
    assert a.availability_pos == pytest.approx(0.5)
    assert b.pr_auc == pytest.approx(1.0) and b.direction == 1
    alone = separation(values[[2, 3, 4, 5, 6, 7]], np.array([1, 1, 0, 0, 0, 0], dtype=bool))
    assert a.pr_auc == pytest.approx(alone.pr_auc)
