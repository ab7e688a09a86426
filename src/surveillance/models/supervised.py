"""Supervised detector: XGBoost on synthetic labels, saved in XGBoost's native format.

Trains on the supervised typologies only (held-out typologies never reach it), with the
class imbalance handled by ``scale_pos_weight`` and optional per-event weights (real
labels from reviewers will weigh more), early stopping on a validation split that is
held out by episode and time. A saved model carries its feature-set version and a
signature (input columns, output); loading checks both and refuses a model whose file is
damaged or whose features are of another version.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import xgboost as xgb

from surveillance.errors import ModelError
from surveillance.models.artifact import read_artifact, write_artifact

MODEL_FILE = "model.ubj"
META_FILE = "model.json"
FORMAT = "surveillance.supervised/1"


@dataclass(frozen=True)
class SupervisedParams:
    n_estimators: int = 400
    max_depth: int = 6
    learning_rate: float = 0.08
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    min_child_weight: float = 1.0
    early_stopping_rounds: int = 40
    seed: int = 0
    n_jobs: int = 2


@dataclass(frozen=True)
class SupervisedModel:
    booster: xgb.Booster
    feature_names: tuple[str, ...]
    feature_set_version: str
    params: SupervisedParams
    best_iteration: int
    scale_pos_weight: float

    def _matrix(self, features: pd.DataFrame) -> xgb.DMatrix:
        missing = [c for c in self.feature_names if c not in features.columns]
        if missing:
            raise ModelError(f"features: column(s) missing for this model: {missing}")
        data = features.loc[:, list(self.feature_names)].to_numpy(dtype=np.float32)
        return xgb.DMatrix(data, feature_names=list(self.feature_names), missing=np.nan)

    def predict(self, features: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Probability of manipulation (supervised typologies) for every row."""
        scores = self.booster.predict(
            self._matrix(features), iteration_range=(0, self.best_iteration + 1)
        )
        return np.asarray(scores, dtype=np.float64)

    def contributions(self, features: pd.DataFrame) -> pd.DataFrame:
        """Exact TreeSHAP contributions (XGBoost's own), one column per feature plus the bias.

        About a millisecond per row: call it for alerts, not for every event."""
        values = self.booster.predict(
            self._matrix(features),
            pred_contribs=True,
            iteration_range=(0, self.best_iteration + 1),
        )
        return pd.DataFrame(values, columns=[*self.feature_names, "bias"], index=features.index)

    def signature(self) -> dict[str, Any]:
        return {
            "inputs": [
                {"name": n, "type": "float64", "missing": "NaN"} for n in self.feature_names
            ],
            "output": {"name": "score", "type": "float64", "range": [0.0, 1.0]},
        }

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        model_path = folder / MODEL_FILE
        self.booster.save_model(str(model_path))
        meta = {
            "feature_set_version": self.feature_set_version,
            "feature_names": list(self.feature_names),
            "params": asdict(self.params),
            "best_iteration": self.best_iteration,
            "scale_pos_weight": self.scale_pos_weight,
            "xgboost_version": xgb.__version__,
            "signature": self.signature(),
        }
        write_artifact(folder, META_FILE, MODEL_FILE, FORMAT, meta)
        return folder


def load_supervised(folder: Path, expected_feature_set: str | None = None) -> SupervisedModel:
    """Load and check a saved model; nothing half-loaded is ever returned."""
    meta, blob = read_artifact(folder, META_FILE, MODEL_FILE, FORMAT, expected_feature_set)
    model_path = folder / MODEL_FILE
    booster = xgb.Booster()
    try:
        booster.load_model(bytearray(blob))
    except xgb.core.XGBoostError as exc:
        raise ModelError(f"{model_path}: XGBoost cannot load it ({exc})") from exc
    names = tuple(meta["feature_names"])
    if tuple(booster.feature_names or ()) != names:
        raise ModelError(f"{model_path}: its feature names differ from {META_FILE}")
    return SupervisedModel(
        booster=booster,
        feature_names=names,
        feature_set_version=meta["feature_set_version"],
        params=SupervisedParams(**meta["params"]),
        best_iteration=int(meta["best_iteration"]),
        scale_pos_weight=float(meta["scale_pos_weight"]),
    )


def train_supervised(
    features: pd.DataFrame,
    target: npt.NDArray[np.bool_],
    train: npt.NDArray[np.bool_],
    validation: npt.NDArray[np.bool_],
    feature_set_version: str,
    params: SupervisedParams | None = None,
    weights: npt.NDArray[np.float64] | None = None,
) -> SupervisedModel:
    """Fit on ``train`` rows, stop early on ``validation`` rows (area under the PR curve).

    ``target`` is True for events of the supervised typologies. Rows of held-out
    typologies must not be in ``train`` or ``validation``: the caller's masks exclude them.
    """
    p = params or SupervisedParams()
    names = tuple(str(c) for c in features.columns)
    y = np.asarray(target, dtype=np.float32)
    n_pos = float(y[train].sum())
    n_neg = float(train.sum() - n_pos)
    if n_pos == 0 or n_neg == 0:
        raise ModelError(
            f"training rows need both classes (positives {n_pos:.0f}, negatives {n_neg:.0f})"
        )
    if validation.any() and y[validation].sum() == 0:
        raise ModelError("the validation rows hold no positive event: early stopping cannot work")
    data = features.to_numpy(dtype=np.float32)
    w = None if weights is None else np.asarray(weights, dtype=np.float32)
    dtrain = xgb.DMatrix(
        data[train], label=y[train], weight=None if w is None else w[train],
        feature_names=list(names), missing=np.nan,
    )  # fmt: skip
    dvalid = xgb.DMatrix(
        data[validation], label=y[validation], weight=None if w is None else w[validation],
        feature_names=list(names), missing=np.nan,
    )  # fmt: skip
    booster_params = {
        "objective": "binary:logistic",
        "eval_metric": "aucpr",
        "tree_method": "hist",
        "max_depth": p.max_depth,
        "eta": p.learning_rate,
        "subsample": p.subsample,
        "colsample_bytree": p.colsample_bytree,
        "min_child_weight": p.min_child_weight,
        "scale_pos_weight": n_neg / n_pos,
        "seed": p.seed,
        "nthread": p.n_jobs,
    }
    booster = xgb.train(
        booster_params,
        dtrain,
        num_boost_round=p.n_estimators,
        evals=[(dvalid, "validation")] if validation.any() else [],
        early_stopping_rounds=p.early_stopping_rounds if validation.any() else None,
        verbose_eval=False,
    )
    best = int(getattr(booster, "best_iteration", p.n_estimators - 1))
    return SupervisedModel(booster, names, feature_set_version, p, best, n_neg / n_pos)
