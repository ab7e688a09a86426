"""Training the LSTM sequence autoencoder (PyTorch) and exporting it to ONNX.

Trained only on likely-normal events, with early stopping on the validation
reconstruction error; exported with the legacy (TorchScript) ONNX exporter so no
extra packages are needed; its error is calibrated on held-out normal events.
Scoring never imports this module: it runs the ONNX file through ``anomaly``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch
from torch import nn

from surveillance.errors import ModelError
from surveillance.models.anomaly import (
    ONNX_FILE,
    AnomalyScorer,
    Calibration,
    load_anomaly_scorer,
    write_meta,
)
from surveillance.models.sequences import IndexMatrix, RobustScaler, gather


@dataclass(frozen=True)
class AutoencoderParams:
    length: int = 20
    hidden: int = 32
    latent: int = 16
    epochs: int = 20
    patience: int = 3
    batch: int = 512
    learning_rate: float = 1e-3
    max_train_sequences: int = 200_000
    seed: int = 0


class LSTMAutoencoder(nn.Module):
    """Encoder LSTM -> latent vector -> repeated -> decoder LSTM -> features."""

    def __init__(self, n_features: int, hidden: int, latent: int) -> None:
        super().__init__()
        self.encoder = nn.LSTM(n_features, hidden, batch_first=True)
        self.to_latent = nn.Linear(hidden, latent)
        self.from_latent = nn.Linear(latent, hidden)
        self.decoder = nn.LSTM(hidden, hidden, batch_first=True)
        self.output = nn.Linear(hidden, n_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.encoder(x)
        z = self.to_latent(h[-1])
        rep = self.from_latent(z).unsqueeze(1).expand(-1, x.shape[1], -1)
        y, _ = self.decoder(rep)
        out: torch.Tensor = self.output(y)
        return out


def export_onnx(model: LSTMAutoencoder, length: int, n_features: int, path: Path) -> None:
    """Export with the legacy (TorchScript) exporter; the batch axis stays dynamic (the
    example has one row, as the exporter advises for LSTMs)."""
    model.eval()
    example = torch.zeros((1, length, n_features), dtype=torch.float32)
    torch.onnx.export(
        model,
        (example,),
        str(path),
        input_names=["sequences"],
        output_names=["reconstruction"],
        dynamic_axes={"sequences": {0: "batch"}, "reconstruction": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )


def _loss(model: LSTMAutoencoder, x: npt.NDArray[np.float32], batch: int) -> float:
    model.eval()
    total, n = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb = torch.from_numpy(x[i : i + batch])
            total += float(((model(xb) - xb) ** 2).mean()) * len(xb)
            n += len(xb)
    return total / max(n, 1)


def train_autoencoder(
    features: pd.DataFrame,
    index: IndexMatrix,
    train_rows: npt.NDArray[np.int64],
    validation_rows: npt.NDArray[np.int64],
    feature_set_version: str,
    out_dir: Path,
    params: AutoencoderParams | None = None,
    feature_names: tuple[str, ...] | None = None,
) -> AnomalyScorer:
    """Train on the sequences ending at ``train_rows`` (likely-normal events only),
    stop early on ``validation_rows``, calibrate on them, export, and load the result
    back through ONNX Runtime (what scoring will use)."""
    p = params or AutoencoderParams()
    if index.shape[1] != p.length:
        raise ModelError(f"sequence index has length {index.shape[1]}, params say {p.length}")
    if len(train_rows) == 0 or len(validation_rows) == 0:
        raise ModelError("the autoencoder needs training and validation rows of normal events")
    names = feature_names or tuple(str(c) for c in features.columns)
    raw = features.loc[:, list(names)].to_numpy(dtype=np.float64)
    rng = np.random.default_rng(p.seed)
    torch.manual_seed(p.seed)
    if len(train_rows) > p.max_train_sequences:
        train_rows = rng.choice(train_rows, size=p.max_train_sequences, replace=False)
    scaler = RobustScaler.fit(raw[np.unique(train_rows)])
    x = scaler.transform(raw)
    x_train = gather(x, index[train_rows])
    x_valid = gather(x, index[validation_rows])

    model = LSTMAutoencoder(len(names), p.hidden, p.latent)
    opt = torch.optim.Adam(model.parameters(), lr=p.learning_rate)
    best, best_state, stale = float("inf"), None, 0
    for _ in range(p.epochs):
        model.train()
        for i in rng.permutation(len(x_train) // p.batch + 1) * p.batch:
            xb = torch.from_numpy(x_train[i : i + p.batch])
            if len(xb) == 0:
                continue
            opt.zero_grad()
            loss = ((model(xb) - xb) ** 2).mean()
            loss.backward()
            opt.step()
        val = _loss(model, x_valid, p.batch)
        if val < best - 1e-6:
            best, stale = val, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
            if stale >= p.patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()

    out_dir.mkdir(parents=True, exist_ok=True)
    export_onnx(model, p.length, len(names), out_dir / ONNX_FILE)
    with torch.no_grad():
        recon = np.concatenate(
            [
                model(torch.from_numpy(x_valid[i : i + p.batch])).numpy()
                for i in range(0, len(x_valid), p.batch)
            ]
        )
    valid_errors = ((recon - x_valid) ** 2).mean(axis=(1, 2)).astype(np.float64)
    calibration = Calibration.fit(valid_errors)
    write_meta(
        out_dir,
        {
            "feature_set_version": feature_set_version,
            "feature_names": list(names),
            "length": p.length,
            "params": asdict(p),
            "scaler": {"median": list(scaler.median), "scale": list(scaler.scale)},
            "calibration": list(calibration.errors),
            "validation_loss": best,
            "torch_version": torch.__version__,
        },
    )
    return load_anomaly_scorer(out_dir, expected_feature_set=feature_set_version)
