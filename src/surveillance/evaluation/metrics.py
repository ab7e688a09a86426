"""Detection metrics that survive class imbalance: never accuracy.

Every score is "higher means more suspicious"; an event is alerted when its score is
at least the threshold. Missing scores (NaN) rank lowest, tied with ``-inf``.

- ``pr_auc``: average precision (the step-wise area under the precision-recall
  curve, tied scores taken together, as scikit-learn defines it);
- ``recall_at_precision``: the best recall among thresholds whose precision reaches
  a floor, and the highest threshold that gives it;
- ``at_budget``: precision and recall when the top ``budget_fraction`` of events are
  alerted; events tied at the threshold are all alerted and counted in
  ``ties_included`` (a budget is a capacity: it is only ever exceeded by ties);
- ``threshold_for_daily_cases``: one threshold for a budget in cases per day;
- ``episode_recall``: an episode is caught when at least one of its events is
  alerted (and how soon, when timestamps are given);
- ``evaluate_scores``: all of the above, overall and per typology, as a JSON-able
  dictionary;
- ``cancel_ratio_baseline``: the rule analysts used before models.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from surveillance.errors import ConfigError, SchemaError
from surveillance.evaluation.split import episode_of, typology_of

BASELINE_FEATURE = "trader_cancel_ratio_5m"

ArrayLike = npt.ArrayLike


@dataclass(frozen=True)
class BudgetResult:
    """The confusion at one alert threshold (alerted: score >= threshold)."""

    threshold: float
    budget: int  # alerts the budget allows
    n_alerts: int  # alerts raised: budget + ties_included
    ties_included: int  # alerts beyond the budget because their score ties the threshold
    precision: float  # NaN when nothing is alerted
    recall: float  # NaN when there is no positive
    tp: int
    fp: int
    fn: int
    tn: int

    def to_dict(self) -> dict[str, Any]:
        return {k: _jsonable(v) for k, v in asdict(self).items()}


def _jsonable(value: Any) -> Any:
    """Python scalars for JSON: numpy types unwrapped, non-finite floats as None."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer | int):
        return int(value)
    if isinstance(value, np.floating | float):
        number = float(value)
        return number if math.isfinite(number) else None
    return value


def _score(score: ArrayLike, n: int | None = None) -> np.ndarray:
    """Scores as float64 with NaN replaced by ``-inf`` (ranks lowest)."""
    try:
        x = np.asarray(score, dtype=float)
    except (TypeError, ValueError) as exc:
        raise SchemaError(f"score: not numeric: {exc}") from exc
    if x.ndim != 1:
        raise SchemaError(f"score: expected one dimension, got shape {x.shape}")
    if n is not None and len(x) != n:
        raise SchemaError(f"score: {len(x)} values for {n} events")
    return np.where(np.isnan(x), -np.inf, x)


def _labels(y_true: ArrayLike) -> np.ndarray:
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise SchemaError(f"y_true: expected one dimension, got shape {y.shape}")
    if y.dtype == bool:
        return y
    if y.dtype.kind not in "iuf" or not np.isin(y, (0, 1)).all():
        raise SchemaError("y_true: expected booleans or 0/1 values")
    return y.astype(bool)


def _pair(y_true: ArrayLike, score: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    y = _labels(y_true)
    return y, _score(score, len(y))


def _curve(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct thresholds (descending) with cumulative true and false positives."""
    order = np.argsort(-s, kind="stable")
    s_sorted = s[order]
    hits = y[order].astype(np.int64)
    last = np.r_[np.flatnonzero(s_sorted[1:] != s_sorted[:-1]), len(s_sorted) - 1]
    tp = np.cumsum(hits)[last]
    fp = (last + 1) - tp
    return s_sorted[last], tp, fp


def _require_positive(y: np.ndarray, what: str) -> int:
    n_pos = int(y.sum())
    if len(y) == 0:
        raise SchemaError(f"{what}: no events")
    if n_pos == 0:
        raise SchemaError(f"{what}: y_true has no positive; the metric is undefined")
    return n_pos


def pr_auc(y_true: ArrayLike, score: ArrayLike) -> float:
    """Average precision: sum over thresholds of (recall step) x precision."""
    y, s = _pair(y_true, score)
    n_pos = _require_positive(y, "pr_auc")
    _, tp, fp = _curve(y, s)
    precision = tp / (tp + fp)
    recall_step = np.diff(np.r_[0, tp]) / n_pos
    return float(np.sum(recall_step * precision))


def recall_at_precision(
    y_true: ArrayLike, score: ArrayLike, min_precision: float
) -> tuple[float, float]:
    """(best recall, highest threshold giving it) with precision >= ``min_precision``.

    ``(0.0, inf)`` when no threshold reaches the precision.
    """
    if not 0.0 < min_precision <= 1.0:
        raise ConfigError(f"min_precision: must lie in (0, 1], got {min_precision}")
    y, s = _pair(y_true, score)
    n_pos = _require_positive(y, "recall_at_precision")
    thresholds, tp, fp = _curve(y, s)
    ok = tp / (tp + fp) >= min_precision - 1e-12
    if not ok.any():
        return 0.0, math.inf
    best_tp = tp[ok].max()
    first = np.flatnonzero(ok & (tp == best_tp))[0]  # thresholds descend: the highest
    return float(best_tp / n_pos), float(thresholds[first])


def _top_k_threshold(s: np.ndarray, k: int) -> float:
    if k <= 0:
        return math.inf
    if k >= len(s):
        return float(s.min()) if len(s) else math.inf
    return float(np.partition(s, len(s) - k)[len(s) - k])


def _budget_count(n: int, budget_fraction: float) -> int:
    if not 0.0 < budget_fraction <= 1.0:
        raise ConfigError(f"budget_fraction: must lie in (0, 1], got {budget_fraction}")
    return math.floor(budget_fraction * n + 1e-9)


def threshold_for_budget(score: ArrayLike, budget_fraction: float) -> float:
    """The score of the ``floor(budget_fraction * n)``-th highest event (``inf`` if none)."""
    s = _score(score)
    return _top_k_threshold(s, _budget_count(len(s), budget_fraction))


def confusion_at(
    y_true: ArrayLike, score: ArrayLike, threshold: float, budget: int | None = None
) -> BudgetResult:
    """Precision, recall and counts when every score >= ``threshold`` is alerted."""
    y, s = _pair(y_true, score)
    alert = s >= threshold
    tp = int((alert & y).sum())
    fp = int((alert & ~y).sum())
    fn = int((~alert & y).sum())
    tn = int((~alert & ~y).sum())
    n_alerts = tp + fp
    allowed = n_alerts if budget is None else budget
    return BudgetResult(
        threshold=float(threshold),
        budget=allowed,
        n_alerts=n_alerts,
        ties_included=max(0, n_alerts - allowed),
        precision=tp / n_alerts if n_alerts else math.nan,
        recall=tp / (tp + fn) if tp + fn else math.nan,
        tp=tp,
        fp=fp,
        fn=fn,
        tn=tn,
    )


def at_budget(y_true: ArrayLike, score: ArrayLike, budget_fraction: float) -> BudgetResult:
    """Alert the top ``budget_fraction`` of events by score (all ties at the threshold)."""
    y, s = _pair(y_true, score)
    k = _budget_count(len(s), budget_fraction)
    return confusion_at(y, s, _top_k_threshold(s, k), budget=k)


def threshold_for_daily_cases(
    case_scores: ArrayLike,
    case_days: ArrayLike,
    cases_per_day: float,
    *,
    n_days: int | None = None,
) -> float:
    """One threshold that alerts ``cases_per_day`` cases per day on average.

    The budget is ``floor(cases_per_day * n_days)`` cases over the whole period,
    ``n_days`` being the number of distinct days in ``case_days`` unless given (pass
    the number of trading days when some days had no case). A single threshold is
    what runs in production: busy days get more alerts than quiet ones. Datetime
    days are floored to the calendar day. Ties at the threshold are all alerted.
    """
    if not (math.isfinite(cases_per_day) and cases_per_day > 0):
        raise ConfigError(f"cases_per_day: must be positive, got {cases_per_day}")
    s = _score(case_scores)
    days = pd.Series(np.asarray(case_days))
    if len(days) != len(s):
        raise SchemaError(f"case_days: {len(days)} values for {len(s)} cases")
    if pd.api.types.is_datetime64_any_dtype(days.dtype):
        days = days.dt.floor("D")
    periods = int(days.nunique()) if n_days is None else n_days
    if periods < 1:
        raise ConfigError(f"n_days: must be at least 1, got {periods}")
    return _top_k_threshold(s, math.floor(cases_per_day * periods + 1e-9))


def _ids(values: ArrayLike, n: int | None = None, what: str = "episode_ids") -> pd.Series:
    series = pd.Series(np.asarray(values, dtype=object))
    if n is not None and len(series) != n:
        raise SchemaError(f"{what}: {len(series)} values for {n} events")
    return series


def episode_recall(
    alert_mask: ArrayLike,
    episode_ids: ArrayLike,
    timestamps: ArrayLike | None = None,
) -> dict[str, Any]:
    """Share of episodes with at least one alerted event (``None``/NaN ids: normal).

    With timestamps, each caught episode also gets the index (in time order, 0 =
    its first event) of its first alerted event and the seconds from the episode's
    first event to it.
    """
    alert = np.asarray(alert_mask, dtype=bool)
    if alert.ndim != 1:
        raise SchemaError(f"alert_mask: expected one dimension, got shape {alert.shape}")
    ids = _ids(episode_ids, len(alert))
    member = ids.notna().to_numpy()
    frame = pd.DataFrame({"episode": ids[member].astype(str), "alert": alert[member]})
    caught = frame.groupby("episode", sort=True)["alert"].any()
    n_episodes = len(caught)
    out: dict[str, Any] = {
        "n_episodes": n_episodes,
        "n_caught": int(caught.sum()),
        "recall": float(caught.mean()) if n_episodes else None,
        "missed": sorted(caught.index[~caught.to_numpy()].tolist()),
    }
    if timestamps is None:
        return out
    ts = pd.Series(pd.to_datetime(np.asarray(timestamps), utc=True)).dt.as_unit("ns")
    if len(ts) != len(alert):
        raise SchemaError(f"timestamps: {len(ts)} values for {len(alert)} events")
    frame["ns"] = ts[member].astype("int64").to_numpy()
    frame = frame.sort_values(["episode", "ns"], kind="stable")
    frame["index"] = frame.groupby("episode").cumcount()
    frame["start"] = frame.groupby("episode")["ns"].transform("min")
    first = frame[frame["alert"]].drop_duplicates("episode")
    seconds = (first["ns"] - first["start"]).to_numpy() / 1e9
    index = first["index"].to_numpy()
    out["first_alert"] = {
        ep: {"index": int(i), "seconds": float(sec)}
        for ep, i, sec in zip(first["episode"], index, seconds, strict=True)
    }
    out["first_alert_index_median"] = float(np.median(index)) if len(index) else None
    out["seconds_to_first_alert_median"] = float(np.median(seconds)) if len(seconds) else None
    out["seconds_to_first_alert_max"] = float(seconds.max()) if len(seconds) else None
    return out


def episode_recall_by_typology(
    alert_mask: ArrayLike,
    episode_ids: ArrayLike,
    typologies: ArrayLike,
    timestamps: ArrayLike | None = None,
) -> dict[str, dict[str, Any]]:
    """``episode_recall`` for each typology present (``typologies`` per event)."""
    alert = np.asarray(alert_mask, dtype=bool)
    ids = _ids(episode_ids, len(alert))
    typ = _ids(typologies, len(alert), "typologies")
    ts = None if timestamps is None else np.asarray(timestamps)
    out: dict[str, dict[str, Any]] = {}
    for name in sorted(typ.dropna().astype(str).unique()):
        rows = (typ == name).to_numpy()
        out[name] = episode_recall(
            alert[rows], ids[rows].to_numpy(), None if ts is None else ts[rows]
        )
    return out


def cancel_ratio_baseline(features: pd.DataFrame | pa.Table) -> np.ndarray:
    """The z-score of the trader's 5-minute cancel ratio; missing values rank lowest.

    Missing values get a finite score one below the lowest z-score, so plots and
    histograms need no special case.
    """
    frame = features.to_pandas() if isinstance(features, pa.Table) else features
    if BASELINE_FEATURE not in frame.columns:
        raise SchemaError(f"features: column {BASELINE_FEATURE!r} is missing")
    x = pd.to_numeric(frame[BASELINE_FEATURE], errors="coerce").to_numpy(dtype=float)
    finite = np.isfinite(x)
    z = np.zeros(len(x))
    if finite.any():
        mean = float(x[finite].mean())
        std = float(x[finite].std())
        z[finite] = (x[finite] - mean) / std if std > 0 else 0.0
        z[~finite] = float(z[finite].min()) - 1.0
    return z


def _event_metrics(
    y: np.ndarray, s: np.ndarray, alert_threshold: float, min_precision: float
) -> dict[str, Any]:
    n_pos = int(y.sum())
    out: dict[str, Any] = {"n_events": len(y), "n_positive": n_pos}
    out["base_rate"] = n_pos / len(y) if len(y) else None
    if n_pos == 0:
        out.update(pr_auc=None, recall_at_precision=None, threshold_at_precision=None)
    else:
        recall, threshold = recall_at_precision(y, s, min_precision)
        out.update(
            pr_auc=pr_auc(y, s), recall_at_precision=recall, threshold_at_precision=threshold
        )
    at = confusion_at(y, s, alert_threshold)
    out["at_budget"] = {
        "precision": at.precision,
        "recall": at.recall,
        "n_alerts": at.n_alerts,
        "tp": at.tp,
        "fp": at.fp,
        "fn": at.fn,
        "tn": at.tn,
    }
    return out


def evaluate_scores(
    events: pa.Table | pd.DataFrame,
    labels: pa.Table | pd.DataFrame,
    score: ArrayLike,
    *,
    budget_fraction: float = 0.01,
    min_precision: float = 0.92,
    typologies: Iterable[str] | None = None,
    threshold: float | None = None,
) -> dict[str, Any]:
    """Event- and episode-level metrics, overall and per typology (JSON-able).

    The alert threshold is set once, over every event given (the review queue holds
    them all, whatever their label): the top ``budget_fraction`` of scores, or
    ``threshold`` when the caller sets it from another budget (cases per day).
    ``typologies`` (default: every typology in ``labels`` found among the events)
    sets the scope: "overall" is normal events plus the events of those typologies;
    each typology is scored against normal events plus its own events only, events
    of other typologies excluded, so one typology's alerts never count as another's
    false positives.
    """
    ev = events.to_pandas() if isinstance(events, pa.Table) else events
    s = _score(score, len(ev))
    episode = episode_of(ev, labels)
    typology = typology_of(ev, labels)
    present = sorted({str(t) for t in typology if t is not None})
    scope = present if typologies is None else sorted({str(t) for t in typologies})
    normal = typology == None  # noqa: E711 (object array)
    in_scope = normal | np.isin(typology.astype(str), scope)
    y_all = ~normal
    if not (y_all & in_scope).any():
        raise SchemaError(f"evaluate_scores: no event of the typologies {scope}")

    k: int | None
    if threshold is None:
        k = _budget_count(len(s), budget_fraction)
        alert_threshold = _top_k_threshold(s, k)
        budget: dict[str, Any] = {"kind": "fraction of events", "fraction": budget_fraction}
    else:
        k = None
        alert_threshold = float(threshold)
        budget = {"kind": "threshold given by the caller"}
    overall_alerts = confusion_at(y_all, s, alert_threshold, budget=k)
    budget.update(
        threshold=alert_threshold,
        allowed=overall_alerts.budget,
        n_alerts=overall_alerts.n_alerts,
        ties_included=overall_alerts.ties_included,
        computed_over="all events given, every label",
    )
    alert = s >= alert_threshold
    ts = None
    if "timestamp" in ev.columns:  # naive UTC datetime64: no per-row Timestamp objects
        ts = pd.to_datetime(ev["timestamp"], utc=True).dt.tz_convert(None).to_numpy()

    def section(rows: np.ndarray) -> dict[str, Any]:
        out = _event_metrics(y_all[rows], s[rows], alert_threshold, min_precision)
        out["episodes_at_budget"] = episode_recall(
            alert[rows], episode[rows], None if ts is None else ts[rows]
        )
        return out

    per_typology = {}
    for name in scope:
        per_typology[name] = section(normal | (typology == name))
    result: dict[str, Any] = {
        "metrics": "never accuracy: PR-AUC (average precision), recall at a precision floor, "
        "precision and recall at the alert budget, episode recall at the alert budget",
        "min_precision": min_precision,
        "budget": budget,
        "typologies": scope,
        "scope": {
            "overall": "normal events plus the events of the listed typologies",
            "per_typology": "normal events plus that typology's events only; "
            "other typologies excluded",
        },
        "n_events_given": len(s),
        "n_missing_scores": int(np.isnan(np.asarray(score, dtype=float)).sum()),
        "overall": section(in_scope),
        "per_typology": per_typology,
    }
    out: dict[str, Any] = _jsonable(result)
    return out
