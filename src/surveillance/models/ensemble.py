"""Ensemble of the two detectors, the route of each alert, and cases for reviewers.

Both scores are put on one scale before they are combined: the share of held-out
normal events that score lower (an empirical CDF), so "0.99" means the same thing for
either model. The ensemble is their weighted sum (0.6 supervised + 0.4 autoencoder by
default). Each alert says why it fired: a known pattern (the supervised detector is
high), a novel anomaly (the autoencoder is high), or both. Alerts are grouped into
cases (one order, one trader's burst of activity, or without identity one instrument
and side), so one noisy episode cannot flood the review queue; a case carries its
highest score and its events.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from surveillance.errors import ConfigError
from surveillance.models.anomaly import Calibration

FloatArray = npt.NDArray[np.float64]

KNOWN, NOVEL, BOTH, NONE = "known_pattern", "novel_anomaly", "both", "none"


@dataclass(frozen=True)
class EnsembleConfig:
    supervised_weight: float = 0.6
    autoencoder_weight: float = 0.4
    high: float = 0.99  # a component is "high" above this share of normal events

    def __post_init__(self) -> None:
        total = self.supervised_weight + self.autoencoder_weight
        if self.supervised_weight < 0 or self.autoencoder_weight < 0 or abs(total - 1.0) > 1e-9:
            raise ConfigError(
                "ensemble weights: two non-negative numbers that add up to 1, got "
                f"{self.supervised_weight} and {self.autoencoder_weight}"
            )
        if not 0 < self.high < 1:
            raise ConfigError(f"ensemble high: a share in (0, 1), got {self.high}")


@dataclass(frozen=True)
class Ensemble:
    config: EnsembleConfig
    supervised: Calibration  # supervised scores of held-out normal events
    autoencoder: Calibration  # autoencoder raw errors of held-out normal events

    def scores(
        self, supervised_raw: FloatArray, autoencoder_raw: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(ensemble, supervised on the normal scale, autoencoder on the normal scale)."""
        s = self.supervised.score(np.nan_to_num(supervised_raw, nan=-np.inf))
        a = self.autoencoder.score(np.nan_to_num(autoencoder_raw, nan=-np.inf))
        c = self.config
        return c.supervised_weight * s + c.autoencoder_weight * a, s, a

    def routes(self, supervised: FloatArray, autoencoder: FloatArray) -> npt.NDArray[np.object_]:
        """Why an event scores high: known pattern, novel anomaly, both, or none."""
        hs = supervised >= self.config.high
        ha = autoencoder >= self.config.high
        out = np.full(len(supervised), NONE, dtype=object)
        out[hs & ~ha] = KNOWN
        out[ha & ~hs] = NOVEL
        out[hs & ha] = BOTH
        return out


def group_cases(
    alerts: pd.DataFrame,
    window_s: float = 60.0,
) -> npt.NDArray[np.int64]:
    """A case id for every alert.

    ``alerts`` has columns timestamp (ns or datetime), instrument_id, order_id, side,
    trader_id (may be null). Alerts of one order share a case; so do alerts of one
    trader on one instrument (or, without a trader, of one instrument and side) less
    than ``window_s`` apart. Case ids are 0..k-1 in order of each case's first alert.
    """
    n = len(alerts)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    ts = alerts["timestamp"]
    t = (
        pd.to_datetime(ts, utc=True).astype("int64").to_numpy()
        if pd.api.types.is_datetime64_any_dtype(ts)
        else np.asarray(ts, dtype=np.int64)
    )
    trader = alerts["trader_id"].astype("string")
    who = (
        alerts["instrument_id"].astype("string")
        + "\x1f"
        + trader.fillna("\x1e" + alerts["side"].astype("string"))
    )
    parent = np.arange(n)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = int(parent[i])
        return i

    def union(i: int, j: int) -> None:
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)

    gap = int(window_s * 1e9)
    frame = pd.DataFrame({"who": who.to_numpy(), "t": t, "i": np.arange(n)})
    for _, g in frame.sort_values(["who", "t"], kind="stable").groupby("who", sort=False):
        idx, times = g["i"].to_numpy(), g["t"].to_numpy()
        for a, b, ta, tb in zip(idx[:-1], idx[1:], times[:-1], times[1:], strict=True):
            if tb - ta < gap:
                union(int(a), int(b))
    order_key = (
        alerts["instrument_id"].astype("string") + "\x1f" + alerts["order_id"].astype("string")
    )
    positions = pd.Series(np.arange(n))
    for _, same_order in positions.groupby(order_key.to_numpy(), sort=False):
        members = same_order.to_numpy()
        for j in members[1:]:
            union(int(members[0]), int(j))
    roots = np.asarray([find(i) for i in range(n)])
    first_time = pd.Series(t).groupby(roots).transform("min").to_numpy()
    ranked = pd.DataFrame({"root": roots, "first": first_time}).drop_duplicates("root")
    ranked = ranked.sort_values(["first", "root"], kind="stable")
    number = dict(zip(ranked["root"], range(len(ranked)), strict=True))
    return np.asarray([number[r] for r in roots], dtype=np.int64)


def case_table(
    alerts: pd.DataFrame, case_ids: npt.NDArray[np.int64], score: str = "score"
) -> pd.DataFrame:
    """One row per case: its highest score, first and last time, events, orders, accounts."""
    frame = alerts.assign(case_id=case_ids)
    grouped = frame.groupby("case_id", sort=True)
    return pd.DataFrame(
        {
            "max_score": grouped[score].max(),
            "first": grouped["timestamp"].min(),
            "last": grouped["timestamp"].max(),
            "n_events": grouped.size(),
            "n_orders": grouped["order_id"].nunique(),
            "instrument_id": grouped["instrument_id"].first(),
            "traders": grouped["trader_id"].agg(lambda s: sorted(set(s.dropna()))),
        }
    ).sort_values("max_score", ascending=False, kind="stable")
