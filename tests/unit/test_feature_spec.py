"""The feature spec: names, version, and the checks made when a spec is built."""

from __future__ import annotations

import pytest

from surveillance.errors import ConfigError
from surveillance.features.catalog import DEFAULT_FEATURES, DEFAULT_SPEC, build_spec
from surveillance.features.spec import Agg, Key, Need, Op, Window


def test_default_spec_has_thirty_plus_features_in_four_families_and_a_stable_version() -> None:
    families = {f.family for f in DEFAULT_SPEC.features}
    assert {"lifecycle", "trader", "counterparty", "market"} <= families
    assert len(DEFAULT_SPEC.features) >= 30
    assert build_spec(list(DEFAULT_FEATURES)).version == DEFAULT_SPEC.version


def test_changing_a_window_changes_the_version() -> None:
    changed = [
        (*row[:3], (Window(Key.TRADER, Agg.COUNT, 2),), *row[4:])
        if row[0] == "trader_msgs_1s"
        else row
        for row in DEFAULT_FEATURES
    ]
    assert build_spec(changed).version != DEFAULT_SPEC.version


def test_unknown_input_is_refused_with_the_feature_named() -> None:
    bad = [("broken", "event", Op.COPY, ("no_such_primitive",), (Need.TRADER,), "x", (), ())]
    with pytest.raises(ConfigError, match=r"broken.*no_such_primitive"):
        build_spec(bad)


def test_duplicate_feature_names_are_refused() -> None:
    row = ("same", "event", Op.COPY, ("qty",), (), "x", (), ())
    with pytest.raises(ConfigError, match="share a name"):
        build_spec([row, row])
