"""Sequence autoencoder: histories, scaling, ONNX parity with torch, calibration, loading."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from surveillance.errors import ModelError
from surveillance.evaluation.split import typology_of
from surveillance.features.batch import compute_batch
from surveillance.features.catalog import DEFAULT_SPEC
from surveillance.models.anomaly import ONNX_FILE, AnomalyScorer, load_anomaly_scorer
from surveillance.models.autoencoder import (
    AutoencoderParams,
    LSTMAutoencoder,
    export_onnx,
    train_autoencoder,
)
from surveillance.models.sequences import (
    RobustScaler,
    gather,
    history_keys,
    sequence_index,
)
from surveillance.synth.config import load_config
from surveillance.synth.market import generate_market

PARAMS = AutoencoderParams(length=8, hidden=16, latent=8, epochs=3, batch=256, seed=1)


def test_sequence_index_takes_the_last_events_of_each_key() -> None:
    keys = np.array([7, 3, 7, 7, 3, 7])
    got = sequence_index(keys, 3)
    assert got.tolist() == [
        [-1, -1, 0],
        [-1, -1, 1],
        [-1, 0, 2],
        [0, 2, 3],
        [-1, 1, 4],
        [2, 3, 5],
    ]


def test_history_keys_fall_back_to_the_instrument_without_a_trader() -> None:
    frame = pd.DataFrame(
        {"instrument_id": ["A", "A", "A", "B"], "trader_id": ["t1", None, None, None]}
    )
    keys = history_keys(frame)
    assert keys[1] == keys[2] != keys[0]
    assert keys[3] not in (keys[0], keys[1])


def test_scaler_is_robust_and_turns_missing_into_zero() -> None:
    x = np.array([[1.0, np.nan], [2.0, 4.0], [3.0, 5.0], [4.0, 6.0], [5.0, 5.0], [1e6, 5.0]])
    scaler = RobustScaler.fit(x)
    z = scaler.transform(x)
    assert z.dtype == np.float32
    assert z[0, 1] == 0.0  # missing becomes the median
    assert z[5, 0] == scaler.clip  # the outlier is clipped, and did not set the scale
    assert abs(z[1, 0] - (2.0 - 3.5) / 2.5) < 1e-6
    padded = gather(z, np.array([[-1, 0], [1, 2]]))
    assert padded[0, 0].tolist() == [0.0, 0.0]


@dataclass(frozen=True)
class Trained:
    features: pd.DataFrame
    index: np.ndarray
    typology: np.ndarray
    scorer: AnomalyScorer
    folder: Path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    market = generate_market(load_config(), 40_000, seed=31)
    features = compute_batch(market.events, DEFAULT_SPEC)
    index = sequence_index(history_keys(market.events), PARAMS.length)
    typology = typology_of(market.events, market.labels)
    normal = np.flatnonzero(np.asarray([t is None for t in typology]))
    cut = int(len(normal) * 0.8)
    folder = tmp_path_factory.mktemp("autoencoder")
    scorer = train_autoencoder(
        features, index, normal[:cut], normal[cut:], DEFAULT_SPEC.version, folder, PARAMS
    )
    return Trained(features, index, typology, scorer, folder)


@pytest.mark.parametrize("batch", [1, 7, 513])
def test_onnx_and_torch_give_the_same_reconstruction(tmp_path: Path, batch: int) -> None:
    """GIVEN a torch autoencoder with random weights exported to ONNX
    WHEN both run the same sequences, in batches of several sizes
    THEN ONNX Runtime reproduces torch to within 1e-5."""
    import onnxruntime as ort

    torch.manual_seed(5)
    model = LSTMAutoencoder(n_features=12, hidden=16, latent=8).eval()
    export_onnx(model, length=9, n_features=12, path=tmp_path / ONNX_FILE)
    x = np.random.default_rng(batch).normal(size=(batch, 9, 12)).astype(np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    session = ort.InferenceSession(str(tmp_path / ONNX_FILE), providers=["CPUExecutionProvider"])
    got = session.run(None, {"sequences": x})[0]
    assert got.shape == expected.shape
    assert np.allclose(got, expected, atol=1e-5)


def test_calibrated_scores_lie_in_zero_one_and_follow_the_error(trained: Trained) -> None:
    score, raw = trained.scorer.score(trained.features, trained.index)
    assert ((score >= 0) & (score <= 1)).all()
    order = np.argsort(raw)
    assert np.all(np.diff(score[order]) >= 0)


def test_quote_stuffing_looks_more_anomalous_than_normal_flow(trained: Trained) -> None:
    """Trained on normal events only, the autoencoder reconstructs a quote-stuffing burst
    worse than normal flow (a held-out typology it never saw)."""
    score, _ = trained.scorer.score(trained.features, trained.index)
    stuffing = np.asarray([t == "quote_stuffing" for t in trained.typology])
    normal = np.asarray([t is None for t in trained.typology])
    assert stuffing.any()
    assert score[stuffing].mean() > score[normal].mean() + 0.2


def test_a_damaged_or_mismatched_autoencoder_is_refused(trained: Trained, tmp_path: Path) -> None:
    for name in (ONNX_FILE, "autoencoder.json"):
        (tmp_path / name).write_bytes((trained.folder / name).read_bytes())
    with pytest.raises(ModelError, match="feature set"):
        load_anomaly_scorer(tmp_path, expected_feature_set="fs-000000000000")
    blob = bytearray((tmp_path / ONNX_FILE).read_bytes())
    blob[len(blob) // 3] ^= 0xFF
    (tmp_path / ONNX_FILE).write_bytes(bytes(blob))
    with pytest.raises(ModelError, match="damaged"):
        load_anomaly_scorer(tmp_path)
