"""Hold-out split: by episode and time, forward-chained, never by row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from surveillance.errors import ConfigError, SchemaError
from surveillance.evaluation.split import (
    PARTS,
    Split,
    episode_of,
    split_by_episode_and_time,
    typology_of,
)
from surveillance.schema.labels import SUPERVISED_TYPOLOGIES
from surveillance.synth.config import load_config
from surveillance.synth.market import SyntheticMarket, generate_market

T0 = pd.Timestamp("2026-03-02 09:00", tz="UTC")


@pytest.fixture(scope="module")
def market() -> SyntheticMarket:
    return generate_market(load_config(), 60_000, seed=4)


@pytest.fixture(scope="module")
def frames(market: SyntheticMarket) -> tuple[pd.DataFrame, pd.DataFrame]:
    return market.events.to_pandas(), market.labels.to_pandas()


def _tiny() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ten events one second apart on one day; E1 spans rows 5-6, E2 rows 8-9."""
    events = pd.DataFrame(
        {
            "event_id": [f"EV{i}" for i in range(10)],
            "timestamp": [T0 + pd.Timedelta(seconds=i) for i in range(10)],
        }
    )
    labels = pd.DataFrame(
        {
            "event_id": ["EV5", "EV6", "EV8", "EV9"],
            "episode_id": ["E1", "E1", "E2", "E2"],
            "typology": ["spoofing", "spoofing", "layering", "layering"],
            "severity": ["low"] * 4,
        }
    )
    return events, labels


def _parts(split: Split) -> np.ndarray:
    """0, 1 or 2 per row; fails unless the masks partition the rows."""
    stacked = np.vstack([split.train, split.validation, split.test]).astype(int)
    assert (stacked.sum(axis=0) == 1).all(), "every event must lie in exactly one part"
    parts: np.ndarray = np.argmax(stacked, axis=0)
    return parts


def test_tiny_split_moves_the_episode_tail_with_its_start() -> None:
    events, labels = _tiny()
    split = split_by_episode_and_time(events, labels, (0.6, 0.2, 0.2), n_blocks=10)
    assert split.block_kind == "equal-count block"
    assert split.n_blocks == 10
    assert split.blocks_per_part == (6, 2, 2)
    # E1 starts in train (row 5) and its row 6 moves back with it; row 7 (normal) stays
    assert _parts(split).tolist() == [0, 0, 0, 0, 0, 0, 0, 1, 2, 2]
    assert split.moved_events == 1
    assert split.train_episodes == ("E1",)
    assert split.validation_episodes == ()
    assert split.test_episodes == ("E2",)
    assert split.validation_start == T0 + pd.Timedelta(seconds=6)
    assert split.test_start == T0 + pd.Timedelta(seconds=8)
    assert split.fractions == pytest.approx((0.7, 0.1, 0.2))
    assert split.episodes_per_typology["spoofing"] == {"train": 1, "validation": 0, "test": 0}
    assert split.episodes_per_typology["layering"] == {"train": 0, "validation": 0, "test": 1}
    assert split.episodes_per_typology["wash_trading"] == {"train": 0, "validation": 0, "test": 0}
    # every supervised typology has fewer than 5 episodes in validation and test
    assert len(split.warnings) == 2 * len(SUPERVISED_TYPOLOGIES)
    assert any("layering" in w and "test" in w for w in split.warnings)


def test_masks_are_read_only() -> None:
    events, labels = _tiny()
    split = split_by_episode_and_time(events, labels, (0.6, 0.2, 0.2), n_blocks=10)
    with pytest.raises(ValueError):
        split.train[0] = False


def test_episode_and_typology_of() -> None:
    events, labels = _tiny()
    episodes = episode_of(events, labels)
    typologies = typology_of(events, labels)
    assert episodes.tolist() == [None] * 5 + ["E1", "E1", None, "E2", "E2"]
    assert typologies.tolist() == [None] * 5 + ["spoofing"] * 2 + [None] + ["layering"] * 2


@pytest.mark.parametrize(
    "fractions", [(0.7, 0.3), (0.7, 0.2, 0.2), (0.9, 0.1, 0.0), (1.2, -0.1, -0.1)]
)
def test_bad_fractions_are_refused(fractions: tuple[float, float, float]) -> None:
    events, labels = _tiny()
    with pytest.raises(ConfigError):
        split_by_episode_and_time(events, labels, fractions)


def test_missing_columns_and_too_few_blocks_are_refused() -> None:
    events, labels = _tiny()
    with pytest.raises(SchemaError, match="timestamp"):
        split_by_episode_and_time(events.drop(columns="timestamp"), labels)
    with pytest.raises(SchemaError, match="episode_id"):
        split_by_episode_and_time(events, labels.drop(columns="episode_id"))
    same_time = events.assign(timestamp=T0)
    with pytest.raises(SchemaError, match="at least 3"):
        split_by_episode_and_time(same_time, labels)


def _check_market_split(split: Split, events: pd.DataFrame, labels: pd.DataFrame) -> None:
    part = _parts(split)
    episode = episode_of(events, labels)
    member = episode != None  # noqa: E711
    # no episode straddles two parts, and the episode lists agree with the masks
    by_episode = pd.Series(part[member]).groupby(episode[member].astype(str)).nunique()
    assert (by_episode == 1).all()
    listed = [set(split.episodes(p)) for p in PARTS]
    assert not (listed[0] & listed[1] or listed[0] & listed[2] or listed[1] & listed[2])
    assert set().union(*listed) == set(labels["episode_id"])
    for k, name in enumerate(PARTS):
        in_part = set(episode[member & (part == k)].astype(str))
        assert in_part == listed[k], name
    # forward chaining: normal events of a part all precede the next part
    ts = pd.to_datetime(events["timestamp"], utc=True)
    normal = ~member
    assert ts[normal & (part == 0)].max() < split.validation_start
    assert ts[normal & (part == 1)].min() >= split.validation_start
    assert ts[normal & (part == 1)].max() < split.test_start
    assert ts[normal & (part == 2)].min() >= split.test_start
    # an episode lies in the part where it starts
    starts = ts[member].groupby(episode[member].astype(str)).min()
    assert (starts[list(listed[0])] < split.validation_start).all()
    assert (starts[list(listed[2])] >= split.test_start).all()
    # the tallies agree with the episodes table
    kinds = labels.drop_duplicates("episode_id").set_index("episode_id")["typology"]
    for k, name in enumerate(PARTS):
        counted = kinds[list(listed[k])].value_counts()
        for typ, n in counted.items():
            assert split.episodes_per_typology[str(typ)][name] == n
    expected_warnings = sum(
        split.episodes_per_typology[t.value][p] < 5
        for t in SUPERVISED_TYPOLOGIES
        for p in ("validation", "test")
    )
    assert len(split.warnings) == expected_warnings


def test_split_by_trading_day_on_a_generated_market(
    frames: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    events, labels = frames
    split = split_by_episode_and_time(events, labels)
    assert split.block_kind == "trading day"
    assert split.n_blocks == events["timestamp"].dt.date.nunique()
    assert split.validation_start == split.validation_start.floor("D")
    _check_market_split(split, events, labels)
    for got, wanted in zip(split.fractions, (0.70, 0.15, 0.15), strict=True):
        assert abs(got - wanted) < 0.12  # whole days: five of them here
    assert split.to_dict()["events"]["train"] == int(split.train.sum())


def test_split_by_equal_count_blocks_moves_episode_tails(
    frames: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    events, labels = frames
    split = split_by_episode_and_time(events, labels, min_days=30, n_blocks=40)
    assert split.block_kind == "equal-count block"
    _check_market_split(split, events, labels)
    for got, wanted in zip(split.fractions, (0.70, 0.15, 0.15), strict=True):
        assert abs(got - wanted) < 0.03
    # moved events are exactly the episode events that lie after their episode's cut
    ts = pd.to_datetime(events["timestamp"], utc=True)
    by_time = np.where(ts < split.validation_start, 0, np.where(ts < split.test_start, 1, 2))
    assert split.moved_events == int((_parts(split) != by_time).sum())


def test_split_is_deterministic(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    events, labels = frames
    a = split_by_episode_and_time(events, labels, seed=7)
    b = split_by_episode_and_time(events, labels, seed=7)
    shuffled = events.sample(frac=1.0, random_state=1)
    c = split_by_episode_and_time(shuffled, labels, seed=7)
    for name in PARTS:
        assert np.array_equal(a.mask(name), b.mask(name))
        assert a.episodes(name) == b.episodes(name)
        # the split follows time, not row order
        assert np.array_equal(a.mask(name)[shuffled.index.to_numpy()], c.mask(name))
        assert a.episodes(name) == c.episodes(name)
    assert a.to_dict() == b.to_dict()
