"""Detection metrics on hand-made arrays with known answers; never accuracy."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from surveillance.errors import ConfigError, SchemaError
from surveillance.evaluation.metrics import (
    at_budget,
    cancel_ratio_baseline,
    episode_recall,
    episode_recall_by_typology,
    evaluate_scores,
    pr_auc,
    recall_at_precision,
    threshold_for_budget,
    threshold_for_daily_cases,
)

NAN = math.nan


# --- PR-AUC ---------------------------------------------------------------


def test_perfect_score() -> None:
    y = np.array([0, 1, 0, 1, 1, 0, 0, 0])
    s = y * 2.0 + np.linspace(0, 1, len(y))
    assert pr_auc(y, s) == pytest.approx(1.0)
    for floor in (0.5, 0.92, 1.0):
        recall, threshold = recall_at_precision(y, s, floor)
        assert recall == 1.0
        assert threshold == pytest.approx(s[y == 1].min())


def test_reversed_score() -> None:
    y = [1, 0, 0, 0]
    s = [0.0, 1.0, 2.0, 3.0]
    assert pr_auc(y, s) == pytest.approx(0.25)
    assert recall_at_precision(y, s, 0.5) == (0.0, math.inf)


def test_known_average_precision() -> None:
    # hits at ranks 1 and 3: (1/2) * 1 + (1/2) * (2/3)
    assert pr_auc([1, 0, 1, 0], [4, 3, 2, 1]) == pytest.approx(5 / 6)
    # tied scores are one threshold: precision 1/2 at recall 1
    assert pr_auc([1, 0], [1.0, 1.0]) == pytest.approx(0.5)
    assert pr_auc(np.array([True, False]), [1.0, 1.0]) == pytest.approx(0.5)


def test_nan_scores_rank_lowest() -> None:
    assert pr_auc([1, 0, 0], [NAN, 0.1, 0.2]) == pytest.approx(1 / 3)
    assert pr_auc([0, 1, 1], [NAN, 0.1, 0.2]) == pytest.approx(1.0)
    result = at_budget([1, 0, 0, 0], [NAN, 0.3, 0.2, 0.1], 0.5)
    assert (result.tp, result.fp, result.n_alerts) == (0, 2, 2)


def test_invalid_inputs_raise() -> None:
    with pytest.raises(SchemaError, match="no positive"):
        pr_auc([0, 0, 0], [0.1, 0.2, 0.3])
    with pytest.raises(SchemaError, match="no positive"):
        recall_at_precision([0, 0], [0.1, 0.2], 0.9)
    with pytest.raises(SchemaError):
        pr_auc([0, 2, 1], [0.1, 0.2, 0.3])
    with pytest.raises(SchemaError):
        pr_auc([0, 1, 1], [0.1, 0.2])
    with pytest.raises(SchemaError):
        pr_auc([], [])
    with pytest.raises(ConfigError):
        recall_at_precision([0, 1], [0.1, 0.2], 0.0)
    with pytest.raises(ConfigError):
        recall_at_precision([0, 1], [0.1, 0.2], 1.5)


# --- recall at precision --------------------------------------------------


def test_recall_at_precision_picks_best_recall_and_highest_threshold() -> None:
    y = [1, 1, 0, 1, 0]
    s = [5.0, 4.0, 3.0, 2.0, 1.0]
    # precision/recall by threshold: 5: 1, 1/3; 4: 1, 2/3; 3: 2/3, 2/3; 2: 3/4, 1; 1: 3/5, 1
    assert recall_at_precision(y, s, 0.75) == (1.0, 2.0)
    for floor in (0.8, 1.0):
        recall, threshold = recall_at_precision(y, s, floor)
        assert recall == pytest.approx(2 / 3)
        assert threshold == 4.0
    assert recall_at_precision(y, s, 0.6) == (1.0, 2.0)


# --- budgets -----------------------------------------------------------------


def test_at_budget_without_ties() -> None:
    s = np.arange(100, dtype=float)
    y = s >= 95
    result = at_budget(y, s, 0.05)
    assert result.threshold == 95.0
    assert (result.budget, result.n_alerts, result.ties_included) == (5, 5, 0)
    assert (result.precision, result.recall) == (1.0, 1.0)
    assert (result.tp, result.fp, result.fn, result.tn) == (5, 0, 0, 95)
    half = at_budget(y, s, 0.03)
    assert (half.precision, half.fn) == (1.0, 2)
    assert half.recall == pytest.approx(0.6)
    assert threshold_for_budget(s, 0.05) == 95.0


def test_at_budget_includes_ties_and_says_so() -> None:
    s = [10.0, 9.0, 9.0, 9.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    y = [1, 0, 1, 0, 1, 0, 0, 0, 0, 0]
    result = at_budget(y, s, 0.2)  # budget: 2 alerts; three events tie at 9
    assert result.threshold == 9.0
    assert (result.budget, result.n_alerts, result.ties_included) == (2, 4, 2)
    assert (result.tp, result.fp, result.fn, result.tn) == (2, 2, 1, 5)
    assert result.precision == 0.5
    assert result.recall == pytest.approx(2 / 3)


def test_budget_below_one_alert_alerts_nothing() -> None:
    result = at_budget([1, 0, 0], [3.0, 2.0, 1.0], 0.1)
    assert result.threshold == math.inf
    assert result.n_alerts == 0
    assert math.isnan(result.precision)
    assert result.recall == 0.0
    assert result.to_dict()["precision"] is None
    assert result.to_dict()["threshold"] is None


@pytest.mark.parametrize("fraction", [0.0, -0.1, 1.5])
def test_bad_budget_is_refused(fraction: float) -> None:
    with pytest.raises(ConfigError):
        threshold_for_budget([1.0, 2.0], fraction)


def test_threshold_for_daily_cases() -> None:
    scores = [9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0]
    days = ["d1"] * 5 + ["d2"] * 2 + ["d3"] * 2
    # 2 cases a day over 3 days: the top 6 cases
    assert threshold_for_daily_cases(scores, days, 2) == 4.0
    assert threshold_for_daily_cases(scores, days, 2, n_days=4) == 2.0
    assert threshold_for_daily_cases(scores, days, 100) == 1.0
    stamps = pd.to_datetime(
        ["2026-03-02 09:00", "2026-03-02 15:00", "2026-03-03 10:00", "2026-03-03 11:00"]
    ).to_numpy()
    assert threshold_for_daily_cases([4.0, 3.0, 2.0, 1.0], stamps, 1) == 3.0
    with pytest.raises(ConfigError):
        threshold_for_daily_cases(scores, days, 0)
    with pytest.raises(SchemaError):
        threshold_for_daily_cases(scores, days[:-1], 2)


# --- episodes ----------------------------------------------------------------


def test_episode_recall() -> None:
    ids = np.array([None, "A", "A", "A", "B", "B", None, "C"], dtype=object)
    alert = np.array([1, 0, 0, 1, 0, 0, 1, 1], dtype=bool)
    t0 = pd.Timestamp("2026-03-02 09:00")
    seconds = [0, 10, 11, 15, 20, 21, 22, 30]
    stamps = np.array([t0 + pd.Timedelta(seconds=x) for x in seconds], dtype="datetime64[ns]")
    result = episode_recall(alert, ids, stamps)
    assert result["n_episodes"] == 3
    assert result["n_caught"] == 2
    assert result["recall"] == pytest.approx(2 / 3)
    assert result["missed"] == ["B"]
    assert result["first_alert"] == {
        "A": {"index": 2, "seconds": 5.0},
        "C": {"index": 0, "seconds": 0.0},
    }
    assert result["seconds_to_first_alert_max"] == 5.0
    assert "first_alert" not in episode_recall(alert, ids)
    coarse = episode_recall(alert, ids, stamps.astype("datetime64[s]"))
    assert coarse["first_alert"] == result["first_alert"]


def test_episode_recall_by_typology() -> None:
    ids = np.array([None, "A", "A", "B", "C"], dtype=object)
    typ = np.array([None, "spoofing", "spoofing", "layering", "spoofing"], dtype=object)
    alert = np.array([0, 0, 1, 0, 0], dtype=bool)
    result = episode_recall_by_typology(alert, ids, typ)
    assert set(result) == {"spoofing", "layering"}
    assert result["spoofing"]["n_episodes"] == 2
    assert result["spoofing"]["recall"] == 0.5
    assert result["layering"]["recall"] == 0.0


# --- the whole evaluation -----------------------------------------------------


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | set().union(*(_keys(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_keys(v) for v in value))
    return set()


def _market() -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """100 normal events, spoofing episode S (4 events), layering episode L (2 events)."""
    n = 106
    t0 = pd.Timestamp("2026-03-02 09:00", tz="UTC")
    events = pd.DataFrame(
        {
            "event_id": [f"EV{i:03d}" for i in range(n)],
            "timestamp": [t0 + pd.Timedelta(seconds=i) for i in range(n)],
        }
    )
    labels = pd.DataFrame(
        {
            "event_id": [f"EV{i:03d}" for i in range(100, 106)],
            "episode_id": ["S"] * 4 + ["L"] * 2,
            "typology": ["spoofing"] * 4 + ["layering"] * 2,
            "severity": ["low"] * 6,
        }
    )
    # layering scores highest, spoofing next, normal events lowest; one spoofing NaN
    score = np.r_[np.linspace(0, 1, 100), [5.0, 5.0, 5.0, NAN], [9.0, 9.0]]
    return events, labels, score


def test_evaluate_scores_per_typology_excludes_other_typologies() -> None:
    events, labels, score = _market()
    result = evaluate_scores(events, labels, score, budget_fraction=0.02, min_precision=0.9)
    json.dumps(result, allow_nan=False)  # JSON-able, no NaN
    assert not any("accuracy" in k for k in _keys(result))
    assert result["typologies"] == ["layering", "spoofing"]
    assert result["n_missing_scores"] == 1
    # budget: 2 alerts of 106, both on layering
    assert result["budget"]["threshold"] == 9.0
    assert result["budget"]["n_alerts"] == 2
    spoof = result["per_typology"]["spoofing"]
    # against normal events only, the three scored spoofing events rank first
    assert spoof["n_events"] == 104
    assert spoof["n_positive"] == 4
    assert spoof["base_rate"] == pytest.approx(4 / 104)
    assert spoof["pr_auc"] == pytest.approx(0.75 + 0.25 * 4 / 104)
    assert spoof["recall_at_precision"] == pytest.approx(0.75)
    assert spoof["threshold_at_precision"] == 5.0
    # no alert among normal and spoofing events at this budget
    assert spoof["at_budget"]["n_alerts"] == 0
    assert spoof["at_budget"]["precision"] is None
    assert spoof["at_budget"]["recall"] == 0.0
    assert spoof["episodes_at_budget"]["recall"] == 0.0
    layer = result["per_typology"]["layering"]
    assert layer["pr_auc"] == 1.0
    assert layer["at_budget"]["precision"] == 1.0
    assert layer["episodes_at_budget"]["recall"] == 1.0
    overall = result["overall"]
    assert overall["n_positive"] == 6
    assert overall["at_budget"]["recall"] == pytest.approx(2 / 6)
    assert overall["episodes_at_budget"]["recall"] == 0.5


def test_evaluate_scores_scope_and_given_threshold() -> None:
    events, labels, score = _market()
    result = evaluate_scores(events, labels, score, typologies=["spoofing"], threshold=5.0)
    assert list(result["per_typology"]) == ["spoofing"]
    assert result["overall"]["n_events"] == 104  # layering excluded from the scope
    assert result["budget"]["kind"] == "threshold given by the caller"
    assert result["overall"]["at_budget"]["tp"] == 3
    assert result["overall"]["episodes_at_budget"]["first_alert"] == {
        "S": {"index": 0, "seconds": 0.0}
    }
    with pytest.raises(SchemaError):
        evaluate_scores(events, labels, score, typologies=["wash_trading"])
    with pytest.raises(SchemaError):
        evaluate_scores(events, labels, score[:-1])


# --- the naive baseline -------------------------------------------------------


def test_cancel_ratio_baseline() -> None:
    features = pd.DataFrame({"trader_cancel_ratio_5m": [0.0, 1.0, NAN, 2.0]})
    z = cancel_ratio_baseline(features)
    s = math.sqrt(2 / 3)
    assert z[[0, 1, 3]] == pytest.approx([-1 / s, 0.0, 1 / s])
    assert z[2] == pytest.approx(-1 / s - 1.0)  # missing ranks lowest
    assert np.isfinite(z).all()
    constant = cancel_ratio_baseline(pd.DataFrame({"trader_cancel_ratio_5m": [0.5, 0.5, NAN]}))
    assert constant.tolist() == [0.0, 0.0, -1.0]
    with pytest.raises(SchemaError):
        cancel_ratio_baseline(pd.DataFrame({"other": [1.0]}))
