"""Ensemble scores, routes and cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from surveillance.errors import ConfigError
from surveillance.models.anomaly import Calibration
from surveillance.models.ensemble import (
    BOTH,
    KNOWN,
    NONE,
    NOVEL,
    Ensemble,
    EnsembleConfig,
    case_table,
    group_cases,
)

NS = 1_000_000_000


def _ensemble(**kw: float) -> Ensemble:
    normal = np.linspace(0.0, 1.0, 101)  # held-out normal scores 0.00 .. 1.00
    return Ensemble(EnsembleConfig(**kw), Calibration.fit(normal), Calibration.fit(normal))


def test_scores_are_weighted_on_the_normal_scale() -> None:
    ens = _ensemble()
    total, s, a = ens.scores(np.array([1.0, 0.0, 0.5]), np.array([0.0, 1.0, 0.5]))
    assert s[1:].tolist() == [1 / 101, 51 / 101]  # the empirical CDF below the tail
    assert 0.99 < s[0] < 1.0  # the top is in the fitted tail
    assert np.allclose(total, 0.6 * s + 0.4 * a)
    assert total[0] > total[1]  # by default the supervised detector weighs more


def test_the_tail_keeps_the_order_of_the_most_anomalous() -> None:
    """Beyond every reference point scores still rise with the raw score: no ties at 1.0."""
    cal = Calibration.fit(np.linspace(0.0, 1.0, 1_001))
    top = cal.score(np.array([0.995, 1.0, 1.5, 3.0, 10.0]))
    assert np.all(np.diff(top) > 0)
    assert np.all((top > 0.99) & (top <= 1.0))
    below = cal.score(np.array([0.1, 0.5]))
    assert np.allclose(below, [101 / 1_001, 501 / 1_001])


def test_missing_scores_count_as_the_lowest() -> None:
    ens = _ensemble()
    total, _, _ = ens.scores(np.array([np.nan]), np.array([np.nan]))
    assert total.tolist() == [0.0]


def test_routes_say_which_detector_fired() -> None:
    ens = _ensemble(high=0.9)
    routes = ens.routes(np.array([0.95, 0.1, 0.99, 0.5]), np.array([0.2, 0.97, 0.93, 0.5]))
    assert routes.tolist() == [KNOWN, NOVEL, BOTH, NONE]


@pytest.mark.parametrize(
    "kw", [{"supervised_weight": 0.7, "autoencoder_weight": 0.4}, {"high": 1.5}]
)
def test_bad_configs_are_refused(kw: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        EnsembleConfig(**kw)


def alert(t_s: float, order: str, trader: str | None, side: str = "BUY", inst: str = "X") -> dict:
    return {"timestamp": int(t_s * NS), "order_id": order, "trader_id": trader, "side": side,
            "instrument_id": inst}  # fmt: skip


def test_cases_join_a_traders_burst_and_each_order() -> None:
    alerts = pd.DataFrame(
        [
            alert(0, "o1", "A"),
            alert(10, "o2", "A"),  # same trader within a minute: same case
            alert(500, "o3", "A"),  # much later: a new case
            alert(900, "o1", "A"),  # but order o1 again: back to the first case
            alert(5, "o4", "B"),  # another trader: another case
            alert(6, "o5", None, side="SELL"),  # no trader: instrument and side
            alert(7, "o6", None, side="SELL"),
            alert(8, "o7", None, side="BUY"),
        ]
    )
    cases = group_cases(alerts, window_s=60)
    assert cases[0] == cases[1] == cases[3]
    assert cases[2] not in (cases[0], cases[4])
    assert cases[5] == cases[6] != cases[7]
    assert sorted(set(cases)) == list(range(len(set(cases))))
    assert cases[0] == 0  # numbered by first alert


def test_case_table_keeps_the_highest_score() -> None:
    alerts = pd.DataFrame([alert(0, "o1", "A"), alert(1, "o2", "A"), alert(2, "o3", "B")])
    alerts["score"] = [0.2, 0.9, 0.5]
    table = case_table(alerts, group_cases(alerts))
    assert table["max_score"].tolist() == [0.9, 0.5]
    assert table["n_events"].tolist() == [2, 1]
    assert table.iloc[0]["traders"] == ["A"]
