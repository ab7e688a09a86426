"""The supervised detector: trains on supervised typologies, saves, loads, refuses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from surveillance.errors import ModelError
from surveillance.evaluation.metrics import pr_auc
from surveillance.evaluation.split import split_by_episode_and_time, typology_of
from surveillance.features.batch import compute_batch
from surveillance.features.catalog import DEFAULT_SPEC
from surveillance.models.supervised import (
    MODEL_FILE,
    SupervisedModel,
    SupervisedParams,
    load_supervised,
    train_supervised,
)
from surveillance.schema.labels import SUPERVISED_TYPOLOGIES
from surveillance.synth.config import load_config
from surveillance.synth.market import generate_market

FAST = SupervisedParams(n_estimators=120, early_stopping_rounds=20)


@dataclass(frozen=True)
class Trained:
    features: pd.DataFrame
    target: np.ndarray
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    model: SupervisedModel


@pytest.fixture(scope="module")
def trained() -> Trained:
    market = generate_market(load_config(), 150_000, seed=21)
    owners = dict(
        zip(
            market.accounts.column("trader_id").to_pylist(),
            market.accounts.column("owner_id").to_pylist(),
            strict=True,
        )
    )
    features = compute_batch(market.events, DEFAULT_SPEC, owners=owners)
    typology = typology_of(market.events, market.labels)
    supervised = {t.value for t in SUPERVISED_TYPOLOGIES}
    target = np.asarray([t in supervised for t in typology])
    held_out = np.asarray([t is not None and t not in supervised for t in typology])
    split = split_by_episode_and_time(market.events, market.labels)
    train = split.train & ~held_out
    validation = split.validation & ~held_out
    test = split.test & ~held_out
    model = train_supervised(features, target, train, validation, DEFAULT_SPEC.version, FAST)
    return Trained(features, target, train, validation, test, model)


def test_the_detector_ranks_manipulation_far_above_chance(trained: Trained) -> None:
    """GIVEN a detector trained on the earlier days of a market
    WHEN it scores the later, held-out days
    THEN its PR-AUC on the supervised typologies is far above the base rate."""
    score = trained.model.predict(trained.features)
    y = trained.target[trained.test]
    auc = pr_auc(y, score[trained.test])
    assert auc > 20 * y.mean()
    assert auc > 0.3, (auc, y.mean())


def test_save_and_load_give_the_same_scores(trained: Trained, tmp_path: Path) -> None:
    trained.model.save(tmp_path)
    loaded = load_supervised(tmp_path, expected_feature_set=DEFAULT_SPEC.version)
    rows = trained.features.iloc[:2_000]
    assert np.array_equal(loaded.predict(rows), trained.model.predict(rows))
    assert loaded.feature_names == DEFAULT_SPEC.names


def test_a_model_of_another_feature_set_is_refused(trained: Trained, tmp_path: Path) -> None:
    trained.model.save(tmp_path)
    with pytest.raises(ModelError, match="feature set"):
        load_supervised(tmp_path, expected_feature_set="fs-000000000000")


def test_a_damaged_model_file_is_refused_and_nothing_is_loaded(
    trained: Trained, tmp_path: Path
) -> None:
    trained.model.save(tmp_path)
    blob = bytearray((tmp_path / MODEL_FILE).read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    (tmp_path / MODEL_FILE).write_bytes(bytes(blob))
    with pytest.raises(ModelError, match="damaged"):
        load_supervised(tmp_path)
    (tmp_path / MODEL_FILE).unlink()
    with pytest.raises(ModelError, match="cannot read"):
        load_supervised(tmp_path)


def test_missing_feature_columns_are_named(trained: Trained) -> None:
    with pytest.raises(ModelError, match="trader_msgs_1s"):
        trained.model.predict(trained.features.drop(columns=["trader_msgs_1s"]))


def test_contributions_add_up_to_the_score(trained: Trained) -> None:
    """Exact TreeSHAP: the contributions plus the bias are the model's log-odds."""
    rows = trained.features.iloc[:200]
    contrib = trained.model.contributions(rows)
    logit = contrib.sum(axis=1).to_numpy()
    assert np.allclose(1.0 / (1.0 + np.exp(-logit)), trained.model.predict(rows), atol=1e-5)


def test_sample_weights_change_the_model(trained: Trained) -> None:
    weights = np.where(trained.target, 5.0, 1.0)
    heavy = train_supervised(
        trained.features,
        trained.target,
        trained.train,
        trained.validation,
        DEFAULT_SPEC.version,
        FAST,
        weights=weights,
    )
    rows = trained.features.iloc[:5_000]
    assert not np.allclose(heavy.predict(rows), trained.model.predict(rows))


def test_training_without_positives_is_refused(trained: Trained) -> None:
    only_normal = trained.train & ~trained.target
    with pytest.raises(ModelError, match="both classes"):
        train_supervised(
            trained.features, trained.target, only_normal, trained.validation, "fs-x", FAST
        )
