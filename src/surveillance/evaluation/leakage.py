"""Leakage audit: can a single raw column tell manipulation from normal flow?

A synthetic market is only useful if the models must learn the behaviour, not a
shortcut. For every raw column of the canonical event (never engineered features)
and every typology, the audit measures the single-column ROC-AUC between that
typology's events and normal events:

- numbers: the value itself (missing values rank lowest);
- time: the absolute timestamp and the time of day;
- categories: the in-sample rate of manipulation per category (the best any
  single-column rule could do), plus a coverage check: every category seen in
  manipulation must also be common in normal flow;
- flags: the value (missing ranks between false and true);
- ids: the rank of the id (does an id range or ordering reveal an episode?) and
  whether the id is present.

For the supervised typologies every AUC must lie within ``bound`` (default
[0.25, 0.75]). Held-out typologies are reported against the same bound but not
enforced; the columns that define a typology (time of day for marking the close)
are named as such. A typology with fewer than ``min_episodes`` episodes is reported
but not enforced either: with a handful of episodes a column's AUC is mostly the
noise of which instruments, accounts and hours those few episodes happened to use.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.metrics import roc_auc_score

from surveillance.errors import LeakageError, SchemaError
from surveillance.schema.event import EVENT_FIELDS
from surveillance.schema.labels import SUPERVISED_TYPOLOGIES, Typology

DEFINING_COLUMNS: dict[str, tuple[str, ...]] = {
    Typology.MARKING_THE_CLOSE.value: ("timestamp:time_of_day",),
}
"""Columns that define a held-out typology and may exceed the bound for it."""

MIN_EPISODES = 30  # below this, a typology's AUCs are too noisy to judge
MIN_CATEGORY_SHARE = (
    0.001  # a category seen in manipulation must be at least this common in normal flow
)


@dataclass(frozen=True)
class ColumnCheck:
    typology: str
    n_episodes: int
    column: str
    auc: float
    n_pos: int
    n_neg: int
    enforced: bool
    passed: bool
    note: str


@dataclass(frozen=True)
class LeakageReport:
    bound: tuple[float, float]
    checks: tuple[ColumnCheck, ...]

    @property
    def failures(self) -> tuple[ColumnCheck, ...]:
        return tuple(c for c in self.checks if c.enforced and not c.passed)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def conclusive(self) -> bool:
        """Whether any typology had enough episodes for its bound to be enforced."""
        return any(c.enforced for c in self.checks)

    def worst(self, typology: str) -> ColumnCheck | None:
        rows = [c for c in self.checks if c.typology == typology and not np.isnan(c.auc)]
        return max(rows, key=lambda c: abs(c.auc - 0.5), default=None)

    def to_dict(self) -> dict[str, object]:
        per_typology: dict[str, object] = {}
        for typ in sorted({c.typology for c in self.checks}):
            worst = self.worst(typ)
            rows = [c for c in self.checks if c.typology == typ]
            if any(c.enforced for c in rows):
                status = "enforced"
            elif typ in {t.value for t in SUPERVISED_TYPOLOGIES}:
                status = f"not enforced: {rows[0].n_episodes} episodes, too few to judge"
            else:
                status = "held out: reported, not enforced"
            per_typology[typ] = {
                "status": status,
                "episodes": rows[0].n_episodes,
                "enforced": any(c.enforced for c in rows),
                "passed": all(c.passed for c in self.checks if c.typology == typ and c.enforced),
                "worst_column": worst.column if worst else None,
                "worst_auc": round(worst.auc, 4) if worst else None,
                "columns": {
                    c.column: round(c.auc, 4)
                    for c in self.checks
                    if c.typology == typ and not np.isnan(c.auc)
                },
            }
        return {
            "bound": list(self.bound),
            "passed": self.passed,
            "conclusive": self.conclusive,
            "failures": [asdict(c) for c in self.failures],
            "typologies": per_typology,
        }

    def raise_if_failed(self) -> None:
        if self.failures:
            lines = [f"{c.typology}/{c.column}: {c.note}" for c in self.failures]
            raise LeakageError("leakage audit failed:\n  " + "\n  ".join(lines))


def _auc(score: np.ndarray, y: np.ndarray) -> float:
    if y.min() == y.max():
        return float("nan")
    return float(roc_auc_score(y, score))


def _numeric(values: pd.Series) -> np.ndarray:
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    finite = x[np.isfinite(x)]
    low = (finite.min() - 1.0) if len(finite) else -1.0
    return np.where(np.isfinite(x), x, low)


def _category_rate(values: pd.Series, y: np.ndarray) -> np.ndarray:
    keys = values.astype("string").fillna("<null>")
    rate = pd.Series(y).groupby(keys.to_numpy()).mean()
    return keys.map(rate).to_numpy(dtype=float)


def _id_rank(values: pd.Series) -> np.ndarray:
    keys = values.astype("string").fillna("")
    _, inverse = np.unique(keys.to_numpy(dtype=object).astype(str), return_inverse=True)
    return inverse.astype(float)


def _scores(frame: pd.DataFrame, y: np.ndarray) -> list[tuple[str, np.ndarray, str]]:
    out: list[tuple[str, np.ndarray, str]] = []
    for spec in EVENT_FIELDS:
        if spec.name not in frame.columns:
            continue
        col = frame[spec.name]
        if spec.kind == "number":
            out.append((spec.name, _numeric(col), "value"))
        elif spec.kind == "time":
            ts = pd.to_datetime(col, utc=True)
            ns = ts.astype("int64").to_numpy()
            out.append((spec.name, ns.astype(float), "absolute time"))
            out.append(
                (f"{spec.name}:time_of_day", (ns % 86_400_000_000_000).astype(float), "time of day")
            )
        elif spec.kind == "category":
            out.append((spec.name, _category_rate(col, y), "in-sample rate per category"))
        elif spec.kind == "flag":
            flag = col.astype("boolean")
            out.append(
                (spec.name, flag.astype("Float64").fillna(0.5).to_numpy(dtype=float), "value")
            )
        elif spec.kind == "id":
            out.append((spec.name, _id_rank(col), "rank of the id"))
            out.append((f"{spec.name}:present", col.notna().to_numpy(dtype=float), "presence"))
    return out


def _coverage(frame: pd.DataFrame, y: np.ndarray) -> list[tuple[str, tuple[str, ...]]]:
    """Categories (and flag values) seen in manipulation but rare or absent in normal flow."""
    out = []
    neg = y == 0
    for spec in EVENT_FIELDS:
        if spec.kind not in ("category", "flag") or spec.name not in frame.columns:
            continue
        if spec.name in ("instrument_id", "venue"):
            continue  # episodes happen on some instruments only at small scale
        keys = frame[spec.name].astype("string").fillna("<null>")
        pos_cats = set(keys[~neg].unique())
        share = keys[neg].value_counts(normalize=True)
        rare = tuple(sorted(c for c in pos_cats if share.get(c, 0.0) < MIN_CATEGORY_SHARE))
        out.append((spec.name, rare))
    return out


def audit_leakage(
    events: pa.Table | pd.DataFrame,
    labels: pa.Table | pd.DataFrame,
    bound: tuple[float, float] = (0.25, 0.75),
    max_negatives: int = 200_000,
    seed: int = 0,
    min_episodes: int = MIN_EPISODES,
) -> LeakageReport:
    """Single-column separability of each typology from normal events."""
    ev = events.to_pandas() if isinstance(events, pa.Table) else events
    lab = labels.to_pandas() if isinstance(labels, pa.Table) else labels
    for name, frame, needed in (("events", ev, "event_id"), ("labels", lab, "typology")):
        if needed not in frame.columns:
            raise SchemaError(f"{name}: column {needed!r} is missing")
    typology = ev["event_id"].map(lab.drop_duplicates("event_id").set_index("event_id")["typology"])
    normal = np.flatnonzero(typology.isna().to_numpy())
    rng = np.random.default_rng(seed)
    if len(normal) > max_negatives:
        normal = np.sort(rng.choice(normal, size=max_negatives, replace=False))
    supervised = {t.value for t in SUPERVISED_TYPOLOGIES}
    checks: list[ColumnCheck] = []
    for typ in sorted(typology.dropna().unique()):
        pos = np.flatnonzero((typology == typ).to_numpy())
        idx = np.concatenate([pos, normal])
        frame = ev.iloc[idx].reset_index(drop=True)
        y = np.concatenate([np.ones(len(pos)), np.zeros(len(normal))]).astype(int)
        n_episodes = (
            int(lab.loc[lab["typology"] == typ, "episode_id"].nunique())
            if "episode_id" in lab.columns
            else min_episodes
        )
        enforced = typ in supervised and n_episodes >= min_episodes
        for column, score, how in _scores(frame, y):
            auc = _auc(score, y)
            inside = bool(np.isnan(auc) or bound[0] <= auc <= bound[1])
            defining = column in DEFINING_COLUMNS.get(typ, ())
            note = f"AUC {auc:.3f} ({how})" + ("; defines the typology" if defining else "")
            if not inside:
                note += f" outside [{bound[0]}, {bound[1]}]"
            checks.append(
                ColumnCheck(
                    typ, n_episodes, column, auc, len(pos), len(normal), enforced, inside, note
                )
            )
        for column, rare in _coverage(frame, y):
            checks.append(
                ColumnCheck(
                    typ,
                    n_episodes,
                    f"{column}:coverage",
                    float("nan"),
                    len(pos),
                    len(normal),
                    enforced,
                    not rare,
                    "every category also common in normal flow"
                    if not rare
                    else f"categories {list(rare)} seen in manipulation, rare or absent in normal",
                )
            )
    return LeakageReport(bound, tuple(checks))
