"""Scoring with the sequence autoencoder through ONNX Runtime (no torch at scoring time).

The raw score of an event is the mean squared reconstruction error of its recent
history (in scaled units); the calibrated score is the share of held-out normal events
whose error is lower (an empirical CDF with a fitted tail), so it lies in [0, 1].
Per-feature errors are kept for explanations.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
import pandas as pd

from surveillance.errors import ModelError
from surveillance.models.artifact import read_artifact, write_artifact
from surveillance.models.sequences import FloatMatrix, IndexMatrix, RobustScaler, gather

ONNX_FILE = "autoencoder.onnx"
META_FILE = "autoencoder.json"
FORMAT = "surveillance.autoencoder/1"


TAIL = 0.01  # share of the reference above which the tail is modelled, not counted


@dataclass(frozen=True)
class Calibration:
    """Scores of held-out normal events, as a map to [0, 1]: the share of them lower.

    Below the top 1% of the reference it is the empirical CDF. Above, where a few
    thousand reference points would make every alert a tie at 1.0, the tail is a
    heavy (Pareto-like) tail scaled by the mean excess over that threshold, which never
    rounds to 1.0, so the order of the most anomalous events is kept: the alert budget
    lives there.
    """

    errors: tuple[float, ...]

    @classmethod
    def fit(cls, errors: npt.NDArray[np.float64], max_points: int = 10_000) -> Calibration:
        e = np.sort(np.asarray(errors, dtype=np.float64)[np.isfinite(errors)])
        if len(e) == 0:
            raise ModelError("calibration needs at least one finite reference score")
        if len(e) > max_points:
            e = e[np.linspace(0, len(e) - 1, max_points).round().astype(int)]
        return cls(tuple(float(v) for v in e))

    def score(self, errors: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        ref = np.asarray(self.errors)
        x = np.asarray(errors, dtype=np.float64)
        out = np.searchsorted(ref, x, side="right") / len(ref)
        threshold = float(np.quantile(ref, 1.0 - TAIL))
        excess = ref[ref > threshold] - threshold
        mean_excess = float(excess.mean()) if len(excess) else 0.0
        if mean_excess > 0:
            above = x > threshold
            out = out.astype(np.float64)
            out[above] = 1.0 - TAIL / (1.0 + (x[above] - threshold) / mean_excess)
        return np.asarray(np.clip(out, 0.0, 1.0), dtype=np.float64)


@dataclass(frozen=True)
class AnomalyScorer:
    session: ort.InferenceSession
    feature_names: tuple[str, ...]
    feature_set_version: str
    length: int
    scaler: RobustScaler
    calibration: Calibration

    def reconstruct(self, sequences: FloatMatrix, batch: int = 4_096) -> FloatMatrix:
        outs = []
        name = self.session.get_inputs()[0].name
        for i in range(0, len(sequences), batch):
            outs.append(self.session.run(None, {name: sequences[i : i + batch]})[0])
        if not outs:
            return np.zeros_like(sequences)
        return np.asarray(np.concatenate(outs), dtype=np.float32)

    def errors(
        self, features: pd.DataFrame, index: IndexMatrix, rows: npt.NDArray[np.int64] | None = None
    ) -> tuple[npt.NDArray[np.float64], FloatMatrix]:
        """Raw error and per-feature error of the given rows (all rows by default)."""
        missing = [c for c in self.feature_names if c not in features.columns]
        if missing:
            raise ModelError(f"features: column(s) missing for the autoencoder: {missing}")
        x = self.scaler.transform(features.loc[:, list(self.feature_names)].to_numpy(np.float64))
        idx = index if rows is None else index[rows]
        seqs = gather(x, idx)
        recon = self.reconstruct(seqs)
        sq = (recon - seqs) ** 2
        per_feature = sq.mean(axis=1)
        return per_feature.mean(axis=1).astype(np.float64), per_feature

    def score(
        self, features: pd.DataFrame, index: IndexMatrix
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Calibrated score in [0, 1] and raw error for every row."""
        raw, _ = self.errors(features, index)
        return self.calibration.score(raw), raw


def write_meta(folder: Path, meta: dict[str, Any]) -> None:
    write_artifact(folder, META_FILE, ONNX_FILE, FORMAT, meta)


def load_anomaly_scorer(folder: Path, expected_feature_set: str | None = None) -> AnomalyScorer:
    """Load and check an exported autoencoder; nothing half-loaded is ever returned."""
    meta, blob = read_artifact(folder, META_FILE, ONNX_FILE, FORMAT, expected_feature_set)
    try:
        session = ort.InferenceSession(blob, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise ModelError(f"{folder / ONNX_FILE}: ONNX Runtime cannot load it ({exc})") from exc
    scaler = RobustScaler(tuple(meta["scaler"]["median"]), tuple(meta["scaler"]["scale"]))
    return AnomalyScorer(
        session=session,
        feature_names=tuple(meta["feature_names"]),
        feature_set_version=meta["feature_set_version"],
        length=int(meta["length"]),
        scaler=scaler,
        calibration=Calibration(tuple(meta["calibration"])),
    )
